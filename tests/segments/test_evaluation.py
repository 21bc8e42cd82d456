"""Evaluation: each kind of condition compiled to SQL keeps exactly the customers a plain Python reading of the same
small data keeps, on SQLite and PostgreSQL, and only surviving profiles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.segments.conftest import run_worker, set_customer, track
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderLine, OrderStatus
from xuyen.customers.addresses.units import load_units
from xuyen.customers.models import CustomerConsent
from xuyen.errors import ValidationFailed
from xuyen.fields import service as fields
from xuyen.fields.customers import set_customer_values
from xuyen.identity.graph import merge
from xuyen.loyalty.models import CustomerTier
from xuyen.segments.compile import members_query
from xuyen.segments.rules import parse_rule
from xuyen.stores import service as stores


def _members(session: Session, definition: dict[str, Any]) -> list[int]:
    return list(session.scalars(members_query(session, rule=parse_rule(definition), now=utcnow())))


def _order(session: Session, *, profile_id: int, total: int, days_ago: int, sku: str = "AO-DAI-01",
           status: OrderStatus = OrderStatus.completed, category_id: int = 7) -> None:
    at = utcnow() - timedelta(days=days_ago)
    order = Order(channel=SalesChannel.web, status=status, profile_id=profile_id, total=total, subtotal=total,
                  placed_at=at, created_at=at, updated_at=at)
    session.add(order)
    session.flush()
    session.add(OrderLine(order_id=order.id, sku=sku, name=sku, quantity=1, unit_price=total, list_price=total,
                          product_id=100, category_id=category_id))
    session.commit()


@pytest.fixture
def people(session: Session, engine: Engine) -> dict[str, int]:
    """Four customers of the shop, each with their events, traits and orders."""
    now = utcnow()
    lan = track(session, phone="0912000001", event="Product Added", at=now - timedelta(days=2),
                properties={"sku": "AO-DAI-01"}, traits={"city": "Hà Nội", "age": 31, "vip": True})
    track(session, phone="0912000001", event="Product Added", at=now - timedelta(days=3),
          properties={"sku": "NON-LA"})
    minh = track(session, phone="0912000002", event="Product Added", at=now - timedelta(days=20),
                 traits={"city": "Huế", "age": 45})
    hoa = track(session, phone="0912000003", event="Order Completed", at=now - timedelta(days=1),
                traits={"age": 22})
    tuan = track(session, phone="0912000004", event="Page Viewed", at=now)
    run_worker(session, engine)
    return {"lan": lan, "minh": minh, "hoa": hoa, "tuan": tuan}


def _names(people: dict[str, int], ids: list[int]) -> set[str]:
    return {name for name, profile_id in people.items() if profile_id in ids}


def test_traits_by_kind_of_value(session: Session, people: dict[str, int]) -> None:
    assert _names(people, _members(session, {"all": [{"trait": "city", "op": "eq", "value": "Hà Nội"}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{"trait": "city", "op": "ne", "value": "Hà Nội"}]})) == {"minh"}
    assert _names(people, _members(session, {"all": [{"trait": "age", "op": "gte", "value": 31}]})) == {"lan", "minh"}
    assert _names(people, _members(session, {"all": [{"trait": "vip", "op": "eq", "value": True}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{"trait": "city", "op": "missing"}]})) == {"hoa", "tuan"}
    assert _names(people, _members(session, {"all": [{"trait": "age", "op": "exists"}]})) == {"lan", "minh", "hoa"}


def test_events_done_and_not_done_in_a_window(session: Session, people: dict[str, int]) -> None:
    added = {"did": "Product Added", "days": 7}
    assert _names(people, _members(session, {"all": [added]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{**added, "times": 2}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{**added, "times": 3}]})) == set()
    assert _names(people, _members(session, {"all": [{**added, "days": 30, "where": {"sku": "NON-LA"}}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{"did_not": "Product Added", "days": 7}]})) == {"minh", "hoa",
                                                                                                     "tuan"}


def test_orders_count_total_and_what_was_bought(session: Session, people: dict[str, int]) -> None:
    _order(session, profile_id=people["lan"], total=3_000_000, days_ago=10)
    _order(session, profile_id=people["lan"], total=2_500_000, days_ago=40, sku="NON-LA", category_id=8)
    _order(session, profile_id=people["minh"], total=900_000, days_ago=200)
    _order(session, profile_id=people["hoa"], total=8_000_000, days_ago=5, status=OrderStatus.cancelled)
    assert _names(people, _members(session, {"all": [{"orders": "count", "op": "gte", "value": 2, "days": 90}]})) \
        == {"lan"}
    # Customers with no counted order count as 0: "fewer than 1 order" keeps them.
    assert _names(people, _members(session, {"all": [{"orders": "count", "op": "lt", "value": 1, "days": 90}]})) \
        == {"minh", "hoa", "tuan"}
    assert _names(people, _members(session, {"all": [{"orders": "total", "op": "gte", "value": 5_000_000}]})) \
        == {"lan"}
    assert _names(people, _members(session, {"all": [{"orders": "total", "op": "gt", "value": 500_000}]})) \
        == {"lan", "minh"}
    assert _names(people, _members(session, {"all": [{"bought": {"sku": "NON-LA"}, "days": 30}]})) == set()
    assert _names(people, _members(session, {"all": [{"bought": {"sku": "NON-LA"}}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{"bought": {"category_id": 7}, "days": 365}]})) == {"lan",
                                                                                                         "minh"}
    assert _names(people, _members(session, {"all": [{"bought": {"product_id": 100}, "days": 7}]})) == set()


def test_consent_tier_computed_and_custom_fields(session: Session, engine: Engine, people: dict[str, int]) -> None:
    now = utcnow()
    session.add_all([
        CustomerConsent(profile_id=people["lan"], channel="zalo", purpose="marketing", status="granted",
                        recorded_at=now),
        CustomerConsent(profile_id=people["minh"], channel="zalo", purpose="marketing", status="withdrawn",
                        recorded_at=now),
        CustomerTier(profile_id=people["minh"], tier_code="gold", window_spend=9_000_000),
        CustomerTier(profile_id=people["hoa"], tier_code="silver", window_spend=2_000_000),
    ])
    session.commit()
    fields.define_field(session, entity="customer", label_vi="Size áo", key="size", kind="choice",
                        options=[fields.OptionSpec("s", "S"), fields.OptionSpec("m", "M")], actor="user:1")
    set_customer_values(session, profile_id=people["tuan"], values={"size": "m"}, form=False, actor="user:1")
    assert _names(people, _members(session, {"all": [{"consent": {"channel": "zalo", "purpose": "marketing"}}]})) \
        == {"lan"}
    assert _names(people, _members(session, {"all": [{"tier": ["gold", "vip"]}]})) == {"minh"}
    assert _names(people, _members(session, {"all": [{"computed": "events", "op": "gte", "value": 2}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{"field": "size", "op": "any_of", "value": ["m"]}]})) \
        == {"tuan"}
    with pytest.raises(ValidationFailed) as caught:
        _members(session, {"all": [{"field": "colour", "op": "equals", "value": "đỏ"}]})
    assert "all[0]" in caught.value.details["errors"]


def test_provinces_by_todays_name_and_by_the_name_before_the_merger(session: Session, engine: Engine,
                                                                    people: dict[str, int]) -> None:
    units = load_units()
    thu_dau_mot = sorted(units.wards_by_old_province["74"])[0]  # a ward on the land of the former Bình Dương
    saigon = sorted(set(units.wards_by_old_province["79"]) - set(units.wards_by_old_province["74"]))[0]
    set_customer(session, engine, people["lan"], province_code="01", ward_code="")
    set_customer(session, engine, people["minh"], province_code="79", ward_code=thu_dau_mot)
    set_customer(session, engine, people["hoa"], province_code="79", ward_code=saigon)
    assert _names(people, _members(session, {"all": [{"province": "Hà Nội"}]})) == {"lan"}
    assert _names(people, _members(session, {"all": [{"province": "TP.HCM"}]})) == {"minh", "hoa"}
    assert _names(people, _members(session, {"all": [{"province": "Bình Dương"}]})) == {"minh"}
    with pytest.raises(ValidationFailed) as caught:
        _members(session, {"all": [{"province": "Atlantis"}]})
    assert "all[0].province" in caught.value.details["errors"]


def test_nesting_matches_a_python_reading(session: Session, people: dict[str, int]) -> None:
    rule = {"any": [{"all": [{"trait": "age", "op": "gte", "value": 30}, {"did": "Product Added", "days": 7}]},
                    {"all": [{"did": "Order Completed", "days": 7},
                             {"any": [{"trait": "age", "op": "lt", "value": 25}, {"tier": ["gold"]}]}]}]}
    ages = {"lan": 31, "minh": 45, "hoa": 22, "tuan": None}
    added_recently = {"lan"}
    ordered_recently = {"hoa"}
    expected = {name for name, age in ages.items()
                if (age is not None and age >= 30 and name in added_recently)
                or (name in ordered_recently and age is not None and age < 25)}
    assert _names(people, _members(session, rule)) == expected == {"lan", "hoa"}


def test_an_absorbed_profile_is_never_a_member_and_its_history_counts_for_the_survivor(
        session: Session, engine: Engine, people: dict[str, int]) -> None:
    _order(session, profile_id=people["tuan"], total=4_000_000, days_ago=3)
    merge(session, survivor_id=people["minh"], absorbed_id=people["tuan"], actor="user:1", reason="cùng một người")
    session.commit()
    ids = _members(session, {"all": [{"orders": "total", "op": "gte", "value": 4_000_000}]})
    assert ids == [people["minh"]]
    assert people["tuan"] not in _members(session, {"all": [{"trait": "city", "op": "missing"}]})
    assert session.scalar(select(Order.profile_id)) == people["tuan"]


def test_near_a_store_by_the_customers_coordinates(session: Session, engine: Engine, people: dict[str, int]) -> None:
    stores.add(session, code="HG", name="Xuyên Hàng Gai", province="Hà Nội", latitude=21.0333, longitude=105.8500)
    stores.add(session, code="NOGPS", name="Kho", province="Hà Nội")
    session.commit()
    track(session, phone="0912000001", traits={"latitude": 21.0288, "longitude": 105.8525})  # Hồ Gươm, 0.6 km
    track(session, phone="0912000002", traits={"latitude": 21.0362, "longitude": 105.7906})  # Cầu Giấy, 6.2 km
    run_worker(session, engine)
    near = {"all": [{"near_store": "hg", "km": 3}]}  # codes are read as the stores keep them, upper-case
    assert _names(people, _members(session, near)) == {"lan"}
    assert _names(people, _members(session, {"all": [{"near_store": "HG", "km": 7}]})) == {"lan", "minh"}
    for code, message in (("NOGPS", "has no coordinates"), ("XX", "there is no store")):
        with pytest.raises(ValidationFailed) as caught:
            _members(session, {"all": [{"near_store": code, "km": 3}]})
        assert message in caught.value.details["errors"]["all[0].near_store"]
