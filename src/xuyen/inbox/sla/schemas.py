"""SLA API bodies and answers: policies, a conversation's clocks, the breach report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.inbox.sla.models import ClockKind, Policy
from xuyen.inbox.sla.service import ClockView, ReportRow

Duration = timedelta | None
_DURATION = "Business time: an ISO 8601 duration ('PT4H', 'P1DT2H'), 'HH:MM:SS' or seconds; null: not tracked."


class PolicyPatch(BaseModel):
    """Fields of a policy to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100, examples=["Zalo và Messenger"])
    first_response: Duration = Field(default=None, description=_DURATION, examples=["PT30M"])
    next_response: Duration = Field(default=None, description=_DURATION, examples=["PT1H"])
    resolution: Duration = Field(default=None, description=_DURATION, examples=["PT16H"])
    calendar: dict[str, Any] | None = Field(
        default=None, description="The business calendar (timezone, hours, holidays, extra_working_days); "
                                  "left out on a new policy: Vietnamese shop hours with the days off.")
    warning_percent: int | None = Field(default=None, description="Warn when this share of the target is used "
                                                                   "(1-99); null: no warning.", examples=[80])
    channel_kinds: list[str] | None = Field(default=None, max_length=50, description="Channel kinds the policy "
                                            "covers (the channel of the customer's first message); empty: all.",
                                            examples=[["zalo", "messenger"]])
    position: int | None = Field(default=None, description="Lower positions are tried first.")
    is_default: bool | None = None
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields given, as the service takes them."""
        return self.model_dump(exclude_unset=True)


class PolicyIn(PolicyPatch):
    """A new policy."""

    name: str = Field(max_length=100, examples=["Zalo và Messenger"])


class PolicyOut(BaseModel):
    """A policy with its targets as ISO 8601 durations of business time."""

    id: int
    name: str
    position: int
    is_default: bool
    active: bool
    channel_kinds: list[str]
    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None
    warning_percent: int | None
    calendar: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, policy: Policy) -> PolicyOut:
        def target(kind: ClockKind) -> timedelta | None:
            seconds = policy.target_seconds(kind)
            return None if seconds is None else timedelta(seconds=seconds)

        return cls(id=policy.id, name=policy.name, position=policy.position, is_default=policy.is_default,
                   active=policy.active, channel_kinds=policy.channel_kinds,
                   first_response=target(ClockKind.first_response), next_response=target(ClockKind.next_response),
                   resolution=target(ClockKind.resolution), warning_percent=policy.warning_percent,
                   calendar=policy.calendar, created_at=policy.created_at, updated_at=policy.updated_at)


class ClockOut(BaseModel):
    """One SLA clock: deadlines in UTC, the business time left (negative when overdue, null once stopped)."""

    id: int
    kind: str
    state: str
    policy_id: int
    policy: str
    target_seconds: int
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None
    paused_at: datetime | None
    paused_total_seconds: float
    stopped_at: datetime | None
    breached_at: datetime | None
    warned_at: datetime | None
    remaining_seconds: int | None

    @classmethod
    def of(cls, item: ClockView) -> ClockOut:
        clock = item.clock
        remaining = None if item.remaining is None else int(item.remaining.total_seconds())
        return cls(id=clock.id, kind=clock.kind.value, state=item.state, policy_id=clock.policy_id,
                   policy=item.policy_name, target_seconds=clock.target_seconds, started_at=clock.started_at,
                   due_at=clock.due_at, warn_at=clock.warn_at, paused_at=clock.paused_at,
                   paused_total_seconds=round(clock.paused_total_seconds, 3), stopped_at=clock.stopped_at,
                   breached_at=clock.breached_at, warned_at=clock.warned_at, remaining_seconds=remaining)


class ConversationSlaOut(BaseModel):
    """A conversation's SLA clocks, oldest first."""

    conversation_id: int
    clocks: list[ClockOut]


class ReportRowOut(BaseModel):
    """Per policy and kind of clock: breached (deadline in the period) and met (stopped in time in the period)."""

    policy_id: int
    policy: str
    kind: str
    breached: int
    met: int
    breach_rate: float | None

    @classmethod
    def of(cls, row: ReportRow) -> ReportRowOut:
        return cls(policy_id=row.policy_id, policy=row.policy_name, kind=row.kind, breached=row.breached,
                   met=row.met, breach_rate=row.breach_rate)


class ReportOut(BaseModel):
    """The breach report of a period."""

    since: datetime
    until: datetime
    rows: list[ReportRowOut]
