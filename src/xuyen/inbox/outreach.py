"""Outreach: messages other domains (journeys, campaigns) send to a customer through the inbox, so that they land in
the customer's one conversation (the agents see what was sent when the customer answers) and go out with the
inbox's send job, idempotency keys and delivery states.

The caller has already decided that the message may go (consent, caps, quiet hours, reply windows: the messaging
policy); outreach does not check again. It refuses, with a typed error the caller treats as a failed send, when no
active channel of the kind is connected, or the channel cannot write to the address. Every state change of an
outreach message is announced as ``inbox.message.status_changed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.channels.base import Capabilities, ChannelError
from xuyen.channels.registry import adapter_class
from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox import engagement
from xuyen.inbox.models import (
    Channel,
    ChannelStatus,
    ContactPoint,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageState,
)
from xuyen.inbox.service import MAX_TEXT, queue_send
from xuyen.inbox.threads import announce_message, current_conversation
from xuyen.outbox import emit

STATUS_CHANGED = "inbox.message.status_changed"
MAX_KEY = 100
MAX_SUBJECT = 300
MAX_HTML = 512 * 1024
MAX_META_BYTES = 8 * 1024
MAX_ADDRESS = 320
MAX_TEMPLATE_VALUES = 50


# Checking what was asked --------------------------------------------------------------------------------


def _bad(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def _checked_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not 0 < len(key) <= MAX_KEY:
        raise _bad(f"An idempotency key is 1 to {MAX_KEY} characters.", "invalid_idempotency_key")
    return key


def _checked_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    values = dict(meta or {})
    try:
        size = len(json.dumps(values, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise _bad("The message's meta must be plain JSON (texts, numbers, lists, objects).", "invalid_meta") from exc
    if size > MAX_META_BYTES:
        raise _bad(f"The message's meta is at most {MAX_META_BYTES // 1024} KB of JSON.", "meta_too_large")
    return values


def _checked_template(template: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if template is None:
        return None
    name = str(template.get("name") or "").strip()
    language = str(template.get("language") or "").strip() or None
    parameters = template.get("parameters") or {}
    if not name or len(name) > 200:
        raise _bad("Give the template's name (or id) as the provider approved it.", "template_required")
    if not isinstance(parameters, Mapping) or len(parameters) > MAX_TEMPLATE_VALUES or any(
            len(str(key)) > 100 or len(str(value)) > 1000 for key, value in parameters.items()):
        raise _bad(f"A template takes at most {MAX_TEMPLATE_VALUES} values of at most 1,000 characters.",
                   "template_values_too_long")
    return {"name": name, "language": language, "parameters": {str(k): str(v) for k, v in parameters.items()}}


def _checked_content(*, text: str, subject: str | None, html: str | None,
                     template: dict[str, Any] | None) -> tuple[str, str | None, str | None]:
    text = text.strip()
    if not text and template is None:
        raise _bad("Give the message's text (or an approved template).", "empty_message")
    if len(text) > MAX_TEXT:
        raise _bad(f"A message is at most {MAX_TEXT:,} characters.", "message_too_long")
    subject = " ".join((subject or "").split()) or None
    if subject is not None and len(subject) > MAX_SUBJECT:
        raise _bad(f"A subject is at most {MAX_SUBJECT} characters.", "subject_too_long")
    html = html or None
    if html is not None and len(html) > MAX_HTML:
        raise _bad(f"An e-mail's HTML is at most {MAX_HTML // 1024} KB.", "html_too_large")
    if html is not None and not text:
        raise _bad("An HTML e-mail needs its plain-text version too.", "text_required")
    return text, subject, html


# Where it goes ------------------------------------------------------------------------------------------


def _capabilities(channel: Channel) -> Capabilities:
    try:
        return adapter_class(channel.kind).capabilities
    except ChannelError as exc:
        raise Conflict(exc.message, code="channel_kind_unknown") from exc


def pick_channel(session: Session, *, channel_kind: str, channel_id: int | None = None) -> Channel:
    """The channel to send on: ``channel_id`` when given (active, of that kind), else the first active channel of
    ``channel_kind``; Conflict ``no_active_channel`` when there is none."""
    if channel_id is not None:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.kind != channel_kind:
            raise ValidationFailed(f"There is no {channel_kind} channel {channel_id}.", code="channel_not_found")
        if channel.status != ChannelStatus.active:
            raise Conflict(f"{channel.name} is not active ({channel.status.value}); it cannot send now.",
                           code="no_active_channel")
        return channel
    found = session.scalar(select(Channel).where(Channel.kind == channel_kind, Channel.status == ChannelStatus.active)
                           .order_by(Channel.id).limit(1))
    if found is None:
        raise Conflict(f"No active {channel_kind} channel is connected.", code="no_active_channel")
    return found


def _contact_point(session: Session, *, channel: Channel, profile_id: int, address_type: str,
                   address: str) -> ContactPoint:
    """The customer's contact point for the address on the channel, made when it is the first message there."""
    point = session.scalar(select(ContactPoint).where(
        ContactPoint.channel_id == channel.id, ContactPoint.type == address_type, ContactPoint.value == address,
        ContactPoint.scope == ""))
    if point is None:
        point = ContactPoint(profile_id=profile_id, channel_id=channel.id, type=address_type, scope="", value=address,
                             created_at=utcnow())
        session.add(point)
        session.flush()
        return point
    if resolve_profile_id(session, profile_id=point.profile_id) != profile_id:
        raise Conflict(f"The address on {channel.name} belongs to another customer; it is not written to for this "
                       "one.", code="address_of_another_customer")
    if point.opted_out_at is not None:
        raise Conflict(f"The customer opted out of {channel.name} at this address.", code="address_opted_out")
    return point


def _conversation(session: Session, *, profile_id: int) -> Conversation:
    """The customer's conversation in progress, else a new one made resolved: outreach alone asks nothing of the
    agents, and the customer's answer reopens it as any message does."""
    found = current_conversation(session, profile_id=profile_id)
    if found is not None:
        return found
    now = utcnow()
    conversation = Conversation(profile_id=profile_id, status=ConversationStatus.resolved, resolved_at=now,
                                last_message_at=now, created_at=now)
    session.add(conversation)
    session.flush()
    return conversation


def _customer(session: Session, profile_id: int) -> int:
    try:
        return resolve_profile_id(session, profile_id=profile_id)
    except NotFound:
        raise NotFound(f"There is no customer {profile_id}.", code="customer_not_found") from None


# Queueing -----------------------------------------------------------------------------------------------


def queue_outreach(session: Session, *, profile_id: int, channel_kind: str, address_type: str, address: str,
                   idempotency_key: str, channel_id: int | None = None, text: str = "", subject: str | None = None,
                   html: str | None = None, template: Mapping[str, Any] | None = None,
                   meta: Mapping[str, Any] | None = None, track: bool = False) -> Message:
    """Queue a message to the customer at ``address`` on a channel of ``channel_kind``, in their conversation
    (helper: no commit). A message with ``idempotency_key`` already queued is returned as it is.

    ``track`` (e-mail with HTML) rewrites the HTML's web links to tracked links and adds an open pixel.
    ValidationFailed or Conflict, with a ``code``, when it cannot go on this channel."""
    key = _checked_key(idempotency_key)
    existing = session.scalar(select(Message).where(Message.idempotency_key == key))
    if existing is not None:
        return existing
    checked_template = _checked_template(template)
    text, subject, html = _checked_content(text=text, subject=subject, html=html, template=checked_template)
    extra = _checked_meta(meta)
    address = address.strip()
    if not address or len(address) > MAX_ADDRESS or not address_type.strip():
        raise _bad(f"Give the address type and an address of at most {MAX_ADDRESS} characters.", "invalid_address")
    root = _customer(session, profile_id)
    channel = pick_channel(session, channel_kind=channel_kind, channel_id=channel_id)
    capabilities = _capabilities(channel)
    if capabilities.address_types and address_type not in capabilities.address_types:
        raise ValidationFailed(f"{channel.name} writes to {', '.join(capabilities.address_types)}, not to a "
                               f"{address_type}.", code="address_type_unsupported")
    if checked_template is not None and not capabilities.templates:
        raise ValidationFailed(f"{channel.name} does not send templates.", code="templates_not_supported")
    point = _contact_point(session, channel=channel, profile_id=root, address_type=address_type, address=address)
    conversation = _conversation(session, profile_id=root)
    now = utcnow()
    message_meta = {**extra, "outreach": True, **({"template": checked_template} if checked_template else {})}
    message = Message(conversation_id=conversation.id, channel_id=channel.id, contact_point_id=point.id,
                      direction=Direction.outbound, state=MessageState.queued, idempotency_key=key, author_id=None,
                      text=text or _template_preview(checked_template),
                      subject=subject if capabilities.subject else None, html=html if capabilities.html else None,
                      meta=message_meta, sent_at=now, created_at=now)
    session.add(message)
    conversation.last_message_at = max(conversation.last_message_at, now)
    session.flush()
    if track and message.html:
        message.html = engagement.track_message(session, message=message, html=message.html)
    queue_send(session, message=message, channel_id=channel.id)
    announce_message(session, message, channel=channel)
    return message


def _template_preview(template: dict[str, Any] | None) -> str:
    if template is None:
        return ""
    values = ", ".join(f"{key}: {value}" for key, value in template["parameters"].items())
    return f"[{template['name']}] {values}".strip()


# Telling the caller how it went --------------------------------------------------------------------------


def announce_state(session: Session, message: Message, *, channel: Channel | None = None) -> None:
    """Emit ``inbox.message.status_changed`` for an outreach message whose state just changed (other messages
    stay quiet) (helper)."""
    if not message.meta.get("outreach"):
        return
    conversation = session.get(Conversation, message.conversation_id)
    channel = channel or (session.get(Channel, message.channel_id) if message.channel_id else None)
    emit(session, topic=STATUS_CHANGED, aggregate_type="message", aggregate_id=message.id,
         payload={"message_id": message.id, "conversation_id": message.conversation_id,
                  "profile_id": conversation.profile_id if conversation else None,
                  "channel_kind": channel.kind if channel else None, "channel_id": message.channel_id,
                  "state": message.state.value, "error": message.error, "meta": dict(message.meta),
                  "at": (message.state_changed_at or utcnow()).isoformat()})
