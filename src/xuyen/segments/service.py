"""Segments: define, preview, and keep their members, announcing every entry and exit in the outbox."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen.audit import record as audit
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.events.models import ChannelType, Source
from xuyen.events.service import channel_call, identifier_of, internal_source_id, record_channel_calls
from xuyen.identity.models import Profile
from xuyen.outbox import emit
from xuyen.segments.compile import members_query
from xuyen.segments.models import Segment, SegmentMember
from xuyen.segments.rules import Group, parse_rule
from xuyen.segments.text import describe

ENTERED, EXITED = "segment.entered", "segment.exited"
SOURCE_NAME = "Phân khúc"  # the event source segments record their track events through
TRACKED = {ENTERED: "Segment Entered", EXITED: "Segment Exited"}
SAMPLE_SIZE = 20
MAX_EXPORT = 100_000


@dataclass(frozen=True)
class Preview:
    """What a rule would hold now: how many customers, the first few, and the rule as text."""

    count: int
    sample: list[CustomerProfile]
    text_vi: str
    text_en: str


@dataclass(frozen=True)
class Change:
    """Who entered and who left a segment in one refresh."""

    entered: list[int]
    exited: list[int]


def _checked(session: Session, definition: Any) -> Group:
    """The rule read and compiled once (so that a custom field or province it names is checked too)."""
    rule = parse_rule(definition)
    members_query(session, rule=rule, now=utcnow())
    return rule


def _checked_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise ValidationFailed("A segment needs a name of 1 to 200 characters.", code="invalid_segment_name")
    return cleaned


def get_segment(session: Session, *, segment_id: int) -> Segment:
    """The segment, or NotFound."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"There is no segment {segment_id}.", code="segment_not_found")
    return segment


def list_segments(session: Session) -> list[Segment]:
    """Every segment by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name, Segment.id)))


def rule_of(segment: Segment) -> Group:
    """The segment's stored rule, read."""
    return parse_rule(segment.definition)


def create_segment(session: Session, *, name: str, definition: Any, description: str = "", actor: str) -> Segment:
    """Save a new segment and compute its members (each one an entry)."""
    segment = add_segment(session, name=name, definition=definition, description=description, actor=actor)
    session.commit()
    return segment


def add_segment(session: Session, *, name: str, definition: Any, description: str = "", actor: str) -> Segment:
    """``create_segment`` without the commit (helper: the caller commits)."""
    _checked(session, definition)
    now = utcnow()
    segment = Segment(name=_checked_name(name), description=description.strip(), definition=definition,
                      created_by=actor, created_at=now, updated_at=now)
    session.add(segment)
    _flush_name(session, segment.name)
    audit(session, action="segment.created", actor=actor, subject_type="segment", subject_id=segment.id,
          detail={"name": segment.name})
    _refresh(session, segment=segment, now=now)
    return segment


def update_segment(session: Session, *, segment_id: int, actor: str, name: str | None = None,
                   definition: Any = None, description: str | None = None) -> Segment:
    """Change a segment's name, description or rule; a new rule recomputes its members."""
    segment = get_segment(session, segment_id=segment_id)
    if definition is not None:
        _checked(session, definition)
        segment.definition = definition
    if name is not None:
        segment.name = _checked_name(name)
    if description is not None:
        segment.description = description.strip()
    segment.updated_at = utcnow()
    _flush_name(session, segment.name)
    audit(session, action="segment.changed", actor=actor, subject_type="segment", subject_id=segment.id,
          detail={"name": segment.name, "rule_changed": definition is not None})
    if definition is not None:
        _refresh(session, segment=segment, now=segment.updated_at)
    session.commit()
    return segment


def delete_segment(session: Session, *, segment_id: int, actor: str) -> None:
    """Remove a segment and its members (no exits are announced: the segment is gone)."""
    segment = get_segment(session, segment_id=segment_id)
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    audit(session, action="segment.deleted", actor=actor, subject_type="segment", subject_id=segment.id,
          detail={"name": segment.name, "members": segment.member_count})
    session.delete(segment)
    session.commit()


def _flush_name(session: Session, name: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"A segment is already called {name!r}.", code="segment_name_taken") from None


def preview(session: Session, *, definition: Any, sample_size: int = SAMPLE_SIZE) -> Preview:
    """How many customers a rule holds now and the first few, without saving anything."""
    rule = _checked(session, definition)
    query = members_query(session, rule=rule, now=utcnow())
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    ids = [int(profile_id) for profile_id in session.scalars(query.limit(sample_size))]
    return Preview(count=count, sample=_customers(session, ids), text_vi=describe(rule, language="vi"),
                   text_en=describe(rule, language="en"))


def _customers(session: Session, ids: list[int]) -> list[CustomerProfile]:
    found = {row.profile_id: row for row in
             session.scalars(select(CustomerProfile).where(CustomerProfile.profile_id.in_(ids)))} if ids else {}
    return [found[profile_id] for profile_id in ids if profile_id in found]


def members(session: Session, *, segment_id: int, after: int = 0, limit: int = 50) -> list[CustomerProfile]:
    """A page of the segment's current members by profile id (``after`` the last one seen)."""
    get_segment(session, segment_id=segment_id)
    ids = list(session.scalars(select(SegmentMember.profile_id)
                               .where(SegmentMember.segment_id == segment_id, SegmentMember.profile_id > after)
                               .order_by(SegmentMember.profile_id).limit(limit)))
    return _customers(session, ids)


def export_csv(session: Session, *, segment_id: int, actor: str) -> str:
    """The segment's members as CSV (UTF-8 with a BOM, for Excel); the export is audited."""
    segment = get_segment(session, segment_id=segment_id)
    rows = session.execute(
        select(CustomerProfile.profile_id, CustomerProfile.display_name, CustomerProfile.phones, CustomerProfile.emails,
               CustomerProfile.province_code, SegmentMember.entered_at)
        .join(SegmentMember, SegmentMember.profile_id == CustomerProfile.profile_id)
        .where(SegmentMember.segment_id == segment.id).order_by(CustomerProfile.profile_id).limit(MAX_EXPORT))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["profile_id", "name", "phones", "emails", "province_code", "entered_at"])
    count = 0
    for profile_id, name, phones, emails, province, entered in rows:
        writer.writerow([profile_id, _safe(name), "; ".join(phones or []), "; ".join(emails or []), province,
                         entered.isoformat()])
        count += 1
    audit(session, action="segment.exported", actor=actor, subject_type="segment", subject_id=segment.id,
          detail={"rows": count})
    session.commit()
    return "\ufeff" + out.getvalue()


def _safe(text: str) -> str:
    """A cell that a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def refresh_segment(session: Session, *, segment_id: int) -> Change:
    """Compute the segment's members again, announce who entered and left."""
    change = _refresh(session, segment=get_segment(session, segment_id=segment_id), now=utcnow())
    session.commit()
    return change


def refresh_all(session: Session) -> dict[int, Change]:
    """Every segment refreshed, one commit each."""
    changes = {}
    for segment_id in list(session.scalars(select(Segment.id).order_by(Segment.id))):
        changes[segment_id] = refresh_segment(session, segment_id=segment_id)
    return changes


def refresh_profiles(session: Session, *, profile_ids: Collection[int]) -> dict[int, Change]:
    """Evaluate only these profiles against every segment (after their events, orders or a merge)."""
    if not profile_ids:
        return {}
    now = utcnow()
    changes = {segment.id: _refresh(session, segment=segment, now=now, profile_ids=profile_ids)
               for segment in list_segments(session)}
    session.commit()
    return {segment_id: change for segment_id, change in changes.items() if change.entered or change.exited}


def _refresh(session: Session, *, segment: Segment, now: datetime,
             profile_ids: Collection[int] | None = None) -> Change:
    """The members brought up to date (helper: no commit), for all customers or only ``profile_ids``."""
    query = members_query(session, rule=rule_of(segment), now=now, profile_ids=profile_ids)
    wanted = {int(profile_id) for profile_id in session.scalars(query)}
    held_query = select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment.id)
    if profile_ids is not None:
        held_query = held_query.where(SegmentMember.profile_id.in_(sorted(profile_ids)))
    held = set(session.scalars(held_query))
    change = Change(entered=sorted(wanted - held), exited=sorted(held - wanted))
    _write(session, segment=segment, change=change, now=now)
    if profile_ids is None:
        segment.refreshed_at = now
    segment.member_count = session.scalar(select(func.count()).select_from(SegmentMember)
                                          .where(SegmentMember.segment_id == segment.id)) or 0
    return change


def _write(session: Session, *, segment: Segment, change: Change, now: datetime) -> None:
    for chunk in _chunks(change.exited):
        session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id,
                                                    SegmentMember.profile_id.in_(chunk)))
    session.add_all(SegmentMember(segment_id=segment.id, profile_id=profile_id, entered_at=now)
                    for profile_id in change.entered)
    session.flush()
    calls = []
    absorbed = set(session.scalars(select(Profile.id).where(Profile.id.in_(change.exited),
                                                           Profile.merged_into_id.is_not(None)))) \
        if change.exited else set()
    for topic, ids in ((ENTERED, change.entered), (EXITED, change.exited)):
        for profile_id in ids:
            emit(session, topic=topic, aggregate_type="profile", aggregate_id=profile_id,
                 payload={"segment_id": segment.id, "segment_name": segment.name, "profile_id": profile_id,
                          "at": now.isoformat()})
            # A merged-away profile's exit is in the outbox only: the event log would name its survivor.
            identifier = None if profile_id in absorbed else identifier_of(session, profile_id=profile_id)
            if identifier is not None:
                calls.append(channel_call(
                    event=TRACKED[topic], message_id=f"segment:{segment.id}:{topic}:{profile_id}:{now.isoformat()}",
                    identifiers=[identifier], timestamp=now,
                    properties={"segment_id": segment.id, "segment_name": segment.name}))
    if calls:
        source_id = internal_source_id(session, name=SOURCE_NAME, channel=ChannelType.api)
        record_channel_calls(session, calls=[(source_id, call) for call in calls])


def source_id(session: Session) -> int | None:
    """The id of the source segments record through, when it exists."""
    return session.scalar(select(Source.id).where(Source.name == SOURCE_NAME, Source.channel == ChannelType.api)
                          .order_by(Source.id).limit(1))


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
