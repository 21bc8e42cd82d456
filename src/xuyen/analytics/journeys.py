"""The journeys and campaigns dashboard: every journey (a broadcast journey is a campaign) with its enrolments,
what came of its messages and its lift over the holdout.

The definitions are the journeys module's own (``xuyen.journeys.flows.results``): conversion is counted per
enrolment within the journey's window, for the treated and the held out alike, and the lift is the journey's
``JourneyResults.lift``. The dashboard's days choose the enrolments that entered in the period and the messages
sent in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from xuyen.analytics import tables
from xuyen.analytics.filters import Filters
from xuyen.i18n import translations
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, Journey, JourneySend
from xuyen.journeys.flows.results import JourneyResults


@dataclass(frozen=True)
class Sends:
    """What came of messages: sent, delivered, opened, clicked, converted, revenue."""

    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: int = 0


@dataclass(frozen=True)
class JourneyRow:
    """One journey over the period."""

    journey_id: int
    name: str
    status: str
    broadcast: bool
    results: JourneyResults
    sends: Sends


def _counted(column: Any) -> Any:
    return func.sum(case((column.is_not(None), 1), else_=0))


def _send_figures(session: Session, filters: Filters, by: Any) -> dict[Any, Sends]:
    """Messages sent in the period, grouped by ``by``."""
    query = (select(by, func.count(), _counted(JourneySend.delivered_at), _counted(JourneySend.opened_at),
                    _counted(JourneySend.clicked_at), _counted(JourneySend.converted_at), func.sum(JourneySend.revenue))
             .where(JourneySend.sent_at >= filters.start, JourneySend.sent_at < filters.end).group_by(by))
    rows: Any = session.execute(query)
    return {key: Sends(int(sent), int(delivered or 0), int(opened or 0), int(clicked or 0), int(converted or 0),
                       int(revenue or 0))
            for key, sent, delivered, opened, clicked, converted, revenue in rows}


def _results(session: Session, filters: Filters) -> dict[int, JourneyResults]:
    """Each journey's results over the enrolments that entered in the period."""
    counts: dict[int, dict[str, int]] = {}
    query = (select(Enrolment.journey_id, Enrolment.status, Enrolment.holdout, func.count(),
                    func.sum(case((Enrolment.converted_at.is_not(None), 1), else_=0)), func.sum(Enrolment.revenue))
             .where(Enrolment.entered_at >= filters.start, Enrolment.entered_at < filters.end)
             .group_by(Enrolment.journey_id, Enrolment.status, Enrolment.holdout))
    rows: Any = session.execute(query)
    for journey_id, status, holdout, count, conversions, money in rows:
        figures = counts.setdefault(journey_id, dict.fromkeys(
            ["enrolled", *[state.value for state in EnrolmentStatus], "treated_converted", "holdout_converted",
             "revenue"], 0))
        figures["enrolled"] += count
        figures[EnrolmentStatus(status).value] += count
        figures["holdout_converted" if holdout else "treated_converted"] += int(conversions or 0)
        if not holdout:
            figures["revenue"] += int(money or 0)
    return {journey_id: JourneyResults(
        enrolled=figures["enrolled"], active=figures[EnrolmentStatus.active.value],
        completed=figures[EnrolmentStatus.completed.value], goal_reached=figures[EnrolmentStatus.goal.value],
        exited=figures[EnrolmentStatus.exited.value], holdout=figures[EnrolmentStatus.holdout.value],
        treated_converted=figures["treated_converted"], holdout_converted=figures["holdout_converted"],
        revenue=figures["revenue"]) for journey_id, figures in counts.items()}


EMPTY = JourneyResults(enrolled=0, active=0, completed=0, goal_reached=0, exited=0, holdout=0, treated_converted=0,
                       holdout_converted=0, revenue=0)


def journey_rows(session: Session, *, filters: Filters) -> list[JourneyRow]:
    """Every journey but the drafts never published, with its enrolments and messages in the period (reads
    only)."""
    results = _results(session, filters)
    sends = _send_figures(session, filters, JourneySend.journey_id)
    journeys = session.scalars(select(Journey).where(Journey.live_version.is_not(None)).order_by(Journey.name))
    return [JourneyRow(journey_id=journey.id, name=journey.name, status=str(journey.status),
                       broadcast=journey.trigger_kind == "broadcast", results=results.get(journey.id, EMPTY),
                       sends=sends.get(journey.id, Sends())) for journey in journeys]


def channel_sends(session: Session, *, filters: Filters) -> dict[str, Sends]:
    """Messages sent in the period per channel, every journey together (reads only)."""
    return {str(channel): figures for channel, figures
            in sorted(_send_figures(session, filters, JourneySend.channel).items())}


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@tables.exportable("journeys", "journeys")
def journeys_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Per journey: enrolments, messages, conversions and lift."""
    _ = translations(locale).gettext
    columns = [_("Journey"), _("Campaign"), _("Enrolled"), _("Held out"), _("Sent"), _("Delivered"), _("Opened"),
               _("Clicked"), _("Converted"), _("Revenue"), _("Conversion rate"), _("Holdout conversion rate"),
               _("Lift")]
    rows: list[list[tables.Cell]] = [
        [row.name, _("Yes") if row.broadcast else _("No"), row.results.enrolled, row.results.holdout, row.sends.sent,
         row.sends.delivered, row.sends.opened, row.sends.clicked, row.results.treated_converted,
         row.results.revenue, _share(row.results.treatment_conversion_rate),
         _share(row.results.holdout_conversion_rate), _share(row.results.lift)]
        for row in journey_rows(session, filters=filters)]
    return tables.Table(title=_("Journeys and campaigns"), columns=columns, rows=rows)


@tables.exportable("journeys", "channels")
def channels_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Per channel: messages sent and what came of them."""
    _ = translations(locale).gettext
    rows: list[list[tables.Cell]] = [
        [channel, figures.sent, figures.delivered, figures.opened, figures.clicked, figures.converted,
         figures.revenue] for channel, figures in channel_sends(session, filters=filters).items()]
    return tables.Table(title=_("Journey messages by channel"),
                        columns=[_("Channel"), _("Sent"), _("Delivered"), _("Opened"), _("Clicked"), _("Converted"),
                                 _("Revenue")], rows=rows)
