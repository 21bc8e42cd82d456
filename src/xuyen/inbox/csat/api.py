"""The CSAT API: a conversation's surveys (agents), the survey settings and the report (managers). The rating page
itself is public, at /csat/{token} (xuyen.ui.csat)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.inbox.csat import service
from xuyen.inbox.csat.schemas import ReportOut, SettingsOut, SettingsPatch, SurveyOut
from xuyen.routing import Router

router = Router(tags=["inbox CSAT"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
ConversationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Since = Annotated[datetime | None, Query(description="Start of the period (with a time zone); default 30 days "
                                                     "before until.")]
Until = Annotated[datetime | None, Query(description="End of the period, excluded; default now.")]


@router.get("/conversations/{conversation_id}/csat", summary="A conversation's surveys, newest first")
def conversation_csat(conversation_id: ConversationId, session: Db, _caller: Agent) -> list[SurveyOut]:
    return [SurveyOut.of(row) for row in service.conversation_surveys(session, conversation_id=conversation_id)]


@router.get("/inbox/csat/settings", summary="The survey settings")
def get_settings(session: Db, _caller: Manager) -> SettingsOut:
    return SettingsOut.of(service.get_survey_settings(session))


@router.patch("/inbox/csat/settings", summary="Change the survey settings")
def update_settings(body: SettingsPatch, session: Db, caller: Manager) -> SettingsOut:
    return SettingsOut.of(service.update_survey_settings(session, changes=body.changes(), actor=actor_name(caller)))


@router.get("/inbox/csat/report", summary="CSAT per channel and per agent over a period")
def report(session: Db, _caller: Manager, since: Since = None, until: Until = None) -> ReportOut:
    """Ratings of the conversations resolved in the period: average, count, distribution."""
    end = until or utcnow()
    return ReportOut.of(service.csat_report(session, since=since or end - timedelta(days=30), until=end))
