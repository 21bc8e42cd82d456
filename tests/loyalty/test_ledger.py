"""The ledger's contract: spending and refunding points and stored value, topping up, idempotency, balances."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.loyalty.conftest import assert_ledger_balanced, make_customer, standard_programme
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.loyalty import service
from xuyen.loyalty.models import PointLot, PostingKind


def test_top_up_then_spend_stored_value_in_store(session: Session) -> None:
    lan = make_customer(session)
    posting = service.top_up(session, profile_id=lan, amount=500_000, reference="NAP-1", actor="user:1",
                             payment_method="momo")
    assert posting.kind == PostingKind.top_up and posting.detail == {"payment_method": "momo"}
    service.spend(session, profile_id=lan, account="stored_value", amount=320_000, reference="POS-77", actor="pos")
    session.commit()
    found = service.balances(session, profile_id=lan)
    assert (found.stored_value, found.points) == (180_000, 0)
    assert_ledger_balanced(session)


def test_spending_more_than_the_balance_is_refused_and_writes_nothing(session: Session) -> None:
    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=100_000, reference="NAP-1", actor="a", payment_method="cash")
    with pytest.raises(Conflict) as refused:
        service.spend(session, profile_id=lan, account="stored_value", amount=100_001, reference="DH1", actor="a")
    assert refused.value.code == "insufficient_balance"
    assert refused.value.details == {"account": "stored_value", "available": 100_000, "asked": 100_001}
    session.rollback()
    assert service.balances(session, profile_id=lan).stored_value == 100_000
    assert [p.kind for p in service.history(session, profile_id=lan)] == [PostingKind.top_up]


def test_a_repeated_spend_returns_the_first_and_a_different_amount_is_a_conflict(session: Session) -> None:
    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=300_000, reference="NAP-1", actor="a", payment_method="card")
    first = service.redeem(session, profile_id=lan, account="stored_value", amount=100_000, reference="DH9",
                           actor="a")
    again = service.redeem(session, profile_id=lan, account="stored_value", amount=100_000, reference="DH9",
                           actor="a")
    assert again.id == first.id
    with pytest.raises(Conflict) as refused:
        service.spend(session, profile_id=lan, account="stored_value", amount=90_000, reference="DH9", actor="a")
    assert refused.value.code == "idempotency_key_reused"
    session.rollback()
    assert service.balances(session, profile_id=lan).stored_value == 200_000
    again_top_up = service.top_up(session, profile_id=lan, amount=300_000, reference="NAP-1", actor="a",
                                  payment_method="card")
    assert service.balances(session, profile_id=lan).stored_value == 200_000 and again_top_up.amount == 300_000


def test_refunding_a_spend_gives_back_at_most_what_it_took_once(session: Session) -> None:
    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=300_000, reference="NAP-1", actor="a", payment_method="cash")
    service.redeem(session, profile_id=lan, account="stored_value", amount=200_000, reference="DH5", actor="a")
    with pytest.raises(ValidationFailed) as refused:
        service.refund(session, profile_id=lan, account="stored_value", amount=200_001, reference="DH5", actor="a")
    assert refused.value.code == "refund_exceeds_spend"
    session.rollback()
    service.give_back(session, profile_id=lan, account="stored_value", amount=150_000, reference="DH5", actor="a")
    service.give_back(session, profile_id=lan, account="stored_value", amount=150_000, reference="DH5", actor="a")
    service.give_back(session, profile_id=lan, account="stored_value", amount=40_000, reference="TH-3", actor="a")
    assert service.balances(session, profile_id=lan).stored_value == 100_000 + 150_000 + 40_000
    assert_ledger_balanced(session)


def test_refunded_points_keep_the_expiry_of_the_points_they_replace(session: Session) -> None:
    standard_programme(session)
    lan = make_customer(session)
    service.give_back(session, profile_id=lan, account="points", amount=50, reference="welcome", actor="a")
    (lot,) = session.scalars(select(PointLot)).all()
    service.redeem(session, profile_id=lan, account="points", amount=30, reference="DH1", actor="a")
    service.give_back(session, profile_id=lan, account="points", amount=30, reference="DH1", actor="a")
    lots = session.scalars(select(PointLot).order_by(PointLot.id)).all()
    assert [(item.remaining, item.expires_at) for item in lots] == [(20, lot.expires_at), (30, lot.expires_at)]
    assert service.balances(session, profile_id=lan).points == 50
    assert_ledger_balanced(session)


@pytest.mark.parametrize(("amount", "reference", "account", "code"), [
    (0, "DH1", "points", "invalid_amount"), (-5, "DH1", "points", "invalid_amount"),
    (10**13, "DH1", "points", "invalid_amount"), (10, "", "points", "invalid_reference"),
    (10, "x" * 201, "points", "invalid_reference"), (10, "DH1", "cash", "invalid_account")])
def test_bad_requests_are_refused_with_a_clear_code(session: Session, amount: int, reference: str, account: str,
                                                     code: str) -> None:
    lan = make_customer(session)
    with pytest.raises(ValidationFailed) as refused:
        service.spend(session, profile_id=lan, account=account, amount=amount,  # type: ignore[arg-type]
                      reference=reference, actor="a")
    assert refused.value.code == code


def test_an_unknown_customer_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.balances(session, profile_id=987654)
    with pytest.raises(ValidationFailed) as refused:
        service.top_up(session, profile_id=987654, amount=1, reference="x", actor="a", payment_method="Tiền mặt!")
    assert refused.value.code == "invalid_payment_method"


def test_a_customer_is_found_by_phone_in_any_format_or_by_card(session: Session) -> None:
    lan = make_customer(session, phone="0912 345 678", card="LC-0001-22")
    assert service.find_customer(session, phone="+84 912345678") == lan
    assert service.find_customer(session, card="lc 0001 22") == lan
    with pytest.raises(NotFound):
        service.find_customer(session, phone="0987654321")
    with pytest.raises(ValidationFailed):
        service.find_customer(session, phone="0912345678", card="LC-1")


def test_the_person_export_carries_the_ledger(session: Session) -> None:
    from xuyen.customers import privacy

    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=100_000, reference="NAP-1", actor="a", payment_method="cash")
    exported = privacy.export_person(session, profile_id=lan, actor="user:1")
    section = exported["loyalty"]
    assert section["accounts"] == [{"profile_id": lan, "account": "stored_value", "balance": 100_000}]
    assert [(p["kind"], p["amount"]) for p in section["postings"]] == [("top_up", 100_000)]
