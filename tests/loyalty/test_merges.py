"""The ledger follows profile merges: a merged customer's balances and spend add up, a redelivered event changes
nothing, and undoing the merge gives back what is still there."""

from __future__ import annotations

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
from xuyen.identity import graph
from xuyen.identity.service import merge_profiles
from xuyen.jobs import add_job
from xuyen.loyalty import service
from xuyen.outbox import OutboxEvent


def _deliver_again(session: Session, engine: Engine, topic: str) -> None:
    session.rollback()
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)
                            .order_by(OutboxEvent.id.desc())).first()
    assert event is not None
    add_job(session, name="loyalty.follow_profile_merges", payload={
        "event_id": event.id, "topic": event.topic, "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id, "payload": event.payload, "created_at": event.created_at.isoformat()})
    session.commit()
    work(engine)


def test_a_merge_adds_balances_and_spend_up_and_its_undoing_gives_them_back(session: Session,
                                                                            engine: Engine) -> None:
    standard_programme(session)
    lan, lan_again = make_customer(session), make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 3_000_000)], at=utcnow()))
    announce(session, "order.completed", order_payload(2, lan_again, [(1, 5, 4_000_000)], at=utcnow()))
    work(engine)
    service.top_up(session, profile_id=lan_again, amount=200_000, reference="NAP-1", actor="a",
                   payment_method="cash")
    assert service.tier_of(session, profile_id=lan) == "member"

    merge = merge_profiles(session, survivor_id=lan, absorbed_id=lan_again, actor="user:1", reason="Cùng số máy")
    work(engine)
    _deliver_again(session, engine, "profile.merged")
    merged = service.balances(session, profile_id=lan_again)
    assert (merged.profile_id, merged.points, merged.stored_value) == (lan, 700, 200_000)
    assert (merged.tier, merged.lifetime_spend) == ("silver", 7_000_000)
    service.redeem(session, profile_id=lan_again, account="points", amount=350, reference="DH3", actor="pos")

    graph.unmerge(session, merge_id=merge.id, actor="user:1")
    work(engine)
    _deliver_again(session, engine, "profile.unmerged")
    kept, restored = service.balances(session, profile_id=lan), service.balances(session, profile_id=lan_again)
    # the 350 points spent came first from the lots expiring soonest: Lan's own, earned first
    assert (kept.points, restored.points) == (0, 350)
    assert (kept.stored_value, restored.stored_value) == (0, 200_000)
    assert (kept.tier, restored.tier) == ("member", "member")
    assert_ledger_balanced(session)


def test_an_order_naming_the_absorbed_profile_earns_for_the_survivor(session: Session, engine: Engine) -> None:
    standard_programme(session)
    lan, lan_again = make_customer(session), make_customer(session)
    merge_profiles(session, survivor_id=lan, absorbed_id=lan_again, actor="user:1", reason="Cùng số máy")
    announce(session, "order.completed", order_payload(1, lan_again, [(1, 5, 1_000_000)], at=utcnow()))
    work(engine)
    assert service.balances(session, profile_id=lan).points == 100
    assert_ledger_balanced(session)


def test_a_merge_undone_before_the_worker_gets_to_it_moves_nothing(session: Session, engine: Engine) -> None:
    lan, lan_again = make_customer(session), make_customer(session)
    service.top_up(session, profile_id=lan_again, amount=90_000, reference="NAP-1", actor="a", payment_method="cash")
    merge = merge_profiles(session, survivor_id=lan, absorbed_id=lan_again, actor="user:1", reason="Nhầm")
    graph.unmerge(session, merge_id=merge.id, actor="user:1")
    work(engine)
    assert service.balances(session, profile_id=lan).stored_value == 0
    assert service.balances(session, profile_id=lan_again).stored_value == 90_000
    assert_ledger_balanced(session)
