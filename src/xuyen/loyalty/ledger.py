"""The ledger underneath loyalty: accounts, postings whose entries sum to zero, and points lots.

Every change is a posting with an idempotency key: posting again with the same key returns the first posting, and
the same key with a different amount (or customer, or kind) is refused. A customer's account row is locked before
its balance is read (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time), and the balance is
changed by a guarded update that never takes it below zero (a check constraint backs it up). The shop's
counter-accounts are never locked: their balance is the sum of their entries.

A customer's points are also held in lots (what one order earned, with the moment it expires); spending, taking
back and expiring points empty the soonest-expiring lots first, so the sum of a customer's lots always equals their
points balance. Everything here is a helper: the calling service commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.errors import Conflict, ValidationFailed
from xuyen.loyalty.models import (
    AccountKind,
    Entry,
    LedgerAccount,
    PointLot,
    Posting,
    PostingKind,
    ShopAccount,
)

MAX_AMOUNT = 10**12  # đồng or points in one posting: far above any real one, far below 64-bit overflow
MAX_REFERENCE = 200


class InsufficientBalance(Conflict):
    """The customer's balance does not cover what was asked."""

    def __init__(self, *, account: AccountKind, available: int, asked: int) -> None:
        what = "points" if account == AccountKind.points else "đồng of stored value"
        super().__init__(f"The customer has {available} {what}, fewer than the {asked} asked; ask for at most "
                         f"{available}.", code="insufficient_balance",
                         details={"account": account.value, "available": available, "asked": asked})


@dataclass(frozen=True)
class Leg:
    """One side of a posting: ``amount`` (signed) on ``account``."""

    account: LedgerAccount
    amount: int


def checked_amount(amount: int) -> int:
    """``amount`` when it is a whole number from 1 to MAX_AMOUNT; ValidationFailed otherwise."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ValidationFailed(f"The amount must be a whole number from 1 to {MAX_AMOUNT}; {amount!r} is not.",
                               code="invalid_amount")
    return amount


def checked_reference(reference: str) -> str:
    """``reference`` stripped, when it is 1 to 200 characters; ValidationFailed otherwise."""
    cleaned = reference.strip() if isinstance(reference, str) else ""
    if not cleaned or len(cleaned) > MAX_REFERENCE:
        raise ValidationFailed(f"Give a reference (an order number or an idempotency key) of 1 to {MAX_REFERENCE} "
                               "characters.", code="invalid_reference")
    return cleaned


def checked_account(account: str) -> AccountKind:
    """The account kind named ``account``; ValidationFailed for another name."""
    try:
        return AccountKind(account)
    except ValueError:
        raise ValidationFailed(f"The account must be 'points' or 'stored_value', not {account!r}.",
                               code="invalid_account") from None


# Accounts ------------------------------------------------------------------------------------------------


def _insert_ignoring(session: Session, **values: Any) -> None:
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    session.execute(insert(LedgerAccount).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def customer_account(session: Session, *, profile_id: int, kind: AccountKind, lock: bool = True) -> LedgerAccount:
    """The profile's account of ``kind``, created on first use and locked for this transaction (helper: no commit)."""
    key = f"profile:{profile_id}:{kind.value}"
    query = select(LedgerAccount).where(LedgerAccount.key == key)
    if lock and is_postgres(session):
        query = query.with_for_update()
    found = session.scalar(query.execution_options(populate_existing=True))
    if found is not None:
        return found
    _insert_ignoring(session, key=key, profile_id=profile_id, kind=kind.value, balance=0, updated_at=utcnow())
    found = session.scalar(query.execution_options(populate_existing=True))
    assert found is not None
    return found


def lock_customer_accounts(session: Session, *, profile_ids: Sequence[int]) -> dict[tuple[int, AccountKind],
                                                                                  LedgerAccount]:
    """Both accounts of each profile, locked in a fixed order (so two transactions never deadlock)."""
    return {(profile_id, kind): customer_account(session, profile_id=profile_id, kind=kind)
            for profile_id in sorted(set(profile_ids)) for kind in AccountKind}


def shop_account(session: Session, *, code: ShopAccount) -> LedgerAccount:
    """The shop's counter-account ``code``, created on first use; never locked."""
    key = f"shop:{code.value}"
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    if found is not None:
        return found
    _insert_ignoring(session, key=key, profile_id=None, kind=code.value, balance=0, updated_at=utcnow())
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    assert found is not None
    return found


# Postings ------------------------------------------------------------------------------------------------


def replayed(session: Session, *, key: str, kind: PostingKind, profile_id: int, amount: int,
             same_customer: bool = True) -> Posting | None:
    """The posting already made under ``key`` when it asked for the same thing; Conflict when it asked for
    something else; None when there is none."""
    found = session.scalar(select(Posting).where(Posting.key == key))
    if found is None:
        return None
    if found.kind != kind or found.amount != amount or (same_customer and found.profile_id != profile_id):
        raise Conflict(f"The reference was already used for a {found.kind.value} of {found.amount} on customer "
                       f"{found.profile_id}; use a new reference for a different request.",
                       code="idempotency_key_reused",
                       details={"posting_id": found.id, "amount": found.amount, "kind": found.kind.value})
    return found


def post(session: Session, *, key: str, kind: PostingKind, profile_id: int, account: AccountKind, amount: int,
         reference: str, actor: str, legs: Sequence[Leg], detail: dict[str, Any] | None = None,
         at: datetime | None = None) -> Posting:
    """Write a posting and its entries and move the customers' balances; the customers' accounts must be locked
    (helper: no commit). InsufficientBalance when a customer's balance would fall below zero."""
    if sum(leg.amount for leg in legs) != 0:
        raise ValueError(f"the entries of posting {key!r} do not sum to zero")
    for leg in legs:
        if leg.account.profile_id is not None and leg.account.balance + leg.amount < 0:
            raise InsufficientBalance(account=AccountKind(leg.account.kind), available=leg.account.balance,
                                      asked=-leg.amount)
    now = at or utcnow()
    posting = Posting(key=key, kind=kind, profile_id=profile_id, account=account, amount=amount,
                      reference=reference, actor=actor[:200], detail=detail or {}, created_at=now)
    session.add(posting)
    session.flush()
    session.add_all([Entry(posting_id=posting.id, account_id=leg.account.id, amount=leg.amount, created_at=now)
                     for leg in legs if leg.amount])
    for leg in legs:
        if leg.account.profile_id is not None and leg.amount:
            _move_balance(session, leg.account, leg.amount, now)
    session.flush()
    return posting


def _move_balance(session: Session, account: LedgerAccount, delta: int, now: datetime) -> None:
    """Add ``delta`` to a customer's balance unless that takes it below zero."""
    new = session.scalar(update(LedgerAccount)
                         .where(LedgerAccount.id == account.id, LedgerAccount.balance + delta >= 0)
                         .values(balance=LedgerAccount.balance + delta, updated_at=now)
                         .returning(LedgerAccount.balance).execution_options(synchronize_session=False))
    if new is None:
        raise InsufficientBalance(account=AccountKind(account.kind), available=account.balance, asked=-delta)
    set_committed_value(account, "balance", new)


# Points lots ---------------------------------------------------------------------------------------------


def add_lot(session: Session, *, profile_id: int, posting: Posting, amount: int, earned_at: datetime,
            expires_at: datetime) -> PointLot:
    """Hold ``amount`` new points in a lot that expires at ``expires_at`` (helper: no commit)."""
    lot = PointLot(profile_id=profile_id, posting_id=posting.id, amount=amount, remaining=amount,
                   earned_at=earned_at, expires_at=expires_at)
    session.add(lot)
    session.flush()
    return lot


def open_lots(session: Session, *, profile_id: int) -> list[PointLot]:
    """The profile's lots that still hold points, the soonest to expire first."""
    return list(session.scalars(select(PointLot).where(PointLot.profile_id == profile_id, PointLot.remaining > 0)
                                .order_by(PointLot.expires_at, PointLot.id)))


def take_from_lots(session: Session, *, profile_id: int, amount: int) -> list[dict[str, Any]]:
    """Take ``amount`` points from the profile's lots, the soonest to expire first; what came from each lot
    (helper: no commit; the points account must be locked and hold them)."""
    taken: list[dict[str, Any]] = []
    left = amount
    for lot in open_lots(session, profile_id=profile_id):
        if left == 0:
            break
        part = min(left, lot.remaining)
        lot.remaining -= part
        left -= part
        taken.append({"lot_id": lot.id, "points": part, "expires_at": lot.expires_at.isoformat()})
    if left:
        raise RuntimeError(f"the lots of profile {profile_id} hold {amount - left} points, fewer than its balance")
    session.flush()
    return taken
