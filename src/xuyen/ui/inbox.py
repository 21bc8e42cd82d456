"""The inbox pages: the conversation list and one conversation, kept live by the inbox stream, with the reply box
(channel chosen by the customer's last message, or picked among those the customer can be reached on), private
notes and status buttons; and the channels page.

Every form carries the session's CSRF token; a refused reply (outside a channel's window) is shown with the
reason and the draft kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.clock import utcnow
from xuyen.customers.service import display_names
from xuyen.errors import Conflict, ValidationFailed
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.service import actor_name
from xuyen.inbox import connections, service
from xuyen.inbox.models import Conversation, ConversationStatus, Message
from xuyen.routing import Router
from xuyen.sales.leads import channel_leads
from xuyen.ui import inbox_routing as routing_parts
from xuyen.ui.csat import csat_context
from xuyen.ui.deps import Viewer, check_csrf, page_role, page_user
from xuyen.ui.rendering import render
from xuyen.ui.sla import sla_context

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
PageViewer = Annotated[Viewer, Depends(page_user)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
ConversationId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
FormText = Annotated[str, Form()]

STATUS_NAMES: dict[str, str] = {
    "open": N_("Open"), "pending": N_("Pending"), "snoozed": N_("Snoozed"), "resolved": N_("Resolved"),
}
STATE_NAMES: dict[str, str] = {
    "received": N_("Received"), "queued": N_("Sending…"), "sent": N_("Sent"), "delivered": N_("Delivered"),
    "read": N_("Read"), "failed": N_("Not sent"),
}
KIND_NAMES: dict[str, str] = {
    "messenger": "Messenger", "whatsapp": "WhatsApp", "zalo": "Zalo", "email": N_("E-mail"), "sms": "SMS",
    "webchat": N_("Web chat"),
}


def _labels() -> dict[str, Any]:
    return {"status_name": lambda status: STATUS_NAMES.get(str(status), str(status)),
            "state_name": lambda state: STATE_NAMES.get(str(state), str(state)),
            "kind_name": lambda kind: KIND_NAMES.get(str(kind), str(kind))}


def _names(session: Session, conversations: list[Conversation]) -> dict[int, str]:
    roots = {conversation.id: resolve_profile_id(session, profile_id=conversation.profile_id)
             for conversation in conversations}
    names = display_names(session, profile_ids=roots.values())
    return {conversation_id: names.get(root, "") for conversation_id, root in roots.items()}


def _list_context(session: Session, status: str) -> dict[str, Any]:
    wanted = None if status == "all" else ConversationStatus(status)
    conversations = service.list_conversations(session, status=wanted, limit=100)
    channels = {channel.id: channel for channel in connections.list_channels(session)}
    return {"conversations": conversations, "names": _names(session, conversations), "channels": channels,
            "status": status, "statuses": [*STATUS_NAMES, "all"], "counts": service.count_by_status(session),
            **_labels(), **sla_context(session, conversations), **routing_parts.list_extras(session, conversations)}


@router.get("/inbox")
def inbox_page(request: Request, session: DbSession, viewer: PageViewer,
               status: Annotated[str, Query(pattern="^(open|pending|snoozed|resolved|all)$")] = "open") -> Response:
    """The conversation list, newest first, kept live."""
    return render(request, "inbox/list.html",
                  _list_context(session, status) | routing_parts.bar_context(session, viewer))


@router.get("/inbox/list-part")
def inbox_list_part(request: Request, session: DbSession, _viewer: PageViewer,
                    status: Annotated[str, Query(pattern="^(open|pending|snoozed|resolved|all)$")] = "open",
                    ) -> Response:
    """The list alone, for the page to swap in when the inbox changes."""
    return render(request, "inbox/_list.html", _list_context(session, status))


def _conversation_context(session: Session, conversation_id: int) -> dict[str, Any]:
    conversation = service.get_conversation(session, conversation_id=conversation_id)
    messages: list[Message] = service.list_messages(session, conversation_id=conversation_id)
    channels = {channel.id: channel for channel in connections.list_channels(session)}
    return {"conversation": conversation, "messages": messages, "channels": channels,
            "customer_id": resolve_profile_id(session, profile_id=conversation.profile_id),
            "name": _names(session, [conversation]).get(conversation.id, ""),
            "options": service.reply_options(session, conversation_id=conversation_id),
            "statuses": list(STATUS_NAMES), "now": utcnow(), "error": None, "draft": "", **_labels(),
            **sla_context(session, [conversation]), **csat_context(session, conversation.id),
            **routing_parts.conversation_extras(session, conversation)}


@router.get("/inbox/{conversation_id}")
def conversation_page(request: Request, session: DbSession, _viewer: PageViewer,
                      conversation_id: ConversationId) -> Response:
    """One conversation across its channels, with the reply box; one merged into another leads there."""
    conversation = service.get_conversation(session, conversation_id=conversation_id)
    if conversation.merged_into_id is not None:
        return RedirectResponse(f"/inbox/{conversation.merged_into_id}", status_code=303)
    return render(request, "inbox/conversation.html", _conversation_context(session, conversation_id))


@router.get("/inbox/{conversation_id}/messages-part")
def messages_part(request: Request, session: DbSession, _viewer: PageViewer,
                  conversation_id: ConversationId) -> Response:
    """The messages alone, for the page to swap in when the conversation changes."""
    return render(request, "inbox/_messages.html", _conversation_context(session, conversation_id))


def _back(conversation_id: int) -> RedirectResponse:
    return RedirectResponse(f"/inbox/{conversation_id}", status_code=303)


@router.post("/inbox/{conversation_id}/reply")
def reply(request: Request, session: DbSession, viewer: PageViewer, conversation_id: ConversationId,
          csrf_token: FormText = "", text: FormText = "", channel_id: FormText = "") -> Response:
    """Send a reply (queued for the channel), or show why the channel refuses it now."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.reply(session, conversation_id=conversation_id, text=text,
                      channel_id=int(channel_id) if channel_id.isdigit() else None,
                      author_id=viewer.principal.id, actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        context = _conversation_context(session, conversation_id) | {"error": exc.message, "draft": text}
        return render(request, "inbox/conversation.html", context, status_code=exc.status)
    return _back(conversation_id)


@router.post("/inbox/{conversation_id}/template")
def template(request: Request, session: DbSession, viewer: PageViewer, conversation_id: ConversationId,
             csrf_token: FormText = "", channel_id: FormText = "", name: FormText = "", language: FormText = "",
             values: FormText = "") -> Response:
    """Send an approved template; ``values`` one ``name=value`` per line."""
    check_csrf(viewer.auth_session, csrf_token)
    parameters = dict(line.split("=", 1) for line in values.splitlines() if "=" in line)
    try:
        service.send_template(session, conversation_id=conversation_id,
                              channel_id=int(channel_id) if channel_id.isdigit() else 0, name=name,
                              language=language or None,
                              parameters={key.strip(): value.strip() for key, value in parameters.items()},
                              author_id=viewer.principal.id, actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        context = _conversation_context(session, conversation_id) | {"error": exc.message}
        return render(request, "inbox/conversation.html", context, status_code=exc.status)
    return _back(conversation_id)


@router.post("/inbox/{conversation_id}/note")
def note(request: Request, session: DbSession, viewer: PageViewer, conversation_id: ConversationId,
         csrf_token: FormText = "", text: FormText = "") -> Response:
    """Add a private note."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.add_note(session, conversation_id=conversation_id, text=text, author_id=viewer.principal.id)
    except ValidationFailed as exc:
        session.rollback()
        context = _conversation_context(session, conversation_id) | {"error": exc.message}
        return render(request, "inbox/conversation.html", context, status_code=exc.status)
    return _back(conversation_id)


@router.post("/inbox/{conversation_id}/status")
def set_status(session: DbSession, viewer: PageViewer, conversation_id: ConversationId, csrf_token: FormText = "",
               status: FormText = "") -> Response:
    """Open, set pending or resolve the conversation."""
    check_csrf(viewer.auth_session, csrf_token)
    if status not in ("open", "pending", "resolved"):
        raise ValidationFailed("Choose open, pending or resolved.", code="invalid_status")
    service.set_status(session, conversation_id=conversation_id, status=ConversationStatus(status),
                       actor=actor_name(viewer.principal))
    return _back(conversation_id)


@router.get("/channels")
def channels_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """The connected channels, their state and their webhook addresses, and the leads waiting to be read from
    their providers."""
    return render(request, "inbox/channels.html", {"channels": connections.list_channels(session),
                                                   "kinds": connections.installed_kinds(),
                                                   "lead_reads": channel_leads.retrieval_summary(session),
                                                   **_labels()})


@router.post("/channels/{channel_id}/leads/retry")
def retry_channel_leads(session: DbSession, viewer: ManagerViewer, channel_id: Annotated[int, PathParam(ge=1)],
                        csrf_token: FormText = "") -> Response:
    """Read now the leads of a channel still waiting or that could not be read (after its token was fixed)."""
    check_csrf(viewer.auth_session, csrf_token)
    connections.get_channel(session, channel_id=channel_id)
    channel_leads.retry_now(session, channel_id=channel_id)
    return RedirectResponse("/channels", status_code=303)
