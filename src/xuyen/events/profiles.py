"""What the event log says about a set of profiles: their traits as sent, activity per channel, orders,
consent changes, a page of their timeline, and the erasure of their personal fields.

Read by the customers domain, which builds each customer's traits, computed traits and consents from the
log, so that merges, unmerges and erasures are reflected by building again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from xuyen.clock import utcnow
from xuyen.events.models import ChannelType, Event, EventType, Source

CONSENT_EVENT = "Consent Updated"
ORDER_EVENTS = ("Order Completed", "Order Refunded", "Order Cancelled")

# Context and property keys that hold personal data, removed from a person's events when they are erased.
PERSONAL_CONTEXT_KEYS = ("traits", "ip", "userAgent", "externalIds", "device", "location", "network")
PERSONAL_PROPERTY_KEYS = ("email", "phone", "name", "first_name", "last_name", "firstName", "lastName",
                          "address", "shipping_address", "billing_address", "shippingAddress", "billingAddress",
                          "customer", "recipient", "proof_ip", "user_agent")


@dataclass(frozen=True)
class TraitCall:
    """The traits one call set, with where and when it was sent."""

    event_id: int
    source_id: int
    channel: str
    timestamp: datetime
    traits: dict[str, Any]


@dataclass(frozen=True)
class ChannelActivity:
    """How many events a channel brought, and when the first and last happened."""

    channel: str
    events: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class OrderEvent:
    """An order completed, refunded or cancelled, as its event said."""

    event_id: int
    event: str
    channel: str
    timestamp: datetime
    properties: dict[str, Any]


@dataclass(frozen=True)
class ConsentEvent:
    """A ``Consent Updated`` call: what was granted or withdrawn, where, when, and its context as proof."""

    event_id: int
    message_id: str
    source_id: int
    channel: str
    timestamp: datetime
    properties: dict[str, Any]
    context: dict[str, Any]


@dataclass(frozen=True)
class TimelineEvent:
    """One event as a customer's timeline shows it."""

    id: int
    type: str
    event: str | None
    name: str | None
    channel: str
    source_id: int
    source_name: str
    timestamp: datetime
    properties: dict[str, Any]
    traits: dict[str, Any]


def trait_calls(session: Session, *, profile_ids: Sequence[int]) -> list[TraitCall]:
    """The profiles' calls that carried traits, oldest first: an identify call's ``traits`` (over its
    ``context.traits``), and the ``context.traits`` a till, a marketplace or a chat app sends with a track call."""
    events = session.scalars(
        select(Event).options(load_only(Event.id, Event.source_id, Event.channel, Event.timestamp, Event.type,
                                        Event.traits, Event.context))
        .where(Event.profile_id.in_(profile_ids), Event.type.in_((EventType.identify, EventType.track)))
        .order_by(Event.timestamp, Event.id)
    )
    calls = []
    for event in events:
        context_traits = (event.context or {}).get("traits")
        sent = {**(context_traits if isinstance(context_traits, dict) else {}),
                **((event.traits or {}) if event.type == EventType.identify else {})}
        if sent:
            calls.append(TraitCall(event_id=event.id, source_id=event.source_id, channel=event.channel,
                                   timestamp=event.timestamp, traits=sent))
    return calls


def channel_activity(session: Session, *, profile_ids: Sequence[int]) -> list[ChannelActivity]:
    """Per channel: the profiles' event count and their first and last event time."""
    rows = session.execute(
        select(Event.channel, func.count(), func.min(Event.timestamp), func.max(Event.timestamp))
        .where(Event.profile_id.in_(profile_ids)).group_by(Event.channel)
    )
    return [ChannelActivity(channel=channel, events=count, first_at=first, last_at=last)
            for channel, count, first, last in rows]


def recent_channel_counts(session: Session, *, profile_ids: Sequence[int], since: datetime) -> dict[str, int]:
    """Per channel: how many of the profiles' events happened at or after ``since``."""
    rows = session.execute(
        select(Event.channel, func.count())
        .where(Event.profile_id.in_(profile_ids), Event.timestamp >= since).group_by(Event.channel)
    )
    return {channel: count for channel, count in rows}


def order_events(session: Session, *, profile_ids: Sequence[int]) -> list[OrderEvent]:
    """The profiles' order events (completed, refunded, cancelled), oldest first."""
    events = session.scalars(
        select(Event).options(load_only(Event.id, Event.event, Event.channel, Event.timestamp, Event.properties))
        .where(Event.profile_id.in_(profile_ids), Event.type == EventType.track, Event.event.in_(ORDER_EVENTS))
        .order_by(Event.timestamp, Event.id)
    )
    return [OrderEvent(event_id=event.id, event=event.event or "", channel=event.channel, timestamp=event.timestamp,
                       properties=event.properties or {})
            for event in events]


def consent_events(session: Session, *, profile_ids: Sequence[int]) -> list[ConsentEvent]:
    """The profiles' ``Consent Updated`` calls, oldest first."""
    events = session.scalars(
        select(Event).where(Event.profile_id.in_(profile_ids), Event.type == EventType.track,
                            Event.event == CONSENT_EVENT)
        .order_by(Event.timestamp, Event.id)
    )
    return [ConsentEvent(event_id=event.id, message_id=event.message_id, source_id=event.source_id,
                         channel=event.channel, timestamp=event.timestamp, properties=event.properties or {},
                         context=event.context or {})
            for event in events]


# Calls that connected channels record for each message (see ``service.channel_call``): the inbox shows those
# messages on the timeline itself, with their text, so the event items would only repeat them.
CHANNEL_MESSAGE_EVENTS = ("Message Received", "Message Sent")
# Internal sources whose events another timeline provider shows itself, for the viewers allowed to see them (the
# deals' stage changes, say): their event items would repeat those, unfiltered.
_SOURCES_SHOWN_ELSEWHERE: set[str] = set()


def shown_elsewhere_on_timeline(source_name: str) -> None:
    """Leave the events of the internal source ``source_name`` out of the timeline's event items."""
    _SOURCES_SHOWN_ELSEWHERE.add(source_name)


def timeline_page(session: Session, *, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                  limit: int) -> list[TimelineEvent]:
    """The profiles' events newest first, ``limit`` of them, strictly before ``(timestamp, id)`` if given (the
    channels' message calls left out: the inbox shows the messages; so are the sources shown elsewhere)."""
    query = (select(Event, Source.name).join(Source, Source.id == Event.source_id)
             .where(Event.profile_id.in_(profile_ids),
                    or_(Event.event.is_(None), Event.event.not_in(CHANNEL_MESSAGE_EVENTS)))
             .order_by(Event.timestamp.desc(), Event.id.desc()).limit(limit))
    if _SOURCES_SHOWN_ELSEWHERE:
        query = query.where(Source.name.not_in(sorted(_SOURCES_SHOWN_ELSEWHERE)))
    if before is not None:
        at, event_id = before
        query = query.where(or_(Event.timestamp < at, and_(Event.timestamp == at, Event.id < event_id)))
    return [TimelineEvent(id=event.id, type=event.type.value, event=event.event, name=event.name,
                          channel=event.channel, source_id=event.source_id, source_name=source_name,
                          timestamp=event.timestamp, properties=event.properties or {}, traits=event.traits or {})
            for event, source_name in session.execute(query)]


def events_for_export(session: Session, *, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every event of the profiles as plain data, oldest first (for a person's data export)."""
    events = session.scalars(select(Event).where(Event.profile_id.in_(profile_ids))
                             .order_by(Event.timestamp, Event.id))
    return [{"id": event.id, "type": event.type.value, "event": event.event, "name": event.name,
             "channel": event.channel, "source_id": event.source_id, "message_id": event.message_id,
             "user_id": event.user_id, "anonymous_id": event.anonymous_id, "timestamp": event.timestamp.isoformat(),
             "received_at": event.received_at.isoformat(), "properties": event.properties, "traits": event.traits,
             "context": event.context}
            for event in events]


def erase_personal_fields(session: Session, *, profile_ids: Sequence[int]) -> int:
    """Strip the personal fields from every event of the profiles (ids, traits, personal context and
    properties), keeping what the business needs to count (type, name, channel, time, amounts). Returns how
    many events were changed (helper: no commit)."""
    events = list(session.scalars(select(Event).where(Event.profile_id.in_(profile_ids))))
    for event in events:
        event.user_id = None
        event.anonymous_id = None
        event.previous_id = None
        event.traits = {}
        event.context = {key: value for key, value in (event.context or {}).items()
                         if key not in PERSONAL_CONTEXT_KEYS}
        event.properties = {key: value for key, value in (event.properties or {}).items()
                            if key not in PERSONAL_PROPERTY_KEYS}
    session.flush()
    return len(events)


# Calls recorded by Xuyên itself (staff actions such as a consent taken at the counter) -----------------

STAFF_SOURCE_PREFIX = "xuyen-staff"  # never a real write key's prefix (those are hexadecimal)
STAFF_SOURCE_NAME = "Xuyên (nhân viên)"


def staff_source(session: Session) -> Source:
    """The source of calls that staff record through Xuyên; made on first use, it has no usable write key."""
    source = session.scalar(select(Source).where(Source.write_key_prefix == STAFF_SOURCE_PREFIX))
    if source is not None:
        return source
    try:
        with session.begin_nested():
            source = Source(name=STAFF_SOURCE_NAME, channel=ChannelType.api, write_key_prefix=STAFF_SOURCE_PREFIX,
                            write_key_hash="-", is_active=True, created_at=utcnow())
            session.add(source)
        return source
    except IntegrityError:  # made at the same moment by another request
        found = session.scalar(select(Source).where(Source.write_key_prefix == STAFF_SOURCE_PREFIX))
        assert found is not None
        return found


def add_profile_call(session: Session, *, profile_id: int, event: str, properties: dict[str, Any],
                     context: dict[str, Any]) -> Event:
    """Store a track call that staff made about a known profile, stamped with the staff source (helper:
    no commit). The call names the profile directly: no identifiers are resolved."""
    source = staff_source(session)
    now = utcnow()
    call = Event(source_id=source.id, channel=source.channel.value, type=EventType.track, event=event,
                 message_id=f"staff-{uuid.uuid4()}", profile_id=profile_id, properties=properties, traits={},
                 context=context, integrations={}, timestamp=now, original_timestamp=now, sent_at=now,
                 received_at=now)
    session.add(call)
    session.flush()
    return call
