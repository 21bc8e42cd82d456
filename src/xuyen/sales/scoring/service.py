"""Scoring leads against the database: read the rules, the events and the attributes of a batch of leads, write
each lead's score and parts, and announce the changes (``lead.score_changed`` in the outbox, ``Lead Score Changed``
in the event log). Helpers: the caller (a job) commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.customers.models import CustomerProfile
from xuyen.events.models import ChannelType, Event, EventType, Source
from xuyen.events.service import record_on_profile
from xuyen.identity.graph import MAX_MERGE_CHAIN, resolve_profile_ids
from xuyen.identity.models import Profile
from xuyen.outbox import emit
from xuyen.sales.leads.models import Lead
from xuyen.sales.scoring import engine
from xuyen.sales.scoring.fitting import custom_field_matches
from xuyen.sales.scoring.models import RuleKind, ScoringRule
from xuyen.sales.scoring.rules import PAGE_VIEWED, SCORE_CHANGED, custom_field_of, half_life_days, list_rules

SOURCE_NAME = "Bán hàng · Chấm điểm"  # the event source scoring records its events through
BATCH = 200
LOOKBACK_HALF_LIVES = 10  # events older than this are worth less than a thousandth of their points
DECAY_ANNOUNCE_STEP = 5  # a change by decay alone reaches the event log when it moved the score this much


@dataclass(frozen=True)
class ScoreChange:
    """A lead whose score moved."""

    lead_id: int
    profile_id: int
    previous: int
    score: int


def scoring_source_id(session: Session) -> int | None:
    """The id of the source scoring records through, when it exists."""
    return session.scalar(select(Source.id).where(Source.name == SOURCE_NAME, Source.channel == ChannelType.api)
                          .order_by(Source.id).limit(1))


def _clusters(session: Session, roots: Collection[int]) -> dict[int, int]:
    """Every profile merged into one of ``roots`` (directly or not), and the roots themselves, to their root."""
    owner = {root: root for root in roots}
    frontier = list(roots)
    for _ in range(MAX_MERGE_CHAIN):
        if not frontier:
            break
        found = session.execute(select(Profile.id, Profile.merged_into_id)
                                .where(Profile.merged_into_id.in_(frontier))).all()
        for profile_id, parent in found:
            if parent is not None:
                owner[profile_id] = owner[parent]
        frontier = [profile_id for profile_id, _ in found]
    return owner


def _events_by_root(session: Session, *, owner: dict[int, int], rules: Sequence[ScoringRule], since: datetime,
                    now: datetime) -> dict[int, list[engine.SeenEvent]]:
    names = sorted({rule.event for rule in rules if rule.kind is RuleKind.behaviour})
    found: dict[int, list[engine.SeenEvent]] = {}
    if not names or not owner:
        return found
    wanted = [and_(Event.type == EventType.track, Event.event.in_(names))]
    if PAGE_VIEWED in names:
        wanted.append(Event.type == EventType.page)
    query = (select(Event)
             .where(Event.profile_id.in_(sorted(owner)), Event.timestamp >= since, Event.timestamp <= now,
                    or_(*wanted)))
    for event in session.scalars(query):
        if event.profile_id is None:
            continue
        found.setdefault(owner[event.profile_id], []).append(engine.SeenEvent(
            id=event.id, type=event.type.value, event=event.event, properties=event.properties or {},
            timestamp=event.timestamp))
    return found


def _lead_values(lead: Lead) -> dict[str, object]:
    return {"province": lead.province, "product_interest": lead.product_interest, "campaign": lead.campaign,
            "source": lead.source.value, "labels": list(lead.labels or []), "phone": lead.phone or "",
            "email": lead.email or ""}


def _record_change(session: Session, *, lead: Lead, previous: int, reason: str, now: datetime) -> bool:
    """``Lead Score Changed`` in the event log for the lead's customer; whether it was recorded."""
    return record_on_profile(session, source_name=SOURCE_NAME, event=SCORE_CHANGED,
                             message_id=f"lead-score:{lead.id}:{now.isoformat()}"[:200], profile_id=lead.profile_id,
                             at=now, properties={"lead_id": lead.id, "score": lead.score, "previous_score": previous,
                                                 "reason": reason})


def _worth_logging(*, score: int, logged: int, reason: str) -> bool:
    """Whether a change goes to the event log: always, but for decay alone only once it moved the score
    DECAY_ANNOUNCE_STEP points from the last one logged, or brought it to 0."""
    return reason != "decay" or abs(score - logged) >= DECAY_ANNOUNCE_STEP or (score == 0) != (logged == 0)


def _announce(session: Session, *, lead: Lead, previous: int, reason: str, now: datetime) -> None:
    """``lead.score_changed`` in the outbox, and ``Lead Score Changed`` in the event log when worth it."""
    emit(session, topic="lead.score_changed", aggregate_type="lead", aggregate_id=lead.id,
         payload={"lead_id": lead.id, "profile_id": lead.profile_id, "score": lead.score,
                  "previous_score": previous, "reason": reason})
    logged = int(lead.score_parts.get("announced", previous))
    if not _worth_logging(score=lead.score, logged=logged, reason=reason):
        lead.score_parts = {**lead.score_parts, "announced": logged}
    elif _record_change(session, lead=lead, previous=previous, reason=reason, now=now):
        lead.score_parts = {**lead.score_parts, "announced": lead.score}


def score_leads(session: Session, *, leads: Sequence[Lead], reason: str,
                now: datetime | None = None) -> list[ScoreChange]:
    """Score ``leads`` again from the active rules and the event log at ``now``; write each lead's score and parts
    and announce the scores that moved (helper: no commit). Scoring twice at the same moment changes nothing."""
    now = now or utcnow()
    rules = list_rules(session, active_only=True)
    half_life = half_life_days(session)
    zone = ZoneInfo(get_settings().default_timezone)
    root_of = resolve_profile_ids(session, profile_ids={lead.profile_id for lead in leads})
    owner = _clusters(session, set(root_of.values()))
    events = _events_by_root(session, owner=owner, rules=rules, now=now,
                             since=now - timedelta(days=min(half_life * LOOKBACK_HALF_LIVES, 3650)))
    roots = sorted(set(root_of.values()))
    traits: dict[int, dict[str, Any]] = dict(session.execute(select(CustomerProfile.profile_id, CustomerProfile.traits)
                                  .where(CustomerProfile.profile_id.in_(roots))).all())
    fit_rules = [rule for rule in rules if rule.kind is RuleKind.fit]
    by_field = custom_field_matches(session, rules=[rule for rule in fit_rules if custom_field_of(rule.attribute)],
                                    leads=leads)
    changes = []
    for lead in leads:
        root = root_of[lead.profile_id]
        hits = engine.behaviour_hits(rules, events.get(root, []), now=now, half_life_days=half_life, zone=zone)
        matched = [rule for rule in fit_rules
                   if (lead.id in by_field.get(rule.id, set()) if custom_field_of(rule.attribute)
                       else engine.fit_matches(rule, lead=_lead_values(lead), traits=traits.get(root) or {}))]
        scored = engine.score(hits=hits, fit_rules=matched, half_life_days=half_life)
        previous = lead.score or 0
        kept = (lead.score_parts or {}).get("announced")
        lead.score, lead.scored_at = scored.score, now
        lead.score_parts = {**scored.parts, **({"announced": kept} if kept is not None else {})}
        if scored.score != previous:
            _announce(session, lead=lead, previous=previous, reason=reason, now=now)
            changes.append(ScoreChange(lead_id=lead.id, profile_id=lead.profile_id, previous=previous,
                                       score=scored.score))
    session.flush()
    return changes


def score_profiles(session: Session, *, profile_ids: Collection[int], reason: str,
                   now: datetime | None = None) -> list[ScoreChange]:
    """Score again the leads of these customers: of the profiles, the profiles they were merged into, and those
    merged into them (a lead not yet moved to the survivor of a merge) (helper: no commit)."""
    existing = set(session.scalars(select(Profile.id).where(Profile.id.in_(sorted(set(profile_ids))))))
    roots = set(resolve_profile_ids(session, profile_ids=existing).values()) if existing else set()
    cluster = sorted(_clusters(session, roots)) if roots else []
    leads = list(session.scalars(select(Lead).where(Lead.profile_id.in_(cluster)).order_by(Lead.id)))
    return score_leads(session, leads=leads, reason=reason, now=now) if leads else []


def score_all(session: Session, *, reason: str, now: datetime | None = None) -> int:
    """Score every lead again, in batches; how many scores moved (helper: no commit). Without an active rule and
    with every score at 0 there is nothing to do."""
    now = now or utcnow()
    if not list_rules(session, active_only=True) and session.scalar(
            select(Lead.id).where(Lead.score != 0).limit(1)) is None:
        return 0
    moved, after = 0, 0
    while True:
        batch = list(session.scalars(select(Lead).where(Lead.id > after).order_by(Lead.id).limit(BATCH)))
        if not batch:
            return moved
        moved += len(score_leads(session, leads=batch, reason=reason, now=now))
        after = batch[-1].id
        for lead in batch:  # flushed: keep the session small however many leads there are
            session.expunge(lead)
