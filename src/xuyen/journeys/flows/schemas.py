"""Journey API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.journeys.flows.models import Enrolment, Journey, JourneyStep, JourneyVersion
from xuyen.journeys.flows.results import JourneyResults


class JourneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    definition: dict[str, Any] | None = None


class JourneyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]


class ValidationOut(BaseModel):
    valid: bool
    errors: dict[str, str]


class ResultsOut(BaseModel):
    enrolled: int
    active: int
    completed: int
    goal_reached: int
    exited: int
    holdout: int
    treated_converted: int
    holdout_converted: int
    treatment_conversion_rate: float | None
    holdout_conversion_rate: float | None
    lift: float | None
    revenue: int

    @classmethod
    def of(cls, results: JourneyResults) -> ResultsOut:
        """The API form of a journey's results."""
        return cls(enrolled=results.enrolled, active=results.active, completed=results.completed,
                   goal_reached=results.goal_reached, exited=results.exited, holdout=results.holdout,
                   treated_converted=results.treated_converted, holdout_converted=results.holdout_converted,
                   treatment_conversion_rate=results.treatment_conversion_rate,
                   holdout_conversion_rate=results.holdout_conversion_rate, lift=results.lift,
                   revenue=results.revenue)


class JourneyOut(BaseModel):
    id: int
    name: str
    description: str
    status: str
    live_version: int | None
    draft: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, journey: Journey) -> JourneyOut:
        """The API form of a journey."""
        return cls(id=journey.id, name=journey.name, description=journey.description, status=journey.status.value,
                   live_version=journey.live_version, draft=journey.draft, created_by=journey.created_by,
                   created_at=journey.created_at, updated_at=journey.updated_at)


class VersionOut(BaseModel):
    number: int
    definition: dict[str, Any]
    published_by: str
    published_at: datetime

    @classmethod
    def of(cls, version: JourneyVersion) -> VersionOut:
        """The API form of a published version."""
        return cls(number=version.number, definition=version.definition, published_by=version.published_by,
                   published_at=version.published_at)


class StatsOut(BaseModel):
    results: ResultsOut
    nodes: dict[str, dict[str, int]]
    channels: dict[str, dict[str, int]]


class StepOut(BaseModel):
    node: str
    visit: int
    kind: str
    outcome: str
    detail: str
    at: datetime

    @classmethod
    def of(cls, step: JourneyStep) -> StepOut:
        """The API form of a step taken."""
        return cls(node=step.node, visit=step.visit, kind=step.kind, outcome=step.outcome, detail=step.detail,
                   at=step.at)


class EnrolmentOut(BaseModel):
    id: int
    profile_id: int
    version_id: int
    status: str
    holdout: bool
    node: str | None
    waiting_for: str | None
    wake_at: datetime | None
    exit_reason: str
    entered_at: datetime
    finished_at: datetime | None
    converted_at: datetime | None
    revenue: int
    steps: list[StepOut] | None = None

    @classmethod
    def of(cls, enrolment: Enrolment, steps: list[JourneyStep] | None = None) -> EnrolmentOut:
        """The API form of an enrolment (with its steps when given)."""
        return cls(id=enrolment.id, profile_id=enrolment.profile_id, version_id=enrolment.version_id,
                   status=enrolment.status.value, holdout=enrolment.holdout, node=enrolment.node,
                   waiting_for=enrolment.waiting_for, wake_at=enrolment.wake_at, exit_reason=enrolment.exit_reason,
                   entered_at=enrolment.entered_at, finished_at=enrolment.finished_at,
                   converted_at=enrolment.converted_at, revenue=enrolment.revenue,
                   steps=[StepOut.of(step) for step in steps] if steps is not None else None)
