"""Points earned on completed orders and taken back on returns.

A completed order earns ``floor(Σ amount × multiplier / spend_per_point)`` points, where each line's multiplier is
the product of the active earning rules it meets (channel, category, the customer's tier before the order), and
the part of the order paid with points earns nothing (each line's amount is scaled down by that share). What each
line weighed is kept with the order, so that a return takes back exactly the points the order would not have earned
without the returned lines; what the customer no longer holds is recorded as not taken back (balances never go
below zero). The order's amount counts towards tiers on the profile it names; a return takes it off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.identity.graph import resolve_profile_id
from xuyen.loyalty import ledger, programme, tiers
from xuyen.loyalty.ledger import Leg
from xuyen.loyalty.models import AccountKind, OrderEarning, PostingKind, ShopAccount, SpendRecord
from xuyen.loyalty.service import tier_of

POINTS_PAYMENT = "points"
ACTOR = "loyalty"


def _moment(payload: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(payload.get("at")))
    except ValueError:
        return utcnow()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _earning_share(payload: dict[str, Any]) -> Fraction:
    """The share of the order that earns points: all of it but what was paid with points."""
    total = int(payload.get("total") or 0)
    if total <= 0:
        return Fraction(0)
    by_points = sum(int(item.get("amount") or 0) for item in payload.get("payments") or []
                    if item.get("method") == POINTS_PAYMENT)
    return Fraction(max(total - by_points, 0), total)


def _record_spend(session: Session, *, key: str, profile_id: int, amount: int, at: datetime) -> bool:
    """Count spend towards tiers once per key; whether it was new."""
    if session.scalar(select(SpendRecord.id).where(SpendRecord.key == key)) is not None:
        return False
    session.add(SpendRecord(key=key, profile_id=profile_id, amount=amount, at=at))
    session.flush()
    return True


def earn_for_order(session: Session, *, payload: dict[str, Any]) -> OrderEarning | None:
    """Give the customer the points of a completed order and count its spend, once per order; None for an order
    with no customer (helper: no commit)."""
    if payload.get("profile_id") is None:
        return None
    order_id, named = int(payload["order_id"]), int(payload["profile_id"])
    found = session.scalar(select(OrderEarning).where(OrderEarning.order_id == order_id))
    if found is not None:
        return found
    root = resolve_profile_id(session, profile_id=named)
    at = _moment(payload)
    held = ledger.customer_account(session, profile_id=root, kind=AccountKind.points)
    tier = tier_of(session, profile_id=root)
    channel = str(payload.get("channel") or "")
    rules = programme.list_rules(session, active_only=True)
    share = _earning_share(payload)
    weights: dict[str, str] = {}
    total_weight = Fraction(0)
    for line in payload.get("lines") or []:
        factor = programme.multiplier(rules, channel=channel, category_id=line.get("category_id"), tier_code=tier)
        weights[str(line.get("variant_id"))] = str(factor * share)
        total_weight += int(line.get("amount") or 0) * factor * share
    settings = programme.get_settings(session)
    points = int(total_weight // settings.spend_per_point)
    earning = OrderEarning(order_id=order_id, number=str(payload.get("number") or "")[:64], profile_id=root,
                           channel=channel[:32], tier_code=tier, points=points,
                           weights={"lines": weights, "total": str(total_weight), "returned": "0"},
                           taken_back=0, uncollected=0, created_at=utcnow())
    session.add(earning)
    if points > 0:
        issued = ledger.shop_account(session, code=ShopAccount.points_issued)
        posting = ledger.post(session, key=f"earn:order:{order_id}", kind=PostingKind.earn, profile_id=root,
                              account=AccountKind.points, amount=points, reference=earning.number or str(order_id),
                              actor=ACTOR, legs=[Leg(held, points), Leg(issued, -points)],
                              detail={"order_id": order_id, "tier": tier, "channel": channel}, at=at)
        ledger.add_lot(session, profile_id=root, posting=posting, amount=points, earned_at=at,
                       expires_at=programme.expiry_for(settings, earned_at=at))
    _record_spend(session, key=f"order:{order_id}", profile_id=named, amount=int(payload.get("total") or 0), at=at)
    session.flush()
    tiers.recompute(session, profile_id=root)
    return earning


def take_back_for_return(session: Session, *, payload: dict[str, Any]) -> int:
    """Take back the points of the returned lines and their spend, once per return; the points taken (helper:
    no commit)."""
    if payload.get("profile_id") is None:
        return 0
    order_id, named = int(payload["order_id"]), int(payload["profile_id"])
    return_id = str(payload.get("return_id") or payload.get("at") or "")
    amount = sum(int(line.get("amount") or 0) for line in payload.get("lines") or [])
    if not _record_spend(session, key=f"return:{order_id}:{return_id}", profile_id=named, amount=-amount,
                         at=_moment(payload)):
        return 0
    earning = session.scalar(select(OrderEarning).where(OrderEarning.order_id == order_id))
    taken = 0 if earning is None else _take_back(session, earning=earning, payload=payload, return_id=return_id)
    tiers.recompute(session, profile_id=named)
    return taken


def _take_back(session: Session, *, earning: OrderEarning, payload: dict[str, Any], return_id: str) -> int:
    root = resolve_profile_id(session, profile_id=earning.profile_id)
    held = ledger.customer_account(session, profile_id=root, kind=AccountKind.points)
    weights = dict(earning.weights or {})
    line_weights = weights.get("lines", {})
    total = Fraction(weights.get("total", "0"))
    returned = Fraction(weights.get("returned", "0"))
    for line in payload.get("lines") or []:
        factor = Fraction(line_weights.get(str(line.get("variant_id")), "0"))
        returned += int(line.get("amount") or 0) * factor
    returned = min(returned, total)
    settings = programme.get_settings(session)
    keeps = int((total - returned) // settings.spend_per_point) if total else 0
    owed = max(earning.points - keeps - earning.taken_back - earning.uncollected, 0)
    taken = min(owed, held.balance)
    earning.weights = {**weights, "returned": str(returned)}
    earning.taken_back += taken
    earning.uncollected += owed - taken
    if taken > 0:
        ledger.take_from_lots(session, profile_id=root, amount=taken)
        issued = ledger.shop_account(session, code=ShopAccount.points_issued)
        ledger.post(session, key=f"take_back:order:{earning.order_id}:{return_id}", kind=PostingKind.take_back,
                    profile_id=root, account=AccountKind.points, amount=taken,
                    reference=earning.number or str(earning.order_id), actor=ACTOR,
                    legs=[Leg(held, -taken), Leg(issued, taken)],
                    detail={"order_id": earning.order_id, "return_id": return_id, "owed": owed,
                            "not_taken_back": owed - taken})
    session.flush()
    return taken
