"""Web chat visitors: their chat sessions, their messages into the inbox's normal webhook intake, their own
history, and a live feed of the agents' replies to them; plus the per-process limits that keep the public chat
endpoints from being flooded.

A visitor sees only the messages of their own contact point (this channel, their anonymous id): what they wrote
in the widget and what agents answered them there; never another visitor's, never the customer's other channels.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xuyen.channels.base import ChannelError, PayloadInvalid, SignatureInvalid, WebhookAnswer, WebhookRequest
from xuyen.clock import utcnow
from xuyen.errors import BadRequest, NotFound, PermissionDenied, Unauthorized, ValidationFailed
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox import intake
from xuyen.inbox.connections import build_adapter
from xuyen.inbox.live import HEARTBEAT_SECONDS, Hub
from xuyen.inbox.models import Channel, ChannelStatus, ContactPoint, Conversation, Direction, Message, MessageState

KIND = "webchat"
ADDRESS_TYPE = "anonymous_id"
HISTORY_LIMIT = 100
_SHOWN_STATES = (MessageState.received, MessageState.queued, MessageState.sent, MessageState.delivered,
                 MessageState.read)


# The channel's adapter, as the chat endpoints use it ------------------------------------------------------


class VisitorLike(Protocol):
    """Who a visitor token speaks for."""

    @property
    def anonymous_id(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...


class PostLike(Protocol):
    """A visitor's message as the widget sent it."""

    @property
    def anonymous_id(self) -> str: ...


class WebChat(Protocol):
    """What the web chat adapter offers beyond the channel interface (found through the registry, never
    imported: the inbox names no provider)."""

    def allows_origin(self, origin: str | None) -> bool: ...

    def open_session(self, *, origin: str, anonymous_id: str | None, user_id: str | None = None,
                     user_hash: str | None = None, email: str | None = None, email_hash: str | None = None,
                     now: datetime) -> dict[str, Any]: ...

    def visitor_of(self, token: object, *, now: datetime | None) -> VisitorLike: ...

    def read_post(self, body: bytes) -> PostLike: ...


_ADAPTERS: OrderedDict[tuple[int, str, str], Any] = OrderedDict()
_ADAPTERS_KEPT = 64
_ADAPTERS_LOCK = threading.Lock()


def _adapter(channel: Channel) -> WebChat:
    """The channel's adapter, kept while its settings and secrets stay the same (building one unseals the secrets
    and opens an HTTP client, too slow for every visitor's request)."""
    key = (channel.id, channel.sealed_secrets, json.dumps(channel.settings, sort_keys=True))
    with _ADAPTERS_LOCK:
        found = _ADAPTERS.get(key)
        if found is not None:
            _ADAPTERS.move_to_end(key)
            return cast(WebChat, found)
    adapter = build_adapter(channel)
    with _ADAPTERS_LOCK:
        _ADAPTERS[key] = adapter
        while len(_ADAPTERS) > _ADAPTERS_KEPT:
            _ADAPTERS.popitem(last=False)[1].close()
    return cast(WebChat, adapter)


def chat_channel(session: Session, *, channel_id: int) -> tuple[Channel, WebChat]:
    """An active web chat channel and its adapter; NotFound for any other id (other kinds are not public)."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.kind != KIND or channel.status == ChannelStatus.disabled:
        raise NotFound(f"There is no web chat {channel_id}; check data-channel in the widget's script tag.",
                       code="chat_not_found")
    try:
        return channel, _adapter(channel)
    except ChannelError as exc:
        raise NotFound(f"Web chat {channel_id} cannot serve visitors now: {exc.message}",
                       code="chat_unavailable") from exc


def check_origin(chat: WebChat, origin: str | None) -> str:
    """The request's site origin, when the channel serves it; PermissionDenied otherwise."""
    if origin is None or not chat.allows_origin(origin):
        shown = origin or "a request without an Origin header"
        raise PermissionDenied(f"This chat answers only the sites in its channel's allowed origins, and {shown} is "
                               "not one of them. Add the site to allowed_origins in the channel's settings.",
                               code="origin_not_allowed")
    return origin


def read_visitor(chat: WebChat, token: str | None) -> VisitorLike:
    """The visitor a token speaks for; Unauthorized when it is missing, forged, another channel's or expired."""
    try:
        return chat.visitor_of(token, now=utcnow())
    except SignatureInvalid as exc:
        raise Unauthorized(f"The visitor token is not valid: {exc.message}. Open a new chat session.",
                           code="visitor_token_invalid") from exc


# Sessions and messages -----------------------------------------------------------------------------------


def _json_object(body: bytes, *, empty_ok: bool) -> dict[str, Any]:
    if empty_ok and not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_body")
    return data


def _text_field(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValidationFailed(f"{name} must be a string.", code="invalid_session")
    return str(value)


def open_session(chat: WebChat, *, origin: str, body: bytes) -> dict[str, Any]:
    """A visitor token for the anonymous id in ``body`` (a new one when there is none), with the identity the
    shop's backend signed; the widget's title, greeting and colour."""
    data = _json_object(body, empty_ok=True)
    fields = {name: _text_field(data, key) for name, key in (
        ("anonymous_id", "anonymousId"), ("user_id", "userId"), ("user_hash", "userHash"), ("email", "email"),
        ("email_hash", "emailHash"))}
    try:
        return chat.open_session(origin=origin, now=utcnow(), **fields)
    except PayloadInvalid as exc:
        raise ValidationFailed(exc.message, code="invalid_session") from exc
    except SignatureInvalid as exc:
        raise PermissionDenied(f"The visitor's identity is not verified: {exc.message}",
                               code="identity_not_verified") from exc


def read_message(chat: WebChat, body: bytes) -> PostLike:
    """The visitor's message, checked for shape before it goes to the intake (400 for no JSON, 422 for a message
    the chat cannot take)."""
    _json_object(body, empty_ok=False)
    try:
        return chat.read_post(body)
    except PayloadInvalid as exc:
        raise ValidationFailed(exc.message, code="invalid_message") from exc


def take_message(session: Session, *, channel_id: int, request: WebhookRequest) -> WebhookAnswer:
    """Hand the visitor's message to the inbox's webhook intake, as ``/webhooks/{channel_id}`` does: verified
    (token, expiry, origin), kept raw, deduped on the client message id and queued for parsing."""
    try:
        return intake.receive_webhook(session, channel_id=channel_id, request=request)
    except Unauthorized as exc:
        raise Unauthorized(exc.message, code="visitor_token_invalid") from exc


# What a visitor may read ---------------------------------------------------------------------------------


def visitor_point(session: Session, *, channel_id: int, anonymous_id: str) -> ContactPoint | None:
    """Where the channel reaches this visitor, once their first message was taken in."""
    return session.scalar(select(ContactPoint).where(
        ContactPoint.channel_id == channel_id, ContactPoint.type == ADDRESS_TYPE, ContactPoint.scope == "",
        ContactPoint.value == anonymous_id))


def _visitor_query(session: Session, point: ContactPoint) -> Any:
    """The visitor's own messages on this channel: theirs and the agents' replies to them, never notes."""
    profiles = {point.profile_id, resolve_profile_id(session, profile_id=point.profile_id)}
    return (select(Message).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.profile_id.in_(profiles), Message.contact_point_id == point.id,
                   Message.channel_id == point.channel_id, Message.direction != Direction.note,
                   Message.state.in_(_SHOWN_STATES)))


def message_out(message: Message) -> dict[str, Any]:
    """A message as the widget shows it (who wrote it, never which agent)."""
    inbound = message.direction == Direction.inbound
    client_id = (message.provider_message_id or "").rpartition("/")[2] if inbound else None
    return {"id": message.id, "from": "visitor" if inbound else "agent", "text": message.text,
            "sentAt": message.sent_at.isoformat(), "clientMessageId": client_id}


def history(session: Session, *, channel_id: int, anonymous_id: str) -> list[dict[str, Any]]:
    """The visitor's latest messages on this channel, oldest first."""
    point = visitor_point(session, channel_id=channel_id, anonymous_id=anonymous_id)
    if point is None:
        return []
    newest = session.scalars(_visitor_query(session, point).order_by(Message.id.desc()).limit(HISTORY_LIMIT))
    return [message_out(message) for message in reversed(list(newest))]


class VisitorFeed:
    """The agents' replies to one visitor, newer than the last one handed out (read in a worker thread)."""

    def __init__(self, sessions: sessionmaker[Session], *, channel_id: int, anonymous_id: str, after_id: int) -> None:
        self.sessions = sessions
        self.channel_id = channel_id
        self.anonymous_id = anonymous_id
        self.last_id = after_id

    def concerns(self, session: Session, news: dict[str, Any] | None) -> bool:
        """Whether a piece of inbox news may be a new reply to this visitor (a new outbound message on this
        channel; news without ids, such as SQLite's 'changed', always may)."""
        if news is None or news.get("kind") in ("changed", "reload"):
            return True
        message_id = news.get("message_id")
        if news.get("kind") != "message" or not isinstance(message_id, int):
            return False
        row = session.execute(select(Message.channel_id, Message.direction).where(Message.id == message_id)).first()
        return row is not None and row[0] == self.channel_id and row[1] == Direction.outbound

    def poll(self, news: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The replies that are new since the last poll, if ``news`` may concern this visitor."""
        with self.sessions() as session:
            if not self.concerns(session, news):
                return []
            point = visitor_point(session, channel_id=self.channel_id, anonymous_id=self.anonymous_id)
            if point is None:
                return []
            found = list(session.scalars(_visitor_query(session, point).where(
                Message.direction == Direction.outbound, Message.id > self.last_id).order_by(Message.id).limit(50)))
        if found:
            self.last_id = found[-1].id
        return [message_out(message) for message in found]


def _event(item: dict[str, Any]) -> str:
    return f"id: {item['id']}\nevent: message\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"


async def visitor_events(hub: Hub, feed: VisitorFeed, *, until: datetime,
                         is_disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    """Server-Sent Events for one visitor: each new reply (``event: message``, its id as the event id, so a
    reconnecting browser resumes after it), a comment now and then, and ``event: expired`` when the visitor's
    token runs out (the widget then opens a new session)."""
    loop = asyncio.get_running_loop()
    async with hub.subscribe() as queue:
        yield "retry: 3000\n: connected\n\n"
        for item in await loop.run_in_executor(None, feed.poll, None):
            yield _event(item)
        while not await is_disconnected():
            remaining = (until - utcnow()).total_seconds()
            if remaining <= 0:
                yield "event: expired\ndata: {}\n\n"
                return
            try:
                news = await asyncio.wait_for(queue.get(), timeout=min(HEARTBEAT_SECONDS, remaining))
            except TimeoutError:
                yield ": still here\n\n"
                continue
            for item in await loop.run_in_executor(None, feed.poll, news):
                yield _event(item)


