"""The routing parts of the inbox pages: the header bar (my availability, my unread mentions, the search box,
the label filter), labels and the team on a conversation, the teams page, search results, my mentions, and the
labels' colours as a style sheet (the pages' security policy allows no inline styles).

Its routes are included before the inbox's own, so ``/inbox/teams`` is not read as a conversation id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.customers.service import display_names
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.service import actor_name
from xuyen.inbox.models import Conversation, ConversationStatus
from xuyen.inbox.routing import labels, mentions, search, service
from xuyen.inbox.routing.models import Availability
from xuyen.inbox.routing.rows import active_users
from xuyen.inbox.service import get_conversation
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role, page_user
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
PageViewer = Annotated[Viewer, Depends(page_user)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
ConversationId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
SmallId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form()]

AVAILABILITY_NAMES: dict[str, str] = {"online": N_("Online"), "busy": N_("Busy"), "offline": N_("Offline")}
STATUS_NAMES: dict[str, str] = {
    "open": N_("Open"), "pending": N_("Pending"), "snoozed": N_("Snoozed"), "resolved": N_("Resolved"),
}
MATCH_NAMES: dict[str, str] = {"message": N_("in a message"), "customer": N_("the customer"),
                               "label": N_("a label")}


def _helpers() -> dict[str, Any]:
    return {"availability_name": lambda value: AVAILABILITY_NAMES.get(str(value), str(value)),
            "routing_status_name": lambda value: STATUS_NAMES.get(str(value), str(value)),
            "match_name": lambda value: MATCH_NAMES.get(str(value), str(value))}


# What the inbox's own pages show ------------------------------------------------------------------------


def list_extras(session: Session, conversations: list[Conversation]) -> dict[str, Any]:
    """The labels of the conversations in a list."""
    return {"conversation_labels": labels.labels_of(session, conversation_ids=[item.id for item in conversations])}


def bar_context(session: Session, viewer: Viewer) -> dict[str, Any]:
    """The inbox header: my availability, my unread mentions, the labels to filter by."""
    user_id = viewer.principal.id
    return {"routing": {"availability": service.agent_status(session, user_id=user_id).availability.value,
                        "availabilities": list(AVAILABILITY_NAMES), "unread_mentions":
                            mentions.unread_count(session, user_id=user_id),
                        "labels": labels.list_labels(session)}, **_helpers()}


def conversation_extras(session: Session, conversation: Conversation) -> dict[str, Any]:
    """A conversation's labels, the labels that can be added, and its team."""
    routing = service.routing_of(session, conversation_id=conversation.id)
    team = service.get_team(session, team_id=routing.team_id) if routing and routing.team_id else None
    return {"conversation_routing": {"labels": labels.conversation_labels(session, conversation_id=conversation.id),
                        "all_labels": labels.list_labels(session), "team": team}, **_helpers()}


@router.get("/inbox/routing/labels.css")
def label_styles(session: DbSession, _viewer: PageViewer) -> Response:
    """Each label's colour as a class (colours are stored as #rrggbb only)."""
    rules = [f".label-chip--{label.id}{{--label-colour:{label.colour}}}" for label in labels.list_labels(session)
             if labels.COLOUR.match(label.colour)]
    return Response("\n".join(rules) + "\n", media_type="text/css", headers={"Cache-Control": "no-store"})


# Availability and labels from forms ---------------------------------------------------------------------


def _back(target: str) -> RedirectResponse:
    safe = target if target.startswith("/inbox") and "//" not in target and "\\" not in target else "/inbox"
    return RedirectResponse(safe, status_code=303)


@router.post("/inbox/availability")
def set_availability(session: DbSession, viewer: PageViewer, csrf_token: FormText = "",
                     availability: FormText = "", back: FormText = "/inbox") -> Response:
    """Set myself online, busy or offline."""
    check_csrf(viewer.auth_session, csrf_token)
    if availability not in AVAILABILITY_NAMES:
        raise ValidationFailed("Choose online, busy or offline.", code="availability_invalid")
    service.set_availability(session, user_id=viewer.principal.id, availability=Availability(availability),
                             actor=actor_name(viewer.principal))
    return _back(back)


@router.post("/inbox/{conversation_id}/labels")
def add_label(session: DbSession, viewer: PageViewer, conversation_id: ConversationId, csrf_token: FormText = "",
              label_id: FormText = "") -> Response:
    """Put a label on the conversation."""
    check_csrf(viewer.auth_session, csrf_token)
    if not label_id.isdigit() or not 1 <= int(label_id) <= 2**31 - 1:
        raise ValidationFailed("Choose a label.", code="label_required")
    labels.label_conversation(session, conversation_id=conversation_id, label_id=int(label_id),
                              user_id=viewer.principal.id, actor=actor_name(viewer.principal))
    return _back(f"/inbox/{conversation_id}")


@router.post("/inbox/{conversation_id}/labels/{label_id}/remove")
def remove_label(session: DbSession, viewer: PageViewer, conversation_id: ConversationId, label_id: SmallId,
                 csrf_token: FormText = "") -> Response:
    """Take a label off the conversation."""
    check_csrf(viewer.auth_session, csrf_token)
    labels.unlabel_conversation(session, conversation_id=conversation_id, label_id=label_id,
                                actor=actor_name(viewer.principal))
    return _back(f"/inbox/{conversation_id}")


# Search and mentions ------------------------------------------------------------------------------------


def _customer_names(session: Session, conversations: list[Conversation]) -> dict[int, str]:
    roots = {item.id: resolve_profile_id(session, profile_id=item.profile_id) for item in conversations}
    names = display_names(session, profile_ids=roots.values())
    return {conversation_id: names.get(root, "") for conversation_id, root in roots.items()}


@router.get("/inbox/search")
def search_page(request: Request, session: DbSession, viewer: PageViewer,
                q: Annotated[str, Query(max_length=search.MAX_QUERY)] = "",
                label: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                status: Annotated[ConversationStatus | None, Query()] = None,
                page: Annotated[int, Query(ge=1, le=500)] = 1) -> Response:
    """Conversations found by words (in messages, the customer's name, phone or e-mail, labels) or by label."""
    context: dict[str, Any] = {"query": q, "label_id": label, "status": status.value if status else "", "page": page,
                               "hits": [], "total": 0, "error": None, "per_page": 20, "names": {}, "found_labels": {}}
    if q.strip() or label is not None:
        try:
            found = search.search(session, query=q, label_ids=[label] if label else [], status=status, limit=20,
                                  offset=(page - 1) * 20)
        except XuyenError as exc:
            context["error"] = exc.message
        else:
            conversations = [hit.conversation for hit in found.hits]
            context |= {"hits": found.hits, "total": found.total, "names": _customer_names(session, conversations),
                        "found_labels": labels.labels_of(session, conversation_ids=[c.id for c in conversations])}
    return render(request, "inbox/search.html", context | bar_context(session, viewer))


@router.get("/inbox/mentions")
def mentions_page(request: Request, session: DbSession, viewer: PageViewer) -> Response:
    """The private notes that mention me, newest first."""
    found = mentions.list_mentions(session, user_id=viewer.principal.id, limit=100)
    conversations = {item.conversation_id: get_conversation(session, conversation_id=item.conversation_id)
                     for item in found}
    return render(request, "inbox/mentions.html",
                  {"mentions": found, "names": _customer_names(session, list(conversations.values())),
                   "notes": mentions.note_texts(session, message_ids=[item.message_id for item in found]),
                   "authors": mentions.author_names(session, user_ids={item.author_id for item in found
                                                                       if item.author_id})}
                  | bar_context(session, viewer))


@router.post("/inbox/mentions/read")
def read_mentions(session: DbSession, viewer: PageViewer, csrf_token: FormText = "") -> Response:
    """Mark all my mentions read."""
    check_csrf(viewer.auth_session, csrf_token)
    mentions.mark_all_read(session, user_id=viewer.principal.id)
    return _back("/inbox/mentions")


@router.get("/inbox/routing/bar-part")
def bar_part(request: Request, session: DbSession, viewer: PageViewer,
             back: Annotated[str, Query(max_length=300)] = "/inbox") -> Response:
    """The header bar alone, for the page to swap in when the inbox changes."""
    return render(request, "inbox/_routing_bar_inner.html", bar_context(session, viewer) | {"back": back})


# Teams --------------------------------------------------------------------------------------------------


@router.get("/inbox/teams")
def teams_page(request: Request, session: DbSession, viewer: PageViewer) -> Response:
    """Teams, their members and every agent's availability and load; managers change them here."""
    return render(request, "inbox/teams.html",
                  {"teams": service.list_teams(session), "agents": service.list_agents(session),
                   "users": active_users(session), "rules": service.list_rules(session),
                   "can_manage": viewer.can(Role.manager), "error": None} | bar_context(session, viewer))


@router.post("/inbox/teams")
def create_team(session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "", name: FormText = "",
                description: FormText = "") -> Response:
    """Make a team."""
    check_csrf(viewer.auth_session, csrf_token)
    service.create_team(session, name=name, description=description, actor=actor_name(viewer.principal))
    return _back("/inbox/teams")


@router.post("/inbox/teams/{team_id}/members")
def add_member(session: DbSession, viewer: ManagerViewer, team_id: SmallId, csrf_token: FormText = "",
               user_id: FormText = "") -> Response:
    """Put someone in a team."""
    check_csrf(viewer.auth_session, csrf_token)
    if not user_id.isdigit() or not 1 <= int(user_id) <= 2**31 - 1:
        raise ValidationFailed("Choose someone to add.", code="user_required")
    service.add_member(session, team_id=team_id, user_id=int(user_id), actor=actor_name(viewer.principal))
    return _back("/inbox/teams")


@router.post("/inbox/teams/{team_id}/members/{user_id}/remove")
def remove_member(session: DbSession, viewer: ManagerViewer, team_id: SmallId, user_id: SmallId,
                  csrf_token: FormText = "") -> Response:
    """Take someone out of a team."""
    check_csrf(viewer.auth_session, csrf_token)
    service.remove_member(session, team_id=team_id, user_id=user_id, actor=actor_name(viewer.principal))
    return _back("/inbox/teams")


@router.post("/inbox/teams/{team_id}/delete")
def delete_team(session: DbSession, viewer: ManagerViewer, team_id: SmallId, csrf_token: FormText = "") -> Response:
    """Remove a team."""
    check_csrf(viewer.auth_session, csrf_token)
    service.delete_team(session, team_id=team_id, actor=actor_name(viewer.principal))
    return _back("/inbox/teams")


@router.post("/inbox/agents/{user_id}/capacity")
def set_capacity(session: DbSession, viewer: ManagerViewer, user_id: SmallId, csrf_token: FormText = "",
                 capacity: FormText = "") -> Response:
    """Set an agent's capacity (empty: the default)."""
    check_csrf(viewer.auth_session, csrf_token)
    if capacity.strip() and not capacity.strip().isdigit():
        raise ValidationFailed("A capacity is a whole number of conversations.", code="capacity_invalid")
    service.set_capacity(session, user_id=user_id, capacity=int(capacity) if capacity.strip() else None,
                         actor=actor_name(viewer.principal))
    return _back("/inbox/teams")
