"""The ledger follows the identity graph. When two profiles of one customer are merged, the absorbed profile's
points (with their lots, so they keep their expiry) and stored value move to the customer it is now part of, by
postings of kind ``merge``; spend is not moved (it stays on the profile each order named and tiers sum it over
the merged profiles). When the merge is undone, the restored profile gets back what was moved and is still there:
the moved lots' remaining points (what the customer spent since came first from the lots expiring soonest, whoever
brought them) and the moved stored value up to the balance left. Each merge is followed once and undone once
(``loyalty_merge_transfers``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.identity.graph import resolve_profile_id
from xuyen.loyalty import ledger, tiers
from xuyen.loyalty.ledger import Leg
from xuyen.loyalty.models import AccountKind, MergeTransfer, PointLot, PostingKind

ACTOR = "merge"


def transfer_of(session: Session, *, merge_id: int) -> MergeTransfer | None:
    """What the ledger moved when it followed the merge ``merge_id``, if it did."""
    return session.scalar(select(MergeTransfer).where(MergeTransfer.merge_id == merge_id))


def _move(session: Session, *, key: str, kind: PostingKind, account: AccountKind, amount: int, source: int,
          target: int, merge_id: int, accounts: dict[tuple[int, AccountKind], ledger.LedgerAccount]) -> None:
    if amount <= 0:
        return
    ledger.post(session, key=key, kind=kind, profile_id=target, account=account, amount=amount,
                reference=f"merge:{merge_id}", actor=ACTOR, detail={"from": source, "to": target},
                legs=[Leg(accounts[(source, account)], -amount), Leg(accounts[(target, account)], amount)])


def follow_merge(session: Session, *, merge_id: int, survivor_id: int, absorbed_id: int) -> MergeTransfer | None:
    """Move the absorbed profile's points and stored value to the customer it is now part of; None when followed
    before, or undone before the ledger got to it (helper: no commit)."""
    if transfer_of(session, merge_id=merge_id) is not None:
        return None
    target = resolve_profile_id(session, profile_id=survivor_id)
    if resolve_profile_id(session, profile_id=absorbed_id) != target or target == absorbed_id:
        return None
    accounts = ledger.lock_customer_accounts(session, profile_ids=[target, absorbed_id])
    points = accounts[(absorbed_id, AccountKind.points)].balance
    stored = accounts[(absorbed_id, AccountKind.stored_value)].balance
    lots = ledger.open_lots(session, profile_id=absorbed_id)
    for lot in lots:
        lot.profile_id = target
    for account, amount in ((AccountKind.points, points), (AccountKind.stored_value, stored)):
        _move(session, key=f"merge:{merge_id}:{account.value}", kind=PostingKind.merge, account=account,
              amount=amount, source=absorbed_id, target=target, merge_id=merge_id, accounts=accounts)
    record = MergeTransfer(merge_id=merge_id, survivor_id=target, absorbed_id=absorbed_id, points=points,
                           stored_value=stored, lot_ids=[lot.id for lot in lots], created_at=utcnow())
    session.add(record)
    session.flush()
    tiers.recompute(session, profile_id=target)
    return record


def follow_unmerge(session: Session, *, merge_id: int, survivor_id: int, absorbed_id: int) -> bool:
    """Give the restored profile back the points and stored value the merge moved that are still there; whether
    anything was to be done (helper: no commit)."""
    record = transfer_of(session, merge_id=merge_id)
    if record is None or record.undone_at is not None:
        return False
    restored = resolve_profile_id(session, profile_id=absorbed_id)
    holder = resolve_profile_id(session, profile_id=survivor_id)
    if restored == holder:
        return False  # merged again since: nothing goes back
    accounts = ledger.lock_customer_accounts(session, profile_ids=[holder, restored])
    lots = list(session.scalars(select(PointLot).where(PointLot.id.in_(record.lot_ids or [-1]),
                                                       PointLot.profile_id == holder, PointLot.remaining > 0)))
    points = sum(lot.remaining for lot in lots)
    for lot in lots:
        lot.profile_id = restored
    stored = min(record.stored_value, accounts[(holder, AccountKind.stored_value)].balance)
    for account, amount in ((AccountKind.points, points), (AccountKind.stored_value, stored)):
        _move(session, key=f"unmerge:{merge_id}:{account.value}", kind=PostingKind.unmerge, account=account,
              amount=amount, source=holder, target=restored, merge_id=merge_id, accounts=accounts)
    record.undone_at = utcnow()
    session.flush()
    tiers.recompute(session, profile_id=holder)
    tiers.recompute(session, profile_id=restored)
    return True
