"""Event services: sources and their write keys, ingestion into the event log, quarantine."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import is_postgres, one_of
from xuyen.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed
from xuyen.events.models import ChannelType, Event, EventType, QuarantinedEvent, Source
from xuyen.events.segment import InvalidItem, ValidEvent, batch_sent_at, parse_item
from xuyen.identity.graph import (
    CallIdentity,
    RawIdentifier,
    list_identifiers,
    resolve_calls,
    resolve_profile_id,
    resolve_profile_ids,
)
from xuyen.outbox import emit

WRITE_KEY_PREFIX = "wk"
INGEST_ATTEMPTS = 4


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_source(session: Session, *, name: str, channel: ChannelType, store_id: int | None = None) -> tuple[Source, str]:
    """Add a source; returns it and its write key, which is stored only as a hash (helper: caller commits)."""
    if not name.strip():
        raise ValidationFailed("A source needs a name, e.g. 'Website' or 'Shopee shop'.", code="invalid_source")
    prefix = secrets.token_hex(4)
    key = f"{WRITE_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    source = Source(name=name.strip(), channel=channel, store_id=store_id, write_key_prefix=prefix,
                    write_key_hash=_digest(key), is_active=True, created_at=utcnow())
    session.add(source)
    session.flush()
    return source, key


def internal_source_id(session: Session, *, name: str, channel: ChannelType) -> int:
    """The id of the source a domain records its own calls through (commerce sales, loyalty), added on first use
    (helper: caller commits). Its write key is never shown: the domain writes through ``record_channel_calls``."""
    found = session.scalar(select(Source.id).where(Source.name == name, Source.channel == channel)
                           .order_by(Source.id).limit(1))
    return found if found is not None else add_source(session, name=name, channel=channel)[0].id


def create_source(session: Session, *, name: str, channel: ChannelType,
                  store_id: int | None = None) -> tuple[Source, str]:
    """Create a source; the write key is returned once and never again."""
    source, key = add_source(session, name=name, channel=channel, store_id=store_id)
    session.commit()
    return source, key


def resolve_write_key(session: Session, *, key: str) -> Source | None:
    """The active source whose write key is ``key``, or None."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != WRITE_KEY_PREFIX:
        return None
    source = session.scalar(select(Source).where(Source.write_key_prefix == parts[1]))
    if source is None or not source.is_active or not hmac.compare_digest(source.write_key_hash, _digest(key.strip())):
        return None
    return source


def list_sources(session: Session) -> list[Source]:
    """Every source, by channel then name."""
    return list(session.scalars(select(Source).order_by(Source.channel, Source.name)))


def get_source(session: Session, *, source_id: int) -> Source:
    """The source with ``source_id``."""
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"There is no source {source_id}.", code="source_not_found")
    return source


# Ingestion ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    """What became of a request's calls."""

    stored: int
    duplicates: int
    quarantined: int


def _event_row(source: Source, call: ValidEvent, profile_id: int | None) -> dict[str, Any]:
    return {
        "source_id": source.id, "channel": source.channel.value, "type": call.type, "event": call.event,
        "name": call.name, "message_id": call.message_id, "user_id": call.user_id,
        "anonymous_id": call.anonymous_id, "previous_id": call.previous_id, "group_id": call.group_id,
        "profile_id": profile_id, "properties": call.properties, "traits": call.traits, "context": call.context,
        "integrations": call.integrations, "timestamp": call.timestamp,
        "original_timestamp": call.original_timestamp, "sent_at": call.sent_at, "received_at": call.received_at,
    }


def _trait_identifiers(traits: dict[str, Any]) -> list[RawIdentifier]:
    found = []
    for field, kind in (("email", "email"), ("phone", "phone")):
        value = traits.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            found.append(RawIdentifier(kind, str(value)))
    return found


def _external_ids(context: dict[str, Any]) -> list[RawIdentifier]:
    items = context.get("externalIds")
    if not isinstance(items, list):
        return []
    return [RawIdentifier(str(item["type"]), str(item["id"]),
                          scope=str(item["scope"]) if isinstance(item.get("scope"), str | int) else None)
            for item in items
            if isinstance(item, dict) and item.get("id") not in (None, "") and isinstance(item.get("type"), str)]


def raw_identifiers(call: ValidEvent) -> list[RawIdentifier]:
    """The identifiers a call carries: its ids, e-mail and phone traits, and ``context.externalIds``.

    An alias call's ``previousId`` is taken as the anonymous id it links to the user id.
    """
    raw = []
    if call.user_id:
        raw.append(RawIdentifier("user_id", call.user_id))
    if call.anonymous_id:
        raw.append(RawIdentifier("anonymous_id", call.anonymous_id))
    if call.previous_id:
        raw.append(RawIdentifier("anonymous_id", call.previous_id))
    raw.extend(_trait_identifiers(call.traits))
    context_traits = call.context.get("traits")
    if isinstance(context_traits, dict) and context_traits is not call.traits:
        raw.extend(_trait_identifiers(context_traits))
    raw.extend(_external_ids(call.context))
    return raw


def _already_stored(session: Session, *, source: Source, message_ids: list[str]) -> set[str]:
    found: set[str] = set()
    postgres = is_postgres(session)
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start:start + 500]
        found.update(session.scalars(select(Event.message_id).where(
            Event.source_id == source.id, one_of(Event.message_id, chunk, postgres=postgres))))
    return found


def _new_calls(session: Session, *, source: Source, calls: list[ValidEvent]) -> list[ValidEvent]:
    stored = _already_stored(session, source=source, message_ids=[call.message_id for call in calls])
    fresh: dict[str, ValidEvent] = {}
    for call in calls:
        if call.message_id not in stored:
            fresh.setdefault(call.message_id, call)
    return list(fresh.values())


def _store_events(session: Session, *, source: Source, calls: list[ValidEvent], profiles: list[int | None]) -> int:
    if not calls:
        return 0
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    statement = insert(Event).on_conflict_do_nothing(index_elements=["source_id", "message_id"])
    rows = [_event_row(source, call, profile) for call, profile in zip(calls, profiles, strict=True)]
    # One prepared INSERT executed for every row (psycopg pipelines them in one round trip), counting the rows
    # stored: a concurrent retry of the same request may have stored some of them first.
    result = session.connection().execute(statement.execution_options(preserve_rowcount=True), rows)
    return result.rowcount


def ingest(session: Session, *, source: Source, items: list[ValidEvent | InvalidItem], request_id: str,
           received_at: datetime) -> IngestResult:
    """Store a request's valid calls, each resolved to its profile, and quarantine its invalid ones, in one
    transaction.

    A call whose ``messageId`` this source already sent is a retry and is skipped (before identity
    resolution, so a retried batch neither creates a second event nor records anything twice).
    """
    result = add_events(session, source=source, items=items, request_id=request_id, received_at=received_at)
    session.commit()
    return result


def list_quarantined(session: Session, *, source_id: int | None = None, limit: int = 100) -> list[QuarantinedEvent]:
    """The newest quarantined calls, optionally of one source."""
    query = select(QuarantinedEvent).order_by(QuarantinedEvent.id.desc()).limit(limit)
    if source_id is not None:
        query = query.where(QuarantinedEvent.source_id == source_id)
    return list(session.scalars(query))


def list_events(session: Session, *, source_id: int | None = None, user_id: str | None = None,
                anonymous_id: str | None = None, event: str | None = None, limit: int = 100) -> list[Event]:
    """The newest events, filtered by source, user id, anonymous id or event name."""
    query = select(Event).order_by(Event.timestamp.desc(), Event.id.desc()).limit(limit)
    for column, value in ((Event.source_id, source_id), (Event.user_id, user_id),
                          (Event.anonymous_id, anonymous_id), (Event.event, event)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))


def parse_request(*, body: Any, call: str | None, received_at: datetime, max_event_bytes: int,
                  max_batch_events: int) -> list[ValidEvent | InvalidItem]:
    """A tracking request's calls, each valid or invalid; refuses the request whole only when it is
    not a JSON object, an empty batch, or over the batch's event limit."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_body")
    if call is not None:
        return [parse_item(body, position=0, call=call, received_at=received_at, max_bytes=max_event_bytes)]
    batch = body.get("batch")
    if not isinstance(batch, list) or not batch:
        raise BadRequest("A batch needs a non-empty `batch` array of calls.", code="empty_batch")
    if len(batch) > max_batch_events:
        raise PayloadTooLarge(f"A batch may hold at most {max_batch_events:,} calls; this one has {len(batch):,}. "
                              "Send smaller batches.", code="too_many_events",
                              details={"limit_events": max_batch_events})
    defaults = {key: body[key] for key in ("context", "integrations") if isinstance(body.get(key), dict)}
    sent_at = batch_sent_at(body)
    return [parse_item(item, position=index, call=None, received_at=received_at, batch_sent_at=sent_at,
                       defaults=defaults, max_bytes=max_event_bytes)
            for index, item in enumerate(batch)]


def track(session: Session, *, write_key: str | None, body: Any, call: str | None, request_id: str,
          max_event_bytes: int, max_batch_events: int) -> IngestResult:
    """Take one tracking API request: check the write key, store the valid calls, quarantine the rest."""
    source = resolve_write_key(session, key=write_key) if write_key else None
    if source is None:
        raise Unauthorized("The write key is missing, unknown or disabled. Send the source's write key as the "
                           "HTTP Basic user name, `writeKey` in the body, an X-Write-Key header or a "
                           "?writeKey= query parameter; `xuyen source list` shows the sources.",
                           code="invalid_write_key")
    received_at = utcnow()
    items = parse_request(body=body, call=call, received_at=received_at, max_event_bytes=max_event_bytes,
                          max_batch_events=max_batch_events)
    for attempt in range(1, INGEST_ATTEMPTS + 1):
        try:
            return ingest(session, source=source, items=items, request_id=request_id, received_at=received_at)
        except (IntegrityError, OperationalError):
            # A concurrent request created the same identifier or locked the same profiles first
            # (a unique violation or a deadlock on PostgreSQL): start again, it is all rolled back.
            session.rollback()
            if attempt == INGEST_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


# Reading for the events API and the UI (counts per source, one source's quarantine) ------------------


def count_events_by_source(session: Session, *, source_id: int | None = None) -> dict[int, int]:
    """How many events each source (or only ``source_id``) has stored; sources without any are left out."""
    query = select(Event.source_id, func.count()).group_by(Event.source_id)
    if source_id is not None:
        query = query.where(Event.source_id == source_id)
    return {source: count for source, count in session.execute(query)}


def count_quarantined_by_source(session: Session, *, source_id: int | None = None) -> dict[int, int]:
    """How many calls each source (or only ``source_id``) had quarantined; sources without any are left out."""
    query = select(QuarantinedEvent.source_id, func.count()).group_by(QuarantinedEvent.source_id)
    if source_id is not None:
        query = query.where(QuarantinedEvent.source_id == source_id)
    return {source: count for source, count in session.execute(query)}


def list_quarantined_of_source(session: Session, *, source_id: int, limit: int = 100) -> list[QuarantinedEvent]:
    """The newest quarantined calls of the source with ``source_id`` (NotFound when there is none)."""
    get_source(session, source_id=source_id)
    return list_quarantined(session, source_id=source_id, limit=limit)


def _announce_stored(session: Session, *, source: Source, calls: list[ValidEvent], profiles: list[int | None],
                     stored: int) -> None:
    """One ``events.stored`` domain event per request, naming the profiles whose events it added and the message ids
    of its track calls (so that a subscriber can read exactly the calls it stored, with the source's id)."""
    touched = sorted({profile for profile in profiles if profile is not None})
    if stored and touched:
        tracked = [call.message_id for call, profile in zip(calls, profiles, strict=True)
                   if call.type == EventType.track and profile is not None]
        emit(session, topic="events.stored", aggregate_type="source", aggregate_id=source.id,
             payload={"profile_ids": touched, "message_ids": tracked})


def add_events(session: Session, *, source: Source, items: list[ValidEvent | InvalidItem], request_id: str,
               received_at: datetime) -> IngestResult:
    """``ingest`` without the commit: store and resolve the valid calls, quarantine the rest (helper: no commit)."""
    valid = [item for item in items if isinstance(item, ValidEvent)]
    invalid = [item for item in items if isinstance(item, InvalidItem)]
    fresh = _new_calls(session, source=source, calls=valid)
    profiles = resolve_calls(session, calls=[
        CallIdentity(raw=raw_identifiers(call), seen_at=call.timestamp, source_id=source.id,
                     message_id=call.message_id) for call in fresh])
    stored = _store_events(session, source=source, calls=fresh, profiles=profiles)
    _announce_stored(session, source=source, calls=fresh, profiles=profiles, stored=stored)
    for item in invalid:
        session.add(QuarantinedEvent(source_id=source.id, request_id=request_id, position=item.position,
                                     reason=item.reason, detail=item.detail, payload=item.payload,
                                     received_at=received_at))
    return IngestResult(stored=stored, duplicates=len(valid) - stored, quarantined=len(invalid))


# Calls that Xuyên's own channels make on a customer's behalf (a message arrived on the Zalo OA) --------------


def channel_call(*, event: str, message_id: str, identifiers: Sequence[tuple[str, str, str | None]],
                 timestamp: datetime, traits: dict[str, Any] | None = None,
                 properties: dict[str, Any] | None = None) -> ValidEvent:
    """A track call for something that happened on a connected channel; the person is named by the channel's
    identifiers (``type``, ``value``, ``scope``), sent as ``context.externalIds`` with their scope."""
    external = [{"type": kind, "id": value, "collection": "users", **({"scope": scope} if scope else {})}
                for kind, value, scope in identifiers]
    now = utcnow()
    return ValidEvent(type=EventType.track, message_id=message_id, user_id=None, anonymous_id=None, event=event,
                      name=None, previous_id=None, group_id=None, properties=properties or {}, traits={},
                      context={"externalIds": external, **({"traits": traits} if traits else {})},
                      integrations={}, timestamp=timestamp, original_timestamp=timestamp, sent_at=None,
                      received_at=now)


def record_channel_calls(session: Session, *, calls: Sequence[tuple[int, ValidEvent]]) -> list[int | None]:
    """Store channel calls, each with its source's id, in the event log, and return each call's surviving profile;
    a call stored before (same source and message id) answers the profile it was stored with (helper: no commit).

    The calls of all the sources are resolved in one pass of the identity graph, so its locks are taken in one
    round: a worker taking them source by source could deadlock with another doing the same in another order.
    """
    sources = {source_id: get_source(session, source_id=source_id) for source_id, _call in calls}
    fresh = [(source, call) for source in sources.values()
             for call in _new_calls(session, source=source, calls=[c for s, c in calls if s == source.id])]
    profiles = resolve_calls(session, calls=[
        CallIdentity(raw=raw_identifiers(call), seen_at=call.timestamp, source_id=source.id,
                     message_id=call.message_id) for source, call in fresh])
    for source in sources.values():
        mine = [(call, profile) for (owner, call), profile in zip(fresh, profiles, strict=True) if owner is source]
        stored = _store_events(session, source=source, calls=[call for call, _ in mine],
                               profiles=[profile for _, profile in mine])
        _announce_stored(session, source=source, calls=[call for call, _ in mine],
                         profiles=[profile for _, profile in mine], stored=stored)
    found = {(source_id, message_id): profile_id for source_id, message_id, profile_id in session.execute(
        select(Event.source_id, Event.message_id, Event.profile_id).where(
            Event.source_id.in_(sorted(sources)),
            one_of(Event.message_id, sorted({call.message_id for _, call in calls}), postgres=is_postgres(session))))}
    survivors = resolve_profile_ids(session, profile_ids={p for p in found.values() if p is not None})
    return [None if (profile_id := found.get((source_id, call.message_id))) is None else survivors[profile_id]
            for source_id, call in calls]


# The identifiers that name a customer best in the event log, strongest first.
PREFERRED_IDENTIFIERS = ("user_id", "loyalty_card", "phone", "email")


def identifier_of(session: Session, *, profile_id: int | None) -> tuple[str, str, str | None] | None:
    """One identifier that names the customer (as merged now) in the event log, the strongest first; None when
    they have none."""
    if profile_id is None:
        return None
    found = list_identifiers(session, profile_id=resolve_profile_id(session, profile_id=profile_id))
    if not found:
        return None
    rank = {kind: index for index, kind in enumerate(PREFERRED_IDENTIFIERS)}
    best = min(found, key=lambda item: (rank.get(item.type, len(rank)), item.id))
    return best.type, best.value, best.scope or None


def record_on_profile(session: Session, *, source_name: str, event: str, message_id: str, profile_id: int | None,
                      at: datetime, properties: dict[str, Any]) -> bool:
    """Record a domain's own track call ``event`` on the customer's profile through its internal source (helper: no
    commit); whether it was recorded (a customer with no identifier is not)."""
    identifier = identifier_of(session, profile_id=profile_id)
    if identifier is None:
        return False
    call = channel_call(event=event, message_id=message_id, identifiers=[identifier], timestamp=at,
                        properties=properties)
    record_channel_calls(session, calls=[(internal_source_id(session, name=source_name, channel=ChannelType.api),
                                          call)])
    return True


def identify_on_profile(session: Session, *, source_name: str, message_id: str, profile_id: int | None,
                        at: datetime, traits: dict[str, Any]) -> bool:
    """Record a domain's own identify call setting ``traits`` on the customer's profile through its internal source
    (helper: no commit); whether it was recorded (a customer with no identifier is not). The same ``message_id``
    is recorded once."""
    identifier = identifier_of(session, profile_id=profile_id)
    if identifier is None:
        return False
    call = channel_call(event="", message_id=message_id, identifiers=[identifier], timestamp=at)
    call = replace(call, type=EventType.identify, event=None, traits=dict(traits))
    record_channel_calls(session, calls=[(internal_source_id(session, name=source_name, channel=ChannelType.api),
                                          call)])
    return True
