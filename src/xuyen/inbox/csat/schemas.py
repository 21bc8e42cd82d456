"""CSAT API bodies and answers: surveys, settings, the report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.clock import utcnow
from xuyen.inbox.csat.models import Response, SurveySettings
from xuyen.inbox.csat.service import Figures, Report


def survey_status(row: Response, now: datetime | None = None) -> str:
    """not_sent, sent (waiting), expired (never answered), answered."""
    status = row.status
    if status == "sent" and row.expires_at is not None and (now or utcnow()) >= row.expires_at:
        return "expired"
    return status


class SurveyOut(BaseModel):
    """One survey of a conversation: where it went (or why not), and the answer."""

    id: int
    conversation_id: int
    status: str
    channel_id: int | None
    channel_kind: str | None
    agent_id: int | None
    not_sent_reason: str | None
    resolved_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    reply_until: datetime | None
    rating: int | None
    comment: str | None
    answered_at: datetime | None
    answered_via: str | None

    @classmethod
    def of(cls, row: Response) -> SurveyOut:
        return cls(id=row.id, conversation_id=row.conversation_id, status=survey_status(row),
                   channel_id=row.channel_id, channel_kind=row.channel_kind, agent_id=row.agent_id,
                   not_sent_reason=row.not_sent_reason, resolved_at=row.resolved_at, sent_at=row.sent_at,
                   expires_at=row.expires_at, reply_until=row.reply_until, rating=row.rating, comment=row.comment,
                   answered_at=row.answered_at, answered_via=row.answered_via)


class SettingsPatch(BaseModel):
    """Survey settings to change; those left out stay."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    survey_text: str | None = Field(default=None, max_length=1000, description="The survey message; {link} is "
                                    "replaced by the rating page's address.")
    expiry_days: int | None = Field(default=None, description="Days the link works (1-90).")
    reply_hours: int | None = Field(default=None, description="Hours a one-digit reply on a chat channel counts as "
                                    "the rating (0-168; 0: never).")

    def changes(self) -> dict[str, Any]:
        """The fields given."""
        return self.model_dump(exclude_unset=True)


class SettingsOut(BaseModel):
    """The survey settings."""

    enabled: bool
    survey_text: str
    expiry_days: int
    reply_hours: int
    updated_at: datetime

    @classmethod
    def of(cls, row: SurveySettings) -> SettingsOut:
        return cls(enabled=row.enabled, survey_text=row.survey_text, expiry_days=row.expiry_days,
                   reply_hours=row.reply_hours, updated_at=row.updated_at)


class FiguresOut(BaseModel):
    """Survey figures of a group."""

    surveys: int
    sent: int
    answered: int
    response_rate: float | None
    average: float | None
    distribution: dict[str, int]

    @classmethod
    def of(cls, figures: Figures) -> FiguresOut:
        return cls(surveys=figures.surveys, sent=figures.sent, answered=figures.answered,
                   response_rate=figures.response_rate, average=figures.average,
                   distribution={str(rating): count for rating, count in figures.distribution.items()})


class ChannelFiguresOut(FiguresOut):
    channel_id: int | None
    channel: str
    kind: str | None


class AgentFiguresOut(FiguresOut):
    agent_id: int | None
    agent: str


class ReportOut(BaseModel):
    """CSAT of the conversations resolved in a period: overall, per channel, per agent."""

    since: datetime
    until: datetime
    overall: FiguresOut
    channels: list[ChannelFiguresOut]
    agents: list[AgentFiguresOut]

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        return cls(since=report.since, until=report.until, overall=FiguresOut.of(report.overall),
                   channels=[ChannelFiguresOut(channel_id=channel_id, channel=name, kind=kind,
                                               **FiguresOut.of(figures).model_dump())
                             for channel_id, name, kind, figures in report.channels],
                   agents=[AgentFiguresOut(agent_id=agent_id, agent=name, **FiguresOut.of(figures).model_dump())
                           for agent_id, name, figures in report.agents])
