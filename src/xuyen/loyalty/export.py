"""Loyalty's section of the person export: balances, tier and every posting of the person's profiles.

Erasing a person keeps their ledger: postings hold amounts, references and profile ids, no personal data, and the
shop's accounts must still add up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.customers.exports import export_section
from xuyen.loyalty.models import CustomerTier, LedgerAccount, Posting


@export_section("loyalty")
def loyalty_section(session: Session, profile_ids: Sequence[int]) -> dict[str, Any]:
    """The person's balances, tier and ledger postings, JSON-ready."""
    ids = list(profile_ids)
    accounts = session.execute(select(LedgerAccount.profile_id, LedgerAccount.kind, LedgerAccount.balance)
                               .where(LedgerAccount.profile_id.in_(ids)).order_by(LedgerAccount.id)).all()
    tiers = session.scalars(select(CustomerTier).where(CustomerTier.profile_id.in_(ids))).all()
    postings = session.scalars(select(Posting).where(Posting.profile_id.in_(ids)).order_by(Posting.id)).all()
    return {
        "accounts": [{"profile_id": profile_id, "account": kind, "balance": balance}
                     for profile_id, kind, balance in accounts],
        "tiers": [{"profile_id": row.profile_id, "tier": row.tier_code, "window_spend": row.window_spend,
                   "changed_at": row.changed_at.isoformat()} for row in tiers],
        "postings": [{"id": p.id, "kind": p.kind.value, "account": p.account.value, "amount": p.amount,
                      "reference": p.reference, "created_at": p.created_at.isoformat()} for p in postings],
    }
