"""The inbox API: connected channels (owners connect them), conversations and their messages, replies, notes,
statuses and assignment (agents)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from xuyen.auth.deps import current_principal, ensure_role, require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.service import actor_name
from xuyen.inbox import connections, intake, live, service
from xuyen.inbox.models import Conversation, ConversationStatus
from xuyen.inbox.schemas import (
    AssigneeIn,
    ChannelIn,
    ChannelOut,
    ConversationDetailOut,
    ConversationOut,
    MessageOut,
    NoteIn,
    ReplyIn,
    ReplyOptionOut,
    SecretsIn,
    StatusIn,
    TemplateIn,
)
from xuyen.routing import Router

router = Router(tags=["inbox"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Owner = Annotated[Principal, Depends(require_role(Role.owner))]
ChannelId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ConversationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _user_id(principal: Principal) -> int | None:
    return principal.id if principal.kind == "user" else None


# Channels ---------------------------------------------------------------------------------------------


@router.get("/inbox/channel-kinds", summary="The channel kinds this installation can connect")
def channel_kinds(_caller: Manager) -> dict[str, Any]:
    return connections.installed_kinds()


@router.get("/inbox/channels", summary="Connected channels")
def list_channels(session: Db, _caller: Manager) -> list[ChannelOut]:
    return [ChannelOut.of(channel) for channel in connections.list_channels(session)]


@router.post("/inbox/channels", status_code=201, summary="Connect a channel")
def add_channel(body: ChannelIn, session: Db, caller: Owner) -> ChannelOut:
    channel = connections.add_channel(session, kind=body.kind, name=body.name, settings=body.settings,
                                      secrets=body.secrets, actor=actor_name(caller), source_id=body.source_id)
    return ChannelOut.of(channel)


@router.put("/inbox/channels/{channel_id}/secrets", summary="Replace a channel's secrets (reconnect it)")
def update_secrets(channel_id: ChannelId, body: SecretsIn, session: Db, caller: Owner) -> ChannelOut:
    channel = connections.update_secrets(session, channel_id=channel_id, secrets=body.secrets,
                                         actor=actor_name(caller))
    return ChannelOut.of(channel)


@router.post("/inbox/channels/{channel_id}/retry-failed", summary="Parse a channel's failed webhooks again")
def retry_failed(channel_id: ChannelId, session: Db, _caller: Manager) -> dict[str, int]:
    connections.get_channel(session, channel_id=channel_id)
    return {"queued": intake.retry_failed_receipts(session, channel_id=channel_id)}


# Conversations ----------------------------------------------------------------------------------------


def _conversation_out(session: Session, conversation: Conversation) -> dict[str, Any]:
    return {"id": conversation.id, "customer_id": resolve_profile_id(session, profile_id=conversation.profile_id),
            "status": conversation.status.value, "assignee_id": conversation.assignee_id,
            "subject": conversation.subject, "last_message_at": conversation.last_message_at,
            "last_inbound_at": conversation.last_inbound_at,
            "last_inbound_channel_id": conversation.last_inbound_channel_id, "created_at": conversation.created_at,
            "merged_into_id": conversation.merged_into_id}


@router.get("/conversations", summary="Conversations, newest first")
def list_conversations(
    session: Db,
    _caller: Agent,
    status: Annotated[ConversationStatus | None, Query(description="Leave out for every status.")] = None,
    assignee_id: Annotated[int | None, Query(ge=1)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ConversationOut]:
    found = service.list_conversations(session, status=status, assignee_id=assignee_id, profile_id=customer_id,
                                       limit=limit)
    return [ConversationOut(**_conversation_out(session, conversation)) for conversation in found]


@router.get("/conversations/{conversation_id}", summary="A conversation with its messages")
def get_conversation(conversation_id: ConversationId, session: Db, _caller: Agent) -> ConversationDetailOut:
    conversation = service.get_conversation(session, conversation_id=conversation_id)
    messages = service.list_messages(session, conversation_id=conversation_id)
    options = service.reply_options(session, conversation_id=conversation_id)
    return ConversationDetailOut(**_conversation_out(session, conversation),
                                 messages=[MessageOut.of(message) for message in messages],
                                 reply_options=[ReplyOptionOut.of(option) for option in options])


@router.post("/conversations/{conversation_id}/replies", status_code=202, summary="Reply to the customer")
def reply(conversation_id: ConversationId, body: ReplyIn, session: Db, caller: Agent) -> MessageOut:
    message = service.reply(session, conversation_id=conversation_id, text=body.text, channel_id=body.channel_id,
                            author_id=_user_id(caller), actor=actor_name(caller))
    return MessageOut.of(message)


@router.post("/conversations/{conversation_id}/templates", status_code=202,
             summary="Send an approved template (also outside the reply window)")
def send_template(conversation_id: ConversationId, body: TemplateIn, session: Db, caller: Agent) -> MessageOut:
    message = service.send_template(session, conversation_id=conversation_id, channel_id=body.channel_id,
                                    name=body.name, language=body.language, parameters=body.parameters,
                                    author_id=_user_id(caller), actor=actor_name(caller))
    return MessageOut.of(message)


@router.post("/conversations/{conversation_id}/notes", status_code=201, summary="Add a private note")
def add_note(conversation_id: ConversationId, body: NoteIn, session: Db, caller: Agent) -> MessageOut:
    return MessageOut.of(service.add_note(session, conversation_id=conversation_id, text=body.text,
                                          author_id=_user_id(caller)))


@router.post("/conversations/{conversation_id}/status", summary="Open, set pending, snooze or resolve")
def set_status(conversation_id: ConversationId, body: StatusIn, session: Db, caller: Agent) -> ConversationOut:
    conversation = service.set_status(session, conversation_id=conversation_id, status=body.status,
                                      snoozed_until=body.snoozed_until, actor=actor_name(caller))
    return ConversationOut(**_conversation_out(session, conversation))


@router.post("/conversations/{conversation_id}/assignee", summary="Assign to an agent (or unassign)")
def assign(conversation_id: ConversationId, body: AssigneeIn, session: Db, caller: Agent) -> ConversationOut:
    conversation = service.assign(session, conversation_id=conversation_id, assignee_id=body.user_id,
                                  actor=actor_name(caller))
    return ConversationOut(**_conversation_out(session, conversation))


def _stream_caller(request: Request) -> Principal:
    """An agent or above, checked with a session of its own that is closed before the stream starts: a stream
    lasts for hours and must not hold a database connection (on SQLite, the write lock) all that time."""
    with request.app.state.sessions() as session:
        try:
            principal = current_principal(request, session)
            ensure_role(principal, Role.agent)
        finally:
            session.rollback()
    return principal


@router.get("/inbox/stream", summary="Live inbox changes (Server-Sent Events)",
            response_class=StreamingResponse)
async def stream(request: Request, _caller: Annotated[Principal, Depends(_stream_caller)]) -> StreamingResponse:
    """Each new message, delivery state and conversation change, as it happens: ``event: inbox`` with a JSON
    ``data`` line (``kind`` and the ids concerned). Reconnecting browsers reload what they show."""
    hub = live.hub_for(request.app.state)
    return StreamingResponse(live.event_stream(hub, is_disconnected=request.is_disconnected),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
