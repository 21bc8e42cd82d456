"""The inbox dashboard: how fast the shop answers and resolves, how often it keeps its SLA promises, how satisfied
customers are, and when and where they write.

Times are measured the way the SLA module measures them: a first response clock runs from the customer's first
message to the first reply, a resolution clock from the customer's first message to the resolution, both in the
business time of the conversation's SLA policy calendar (opening hours, lunch breaks and holidays), less the
business time the conversation spent waiting on the customer. CSAT comes from the CSAT module's own report.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.analytics import tables
from xuyen.analytics.filters import Filters
from xuyen.errors import ValidationFailed
from xuyen.i18n import N_, gettext, translations
from xuyen.inbox.csat.service import Figures, csat_report
from xuyen.inbox.models import Channel, Direction, Message
from xuyen.inbox.sla.calendar import BusinessCalendar, business_time_between
from xuyen.inbox.sla.models import Clock, ClockKind, ConversationSla, Policy
from xuyen.inbox.sla.policies import calendar_of
from xuyen.inbox.sla.service import MAX_REPORT_PERIOD

INBOX_CHANNELS = ("zalo", "messenger", "email", "sms", "webchat", "whatsapp")
SATISFIED = (4, 5)
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


@dataclass(frozen=True)
class Durations:
    """Business-time durations in seconds: how many, the median and the 90th percentile."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Durations:
        """The summary of ``values`` (median: the middle value, or the mean of the two middle ones; p90: the
        nearest-rank 90th percentile, the value at rank ceil(0.9 n) in ascending order)."""
        if not values:
            return cls(0, None, None)
        ordered = sorted(values)
        return cls(len(ordered), float(statistics.median(ordered)), float(ordered[math.ceil(0.9 * len(ordered)) - 1]))


@dataclass(frozen=True)
class ChannelRow:
    """One inbox channel's figures over the period."""

    kind: str
    messages: int
    conversations: int
    first_response: Durations
    resolution: Durations
    sla_decided: int
    sla_met: int
    csat: Figures

    @property
    def sla_compliance(self) -> float | None:
        """Share of conversations with a decided SLA clock whose every decided clock was met."""
        return self.sla_met / self.sla_decided if self.sla_decided else None


@dataclass
class InboxMetrics:
    """Everything the inbox dashboard shows for its filters."""

    first_response: Durations
    resolution: Durations
    sla_decided: int
    sla_met: int
    csat: Figures
    messages: int
    conversations: int
    by_channel: list[ChannelRow]
    by_hour: list[int]  # customer messages per local hour 0..23
    by_weekday_hour: list[list[int]] = field(default_factory=list)  # [weekday Mon..Sun][hour]

    @property
    def sla_compliance(self) -> float | None:
        """Share of conversations with a decided SLA clock whose every decided clock was met."""
        return self.sla_met / self.sla_decided if self.sla_decided else None

    @property
    def satisfied_share(self) -> float | None:
        """Share of answered surveys rated 4 or 5."""
        return satisfied_share(self.csat)


def satisfied_share(figures: Figures) -> float | None:
    """Share of answered surveys rated 4 or 5 (out of 5)."""
    if not figures.answered:
        return None
    return sum(figures.distribution[rating] for rating in SATISFIED) / figures.answered


def check_kind(kind: str | None) -> str | None:
    """An inbox channel kind from a query string (empty: every channel); ``ValidationFailed`` when unknown."""
    if not kind:
        return None
    if kind not in INBOX_CHANNELS:
        raise ValidationFailed(f"Unknown inbox channel: choose one of {', '.join(INBOX_CHANNELS)}.",
                               code="invalid_filters", details={"kind": kind[:40]})
    return kind


# Clocks ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ClockRow:
    conversation_id: int
    kind: ClockKind
    channel: str | None
    seconds: float | None  # business time from start to stop, less paused time; None while running
    met: bool | None  # None: not decided yet (running, not breached)


def _clock_rows(session: Session, filters: Filters) -> list[_ClockRow]:
    """The SLA clocks started in the period with their conversation's channel and business-time length."""
    query = (select(Clock, ConversationSla.channel_kind).outerjoin(
        ConversationSla, ConversationSla.conversation_id == Clock.conversation_id)
        .where(Clock.started_at >= filters.start, Clock.started_at < filters.end))
    rows = session.execute(query).all()
    calendars: dict[int, BusinessCalendar] = {}
    found: list[_ClockRow] = []
    for clock, channel in rows:
        if clock.policy_id not in calendars:
            policy = session.get(Policy, clock.policy_id)
            calendars[clock.policy_id] = calendar_of(policy) if policy is not None else BusinessCalendar.always_open()
        seconds = None
        if clock.stopped_at is not None:
            spent = business_time_between(calendars[clock.policy_id], clock.started_at, clock.stopped_at)
            seconds = max(0.0, spent.total_seconds() - clock.paused_total_seconds)
        if clock.breached_at is not None:
            met: bool | None = False
        elif clock.stopped_at is not None:
            met = clock.stopped_at <= clock.due_at
        else:
            met = None
        found.append(_ClockRow(clock.conversation_id, ClockKind(clock.kind), channel, seconds, met))
    return found


def _durations(rows: Sequence[_ClockRow], kind: ClockKind) -> Durations:
    return Durations.of([row.seconds for row in rows if row.kind == kind and row.seconds is not None])


def _compliance(rows: Sequence[_ClockRow]) -> tuple[int, int]:
    """(conversations with a decided clock, those whose decided clocks were all met)."""
    decided: dict[int, bool] = {}
    for row in rows:
        if row.met is not None:
            decided[row.conversation_id] = decided.get(row.conversation_id, True) and row.met
    return len(decided), sum(decided.values())


# CSAT ------------------------------------------------------------------------------------------------------


def _csat(session: Session, filters: Filters) -> dict[str | None, Figures]:
    """CSAT per channel kind for conversations resolved in the period, from the CSAT module's report (asked for in
    pieces of at most its longest period)."""
    found: dict[str | None, Figures] = {}
    since = filters.start
    while since < filters.end:
        until = min(filters.end, since + MAX_REPORT_PERIOD)
        report = csat_report(session, since=since, until=until)
        for _channel_id, _name, kind, figures in report.channels:
            _add(found.setdefault(kind, Figures()), figures)
        since = until
    return found


def _add(total: Figures, more: Figures) -> None:
    total.surveys += more.surveys
    total.sent += more.sent
    total.answered += more.answered
    for rating, count in more.distribution.items():
        total.distribution[rating] += count


# Volume ----------------------------------------------------------------------------------------------------


def _inbound(session: Session, filters: Filters) -> list[tuple[int, datetime, str | None]]:
    """(conversation, when, channel kind) of every customer message received in the period."""
    query = (select(Message.conversation_id, Message.sent_at, Channel.kind)
             .outerjoin(Channel, Channel.id == Message.channel_id)
             .where(Message.direction == Direction.inbound, Message.sent_at >= filters.start,
                    Message.sent_at < filters.end))
    return [(int(conversation), sent_at, kind) for conversation, sent_at, kind in session.execute(query)]


def inbox_metrics(session: Session, *, filters: Filters, kind: str | None = None) -> InboxMetrics:
    """The inbox figures over the filters' days, for one inbox channel kind or all of them (reads only)."""
    clocks = _clock_rows(session, filters)
    csat = _csat(session, filters)
    inbound = _inbound(session, filters)
    zone = ZoneInfo(filters.timezone)
    rows = [_channel_row(channel, clocks, csat, inbound) for channel in INBOX_CHANNELS]
    chosen_clocks = [row for row in clocks if kind is None or row.channel == kind]
    chosen_inbound = [item for item in inbound if kind is None or item[2] == kind]
    overall = Figures()
    for channel, figures in csat.items():
        if kind is None or channel == kind:
            _add(overall, figures)
    by_hour = [0] * 24
    grid = [[0] * 24 for _ in range(7)]
    for _conversation, sent_at, _kind in chosen_inbound:
        local = sent_at.astimezone(zone)
        by_hour[local.hour] += 1
        grid[local.weekday()][local.hour] += 1
    decided, met = _compliance(chosen_clocks)
    return InboxMetrics(
        first_response=_durations(chosen_clocks, ClockKind.first_response),
        resolution=_durations(chosen_clocks, ClockKind.resolution), sla_decided=decided, sla_met=met, csat=overall,
        messages=len(chosen_inbound), conversations=len({item[0] for item in chosen_inbound}),
        by_channel=[row for row in rows if kind is None or row.kind == kind], by_hour=by_hour,
        by_weekday_hour=grid)


def _channel_row(channel: str, clocks: Sequence[_ClockRow], csat: dict[str | None, Figures],
                 inbound: Sequence[tuple[int, datetime, str | None]]) -> ChannelRow:
    mine = [row for row in clocks if row.channel == channel]
    messages = [item for item in inbound if item[2] == channel]
    decided, met = _compliance(mine)
    return ChannelRow(kind=channel, messages=len(messages), conversations=len({item[0] for item in messages}),
                      first_response=_durations(mine, ClockKind.first_response),
                      resolution=_durations(mine, ClockKind.resolution), sla_decided=decided, sla_met=met,
                      csat=csat.get(channel, Figures()))


def minutes(seconds: float | None) -> float | None:
    """Seconds as minutes, one decimal."""
    return None if seconds is None else round(seconds / 60, 1)


def ratio(value: float | None) -> float | None:
    """A share rounded to four decimals."""
    return None if value is None else round(value, 4)


# Tables ----------------------------------------------------------------------------------------------------


@tables.exportable("inbox", "channels")
def channels_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Per inbox channel: messages, conversations, response and resolution times, SLA compliance, CSAT."""
    _ = translations(locale).gettext
    metrics = inbox_metrics(session, filters=filters)
    columns = [_("Channel"), _("Customer messages"), _("Conversations"), _("First response, median (min)"),
               _("First response, p90 (min)"), _("Resolution, median (min)"), _("Resolution, p90 (min)"),
               _("SLA compliance"), _("CSAT average"), _("Satisfied share"), _("CSAT responses")]
    rows: list[list[tables.Cell]] = [
        [row.kind, row.messages, row.conversations, minutes(row.first_response.median),
         minutes(row.first_response.p90), minutes(row.resolution.median), minutes(row.resolution.p90),
         ratio(row.sla_compliance), row.csat.average, ratio(satisfied_share(row.csat)), row.csat.answered]
        for row in metrics.by_channel]
    return tables.Table(title=_("Inbox by channel"), columns=columns, rows=rows)


@tables.exportable("inbox", "hours")
def hours_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Customer messages per day of the week and local hour, of the page's inbox channel (``kind``) or of all."""
    _ = translations(locale).gettext
    metrics = inbox_metrics(session, filters=filters, kind=check_kind(filters.options.get("kind")))
    rows: list[list[tables.Cell]] = [[hour, *[metrics.by_weekday_hour[day][hour] for day in range(7)],
                                      metrics.by_hour[hour]] for hour in range(24)]
    return tables.Table(title=_("Inbox by hour"), columns=[_("Hour"), *[_(day) for day in WEEKDAYS], _("Total")],
                        rows=rows)


def duration_text(seconds: float | None) -> str:
    """A duration as shown, in the current language: 1 h 5 min, 12 min, 40 s (1 giờ 5 phút, 12 phút, 40 giây); an
    em dash when there is none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return gettext("%(seconds)d s") % {"seconds": whole}
    hours, rest = divmod(whole // 60, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    return gettext("%(minutes)d min") % {"minutes": rest}

