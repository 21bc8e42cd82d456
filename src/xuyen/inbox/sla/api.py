"""The SLA API: policies (managers), a conversation's clocks (agents), the breach report (managers)."""

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
from xuyen.inbox.sla import policies, service
from xuyen.inbox.sla.schemas import (
    ClockOut,
    ConversationSlaOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    ReportOut,
    ReportRowOut,
)
from xuyen.routing import Router

router = Router(tags=["inbox SLA"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
PolicyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ConversationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Since = Annotated[datetime | None, Query(description="Start of the period (with a time zone); default 30 days "
                                                     "before until.")]
Until = Annotated[datetime | None, Query(description="End of the period, excluded; default now.")]


@router.get("/inbox/sla/policies", summary="SLA policies in the order they are tried")
def list_policies(session: Db, _caller: Manager) -> list[PolicyOut]:
    return [PolicyOut.of(policy) for policy in policies.list_policies(session)]


@router.post("/inbox/sla/policies", status_code=201, summary="Add an SLA policy")
def create_policy(body: PolicyIn, session: Db, caller: Manager) -> PolicyOut:
    return PolicyOut.of(policies.create_policy(session, changes=body.changes(), actor=actor_name(caller)))


@router.get("/inbox/sla/policies/{policy_id}", summary="One SLA policy")
def get_policy(policy_id: PolicyId, session: Db, _caller: Manager) -> PolicyOut:
    return PolicyOut.of(policies.get_policy(session, policy_id=policy_id))


@router.patch("/inbox/sla/policies/{policy_id}", summary="Change an SLA policy")
def update_policy(policy_id: PolicyId, body: PolicyPatch, session: Db, caller: Manager) -> PolicyOut:
    """Change the fields given; clocks already running keep their deadlines."""
    return PolicyOut.of(policies.update_policy(session, policy_id=policy_id, changes=body.changes(),
                                               actor=actor_name(caller)))


@router.get("/conversations/{conversation_id}/sla", summary="A conversation's SLA clocks")
def conversation_sla(conversation_id: ConversationId, session: Db, _caller: Agent) -> ConversationSlaOut:
    clocks = service.conversation_clocks(session, conversation_id=conversation_id)
    return ConversationSlaOut(conversation_id=conversation_id, clocks=[ClockOut.of(item) for item in clocks])


@router.get("/inbox/sla/report", summary="SLA breaches and met clocks per policy and kind over a period")
def report(session: Db, _caller: Manager, since: Since = None, until: Until = None) -> ReportOut:
    end = until or utcnow()
    start = since or end - timedelta(days=30)
    rows = service.breach_report(session, since=start, until=end)
    return ReportOut(since=start, until=end, rows=[ReportRowOut.of(row) for row in rows])
