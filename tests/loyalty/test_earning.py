"""Points earned from ``order.completed`` events delivered by the worker, taken back on ``order.returned``;
tiers by spend; expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.loyalty.conftest import (
    announce,
    assert_ledger_balanced,
    make_customer,
    order_payload,
    standard_programme,
    work,
)
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.events.models import Event
from xuyen.loyalty import expiry, programme, service, tiers
from xuyen.loyalty.models import ExpiryMode, OrderEarning, PointLot, PostingKind
from xuyen.outbox import OutboxEvent


def test_a_completed_order_earns_a_point_per_ten_thousand_dong_once(session: Session, engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    payload = order_payload(1, lan, [(1, 5, 1_259_000)], at=utcnow())
    announce(session, "order.completed", payload)
    announce(session, "order.completed", payload)  # delivered twice
    work(engine)
    found = service.balances(session, profile_id=lan)
    assert (found.points, found.tier, found.lifetime_spend) == (125, "member", 1_259_000)
    assert found.points_worth == 125 * 100
    assert [p.kind for p in service.history(session, profile_id=lan)] == [PostingKind.earn]
    assert session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "loyalty.tier_changed")).all() == []
    assert_ledger_balanced(session)


def test_rules_multiply_by_channel_and_category_and_points_paid_earn_nothing(session: Session,
                                                                              engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 1_000_000), (2, 99, 500_000)],
                                                       channel=SalesChannel.pos, at=utcnow()))
    announce(session, "order.completed", order_payload(2, lan, [(3, 5, 1_000_000)], at=utcnow(),
                                                       payments=[("cash", 800_000), ("points", 200_000)]))
    announce(session, "order.completed", order_payload(3, None, [(3, 5, 9_000_000)], at=utcnow()))
    work(engine)
    earned = dict(session.execute(select(OrderEarning.order_id, OrderEarning.points)).all())
    assert earned == {1: 150, 2: 80}
    assert service.balances(session, profile_id=lan).points == 230


def test_reaching_a_tier_is_announced_and_the_next_order_earns_its_bonus(session: Session, engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 16_000_000)], at=utcnow()))
    work(engine)
    assert service.tier_of(session, profile_id=lan) == "gold"
    (changed,) = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "loyalty.tier_changed")).all()
    assert changed.payload["tier"] == "gold" and changed.payload["previous_tier"] is None
    (logged,) = session.scalars(select(Event).where(Event.event == "Loyalty Tier Changed")).all()
    assert logged.profile_id == lan and logged.properties["tier_name"] == "Vàng"
    announce(session, "order.completed", order_payload(2, lan, [(2, 5, 100_000)], at=utcnow()))
    work(engine)
    assert session.scalar(select(OrderEarning.points).where(OrderEarning.order_id == 2)) == 20
    found = service.balances(session, profile_id=lan)
    assert (found.next_tier, found.to_next_tier) == ("diamond", 50_000_000 - 16_100_000)


def test_a_return_takes_back_the_points_of_what_came_back_and_lowers_the_spend(session: Session,
                                                                               engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 600_000), (2, 5, 400_000)], at=utcnow()))
    work(engine)
    returned = order_payload(1, lan, [(2, 5, 400_000)], at=utcnow(), return_id=7)
    announce(session, "order.returned", returned)
    announce(session, "order.returned", returned)
    work(engine)
    found = service.balances(session, profile_id=lan)
    assert (found.points, found.lifetime_spend) == (60, 600_000)
    assert_ledger_balanced(session)


def test_points_already_spent_are_recorded_as_not_taken_back(session: Session, engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 1_000_000)], at=utcnow()))
    work(engine)
    service.redeem(session, profile_id=lan, account="points", amount=90, reference="DH2", actor="pos")
    announce(session, "order.returned", order_payload(1, lan, [(1, 5, 1_000_000)], at=utcnow(), return_id=1))
    work(engine)
    session.rollback()
    earning = session.scalar(select(OrderEarning))
    assert earning is not None and (earning.taken_back, earning.uncollected) == (10, 90)
    assert service.balances(session, profile_id=lan).points == 0
    assert_ledger_balanced(session)


def test_points_expire_at_the_end_of_the_next_year_lot_by_lot(session: Session, engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    earned_at = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 500_000)], at=earned_at))
    announce(session, "order.completed", order_payload(2, lan, [(1, 5, 300_000)], at=utcnow()))
    work(engine)
    lots = session.scalars(select(PointLot).order_by(PointLot.id)).all()
    assert lots[0].expires_at == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 1 January 2027 in Hà Nội time
    service.redeem(session, profile_id=lan, account="points", amount=20, reference="DH3", actor="pos")
    assert expiry.expire_due(session, at=datetime(2027, 1, 1, tzinfo=UTC) - timedelta(hours=7, seconds=1)) == 0
    assert expiry.expire_due(session, at=datetime(2027, 1, 1, tzinfo=UTC)) == 30
    assert expiry.expire_due(session, at=datetime(2027, 1, 1, tzinfo=UTC)) == 0
    session.commit()
    assert service.balances(session, profile_id=lan).points == 30
    assert_ledger_balanced(session)


def test_points_can_expire_a_number_of_months_after_earning(session: Session) -> None:
    settings = programme.get_settings(session)
    programme.update_settings(session, changes={"expiry_mode": "months", "expiry_months": 6}, actor="owner")
    assert settings.expiry_mode == ExpiryMode.months
    earned = datetime(2026, 8, 31, 3, 0, tzinfo=UTC)
    assert programme.expiry_for(settings, earned_at=earned) == datetime(2027, 2, 28, 3, 0, tzinfo=UTC)


def test_the_nightly_recomputation_lowers_a_tier_when_old_spend_leaves_the_window(session: Session,
                                                                                   engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 6_000_000)],
                                                       at=utcnow() - timedelta(days=300)))
    work(engine)
    assert service.tier_of(session, profile_id=lan) == "silver"
    assert tiers.recompute_all(session, at=utcnow() + timedelta(days=30)) == 0
    assert tiers.recompute_all(session, at=utcnow() + timedelta(days=70)) == 1
    session.commit()
    assert service.tier_of(session, profile_id=lan) == "member"
    topics = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "loyalty.tier_changed")).all()
    assert [(item["previous_tier"], item["tier"]) for item in topics] == [(None, "silver"), ("silver", "member")]


def test_customers_reach_a_tier_added_later_at_the_nightly_recomputation(session: Session, engine: Engine) -> None:
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 6_000_000)], at=utcnow()))
    work(engine)
    assert service.tier_of(session, profile_id=lan) is None
    programme.create_tier(session, code="silver", name="Bạc", min_spend=5_000_000, actor="owner")
    assert tiers.recompute_all(session) == 1
    session.commit()
    assert service.tier_of(session, profile_id=lan) == "silver"
