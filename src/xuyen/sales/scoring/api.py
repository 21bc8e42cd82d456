"""The lead scoring API: the rules and the decay setting, for managers; every change is audited and scores every
lead again in the background."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.sales.scoring import rules
from xuyen.sales.scoring.schemas import RuleIn, RuleOut, RulePatch, SettingsIn, SettingsOut

router = Router(tags=["leads"])

Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/lead-scoring/rules", summary="The lead scoring rules")
def list_rules(session: Db, _caller: Manager) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in rules.list_rules(session)]


@router.post("/lead-scoring/rules", status_code=201, summary="Add a lead scoring rule")
def create_rule(body: RuleIn, session: Db, caller: Manager) -> RuleOut:
    return RuleOut.of(rules.create_rule(session, spec=body.spec(), actor=actor_name(caller)))


@router.post("/lead-scoring/rules/suggested", status_code=201, summary="Add the suggested scoring rules")
def add_suggested(session: Db, caller: Manager) -> list[RuleOut]:
    """Adds each suggested rule whose name is not taken; answers those added."""
    return [RuleOut.of(rule) for rule in rules.add_suggested_rules(session, actor=actor_name(caller))]


@router.patch("/lead-scoring/rules/{rule_id}", summary="Change a lead scoring rule")
def update_rule(rule_id: RuleId, body: RulePatch, session: Db, caller: Manager) -> RuleOut:
    return RuleOut.of(rules.update_rule(session, rule_id=rule_id, changes=body.changes(), actor=actor_name(caller)))


@router.delete("/lead-scoring/rules/{rule_id}", status_code=204, summary="Remove a lead scoring rule")
def delete_rule(rule_id: RuleId, session: Db, caller: Manager) -> None:
    rules.delete_rule(session, rule_id=rule_id, actor=actor_name(caller))


def _settings(session: Session) -> SettingsOut:
    return SettingsOut(half_life_days=rules.half_life_days(session), events=list(rules.KNOWN_EVENTS),
                       attributes=list(rules.LEAD_ATTRIBUTES))


@router.get("/lead-scoring/settings", summary="The lead scoring settings")
def read_settings(session: Db, _caller: Manager) -> SettingsOut:
    return _settings(session)


@router.put("/lead-scoring/settings", summary="Change the lead scoring settings")
def change_settings(body: SettingsIn, session: Db, caller: Manager) -> SettingsOut:
    rules.set_half_life(session, days=body.half_life_days, actor=actor_name(caller))
    return _settings(session)
