"""Running the demo shop's ready-made journeys over its own recent past, as if they had been live all along.

The demo history is already in the event log when the journeys are published, so the replay plays the last weeks
forward in time order through the journey engine itself: each event enters the event-triggered journeys it
matches (as the engine's reaction to events does) and then reaches ``engine.react`` for goals, waits and
conversions; birthdays come due each morning (``dates.enter_due``); segment entries and broadcasts enter at their
moment; and between two moments every step that came due runs with ``engine.run_step(now=...)``. What is still
due later (a delay, a wait, a deferred send) stays queued for the worker, at its time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xuyen.events.models import Event, EventType
from xuyen.identity.graph import resolve_profile_ids
from xuyen.inbox.models import Message
from xuyen.jobs import Job, JobStatus
from xuyen.journeys.flows import dates, engine
from xuyen.journeys.flows.definition import EventTrigger
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, Journey, JourneySend
from xuyen.journeys.flows.service import uses_events

MAX_ROUNDS = 10_000  # a guard: a replay never loops for ever on a step that keeps coming due


@dataclass(order=True)
class Moment:
    """Something that happens at ``at`` during the replay: an event, a morning's birthdays, an entry by hand."""

    at: datetime
    order: int
    act: Callable[[datetime], None] = field(compare=False)


class Replay:
    """The replay of some live journeys between two moments."""

    def __init__(self, session: Session, journeys: Sequence[Journey]) -> None:
        self.session = session
        self.journeys = list(journeys)
        self.ids = [journey.id for journey in journeys]
        self.moments: list[Moment] = []
        self._found: list[tuple[Journey, Any]] | None = None

    # What happens -----------------------------------------------------------------------------------------

    def at(self, moment: datetime, act: Callable[[datetime], None]) -> None:
        """Do ``act(moment)`` when the replay reaches ``moment``."""
        self.moments.append(Moment(at=moment, order=len(self.moments), act=act))

    def events(self, *, start: datetime, end: datetime) -> int:
        """The customers' events between ``start`` and ``end`` that the journeys react to; how many."""
        names: set[str] = set()
        for journey in self.journeys:
            version = engine.live_version(self.session, journey)
            if version is not None:
                names |= uses_events(engine.definition_of(self.session, version_id=version.id))
        rows: Any = self.session.execute(
            select(Event.profile_id, Event.event, Event.properties, Event.timestamp, Event.message_id)
            .where(Event.type == EventType.track, Event.event.in_(sorted(names)), Event.profile_id.is_not(None),
                   Event.timestamp >= start, Event.timestamp < end).order_by(Event.timestamp, Event.id)).all()
        roots = resolve_profile_ids(self.session, profile_ids={row[0] for row in rows})
        for profile_id, name, properties, timestamp, message_id in rows:
            happened = engine.Happened(profile_id=roots[profile_id], event=name, properties=dict(properties or {}),
                                       at=timestamp, message_id=message_id)
            self.at(timestamp, self._happening(happened))
        return len(rows)

    def _happening(self, happened: engine.Happened) -> Callable[[datetime], None]:
        return lambda now: self._happen(happened)

    def birthdays(self, mornings: Iterable[datetime]) -> None:
        """Each of these moments, enter the customers whose date trigger came due (the engine's own check)."""
        for morning in mornings:
            self.at(morning, lambda now: self._enter_due(now))

    def entries(self, journey: Journey, profile_ids: Iterable[int], *, when: datetime,
                context: dict[str, Any]) -> None:
        """Enter these customers at ``when``, as a broadcast or a segment entry does."""
        ids = sorted(set(profile_ids))
        self.at(when, lambda now: self._settle(engine.enrol(self.session, journey=journey, profile_ids=ids, at=now,
                                                             context=context), now))

    # Playing it -------------------------------------------------------------------------------------------

    def run(self, *, until: datetime) -> None:
        """Play every moment in time order, with the steps due between them, then every step due by ``until``."""
        for moment in sorted(self.moments):
            if moment.at > until:
                break
            self.advance(moment.at)
            moment.act(moment.at)
        self.advance(until)
        self.session.flush()
        self._retire_spent_jobs()
        self._date_messages()

    def advance(self, until: datetime) -> None:
        """Run, in time order, every step of the journeys that comes due by ``until``."""
        seen: set[tuple[int, int]] = set()
        for _ in range(MAX_ROUNDS):
            due = self.session.execute(
                select(Enrolment.id, Enrolment.visit, Enrolment.wake_at)
                .where(Enrolment.journey_id.in_(self.ids), Enrolment.status == EnrolmentStatus.active,
                       Enrolment.wake_at <= until).order_by(Enrolment.wake_at, Enrolment.id)).all()
            fresh = [(enrolment_id, visit, wake) for enrolment_id, visit, wake in due
                     if (enrolment_id, visit) not in seen]
            if not fresh:
                return
            for enrolment_id, visit, wake in fresh:
                seen.add((enrolment_id, visit))
                self._chain(enrolment_id, visit, wake or until)

    def _chain(self, enrolment_id: int, visit: int, now: datetime) -> None:
        """Run an enrolment's step, then the steps right after it, until it waits or leaves."""
        for _ in range(MAX_ROUNDS):
            if engine.run_step(self.session, enrolment_id=enrolment_id, visit=visit, now=now) is None:
                return
            enrolment = self.session.get(Enrolment, enrolment_id)
            if enrolment is None or enrolment.status != EnrolmentStatus.active or enrolment.wake_at is not None \
                    or enrolment.waiting_for is not None:
                return
            visit = enrolment.visit

    def _settle(self, enrolment_ids: Iterable[int], now: datetime) -> None:
        for enrolment_id in enrolment_ids:
            self._chain(enrolment_id, 0, now)

    def _ready(self, profile_id: int | None = None) -> list[tuple[int, int]]:
        """Active enrolments with a step to run right away (just entered, or a wait's event just came)."""
        query = select(Enrolment.id, Enrolment.visit).where(
            Enrolment.journey_id.in_(self.ids), Enrolment.status == EnrolmentStatus.active,
            Enrolment.wake_at.is_(None), Enrolment.waiting_for.is_(None))
        if profile_id is not None:
            query = query.where(Enrolment.profile_id == profile_id)
        return [(enrolment_id, visit) for enrolment_id, visit in self.session.execute(query.order_by(Enrolment.id))]

    def _happen(self, happened: engine.Happened) -> None:
        """An event: enter the journeys it triggers, then let the engine react (goals, waits, conversions)."""
        for journey, trigger in self._triggers():
            if isinstance(trigger, EventTrigger) and trigger.event == happened.event \
                    and all(happened.properties.get(key) == value for key, value in trigger.where.items()):
                engine.enrol(self.session, journey=journey, profile_ids=[happened.profile_id], at=happened.at,
                             context={"event": {"name": happened.event, "properties": happened.properties,
                                                "message_id": happened.message_id}})
        engine.react(self.session, happenings=[happened])
        for enrolment_id, visit in self._ready(happened.profile_id):
            self._chain(enrolment_id, visit, happened.at)

    def _triggers(self) -> list[tuple[Journey, Any]]:
        if self._found is None:
            self._found = []
            for journey in self.journeys:
                version = engine.live_version(self.session, journey)
                if version is not None:
                    self._found.append((journey, engine.definition_of(self.session, version_id=version.id).trigger))
        return self._found

    def _enter_due(self, now: datetime) -> None:
        if dates.enter_due(self.session, now=now):
            for enrolment_id, visit in self._ready():
                self._chain(enrolment_id, visit, now)

    # Tidying up -------------------------------------------------------------------------------------------

    def _retire_spent_jobs(self) -> None:
        """Mark done the step jobs the replay ran itself (their visit is past), so the worker does not open them
        again; the jobs of steps still due later stay queued."""
        visits = dict(self.session.execute(select(Enrolment.id, Enrolment.visit).where(
            Enrolment.journey_id.in_(self.ids), Enrolment.status == EnrolmentStatus.active)).all())
        jobs: Any = self.session.execute(select(Job.id, Job.payload).where(Job.name == engine.STEP_JOB,
                                                                          Job.status == JobStatus.queued))
        spent = [job_id for job_id, payload in jobs
                 if visits.get(int(payload["enrolment_id"])) != int(payload["visit"])]
        for start in range(0, len(spent), 500):
            self.session.execute(update(Job).where(Job.id.in_(spent[start:start + 500]))
                                 .values(status=JobStatus.done).execution_options(synchronize_session=False))

    def _date_messages(self) -> None:
        """Show each message the journeys sent at the moment it was sent, in the customer's conversation."""
        sends: Any = self.session.execute(select(JourneySend.message_id, JourneySend.sent_at).where(
            JourneySend.journey_id.in_(self.ids), JourneySend.message_id.is_not(None)))
        for message_id, sent_at in sends:
            self.session.execute(update(Message).where(Message.id == message_id)
                                 .values(sent_at=sent_at, created_at=sent_at)
                                 .execution_options(synchronize_session=False))
