"""Spends racing on one customer from many tills never take a balance below zero, and one idempotency key racing
with itself spends once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.loyalty.conftest import assert_ledger_balanced, make_customer
from xuyen.db import session_factory
from xuyen.errors import Conflict
from xuyen.loyalty import service

TILLS = 8


def _spend(engine: Engine, profile_id: int, reference: str) -> str:
    with session_factory(engine)() as session:
        try:
            service.redeem(session, profile_id=profile_id, account="stored_value", amount=30_000,
                           reference=reference, actor="pos")
        except Conflict as refused:
            session.rollback()
            return refused.code
        return "spent"


def test_concurrent_spends_never_go_below_zero(session: Session, engine: Engine) -> None:
    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=100_000, reference="NAP-1", actor="a", payment_method="cash")
    with ThreadPoolExecutor(max_workers=TILLS) as pool:
        outcomes = list(pool.map(lambda n: _spend(engine, lan, f"POS-{n}"), range(TILLS)))
    assert sorted(outcomes) == ["insufficient_balance"] * (TILLS - 3) + ["spent"] * 3
    session.rollback()
    assert service.balances(session, profile_id=lan).stored_value == 10_000
    assert_ledger_balanced(session)


def test_one_key_sent_from_many_tills_at_once_spends_once(session: Session, engine: Engine) -> None:
    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=100_000, reference="NAP-1", actor="a", payment_method="cash")
    with ThreadPoolExecutor(max_workers=TILLS) as pool:
        outcomes = list(pool.map(lambda _n: _spend(engine, lan, "POS-SAME"), range(TILLS)))
    assert outcomes == ["spent"] * TILLS
    session.rollback()
    assert service.balances(session, profile_id=lan).stored_value == 70_000
    assert [p.reference for p in service.history(session, profile_id=lan)] == ["POS-SAME", "NAP-1"]
