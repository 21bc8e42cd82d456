"""The pricing pages: a variant's base price and every override (where and why), promotions and coupons, VAT
rates; managers and owners only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.commerce.pricing.support import ACTOR, Shop, make_promotion
from xuyen.commerce.pricing import admin
from xuyen.commerce.pricing.models import Coupon, Promotion


def test_agents_do_not_see_the_pricing_pages(agent: Browser, shop: Shop) -> None:
    assert agent.client.get("/pricing").status_code == 403
    assert 'href="/pricing"' not in agent.client.get("/").text


def test_a_variant_page_shows_its_base_price_and_every_override(manager: Browser, shop: Shop,
                                                                session: Session) -> None:
    variant = shop.variants["AO-1"]
    admin.create_override(session, changes={"channel": "shopee", "kind": "percent", "percent": 10, "round_to": 1000,
                                            "reason": "Phí sàn Shopee"}, actor=ACTOR)
    found = manager.client.get("/pricing", params={"sku": "AO-1"}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/pricing/variants/{variant}"
    page = manager.client.get(f"/pricing/variants/{variant}")
    assert page.status_code == 200
    assert "Áo thun (M)" in page.text and "199.000" in page.text and "Phí sàn Shopee" in page.text
    assert 'href="/pricing" aria-current="page"' in page.text
    added = manager.client.post(f"/pricing/variants/{variant}/overrides", data={
        "csrf_token": manager.csrf, "kind": "fixed", "value": "150.000", "reason": "Xả hàng", "tier": "gold"},
        follow_redirects=False)
    assert added.status_code == 303
    assert "Xả hàng" in manager.client.get(f"/pricing/variants/{variant}").text
    refused = manager.client.post(f"/pricing/variants/{variant}/overrides", data={
        "csrf_token": manager.csrf, "kind": "percent", "value": "", "reason": "Sai"})
    assert refused.status_code == 422 and "alert--error" in refused.text
    priced = manager.client.post(f"/pricing/variants/{variant}/price", data={"csrf_token": manager.csrf,
                                                                            "amount": "209000"},
                                 follow_redirects=False)
    assert priced.status_code == 303
    assert "209.000" in manager.client.get(f"/pricing/variants/{variant}").text
    missing = manager.client.get("/pricing", params={"sku": "KHONG-CO"})
    assert missing.status_code == 404 and "KHONG-CO" in missing.text


def test_a_form_without_the_security_token_is_refused(manager: Browser, shop: Shop, session: Session) -> None:
    response = manager.client.post("/pricing/promotions", data={"name": "X", "kind": "percent", "percent": "10"})
    assert response.status_code == 403
    assert session.scalars(select(Promotion)).all() == []


def test_managers_add_promotions_and_generate_codes(manager: Browser, shop: Shop, session: Session) -> None:
    made = manager.client.post("/pricing/promotions", data={
        "csrf_token": manager.csrf, "name": "Mua 2 tặng 1 áo", "kind": "buy_x_get_y", "scope": "categories",
        "targets": str(shop.shirts), "buy": "2", "get": "1", "requires_coupon": "on", "channels": ["pos", "web"]},
        follow_redirects=False)
    assert made.status_code == 303, made.text
    session.rollback()
    promotion = session.scalars(select(Promotion)).one()
    assert promotion.params == {"buy": 2, "get": 1} and promotion.channels == ["pos", "web"]
    listing = manager.client.get("/pricing/promotions").text
    assert "Mua 2 tặng 1 áo" in listing
    generated = manager.client.post(f"/pricing/promotions/{promotion.id}/coupons/batch",
                                    data={"csrf_token": manager.csrf, "count": "5", "prefix": "VIP"})
    assert generated.status_code == 201
    session.rollback()
    codes = session.scalars(select(Coupon.code)).all()
    assert len(codes) == 5 and all(code in generated.text for code in codes)
    bad = manager.client.post("/pricing/promotions", data={"csrf_token": manager.csrf, "name": "Sai",
                                                           "kind": "percent", "percent": "150"})
    assert bad.status_code == 422 and "percent" in bad.text
    off = manager.client.post(f"/pricing/promotions/{promotion.id}/active", data={"csrf_token": manager.csrf},
                              follow_redirects=False)
    assert off.status_code == 303
    session.rollback()
    assert session.get(Promotion, promotion.id).is_active is False  # type: ignore[union-attr]


def test_only_owners_change_vat_rates(manager: Browser, owner: Browser, shop: Shop) -> None:
    page = manager.client.get("/pricing/vat")
    assert page.status_code == 200 and "31/12/2026" in page.text and 'action="/pricing/vat"' not in page.text
    assert manager.client.post("/pricing/vat", data={"csrf_token": manager.csrf}).status_code == 403
    added = owner.client.post("/pricing/vat", data={"csrf_token": owner.csrf, "tax_class": "reduced", "rate": "3",
                                                    "valid_from": "2027-01-01", "valid_until": "2027-06-30"},
                              follow_redirects=False)
    assert added.status_code == 303
    assert "30/06/2027" in owner.client.get("/pricing/vat").text


def test_the_promotion_page_shows_its_coupons(manager: Browser, shop: Shop, session: Session) -> None:
    promotion = make_promotion(session, kind="fixed", params={"amount": 10_000}, requires_coupon=True)
    added = manager.client.post(f"/pricing/promotions/{promotion.id}/coupons",
                                data={"csrf_token": manager.csrf, "code": "tet2027", "max_uses": "100"},
                                follow_redirects=False)
    assert added.status_code == 303
    page = manager.client.get(f"/pricing/promotions/{promotion.id}").text
    assert "TET2027" in page
    again = manager.client.post(f"/pricing/promotions/{promotion.id}/coupons",
                                data={"csrf_token": manager.csrf, "code": "TET2027"})
    assert again.status_code == 409
