"""Property tests of the ledger: whatever sequence of earning, spending, refunding, topping up, returning and
expiring happens, balances never go below zero, each balance is the sum of its entries (and, for points, of its
lots), every posting sums to zero, a refused request writes nothing and a replayed one changes nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.loyalty.conftest import assert_ledger_balanced, make_customer, order_payload
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import Conflict
from xuyen.loyalty import earning, expiry, programme, service
from xuyen.loyalty.models import Entry, Posting

_ids = itertools.count(1)

amounts = st.integers(min_value=1, max_value=3_000_000)
operations = st.lists(st.one_of(
    st.tuples(st.just("top_up"), st.integers(0, 1), amounts),
    st.tuples(st.just("spend"), st.integers(0, 1), st.sampled_from(["points", "stored_value"]),
              st.integers(min_value=1, max_value=600)),
    st.tuples(st.just("refund"), st.integers(0, 1), st.sampled_from(["points", "stored_value"]),
              st.integers(min_value=1, max_value=400)),
    st.tuples(st.just("earn"), st.integers(0, 1), amounts, st.sampled_from([SalesChannel.web, SalesChannel.pos])),
    st.tuples(st.just("return"), st.integers(0, 1)),
    st.tuples(st.just("expire"), st.integers(min_value=0, max_value=1200)),
    st.tuples(st.just("replay")),
), min_size=1, max_size=14)


def _snapshot(session: Session) -> tuple[int, int]:
    return (int(session.scalar(select(func.count()).select_from(Posting)) or 0),
            int(session.scalar(select(func.count()).select_from(Entry)) or 0))


def _run(session: Session, op: tuple[Any, ...], people: list[int], orders: dict[int, list[int]]) -> None:
    kind, unique = op[0], next(_ids)
    if kind == "top_up":
        service.top_up(session, profile_id=people[op[1]], amount=op[2], reference=f"t{unique}", actor="p",
                       payment_method="cash")
    elif kind == "spend":
        service.redeem(session, profile_id=people[op[1]], account=op[2], amount=op[3], reference=f"s{unique}",
                       actor="p")
    elif kind == "refund":
        last = session.scalar(select(Posting).where(Posting.kind == "redeem", Posting.account == op[2],
                                                    Posting.profile_id == people[op[1]])
                              .order_by(Posting.id.desc()).limit(1))
        reference = last.reference if last is not None and op[3] <= last.amount else f"r{unique}"
        service.give_back(session, profile_id=people[op[1]], account=op[2], amount=op[3], reference=reference,
                          actor="p")
    elif kind == "earn":
        earning.earn_for_order(session, payload=order_payload(unique, people[op[1]], [(1, 5, op[2])],
                                                              channel=op[3], at=utcnow()))
        orders.setdefault(op[1], []).append(unique)
        session.commit()
    elif kind == "return" and orders.get(op[1]):
        order_id = orders[op[1]][-1]
        earning.take_back_for_return(session, payload=order_payload(order_id, people[op[1]], [(1, 5, 200_000)],
                                                                    at=utcnow(), return_id=unique))
        session.commit()
    elif kind == "expire":
        expiry.expire_due(session, at=utcnow() + timedelta(days=op[1]))
        session.commit()


def _attempt(session: Session, op: tuple[Any, ...], people: list[int], orders: dict[int, list[int]]) -> str | None:
    """Run one operation; the code of the conflict that refused it, if one did."""
    try:
        _run(session, op, people, orders)
    except Conflict as refused:
        return refused.code
    return None


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_the_ledger_stays_balanced_whatever_happens(session: Session, ops: list[tuple[Any, ...]]) -> None:
    if not programme.list_tiers(session):
        programme.add_tier(session, code="member", name="Thành viên", min_spend=0)
        programme.add_tier(session, code="gold", name="Vàng", min_spend=2_000_000)
        programme.add_rule(session, spec=programme.RuleSpec(name="Vàng", multiplier_percent=200, tier_code="gold"))
        session.commit()
    people = [make_customer(session), make_customer(session)]
    orders: dict[int, list[int]] = {}
    last: tuple[Any, ...] | None = None
    for op in ops:
        if op[0] == "replay":
            if last is None or last[0] not in {"top_up", "spend", "refund"}:
                continue
            before = _snapshot(session)
            posting = session.scalar(select(Posting).order_by(Posting.id.desc()).limit(1))
            assert posting is not None
            call = service.top_up if posting.kind == "top_up" else None
            if call is not None:
                call(session, profile_id=posting.profile_id, amount=posting.amount, reference=posting.reference,
                     actor="p", payment_method="cash")
            elif posting.kind == "redeem":
                service.redeem(session, profile_id=posting.profile_id, account=posting.account.value,
                               amount=posting.amount, reference=posting.reference, actor="p")
            elif posting.kind == "refund":
                service.give_back(session, profile_id=posting.profile_id, account=posting.account.value,
                                  amount=posting.amount, reference=posting.reference, actor="p")
            assert _snapshot(session) == before
            continue
        before = _snapshot(session)
        refused = _attempt(session, op, people, orders)
        if refused is None:
            last = op
        else:
            assert refused in {"insufficient_balance", "idempotency_key_reused"}
            session.rollback()
            assert _snapshot(session) == before
        assert_ledger_balanced(session)
