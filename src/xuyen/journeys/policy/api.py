"""The messaging policy API for managers: the settings, the suppression list, and what the policy would decide
for a message (nothing is sent); every change is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.journeys.policy import schemas as bodies
from xuyen.journeys.policy import service, settings, suppressions
from xuyen.routing import Router

router = Router(tags=["messaging policy"])

Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
EntryId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/messaging-policy/settings", summary="The messaging policy's settings")
def read_settings(session: Db, _caller: Manager) -> bodies.SettingsOut:
    return bodies.SettingsOut.of(settings.current(session))


@router.put("/messaging-policy/settings", summary="Change the messaging policy's settings")
def change_settings(body: bodies.SettingsIn, session: Db, caller: Manager) -> bodies.SettingsOut:
    return bodies.SettingsOut.of(settings.change(session, config=body.config(), actor=actor_name(caller)))


@router.get("/messaging-policy/suppressions", summary="The suppression list, newest first")
def list_suppressions(session: Db, _caller: Manager, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[bodies.SuppressionOut]:
    found = suppressions.list_suppressions(session, limit=limit, offset=offset)
    return [bodies.SuppressionOut.of(entry) for entry in found]


@router.post("/messaging-policy/suppressions", status_code=201, summary="Suppress a customer, phone or e-mail")
def add_suppression(body: bodies.SuppressionIn, session: Db, caller: Manager) -> bodies.SuppressionOut:
    return bodies.SuppressionOut.of(suppressions.add_suppression(session, kind=body.kind, value=body.value,
                                                          reason=body.reason, source=body.source,
                                                          actor=actor_name(caller)))


@router.delete("/messaging-policy/suppressions/{suppression_id}", status_code=204,
               summary="Take an entry off the suppression list")
def remove_suppression(suppression_id: EntryId, session: Db, caller: Manager) -> None:
    suppressions.remove_suppression(session, suppression_id=suppression_id, actor=actor_name(caller))


@router.post("/messaging-policy/decisions", summary="What the policy would decide for a message (nothing is sent)")
def preview_decision(body: bodies.DecisionIn, session: Db, _caller: Manager) -> bodies.DecisionOut:
    return bodies.DecisionOut.of(service.decide(session, profile_id=body.profile_id, purpose=body.purpose,
                                         channel=body.channel, campaign_key=body.campaign_key,
                                         at=body.at or utcnow(), on_cap=body.on_cap))
