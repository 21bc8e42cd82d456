"""The loyalty API: a customer's balances and ledger, the POS's look-up, redemption and top-up (each with an
``Idempotency-Key``), and the programme's settings, tiers and earning rules (managers and owners change them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.loyalty import programme, service
from xuyen.loyalty.schemas import (
    LoyaltyOut,
    PostingOut,
    RuleIn,
    RuleOut,
    SettingsOut,
    SettingsPatch,
    SpendIn,
    TierIn,
    TierOut,
    TierPatch,
    TopUpIn,
)
from xuyen.routing import Router

router = Router(tags=["loyalty"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
ProfileId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                       description="Sending the same request again with the same key changes "
                                                   "nothing and answers the first posting.")]


def _loyalty(session: Session, profile_id: int) -> LoyaltyOut:
    return LoyaltyOut.of(service.balances(session, profile_id=profile_id),
                         service.history(session, profile_id=profile_id))


@router.get("/loyalty/lookup", summary="A customer's loyalty, found by phone number or loyalty card (POS)")
def lookup(session: Db, _caller: Agent, phone: Annotated[str | None, Query(max_length=64)] = None,
           card: Annotated[str | None, Query(max_length=64)] = None) -> LoyaltyOut:
    return _loyalty(session, service.find_customer(session, phone=phone, card=card))


@router.get("/loyalty/settings", summary="The programme's settings")
def get_settings(session: Db, _caller: Agent) -> SettingsOut:
    return SettingsOut.of(programme.get_settings(session))


@router.patch("/loyalty/settings", summary="Change the programme's settings")
def update_settings(body: SettingsPatch, session: Db, caller: Manager) -> SettingsOut:
    return SettingsOut.of(programme.update_settings(session, changes=body.changes(), actor=actor_name(caller)))


@router.get("/loyalty/tiers", summary="The tiers, from the lowest threshold up")
def list_tiers(session: Db, _caller: Agent) -> list[TierOut]:
    return [TierOut.of(tier) for tier in programme.list_tiers(session)]


@router.post("/loyalty/tiers", status_code=201, summary="Add a tier")
def create_tier(body: TierIn, session: Db, caller: Manager) -> TierOut:
    return TierOut.of(programme.create_tier(session, code=body.code, name=body.name, min_spend=body.min_spend,
                                            actor=actor_name(caller)))


@router.patch("/loyalty/tiers/{tier_id}", summary="Rename a tier or change its threshold")
def update_tier(tier_id: ItemId, body: TierPatch, session: Db, caller: Manager) -> TierOut:
    return TierOut.of(programme.update_tier(session, tier_id=tier_id, name=body.name, min_spend=body.min_spend,
                                            actor=actor_name(caller)))


@router.delete("/loyalty/tiers/{tier_id}", status_code=204, summary="Remove a tier")
def delete_tier(tier_id: ItemId, session: Db, caller: Manager) -> None:
    programme.delete_tier(session, tier_id=tier_id, actor=actor_name(caller))


@router.get("/loyalty/rules", summary="The earning rules")
def list_rules(session: Db, _caller: Agent) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in programme.list_rules(session)]


@router.post("/loyalty/rules", status_code=201, summary="Add an earning rule")
def create_rule(body: RuleIn, session: Db, caller: Manager) -> RuleOut:
    return RuleOut.of(programme.create_rule(session, spec=body.spec(), actor=actor_name(caller)))


@router.put("/loyalty/rules/{rule_id}", summary="Replace an earning rule")
def update_rule(rule_id: ItemId, body: RuleIn, session: Db, caller: Manager) -> RuleOut:
    return RuleOut.of(programme.update_rule(session, rule_id=rule_id, spec=body.spec(), actor=actor_name(caller)))


@router.delete("/loyalty/rules/{rule_id}", status_code=204, summary="Remove an earning rule")
def delete_rule(rule_id: ItemId, session: Db, caller: Manager) -> None:
    programme.delete_rule(session, rule_id=rule_id, actor=actor_name(caller))


@router.get("/loyalty/{profile_id}", summary="A customer's balances, tier and recent ledger entries")
def get_loyalty(profile_id: ProfileId, session: Db, _caller: Agent) -> LoyaltyOut:
    return _loyalty(session, profile_id)


@router.get("/loyalty/{profile_id}/entries", summary="A customer's ledger, newest first")
def list_entries(profile_id: ProfileId, session: Db, _caller: Agent,
                 before: Annotated[int | None, Query(ge=1, description="Only postings older than this id.")] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[PostingOut]:
    return [PostingOut.of(posting)
            for posting in service.history(session, profile_id=profile_id, limit=limit, before_id=before)]


@router.post("/loyalty/{profile_id}/redemptions", status_code=201,
             summary="Spend the customer's points or stored value (checkout, POS)")
def redeem(profile_id: ProfileId, body: SpendIn, session: Db, caller: Agent, key: IdempotencyKey) -> PostingOut:
    return PostingOut.of(service.redeem(session, profile_id=profile_id, account=body.account, amount=body.amount,
                                        reference=key, actor=actor_name(caller)))


@router.post("/loyalty/{profile_id}/refunds", status_code=201,
             summary="Give points or stored value back (a cancelled sale: use its idempotency key)")
def refund(profile_id: ProfileId, body: SpendIn, session: Db, caller: Manager, key: IdempotencyKey) -> PostingOut:
    return PostingOut.of(service.give_back(session, profile_id=profile_id, account=body.account,
                                           amount=body.amount, reference=key, actor=actor_name(caller)))


@router.post("/loyalty/{profile_id}/top-ups", status_code=201, summary="Top the customer's stored value up")
def top_up(profile_id: ProfileId, body: TopUpIn, session: Db, caller: Agent, key: IdempotencyKey) -> PostingOut:
    return PostingOut.of(service.top_up(session, profile_id=profile_id, amount=body.amount, reference=key,
                                        actor=actor_name(caller), payment_method=body.payment_method))
