"""The demo shop's loyalty programme and its customers' stored value."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.loyalty.conftest import assert_ledger_balanced
from xuyen.demo import customers
from xuyen.demo.service import load_demo
from xuyen.loyalty import programme
from xuyen.loyalty.models import LedgerAccount, Posting


@pytest.mark.slow
def test_the_demo_has_the_programme_and_some_stored_value(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", 20)
    load_demo(session, seed=2026)
    session.rollback()
    assert [tier.name for tier in programme.list_tiers(session)] == ["Thành viên", "Bạc", "Vàng", "Kim cương"]
    assert len(programme.list_rules(session)) == 3
    top_ups = session.scalar(select(func.count()).select_from(Posting).where(Posting.kind == "top_up"))
    assert top_ups is not None and top_ups > 5
    held = session.scalar(select(func.sum(LedgerAccount.balance)).where(LedgerAccount.kind == "stored_value"))
    assert held is not None and held >= 200_000 * top_ups
    assert_ledger_balanced(session)
