"""The demo shop: the same from the same seed, loaded once and whole, open with the demo password."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from tests.demo.helpers import shop_source_count, snapshot
from xuyen.auth.models import Role
from xuyen.auth.service import create_user, sign_in
from xuyen.demo.registry import DemoContext, DemoStep
from xuyen.demo.service import data_counts, is_empty, load_demo, load_steps
from xuyen.demo.shop import DEMO_EMAIL_DOMAIN, DEMO_OWNER_EMAIL, DEMO_PASSWORD, SHOP
from xuyen.errors import Conflict
from xuyen.stores.service import create as create_store

BASE_STEPS = ["cửa hàng", "nguồn", "nhân viên"]
EMPTY = {"stores": 0, "sources": 0, "users": 0, "events": 0, "profiles": 0}


def test_builds_the_brand_its_stores_channels_and_staff(session: Session) -> None:
    assert is_empty(session)
    summary = load_demo(session, seed=2026)

    assert summary.brand == SHOP.brand
    counts = summary.counts
    assert (counts["stores"], shop_source_count(session), counts["users"]) == (3, 10, 7)
    assert counts["events"] > counts["profiles"] > 0  # the customers: see test_customers.py
    assert not is_empty(session)
    data = snapshot(session)
    stores = {row[0]: row for row in data["stores"]}
    assert set(stores) == {"HN01", "DN01", "HCM01"}
    assert "Hoàn Kiếm" in stores["HN01"][3]
    assert "Hải Châu" in stores["DN01"][3]
    assert "Quận 1" in stores["HCM01"][3]
    assert all(row[4].startswith("+84 ") for row in stores.values())
    assert 20.9 < stores["HN01"][5] < 21.1
    assert 10.7 < stores["HCM01"][5] < 10.9

    channels = sorted((channel, store) for _, channel, store in data["sources"])
    assert channels == [("app", None), ("email", None), ("messenger", None), ("pos", "DN01"), ("pos", "HCM01"),
                        ("pos", "HN01"), ("shopee", None), ("sms", None), ("web", None), ("zalo", None)]

    staff = {email: (name, role, store) for email, name, role, store in data["users"]}
    assert all(email.endswith(f"@{DEMO_EMAIL_DOMAIN}") for email in staff)
    assert staff[DEMO_OWNER_EMAIL][1:] == ("owner", None)
    managers = sorted(store for _, role, store in staff.values() if role == "manager")
    assert managers == ["DN01", "HCM01", "HN01"]
    agents = [store for _, role, store in staff.values() if role == "agent"]
    assert None in agents  # the online customer-care agent sees every store
    assert any(agents)  # the shop-floor agents see theirs
    names = [name for name, _, _ in staff.values()]
    assert len(set(names)) == len(names)
    assert all(len(name.split()) == 3 for name in names)  # family, middle and given name
    assert any(not name.isascii() for name in names)  # written with their diacritics


def test_same_seed_same_shop_another_seed_other_people(session: Session, wipe: Callable[[], None]) -> None:
    load_demo(session, seed=2026)
    first = snapshot(session)
    wipe()

    load_demo(session, seed=2026)
    assert snapshot(session) == first
    wipe()

    load_demo(session, seed=7)
    other = snapshot(session)
    assert other["stores"] == first["stores"]
    assert [email for email, *_ in other["users"]] == [email for email, *_ in first["users"]]
    assert [name for _, name, *_ in other["users"]] != [name for _, name, *_ in first["users"]]


def test_loading_twice_is_refused_and_changes_nothing(session: Session) -> None:
    load_demo(session, seed=2026)
    before = snapshot(session)
    counts = data_counts(session)

    with pytest.raises(Conflict) as refused:
        load_demo(session, seed=2026)

    assert refused.value.code == "demo_database_not_empty"
    assert "already has data" in refused.value.message
    assert snapshot(session) == before
    assert data_counts(session) == counts


def test_a_database_with_any_staff_is_not_empty(session: Session) -> None:
    create_user(session, email="chu@example.vn", name="Đỗ Minh Châu", password="mật-khẩu-dài",
                role=Role.owner)

    assert not is_empty(session)
    with pytest.raises(Conflict):
        load_demo(session, seed=2026)
    assert data_counts(session) == EMPTY | {"users": 1}


def test_a_database_with_a_store_is_not_empty(session: Session) -> None:
    create_store(session, code="Q3", name="Cửa hàng Quận 3", province="TP. Hồ Chí Minh")

    assert not is_empty(session)
    with pytest.raises(Conflict):
        load_demo(session, seed=2026)


def test_a_failing_step_leaves_nothing_half_written(session: Session) -> None:
    def broken(session: Session, rng: random.Random, context: DemoContext) -> None:
        assert context.users[DEMO_OWNER_EMAIL].id  # the earlier steps did run
        raise RuntimeError("the catalogue file is missing")

    steps = [*load_steps(), DemoStep(name="sản phẩm", order=99, func=broken)]
    with pytest.raises(RuntimeError):
        load_demo(session, seed=2026, steps=steps)

    assert data_counts(session) == EMPTY
    assert is_empty(session)


def test_progress_reports_every_step_in_order(session: Session) -> None:
    seen: list[str] = []
    summary = load_demo(session, seed=2026, progress=seen.append)

    assert seen == list(summary.steps) == [step.name for step in load_steps()]
    assert seen[:3] == BASE_STEPS


def test_each_step_draws_from_its_own_generator(session: Session, wipe: Callable[[], None]) -> None:
    load_demo(session, seed=2026)
    alone = snapshot(session)["users"]
    wipe()

    def draws(session: Session, rng: random.Random, context: DemoContext) -> None:
        rng.random()

    # A new step running before the staff does not change who the staff are.
    steps = sorted([*load_steps(), DemoStep(name="bước thêm", order=25, func=draws)], key=lambda s: s.order)
    load_demo(session, seed=2026, steps=steps)
    assert snapshot(session)["users"] == alone


def test_the_demo_owner_and_staff_sign_in_with_the_demo_password(session: Session) -> None:
    summary = load_demo(session, seed=2026)

    user, token = sign_in(session, email=summary.owner_email, password=summary.password, ip="127.0.0.1")
    assert user.email == DEMO_OWNER_EMAIL
    assert user.role == Role.owner
    assert token
    manager, _ = sign_in(session, email=f"quanly.hn01@{DEMO_EMAIL_DOMAIN}", password=DEMO_PASSWORD,
                         ip="127.0.0.1")
    assert manager.role == Role.manager
    assert manager.store_id is not None
