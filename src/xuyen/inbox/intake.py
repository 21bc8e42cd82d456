"""What channels bring in: webhooks verified over their raw bytes, kept whole, deduped and queued before
they are answered; then, in a worker, parsed into messages, delivery states and contact events.

One receipt is one job, urgent (an agent is waiting for what it carries); the worker hands the queued ones to
``process_receipts`` together, so their senders are resolved in one batch. A message that cannot be parsed fails its
own receipt (kept with the reason, to be retried or read) and never holds up the channel's next ones.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeGuard

import httpx
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.channels.base import (
    ChannelAdapter,
    ChannelError,
    ContactEvent,
    Inbound,
    InboundMessage,
    LeadNotice,
    PayloadInvalid,
    PolledItem,
    SendFailed,
    SignatureInvalid,
    StatusUpdate,
    WebhookAnswer,
    WebhookRequest,
)
from xuyen.channels.registry import adapter_class
from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.errors import NotFound, Unauthorized
from xuyen.inbox import threads
from xuyen.inbox.connections import build_adapter, flag_credentials, get_channel, is_sandbox
from xuyen.inbox.models import Channel, ChannelStatus, Message, MessageState, ReceiptStatus, WebhookReceipt
from xuyen.inbox.outreach import announce_state
from xuyen.jobs import URGENT, add_job, add_jobs
from xuyen.outbox import emit
from xuyen.tls import http_client

log = logging.getLogger("xuyen.inbox")

PROCESS_JOB = "inbox.process_receipt"
LEAD_RECEIVED = "channel.lead_received"
# Headers worth keeping with a receipt (what a signature or a redelivery is judged by), never cookies.
_KEPT_HEADERS = ("content-type", "user-agent", "x-hub-signature-256", "x-zevent-signature", "x-signature",
                 "x-timestamp", "x-request-id")


@cache
def _reading_http() -> httpx.Client:
    """One HTTP client for the adapters that read what came in, shared and never closed."""
    return http_client(timeout=httpx.Timeout(10.0, connect=5.0))


def _reading_adapter(channel: Channel) -> ChannelAdapter:
    """The channel's adapter for verifying and parsing deliveries. These call no provider, and a client of their
    own would cost more than the rest of a webhook (loading the CA certificates takes about 20 ms), so they share
    one; the adapter is not closed."""
    return build_adapter(channel, http=_reading_http())


def _active_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None or channel.status == ChannelStatus.disabled:
        raise NotFound(f"There is no channel {channel_id} taking webhooks.", code="channel_not_found")
    return channel


def receive_webhook(session: Session, *, channel_id: int, request: WebhookRequest) -> WebhookAnswer:
    """Take one webhook: answer a handshake, or verify it, keep it raw, queue its parsing; then answer."""
    channel = _active_channel(session, channel_id)
    adapter = _reading_adapter(channel)
    try:
        handshake = adapter.handshake(request)
        if handshake is not None:
            return handshake
        if request.method != "POST":
            raise NotFound("Webhooks are POSTed.", code="not_found")
        adapter.verify(request)
    except SignatureInvalid as exc:
        raise Unauthorized(f"The webhook's signature does not verify: {exc.message}", code="bad_signature") from exc
    key = adapter.webhook_id(request) or "sha256:" + hashlib.sha256(request.body).hexdigest()
    receipt_id = _keep_receipt(session, channel=channel, request=request, dedupe_key=key)
    if receipt_id is not None:
        add_jobs(session, [{"name": PROCESS_JOB, "payload": {"receipt_id": receipt_id}, "priority": URGENT}])
    session.commit()
    return adapter.ack(request)


def _keep_receipt(session: Session, *, channel: Channel, request: WebhookRequest, dedupe_key: str) -> int | None:
    """Store the delivery raw; None when the same delivery was stored before (a provider's retry)."""
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    headers = {name: value for name, value in request.headers.items() if name in _KEPT_HEADERS}
    statement = (insert(WebhookReceipt)
                 .values(channel_id=channel.id, dedupe_key=dedupe_key[:128], received_at=request.received_at,
                         headers=headers | ({"query": dict(request.query)} if request.query else {}),
                         body=request.body, status=ReceiptStatus.queued, items=0)
                 .on_conflict_do_nothing(index_elements=["channel_id", "dedupe_key"])
                 .returning(WebhookReceipt.id))
    return session.execute(statement).scalar_one_or_none()


def keep_polled(session: Session, *, channel: Channel, items: list[PolledItem]) -> int:
    """Store polled items raw and queue their parsing, skipping those seen before (helper: no commit)."""
    received_at, kept = utcnow(), 0
    for item in items:
        request = WebhookRequest(method="POLL", headers={}, query={}, body=item.body, received_at=received_at)
        receipt_id = _keep_receipt(session, channel=channel, request=request, dedupe_key="polled:" + item.provider_id)
        if receipt_id is not None:
            add_job(session, name=PROCESS_JOB, payload={"receipt_id": receipt_id}, priority=URGENT)
            kept += 1
    return kept


def poll_channel(session: Session, *, channel_id: int) -> int:
    """Fetch what a polled channel (a mailbox) received since its last poll, keep it and queue its parsing;
    how many new items were kept. A channel refusing our credentials is flagged for its owner (helper for
    the job: the worker commits)."""
    channel = get_channel(session, channel_id=channel_id)
    if channel.status != ChannelStatus.active:
        return 0
    adapter = build_adapter(channel)
    try:
        result = adapter.poll(cursor=channel.poll_cursor)
    except SendFailed as exc:
        if not exc.credentials_revoked:
            raise
        flag_credentials(channel, reason=exc.message)
        return 0
    finally:
        adapter.close()
    kept = keep_polled(session, channel=channel, items=result.items)
    channel.poll_cursor, channel.last_polled_at = result.cursor, utcnow()
    return kept


def polled_channel_ids(session: Session) -> list[int]:
    """The active channels the inbox fetches from (their adapters are polled, not called by webhooks)."""
    found = []
    for channel in session.scalars(select(Channel).where(Channel.status == ChannelStatus.active)):
        try:
            if adapter_class(channel.kind).capabilities.polled and not is_sandbox(channel):
                found.append(channel.id)
        except ChannelError:
            log.warning("channel %s has kind %r, which is not installed", channel.id, channel.kind)
    return found


# Parsing, in a worker ------------------------------------------------------------------------------------


def process_receipts(session: Session, *, receipt_ids: Sequence[int]) -> None:
    """Parse kept deliveries and apply what they carry, their senders resolved together (helper for the job: the
    worker commits).

    An unparseable delivery, or one whose sender carries no usable identifier, is marked failed with the reason
    and applies nothing; the others go on, and the job itself succeeds, so the failed one is not retried until
    someone asks (the provider's bytes will not change).
    """
    parsed = [(receipt, channel, items) for receipt in _queued_receipts(session, receipt_ids)
              if (channel := get_channel(session, channel_id=receipt.channel_id)) is not None
              and (items := _parse_or_fail(channel, receipt)) is not None]
    senders = [(channel, item) for _receipt, channel, items in parsed for item in items if _has_sender(item)]
    profiles = iter(threads.resolve_senders(session, items=senders))
    arrivals: list[threads.Arrival] = []  # consecutive messages, added together
    for receipt, channel, items in parsed:
        found = {id(item): next(profiles) for item in items if _has_sender(item)}
        if None in found.values():
            _fail(receipt, channel, "The sender carries no identifier Xuyên can use (all were empty or blocked).")
            continue
        for item in items:
            profile_id = found.get(id(item))
            if isinstance(item, InboundMessage) and profile_id is not None:
                arrivals.append(threads.Arrival(channel=channel, message=item, profile_id=profile_id,
                                                receipt_id=receipt.id))
                continue
            threads.add_inbound_messages(session, arrivals=arrivals)
            arrivals = []
            apply_inbound(session, channel=channel, item=item, receipt_id=receipt.id, profile_id=profile_id)
        receipt.status, receipt.items, receipt.error, receipt.processed_at = (ReceiptStatus.processed, len(items),
                                                                              None, utcnow())
    threads.add_inbound_messages(session, arrivals=arrivals)


def _queued_receipts(session: Session, receipt_ids: Sequence[int]) -> list[WebhookReceipt]:
    return list(session.scalars(select(WebhookReceipt).where(
        WebhookReceipt.id.in_(list(receipt_ids)), WebhookReceipt.status != ReceiptStatus.processed)
        .order_by(WebhookReceipt.id)))


def _parse_or_fail(channel: Channel, receipt: WebhookReceipt) -> list[Inbound] | None:
    try:
        return _parse(_reading_adapter(channel), receipt)
    except PayloadInvalid as exc:
        _fail(receipt, channel, exc.message)
        return None


def _fail(receipt: WebhookReceipt, channel: Channel, reason: str) -> None:
    receipt.status, receipt.error, receipt.processed_at = ReceiptStatus.failed, reason, utcnow()
    log.warning("webhook receipt %s of channel %s cannot be parsed: %s", receipt.id, channel.id, reason)


def _has_sender(item: Inbound) -> TypeGuard[threads.Sender]:
    return isinstance(item, InboundMessage | ContactEvent)


def _parse(adapter: Any, receipt: WebhookReceipt) -> list[Inbound]:
    if receipt.dedupe_key.startswith("polled:"):
        provider_id = receipt.dedupe_key.removeprefix("polled:")
        parsed: list[Inbound] = adapter.parse_polled(PolledItem(provider_id=provider_id, body=receipt.body))
        return parsed
    headers = {key: value for key, value in receipt.headers.items() if isinstance(value, str)}
    query = receipt.headers.get("query") or {}
    request = WebhookRequest(method="POST", headers=headers, query=query, body=receipt.body,
                             received_at=receipt.received_at)
    parsed = adapter.parse(request)
    return parsed


def apply_inbound(session: Session, *, channel: Channel, item: Inbound, receipt_id: int | None,
                  profile_id: int | None = None) -> None:
    """Apply one parsed item: a message joins its customer's conversation, a status moves a sent message on,
    a contact event is logged (helper: no commit). ``profile_id`` is the sender, when already resolved."""
    if isinstance(item, InboundMessage):
        threads.add_inbound_message(session, channel=channel, message=item, receipt_id=receipt_id,
                                    profile_id=profile_id)
    elif isinstance(item, StatusUpdate):
        apply_status(session, channel=channel, update_=item)
    elif isinstance(item, ContactEvent):
        threads.apply_contact_event(session, channel=channel, event=item, profile_id=profile_id)
    elif isinstance(item, LeadNotice):
        announce_lead(session, channel=channel, notice=item)


def announce_lead(session: Session, *, channel: Channel, notice: LeadNotice) -> None:
    """Hand a lead a channel received (a Lead Ads form, a Zalo information request) to whoever captures leads,
    through the outbox event ``channel.lead_received`` (helper: no commit)."""
    identifiers = [[found.type, found.value, found.scope] for found in notice.contact.identifiers] \
        if notice.contact is not None else []
    emit(session, topic=LEAD_RECEIVED, aggregate_type="channel", aggregate_id=channel.id,
         payload={"channel_id": channel.id, "channel_name": channel.name, "channel_kind": channel.kind,
                  "source": notice.source, "provider_lead_id": notice.provider_lead_id,
                  "at": notice.at.isoformat(), "complete": notice.complete, "fields": dict(notice.fields),
                  "detail": dict(notice.detail), "identifiers": identifiers,
                  "name": notice.contact.name if notice.contact is not None else None})


_ORDER = {MessageState.queued: 0, MessageState.sent: 1, MessageState.delivered: 2, MessageState.read: 3}


def apply_status(session: Session, *, channel: Channel, update_: StatusUpdate) -> int:
    """Move outbound messages to a later delivery state, never back (statuses arrive out of order); a failure
    sticks unless the message was already delivered or read. Returns how many moved (helper)."""
    state = MessageState(update_.state.value)
    query = select(Message).where(Message.channel_id == channel.id, Message.direction == "outbound")
    if update_.provider_message_id is not None:
        query = query.where(Message.provider_message_id == update_.provider_message_id)
    elif update_.up_to and update_.contact is not None:
        point = threads.find_contact_point(session, channel=channel, contact=update_.contact)
        if point is None:
            return 0
        query = query.where(Message.contact_point_id == point.id, Message.sent_at <= update_.at)
    else:
        return 0
    moved = 0
    for message in session.scalars(query):
        if _moves_forward(message.state, state):
            message.state, message.state_changed_at = state, update_.at
            if state == MessageState.failed:
                message.error = update_.error or "The provider reports the message was not delivered."
            announce_state(session, message, channel=channel)
            moved += 1
    if moved:
        threads.announce(session, kind="status", channel_id=channel.id)
    return moved


def _moves_forward(current: MessageState, new: MessageState) -> bool:
    if new == MessageState.failed:
        return current in (MessageState.queued, MessageState.sent)
    if current == MessageState.failed:
        return False
    return _ORDER.get(new, -1) > _ORDER.get(current, -1)


def retry_failed_receipts(session: Session, *, channel_id: int | None = None) -> int:
    """Queue failed deliveries again (after an adapter fix); how many were queued."""
    query = select(WebhookReceipt.id).where(WebhookReceipt.status == ReceiptStatus.failed)
    if channel_id is not None:
        query = query.where(WebhookReceipt.channel_id == channel_id)
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(WebhookReceipt).where(WebhookReceipt.id.in_(ids))
                        .values(status=ReceiptStatus.queued, error=None))
    for receipt_id in ids:
        add_job(session, name=PROCESS_JOB, payload={"receipt_id": receipt_id})
    session.commit()
    return len(ids)

