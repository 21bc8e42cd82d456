"""Loyalty on the pages: the customer 360 shows balances, tier, progress and recent entries; managers change the
programme on its settings page, agents cannot, and a bad form is answered with the reason and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.loyalty.conftest import announce, make_customer, order_payload, standard_programme, work
from tests.ui.helpers import PASSWORD, csrf_token, sign_in
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.clock import utcnow
from xuyen.loyalty import programme, service


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    client.headers["accept"] = "text/html"
    client.follow_redirects = False
    return client


def _signed_in(session: Session, browser: TestClient, role: Role) -> None:
    user = auth_service.create_user(session, email=f"{role.value}@xuyen.example", name="Nguyễn Văn Nam",
                                    password=PASSWORD, role=role)
    assert sign_in(browser, user.email).status_code == 303


def test_the_customer_360_shows_the_loyalty_panel(session: Session, browser: TestClient, engine: Engine) -> None:
    standard_programme(session)
    lan = make_customer(session)
    announce(session, "order.completed", order_payload(1, lan, [(1, 5, 6_000_000)], at=utcnow()))
    work(engine)
    service.top_up(session, profile_id=lan, amount=250_000, reference="NAP-1", actor="a", payment_method="cash")
    _signed_in(session, browser, Role.agent)
    page = browser.get(f"/customers/{lan}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="loyalty"' in html and "Bạc" in html and "Vàng" in html
    assert "600" in html and "Tích điểm" in html and "Nạp tiền" in html and "<progress" in html
    assert "Tích điểm: 600 (DH000001)" in html and "Nạp số dư trả trước: " in html  # on the timeline too


def test_a_manager_changes_the_programme_on_its_page(session: Session, browser: TestClient) -> None:
    _signed_in(session, browser, Role.manager)
    page = browser.get("/loyalty/settings")
    assert page.status_code == 200 and "Chương trình khách hàng thân thiết" in page.text
    token = csrf_token(page.text)
    saved = browser.post("/loyalty/settings", data={"csrf_token": token, "spend_per_point": "20.000",
                                                    "point_value": "500", "expiry_mode": "months",
                                                    "expiry_months": "18", "tier_window_months": "12"})
    assert saved.status_code == 303
    added = browser.post("/loyalty/settings/tiers", data={"csrf_token": token, "code": "gold", "name": "Vàng",
                                                          "min_spend": "15.000.000"})
    assert added.status_code == 303
    rule = browser.post("/loyalty/settings/rules", data={"csrf_token": token, "name": "Vàng x2",
                                                         "multiplier_percent": "200", "tier_code": "gold"})
    assert rule.status_code == 303
    refused = browser.post("/loyalty/settings/tiers", data={"csrf_token": token, "code": "Vàng!", "name": "Vàng",
                                                            "min_spend": "1"})
    assert refused.status_code == 422 and "Mã hạng gồm chữ thường" in refused.text
    in_use = browser.post(f"/loyalty/settings/tiers/{programme.list_tiers(session)[0].id}/delete",
                          data={"csrf_token": token})
    assert in_use.status_code == 409
    session.rollback()
    settings = programme.get_settings(session)
    assert (settings.spend_per_point, settings.point_value, settings.expiry_months) == (20_000, 500, 18)
    assert [tier.code for tier in programme.list_tiers(session)] == ["gold"]
    assert [rule.name for rule in programme.list_rules(session)] == ["Vàng x2"]


def test_agents_cannot_open_the_settings_and_a_wrong_token_changes_nothing(session: Session,
                                                                          browser: TestClient) -> None:
    _signed_in(session, browser, Role.agent)
    assert browser.get("/loyalty/settings").status_code == 403
    browser.cookies.clear()
    _signed_in(session, browser, Role.owner)
    refused = browser.post("/loyalty/settings/tiers", data={"csrf_token": "wrong", "code": "gold", "name": "Vàng",
                                                            "min_spend": "1"})
    assert refused.status_code == 403
    session.rollback()
    assert programme.list_tiers(session) == []
