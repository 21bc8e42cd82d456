"""Sending a queued reply through its channel's adapter, once: the job runs in a transaction of its own, skips a
message that is no longer queued, and hands the provider the message's idempotency key."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.channels.base import DeliveryState, OutboundMessage, SendFailed, SendResult, Template
from xuyen.clock import utcnow
from xuyen.inbox.connections import build_adapter, flag_credentials, is_sandbox, store_rotated_secrets
from xuyen.inbox.models import Channel, ContactPoint, Direction, Message, MessageState
from xuyen.inbox.outreach import announce_state
from xuyen.inbox.service import queue_send, recipient
from xuyen.inbox.threads import announce, thread_key
from xuyen.jobs import backoff_delay

log = logging.getLogger("xuyen.inbox")


MAX_SEND_ATTEMPTS = 8


def _replied_to(session: Session, message: Message) -> str | None:
    """The provider id of the customer's latest message on the same channel (e-mail threads on it)."""
    return session.scalar(select(Message.provider_message_id).where(
        Message.conversation_id == message.conversation_id, Message.channel_id == message.channel_id,
        Message.direction == Direction.inbound).order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))


def send_message(session: Session, *, message_id: int) -> None:
    """Send one queued outbound message (helper for the isolated job: the worker commits)."""
    message = session.get(Message, message_id)
    if message is None or message.state != MessageState.queued or message.channel_id is None:
        return
    channel = session.get(Channel, message.channel_id)
    point = session.get(ContactPoint, message.contact_point_id) if message.contact_point_id else None
    if channel is None or point is None:
        _fail(session, message, "The channel or the customer's address on it was removed before sending.")
        return
    template = message.meta.get("template")
    outbound = OutboundMessage(idempotency_key=message.idempotency_key or f"m{message.id}", to=recipient(point),
                               text="" if template else message.text, tag=message.meta.get("tag"),
                               template=Template(name=template["name"], language=template.get("language"),
                                                 parameters=template.get("parameters") or {}) if template else None,
                               subject=message.subject, html=message.html,
                               headers={"X-Xuyen-Thread": thread_key(message.conversation_id)},
                               reply_to_provider_id=_replied_to(session, message))
    if is_sandbox(channel):
        _record_sent(session, message, SendResult(provider_message_id=f"sandbox-{message.id}",
                                                  state=DeliveryState.DELIVERED))
        return
    adapter = build_adapter(channel)
    try:
        result = adapter.send(outbound)
    except SendFailed as exc:
        _refused(session, channel, message, exc)
        return
    finally:
        store_rotated_secrets(channel, getattr(adapter, "rotated_secrets", None) or {})
        adapter.close()
    _record_sent(session, message, result)


def _record_sent(session: Session, message: Message, result: SendResult) -> None:
    message.provider_message_id = result.provider_message_id
    # Accepted by the provider is "sent" here, even where the provider still queues it on its side.
    state = MessageState.sent if result.state == DeliveryState.QUEUED else MessageState(result.state.value)
    message.state, message.state_changed_at, message.error = state, utcnow(), None
    message.meta = {**message.meta, "parts": result.parts}
    announce(session, kind="status", conversation_id=message.conversation_id, message_id=message.id)
    announce_state(session, message)


def _refused(session: Session, channel: Channel, message: Message, error: SendFailed) -> None:
    """Record a refusal: a passing one is tried again later by a new job (so tokens the provider rotated
    meanwhile are kept: the job itself succeeds and commits), a lasting one fails the message."""
    attempts = int(message.meta.get("attempts", 0)) + 1
    message.meta = {**message.meta, "attempts": attempts}
    if error.retryable and attempts < MAX_SEND_ATTEMPTS:
        message.error = f"Not sent yet (attempt {attempts} of {MAX_SEND_ATTEMPTS}): {error.message}"
        queue_send(session, message=message, channel_id=channel.id, run_at=utcnow() + backoff_delay(attempts))
        return
    if error.credentials_revoked:
        flag_credentials(channel, reason=error.message)
    _fail(session, message, error.message)


def _fail(session: Session, message: Message, reason: str) -> None:
    message.state, message.state_changed_at, message.error = MessageState.failed, utcnow(), reason
    log.warning("message %s was not sent: %s", message.id, reason)
    announce(session, kind="status", conversation_id=message.conversation_id, message_id=message.id)
    announce_state(session, message)
