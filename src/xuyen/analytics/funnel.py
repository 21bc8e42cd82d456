"""The customer-journey funnel: how many customers reached each of the eight stages in the period, where they
dropped, on which channel they reached each stage, and how they moved between channels from stage to stage.

A customer reaches a stage when, within the period (and the channel and store filters), they did an event fitting
the stage's rule (``xuyen.analytics.funnel_rules``). Stages need not be reached in order: a customer's **furthest
stage** is the last stage they reached, and they count in that stage and every stage before it (a walk-in who buys
at the till has passed awareness, consideration and evaluation even though no event shows them). So the funnel
counts never grow from one stage to the next; the drop-off between two stages is the difference.

A stage's channel is the channel of the first event that put the customer in the stage in the period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from xuyen.analytics import touches
from xuyen.analytics.filters import Filters
from xuyen.analytics.funnel_rules import STAGES, Matcher, Stage, load_stages
from xuyen.analytics.touches import Touch


@dataclass(frozen=True)
class StageFigures:
    """One stage's figures."""

    key: str
    customers: int  # whose furthest stage is this one or a later one
    reached: int  # who did this stage's events in the period
    furthest: int  # whose furthest stage is this one
    dropped: int  # who got this far and no further (``customers`` minus the next stage's)
    conversion: float | None  # the next stage's ``customers`` over this one's (None for the last stage or none)
    share_of_first: float | None  # ``customers`` over the first stage's
    channels: dict[str, int]  # who reached the stage, by the channel they reached it on


@dataclass(frozen=True)
class Move:
    """Customers who reached ``from_stage`` on one channel and the next stage on another (or the same)."""

    from_stage: str
    to_stage: str
    from_channel: str
    to_channel: str
    customers: int


@dataclass
class Funnel:
    """The funnel for some filters."""

    stages: list[StageFigures]
    moves: list[Move]
    customers: int  # who reached any stage
    rules: list[Stage] = field(default_factory=list)

    @property
    def cross_channel_moves(self) -> int:
        """How many stage-to-next-stage moves changed channel."""
        return sum(move.customers for move in self.moves if move.from_channel != move.to_channel)


@dataclass
class _Progress:
    """One customer's first reach of each stage: when and on which channel."""

    reached: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    counts: Counter[int] = field(default_factory=Counter)


def compute(session: Session, *, filters: Filters, stages: list[Stage] | None = None) -> Funnel:
    """The funnel of ``filters`` with the saved stage rules (or ``stages``)."""
    chosen = stages if stages is not None else load_stages(session)
    events = _events(session, filters=filters, stages=chosen)
    progress: dict[int, _Progress] = defaultdict(_Progress)
    numbered = [(stage, index, matcher) for stage in chosen for index, matcher in enumerate(stage.matchers)]
    ids = {(stage.key, index): number for number, (stage, index, _) in enumerate(numbered)}
    for touch in events:
        _apply(progress[touch.customer], touch, filters=filters, numbered=numbered, ids=ids)
    reached = {customer: mine.reached for customer, mine in progress.items() if mine.reached}
    return Funnel(stages=_figures(reached), moves=_moves(reached), customers=len(reached), rules=chosen)


def _events(session: Session, *, filters: Filters, stages: list[Stage]) -> list[Touch]:
    matchers = [matcher for stage in stages for matcher in stage.matchers]
    names = {matcher.event for matcher in matchers if matcher.event is not None}
    kinds = {matcher.type for matcher in matchers if matcher.type is not None}
    if "track" in kinds:
        return touches.load(session, start=filters.start, end=filters.end, names=None,
                            history_names=_counted(matchers))
    return touches.load(session, start=filters.start, end=filters.end, names=names, kinds=kinds,
                        history_names=_counted(matchers))


def _counted(matchers: list[Matcher]) -> set[str]:
    """The events whose earlier occurrences matter (``nth``), loaded from the customer's first."""
    return {matcher.event for matcher in matchers if matcher.nth is not None and matcher.event is not None}


def _apply(mine: _Progress, touch: Touch, *, filters: Filters, numbered: list[tuple[Stage, int, Matcher]],
           ids: dict[tuple[str, int], int]) -> None:
    for stage, index, matcher in numbered:
        if not matcher.fits(kind=touch.kind, event=touch.event, properties=touch.properties):
            continue
        number = ids[(stage.key, index)]
        mine.counts[number] += 1
        if stage.key in mine.reached or not touch.passes(filters):
            continue
        if matcher.nth is not None and mine.counts[number] != matcher.nth:
            continue
        if matcher.after is not None and matcher.after not in mine.reached:
            continue
        mine.reached[stage.key] = (touch.at, touch.channel)


def _figures(reached: dict[int, dict[str, tuple[datetime, str]]]) -> list[StageFigures]:
    furthest = Counter(max(STAGES.index(key) for key in stages) for stages in reached.values())
    at_least = [sum(count for position, count in furthest.items() if position >= index)
                for index in range(len(STAGES))]
    figures = []
    for index, key in enumerate(STAGES):
        following = at_least[index + 1] if index + 1 < len(STAGES) else None
        channels = Counter(stages[key][1] for stages in reached.values() if key in stages)
        figures.append(StageFigures(
            key=key, customers=at_least[index], reached=sum(channels.values()), furthest=furthest.get(index, 0),
            dropped=at_least[index] - (following or 0),
            conversion=None if following is None or not at_least[index] else following / at_least[index],
            share_of_first=at_least[index] / at_least[0] if at_least[0] else None,
            channels=dict(channels.most_common())))
    return figures


def _moves(reached: dict[int, dict[str, tuple[datetime, str]]]) -> list[Move]:
    counted: Counter[tuple[int, str, str]] = Counter()
    for stages in reached.values():
        for index in range(len(STAGES) - 1):
            here, there = stages.get(STAGES[index]), stages.get(STAGES[index + 1])
            if here is not None and there is not None:
                counted[(index, here[1], there[1])] += 1
    return [Move(from_stage=STAGES[index], to_stage=STAGES[index + 1], from_channel=source, to_channel=target,
                 customers=count)
            for (index, source, target), count in sorted(counted.items(), key=lambda item: (item[0][0], -item[1],
                                                                                              item[0][1:]))]


def channel_matrix(funnel: Funnel) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """The moves of every stage summed by (from channel, to channel): the rows, the columns and the counts."""
    totals: Counter[tuple[str, str]] = Counter()
    for move in funnel.moves:
        totals[(move.from_channel, move.to_channel)] += move.customers
    rows = sorted({source for source, _ in totals})
    columns = sorted({target for _, target in totals})
    return rows, columns, dict(totals)
