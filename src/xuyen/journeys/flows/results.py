"""What a journey achieved, per step and as a whole, with the lift over its holdout.

Conversion is counted per enrolment: the conversion event (the goal's, else ``Order Completed``) within the
journey's window after entering, for the customers who went through the journey and for those held out alike, so
the difference between the two rates is the journey's effect rather than what would have happened anyway.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, JourneySend, JourneyStep
from xuyen.journeys.flows.service import get_journey

SEND_FIGURES = ("sent", "delivered", "failed", "skipped", "deferred", "opened", "clicked", "replied", "converted",
                "revenue")


def node_stats(session: Session, *, journey_id: int) -> dict[str, dict[str, int]]:
    """Per step: customers who reached it, customers at it now, and for send steps what came of the messages (a
    customer deferred twice counts once as deferred)."""
    get_journey(session, journey_id=journey_id)
    stats: dict[str, dict[str, int]] = defaultdict(lambda: {"entered": 0, "waiting": 0})
    entries: Any = session.execute(select(JourneyStep.node, func.count(func.distinct(JourneyStep.enrolment_id)))
                                   .where(JourneyStep.journey_id == journey_id).group_by(JourneyStep.node))
    for node, entered in entries:
        stats[node]["entered"] = entered
    at_node: Any = session.execute(select(Enrolment.node, func.count()).where(
        Enrolment.journey_id == journey_id, Enrolment.status == EnrolmentStatus.active).group_by(Enrolment.node))
    for node, waiting in at_node:
        if node is not None:
            stats[node]["waiting"] = waiting
            stats[node]["entered"] = max(stats[node]["entered"], waiting)
    for node, outcome, count in session.execute(
            select(JourneyStep.node, JourneyStep.outcome, func.count(func.distinct(JourneyStep.enrolment_id))).where(
                JourneyStep.journey_id == journey_id, JourneyStep.kind == "send",
                JourneyStep.outcome.in_(["skipped", "deferred", "failed"]))
            .group_by(JourneyStep.node, JourneyStep.outcome)):
        stats[node][outcome] = count
    _send_figures(session, journey_id, stats)
    return dict(stats)


def _counted(column: Any) -> Any:
    return func.sum(case((column.is_not(None), 1), else_=0))


def _send_rows(session: Session, journey_id: int, by: Any) -> Any:
    """Per value of ``by``: sent, delivered, failed, opened, clicked, replied, converted, revenue."""
    return session.execute(select(
        by, func.count(), _counted(JourneySend.delivered_at), func.sum(case((JourneySend.status == "failed", 1),
                                                                            else_=0)),
        _counted(JourneySend.opened_at), _counted(JourneySend.clicked_at), _counted(JourneySend.replied_at),
        _counted(JourneySend.converted_at), func.sum(JourneySend.revenue))
        .where(JourneySend.journey_id == journey_id).group_by(by))


def channel_stats(session: Session, *, journey_id: int) -> dict[str, dict[str, int]]:
    """Per channel a journey's messages went out on: sent, delivered, failed, opened, clicked, replied, converted
    (within the journey's window) and revenue."""
    get_journey(session, journey_id=journey_id)
    return {channel: {"sent": sent, "delivered": int(delivered or 0), "failed": int(failed or 0),
                      "opened": int(opened or 0), "clicked": int(clicked or 0), "replied": int(replied or 0),
                      "converted": int(converted or 0), "revenue": int(revenue or 0)}
            for channel, sent, delivered, failed, opened, clicked, replied, converted, revenue
            in _send_rows(session, journey_id, JourneySend.channel)}


def _send_figures(session: Session, journey_id: int, stats: dict[str, dict[str, int]]) -> None:
    for node, sent, delivered, failed, opened, clicked, replied, converted, revenue \
            in _send_rows(session, journey_id, JourneySend.node):
        figures = stats[node]
        figures.update(sent=sent, delivered=int(delivered or 0), opened=int(opened or 0), clicked=int(clicked or 0),
                       replied=int(replied or 0), converted=int(converted or 0), revenue=int(revenue or 0))
        figures["failed"] = figures.get("failed", 0) + int(failed or 0)
        for name in SEND_FIGURES:
            figures.setdefault(name, 0)


@dataclass(frozen=True)
class JourneyResults:
    """A journey's totals: entries by how they stand, conversions of the treated and the held out, the lift."""

    enrolled: int
    active: int
    completed: int
    goal_reached: int
    exited: int
    holdout: int
    treated_converted: int
    holdout_converted: int
    revenue: int

    @property
    def treated(self) -> int:
        """Customers who went through the journey (not held out)."""
        return self.enrolled - self.holdout

    @property
    def treatment_conversion_rate(self) -> float | None:
        """Share of the treated who converted within the window."""
        return self.treated_converted / self.treated if self.treated else None

    @property
    def holdout_conversion_rate(self) -> float | None:
        """Share of the held out who converted within the window."""
        return self.holdout_converted / self.holdout if self.holdout else None

    @property
    def lift(self) -> float | None:
        """How much more the treated converted than the held out, relative to the held out (0.25: 25 % more);
        None without a holdout or when no held-out customer converted."""
        treated, held = self.treatment_conversion_rate, self.holdout_conversion_rate
        if treated is None or not held:
            return None
        return (treated - held) / held


def journey_results(session: Session, *, journey_id: int) -> JourneyResults:
    """The journey's totals over all its versions."""
    get_journey(session, journey_id=journey_id)
    counts = dict.fromkeys(EnrolmentStatus, 0)
    converted = {True: 0, False: 0}
    revenue = 0
    rows: Any = session.execute(
        select(Enrolment.status, Enrolment.holdout, func.count(),
               func.sum(case((Enrolment.converted_at.is_not(None), 1), else_=0)), func.sum(Enrolment.revenue))
        .where(Enrolment.journey_id == journey_id).group_by(Enrolment.status, Enrolment.holdout))
    for status, holdout, count, conversions, money in rows:
        counts[EnrolmentStatus(status)] += count
        converted[bool(holdout)] += int(conversions or 0)
        if not holdout:
            revenue += int(money or 0)
    return JourneyResults(
        enrolled=sum(counts.values()), active=counts[EnrolmentStatus.active],
        completed=counts[EnrolmentStatus.completed], goal_reached=counts[EnrolmentStatus.goal],
        exited=counts[EnrolmentStatus.exited], holdout=counts[EnrolmentStatus.holdout],
        treated_converted=converted[False], holdout_converted=converted[True], revenue=revenue)
