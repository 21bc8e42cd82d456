"""Loyalty services: a customer's balances and tier, spending and refunding points or stored value (helpers the
orders and the POS call inside their own transaction), topping stored value up, and the ledger's history.

Every call names the customer by any profile id of theirs: a profile merged into another is served as the
customer it is now part of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.errors import NotFound, ValidationFailed
from xuyen.identity.graph import find_profile, resolve_profile_id
from xuyen.identity.service import checked_identifiers
from xuyen.loyalty import ledger, programme, tiers
from xuyen.loyalty.ledger import Leg, checked_account, checked_amount, checked_reference
from xuyen.loyalty.models import AccountKind, LedgerAccount, Posting, PostingKind, ShopAccount, Tier

PAYMENT_METHOD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
RECENT_POSTINGS = 20
MAX_PAGE = 200


@dataclass(frozen=True)
class Balances:
    """A customer's points and stored value, their tier and what they spent (over the window and ever)."""

    profile_id: int
    points: int
    stored_value: int
    tier: str | None
    lifetime_spend: int
    tier_name: str | None = None
    window_spend: int = 0
    point_value: int = 0
    next_tier: str | None = None
    next_tier_name: str | None = None
    to_next_tier: int | None = None

    @property
    def points_worth(self) -> int:
        """What the points pay for at checkout, in đồng."""
        return self.points * self.point_value


# Reading -------------------------------------------------------------------------------------------------


def _balance(session: Session, profile_id: int, kind: AccountKind) -> int:
    found = session.scalar(select(LedgerAccount.balance).where(LedgerAccount.key == f"profile:{profile_id}:"
                                                                                     f"{kind.value}"))
    return int(found or 0)


def balances(session: Session, *, profile_id: int) -> Balances:
    """The customer's balances, tier and spend (reads only); NotFound for an unknown profile."""
    cluster = tiers.cluster_of(session, profile_id=profile_id)
    root = cluster[0]
    now = utcnow()
    window = tiers.spend_of(session, profile_ids=cluster, since=tiers.window_start(session, at=now))
    ladder = programme.list_tiers(session)
    current = _current_tier(session, root, ladder)
    above = [tier for tier in ladder if current is None or tier.min_spend > current.min_spend]
    following = above[0] if above else None
    return Balances(profile_id=root, points=_balance(session, root, AccountKind.points),
                    stored_value=_balance(session, root, AccountKind.stored_value),
                    tier=current.code if current else None, tier_name=current.name if current else None,
                    lifetime_spend=tiers.spend_of(session, profile_ids=cluster), window_spend=window,
                    point_value=programme.get_settings(session).point_value,
                    next_tier=following.code if following else None,
                    next_tier_name=following.name if following else None,
                    to_next_tier=max(following.min_spend - window, 0) if following else None)


def _current_tier(session: Session, root: int, ladder: list[Tier]) -> Tier | None:
    """The stored tier; the lowest tier when it has no threshold and none was computed yet."""
    row = tiers.stored_tier(session, profile_id=root)
    if row is not None:
        return next((tier for tier in ladder if tier.code == row.tier_code), None)
    return ladder[0] if ladder and ladder[0].min_spend == 0 else None


def tier_of(session: Session, *, profile_id: int) -> str | None:
    """The code of the customer's tier, None when the programme has no tier they reach."""
    root = resolve_profile_id(session, profile_id=profile_id)
    current = _current_tier(session, root, programme.list_tiers(session))
    return current.code if current else None


def history(session: Session, *, profile_id: int, limit: int = RECENT_POSTINGS,
            before_id: int | None = None) -> list[Posting]:
    """The customer's postings, newest first (every profile merged into them included)."""
    cluster = tiers.cluster_of(session, profile_id=profile_id)
    query = (select(Posting).where(Posting.profile_id.in_(cluster)).order_by(Posting.id.desc())
             .limit(max(1, min(limit, MAX_PAGE))))
    if before_id is not None:
        query = query.where(Posting.id < before_id)
    return list(session.scalars(query))


def find_customer(session: Session, *, phone: str | None = None, card: str | None = None) -> int:
    """The customer holding the phone number or loyalty card (any format); NotFound when nobody does."""
    if bool(phone) == bool(card):
        raise ValidationFailed("Give a phone number or a loyalty card number (one of them).",
                               code="lookup_needs_one_key")
    kind, value = ("phone", phone) if phone else ("loyalty_card", card)
    assert value is not None
    checked_identifiers(type=kind, value=value)
    found = find_profile(session, type=kind, value=value)
    if found is None:
        raise NotFound("No customer holds that phone number or card; check it, or sign the customer up first.",
                       code="customer_not_found")
    return found


# Spending and refunding (helpers: the caller commits) ------------------------------------------------------

COUNTER_OF_SPEND = {AccountKind.points: ShopAccount.points_redeemed,
                    AccountKind.stored_value: ShopAccount.stored_value_redeemed}


def spend(session: Session, *, profile_id: int, account: Literal["points", "stored_value"], amount: int,
          reference: str, actor: str) -> Posting:
    """Take ``amount`` points or đồng of stored value from the customer for ``reference`` (an order, a POS sale);
    idempotent on (reference, account); Conflict ``insufficient_balance`` when the balance is short (helper: no
    commit)."""
    kind, amount, reference = checked_account(account), checked_amount(amount), checked_reference(reference)
    root = resolve_profile_id(session, profile_id=profile_id)
    held = ledger.customer_account(session, profile_id=root, kind=kind)
    key = f"spend:{kind.value}:{reference}"
    if (found := _replayed(session, key=key, kind=PostingKind.redeem, root=root, amount=amount)) is not None:
        return found
    if held.balance < amount:
        raise ledger.InsufficientBalance(account=kind, available=held.balance, asked=amount)
    detail = {}
    if kind == AccountKind.points:
        detail["lots"] = ledger.take_from_lots(session, profile_id=root, amount=amount)
    counter = ledger.shop_account(session, code=COUNTER_OF_SPEND[kind])
    return ledger.post(session, key=key, kind=PostingKind.redeem, profile_id=root, account=kind, amount=amount,
                       reference=reference, actor=actor, detail=detail,
                       legs=[Leg(held, -amount), Leg(counter, amount)])


def _replayed(session: Session, *, key: str, kind: PostingKind, root: int, amount: int) -> Posting | None:
    found = ledger.replayed(session, key=key, kind=kind, profile_id=root, amount=amount, same_customer=False)
    if found is not None and resolve_profile_id(session, profile_id=found.profile_id) != root:
        ledger.replayed(session, key=key, kind=kind, profile_id=root, amount=amount)
    return found


def refund(session: Session, *, profile_id: int, account: Literal["points", "stored_value"], amount: int,
           reference: str, actor: str) -> Posting:
    """Give the customer ``amount`` points or đồng of stored value back for ``reference``, idempotent on it.

    When a spend was made with the same reference (a cancelled order), the refund gives back at most what it took,
    points with the expiry they had; otherwise (a return refunded to stored value) it is new value: points expire
    as if earned now (helper: no commit)."""
    kind, amount, reference = checked_account(account), checked_amount(amount), checked_reference(reference)
    root = resolve_profile_id(session, profile_id=profile_id)
    held = ledger.customer_account(session, profile_id=root, kind=kind)
    key = f"refund:{kind.value}:{reference}"
    if (found := _replayed(session, key=key, kind=PostingKind.refund, root=root, amount=amount)) is not None:
        return found
    spent = session.scalar(select(Posting).where(Posting.key == f"spend:{kind.value}:{reference}"))
    if spent is not None and amount > spent.amount:
        raise ValidationFailed(f"The refund of {amount} is more than the {spent.amount} spent for {reference}; "
                               f"refund at most {spent.amount}.", code="refund_exceeds_spend",
                               details={"spent": spent.amount})
    counter = ledger.shop_account(session, code=COUNTER_OF_SPEND[kind] if spent is not None
                                  else ShopAccount.stored_value_refunds if kind == AccountKind.stored_value
                                  else ShopAccount.points_issued)
    posting = ledger.post(session, key=key, kind=PostingKind.refund, profile_id=root, account=kind, amount=amount,
                          reference=reference, actor=actor, legs=[Leg(held, amount), Leg(counter, -amount)],
                          detail={"reverses": spent.id} if spent is not None else {})
    if kind == AccountKind.points:
        _give_back_lots(session, root=root, posting=posting, amount=amount, spent=spent)
    return posting


def _give_back_lots(session: Session, *, root: int, posting: Posting, amount: int, spent: Posting | None) -> None:
    """Refunded points go into lots expiring when the points they replace did (the last taken first); points
    with no spend behind them expire as if earned now."""
    now = utcnow()
    left = amount
    taken = list(reversed((spent.detail or {}).get("lots", []))) if spent is not None else []
    for part in taken:
        if left == 0:
            break
        points = min(left, int(part["points"]))
        ledger.add_lot(session, profile_id=root, posting=posting, amount=points, earned_at=now,
                       expires_at=datetime.fromisoformat(part["expires_at"]).astimezone(UTC))
        left -= points
    if left:
        expires = programme.expiry_for(programme.get_settings(session), earned_at=now)
        ledger.add_lot(session, profile_id=root, posting=posting, amount=left, earned_at=now, expires_at=expires)


# Topping up (a service) ----------------------------------------------------------------------------------


def add_top_up(session: Session, *, profile_id: int, amount: int, reference: str, actor: str,
               payment_method: str) -> Posting:
    """Add ``amount`` đồng to the customer's stored value, paid by ``payment_method``; idempotent on the reference
    (helper: no commit)."""
    amount, reference = checked_amount(amount), checked_reference(reference)
    method = payment_method.strip().lower() if isinstance(payment_method, str) else ""
    if not PAYMENT_METHOD.match(method):
        raise ValidationFailed("Name the payment method in 1 to 32 lower-case letters, digits or _ (cash, card, "
                               "bank_transfer, momo…).", code="invalid_payment_method")
    root = resolve_profile_id(session, profile_id=profile_id)
    held = ledger.customer_account(session, profile_id=root, kind=AccountKind.stored_value)
    key = f"top_up:{reference}"
    if (found := _replayed(session, key=key, kind=PostingKind.top_up, root=root, amount=amount)) is not None:
        return found
    cash_in = ledger.shop_account(session, code=ShopAccount.stored_value_cash_in)
    return ledger.post(session, key=key, kind=PostingKind.top_up, profile_id=root, account=AccountKind.stored_value,
                       amount=amount, reference=reference, actor=actor, detail={"payment_method": method},
                       legs=[Leg(held, amount), Leg(cash_in, -amount)])


def top_up(session: Session, *, profile_id: int, amount: int, reference: str, actor: str,
           payment_method: str) -> Posting:
    """Top the customer's stored value up by ``amount`` đồng paid by ``payment_method``, once per reference."""
    posting = add_top_up(session, profile_id=profile_id, amount=amount, reference=reference, actor=actor,
                         payment_method=payment_method)
    session.commit()
    return posting


def redeem(session: Session, *, profile_id: int, account: Literal["points", "stored_value"], amount: int,
           reference: str, actor: str) -> Posting:
    """Spend points or stored value at a till or on a channel with an idempotency key (the service form of
    ``spend``)."""
    posting = spend(session, profile_id=profile_id, account=account, amount=amount, reference=reference, actor=actor)
    session.commit()
    return posting


def give_back(session: Session, *, profile_id: int, account: Literal["points", "stored_value"], amount: int,
              reference: str, actor: str) -> Posting:
    """Refund points or stored value with an idempotency key (the service form of ``refund``)."""
    posting = refund(session, profile_id=profile_id, account=account, amount=amount, reference=reference,
                     actor=actor)
    session.commit()
    return posting
