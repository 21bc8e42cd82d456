"""Loyalty test helpers: customers known by a phone (and a loyalty card), orders as the orders part announces
them, and the ledger's own invariants."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xuyen.commerce.channels import SalesChannel
from xuyen.events.models import ChannelType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.loyalty import programme
from xuyen.loyalty.models import Entry, LedgerAccount, PointLot
from xuyen.outbox import emit
from xuyen.worker import Worker

_numbers = itertools.count(1)
WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def make_customer(session: Session, *, phone: str | None = None, card: str | None = None) -> int:
    """A committed customer known by a phone number (and a loyalty card if given); their profile id."""
    number = next(_numbers)
    identifiers: list[tuple[str, str, str | None]] = [("phone", phone or f"09{number:08d}", None)]
    if card:
        identifiers.append(("loyalty_card", card, None))
    source = add_source(session, name=f"Thử nghiệm {number}", channel=ChannelType.web)[0]
    call = channel_call(event="Signed Up", message_id=f"signup-{number}", identifiers=identifiers, timestamp=WHEN)
    profile_id = record_channel_calls(session, calls=[(source.id, call)])[0]
    session.commit()
    assert profile_id is not None
    return profile_id


def standard_programme(session: Session) -> None:
    """The demo shop's programme: 1 point per 10,000 đ, four tiers, ×2 for Gold, ×1.5 in stores, 0 on category 99."""
    for code, name, spend in (("member", "Thành viên", 0), ("silver", "Bạc", 5_000_000),
                              ("gold", "Vàng", 15_000_000), ("diamond", "Kim cương", 50_000_000)):
        programme.add_tier(session, code=code, name=name, min_spend=spend)
    programme.add_rule(session, spec=programme.RuleSpec(name="Vàng nhân đôi", multiplier_percent=200,
                                                        tier_code="gold"))
    programme.add_rule(session, spec=programme.RuleSpec(name="Mua tại cửa hàng", multiplier_percent=150,
                                                        channel="pos"))
    programme.add_rule(session, spec=programme.RuleSpec(name="Thẻ quà tặng không tích điểm", multiplier_percent=0,
                                                        category_id=99))
    programme.get_settings(session)
    session.commit()


def order_payload(order_id: int, profile_id: int | None, lines: list[tuple[int, int | None, int]], *,
                  channel: SalesChannel = SalesChannel.web, payments: list[tuple[str, int]] | None = None,
                  at: datetime = WHEN, return_id: int | None = None) -> dict[str, Any]:
    """An ``order.*`` payload as the orders part writes it; lines are (variant id, category id, amount)."""
    total = sum(amount for _, _, amount in lines)
    payload: dict[str, Any] = {
        "order_id": order_id, "number": f"DH{order_id:06d}", "channel": channel.value, "profile_id": profile_id,
        "total": total,
        "lines": [{"variant_id": variant, "product_id": variant * 10, "category_id": category, "sku": f"SKU-{variant}",
                   "quantity": 1, "amount": amount} for variant, category, amount in lines],
        "payments": [{"method": method, "amount": amount} for method, amount in (payments or [("cash", total)])],
        "at": at.isoformat()}
    if return_id is not None:
        payload["return_id"] = return_id
    return payload


def announce(session: Session, topic: str, payload: dict[str, Any]) -> None:
    """Write an orders event into the outbox and commit, as the orders service does."""
    emit(session, topic=topic, aggregate_type="order", aggregate_id=payload["order_id"], payload=payload)
    session.commit()


def work(engine: Engine) -> None:
    """Run the worker until nothing is due."""
    Worker(engine=engine).run_until_idle()


def assert_ledger_balanced(session: Session) -> None:
    """Every customer balance equals the sum of its entries and its open lots, never below zero; all entries sum
    to zero."""
    session.rollback()
    assert session.scalar(select(func.coalesce(func.sum(Entry.amount), 0))) == 0
    sums = dict(session.execute(select(Entry.account_id, func.sum(Entry.amount)).group_by(Entry.account_id)).all())
    lots = dict(session.execute(select(PointLot.profile_id, func.sum(PointLot.remaining))
                                .group_by(PointLot.profile_id)).all())
    for account in session.scalars(select(LedgerAccount).where(LedgerAccount.profile_id.is_not(None))):
        assert account.balance >= 0
        assert account.balance == int(sums.get(account.id, 0)), account.key
        if account.kind == "points":
            assert account.balance == int(lots.get(account.profile_id, 0)), account.key
