"""Journeys on the customer timeline: each entry into a journey, with how it stands (the messages it sent are on
the timeline as the conversation's messages)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.journeys.flows.models import Enrolment, Journey


@timeline_provider("journey")
def journey_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                  limit: int) -> list[TimelineItem]:
    """The customers' entries into journeys, newest first."""
    query = (select(Enrolment, Journey.name).join(Journey, Journey.id == Enrolment.journey_id)
             .where(Enrolment.profile_id.in_(profile_ids))
             .order_by(Enrolment.entered_at.desc(), Enrolment.id.desc()).limit(limit))
    if before is not None:
        moment, enrolment_id = before
        query = query.where(or_(Enrolment.entered_at < moment,
                                and_(Enrolment.entered_at == moment, Enrolment.id < enrolment_id)))
    return [TimelineItem(at=enrolment.entered_at, kind="journey", seq=enrolment.id, channel=None, title=name,
                         data={"journey_id": enrolment.journey_id, "status": enrolment.status.value,
                               "holdout": enrolment.holdout, "step": enrolment.node,
                               "exit_reason": enrolment.exit_reason, "finished_at": enrolment.finished_at})
            for enrolment, name in session.execute(query)]
