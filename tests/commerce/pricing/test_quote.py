"""The quote: base prices, overrides named in the answer, promotions, coupons, VAT by date, and clear refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from tests.commerce.pricing.support import ACTOR, IN_2026, IN_2027, Shop, make_promotion
from tests.factories import make_store
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import admin, promotions
from xuyen.commerce.pricing.service import QuoteRequestLine, quote
from xuyen.errors import NotFound, ValidationFailed

CART = [QuoteRequestLine("AO-1", 2), QuoteRequestLine("AO-2", 1), QuoteRequestLine("MU-1", 3)]


def test_a_cart_is_priced_from_the_base_list_with_vat_split_per_line(session: Session, shop: Shop) -> None:
    result = quote(session, channel=SalesChannel.web, lines=CART, at=IN_2026)
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in result.lines] == [
        ("AO-1", 2, 199_000, 398_000), ("AO-2", 1, 349_000, 349_000), ("MU-1", 3, 99_000, 297_000)]
    assert (result.subtotal, result.discount_total, result.total) == (1_044_000, 0, 1_044_000)
    first = result.lines[0]
    assert first.vat_rate == Decimal(8) and first.net_amount == 368_519 and first.vat_amount == 29_481
    assert first.name == "Áo thun (M)" and first.list_price == 199_000
    assert [(item.rate, item.net + item.vat) for item in result.vat] == [(Decimal(8), 1_044_000)]
    assert sum(line.net_amount for line in result.lines) == result.vat[0].net


def test_vat_follows_the_tax_class_and_the_date(session: Session, shop: Shop) -> None:
    lines = [QuoteRequestLine(sku, 1) for sku in ("AO-1", "SACH-1", "GAO-1", "TUI-1")]
    in_2026 = quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026)
    assert [line.vat_rate for line in in_2026.lines] == [Decimal(8), Decimal(5), None, Decimal(10)]
    assert in_2026.lines[2].vat_amount == 0 and in_2026.lines[2].net_amount == 150_000
    assert [item.rate for item in in_2026.vat] == [Decimal(10), Decimal(8), Decimal(5), None]
    in_2027 = quote(session, channel=SalesChannel.web, lines=lines, at=IN_2027)
    assert [line.vat_rate for line in in_2027.lines] == [Decimal(10), Decimal(5), None, Decimal(10)]
    assert in_2027.lines[0].net_amount == 180_909 and in_2027.lines[0].vat_amount == 18_091


def test_the_reduction_ends_on_the_last_day_of_2026_in_vietnam(session: Session, shop: Shop) -> None:
    from datetime import UTC, datetime

    last_evening = datetime(2026, 12, 31, 16, 59, tzinfo=UTC)  # 23:59 in Hà Nội
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 00:00 on 1 January 2027 in Hà Nội
    lines = [QuoteRequestLine("AO-1", 1)]
    assert quote(session, channel=SalesChannel.pos, lines=lines, at=last_evening).lines[0].vat_rate == Decimal(8)
    assert quote(session, channel=SalesChannel.pos, lines=lines, at=new_year).lines[0].vat_rate == Decimal(10)


def test_every_channel_gets_the_same_quote_unless_an_override_says_otherwise(session: Session, shop: Shop) -> None:
    make_promotion(session, kind="percent", params={"percent": 10})
    answers = {channel: quote(session, channel=channel, lines=CART, at=IN_2026)
               for channel in (SalesChannel.web, SalesChannel.pos, SalesChannel.chat, SalesChannel.shopee)}
    bodies = {channel: answer.model_dump(exclude={"channel"}) for channel, answer in answers.items()}
    assert all(body == bodies[SalesChannel.web] for body in bodies.values())
    assert answers[SalesChannel.web].total == 1_044_000 - 104_400

    admin.create_override(session, changes={"channel": "shopee", "kind": "percent", "percent": 10, "round_to": 1000,
                                            "reason": "Phí sàn Shopee"}, actor=ACTOR)
    shopee = quote(session, channel=SalesChannel.shopee, lines=CART, at=IN_2026)
    web = quote(session, channel=SalesChannel.web, lines=CART, at=IN_2026)
    assert web.model_dump(exclude={"channel"}) == bodies[SalesChannel.web]
    assert [line.unit_price for line in shopee.lines] == [219_000, 384_000, 109_000]
    adjustment = shopee.lines[0].adjustments[0]
    assert (adjustment.applies_to, adjustment.reason, adjustment.price_before, adjustment.price_after) == (
        "channel shopee", "Phí sàn Shopee", 199_000, 219_000)
    assert shopee.lines[0].list_price == 199_000


def test_a_store_price_beats_a_channel_price_and_a_tier_price_comes_on_top(session: Session, shop: Shop) -> None:
    store = make_store(session)
    variant = shop.variants["AO-1"]
    admin.create_override(session, changes={"channel": "pos", "kind": "percent", "percent": -5}, actor=ACTOR)
    admin.create_override(session, changes={"store_id": store.id, "variant_id": variant, "kind": "fixed",
                                            "amount": 150_000, "reason": "Xả hàng cửa hàng"}, actor=ACTOR)
    admin.create_override(session, changes={"tier": "gold", "kind": "percent", "percent": -10}, actor=ACTOR)
    lines = [QuoteRequestLine("AO-1", 1), QuoteRequestLine("AO-2", 1)]
    at_till = quote(session, channel=SalesChannel.pos, lines=lines, store_id=store.id, at=IN_2026)
    assert [line.unit_price for line in at_till.lines] == [150_000, 331_550]
    gold = quote(session, channel=SalesChannel.pos, lines=lines, store_id=store.id, tier="gold", at=IN_2026)
    assert [line.unit_price for line in gold.lines] == [135_000, 298_395]
    assert [item.applies_to for item in gold.lines[0].adjustments] == [f"store {store.id}", "tier gold"]
    on_web = quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026)
    assert [line.unit_price for line in on_web.lines] == [199_000, 349_000]


def test_an_override_applies_only_inside_its_window(session: Session, shop: Shop) -> None:
    from datetime import timedelta

    admin.create_override(session, changes={"variant_id": shop.variants["AO-3"], "kind": "fixed", "amount": 599_000,
                                            "starts_at": IN_2026, "ends_at": IN_2026 + timedelta(days=3)},
                          actor=ACTOR)
    lines = [QuoteRequestLine("AO-3", 1)]
    assert quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026).total == 599_000
    assert quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026 - timedelta(seconds=1)).total == 799_000
    assert quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026 + timedelta(days=3)).total == 799_000


def test_a_new_promotion_is_seen_by_the_next_quote(session: Session, shop: Shop) -> None:
    lines = [QuoteRequestLine("AO-1", 1)]
    assert quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026).total == 199_000
    promotion = make_promotion(session, kind="fixed", params={"amount": 20_000})
    assert quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026).total == 179_000
    promotions.update_promotion(session, promotion_id=promotion.id, changes={"is_active": False}, actor=ACTOR)
    assert quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026).total == 199_000


def test_a_channel_restricted_promotion_is_named_where_it_applies(session: Session, shop: Shop) -> None:
    make_promotion(session, name="Chỉ tại cửa hàng", kind="percent", params={"percent": 20}, channels=["pos"])
    at_till = quote(session, channel=SalesChannel.pos, lines=CART, at=IN_2026)
    online = quote(session, channel=SalesChannel.web, lines=CART, at=IN_2026)
    assert [item.name for item in at_till.discounts] == ["Chỉ tại cửa hàng"] and online.discounts == []
    assert at_till.total == online.total - 208_800


def test_coupons_are_accepted_or_refused_with_a_reason(session: Session, shop: Shop) -> None:
    promotion = make_promotion(session, kind="fixed", params={"amount": 50_000}, requires_coupon=True)
    promotions.create_coupon(session, promotion_id=promotion.id, code="giam50k", max_uses=None,
                             per_customer_limit=None, actor=ACTOR)
    result = quote(session, channel=SalesChannel.web, lines=CART, coupon_codes=["GIAM50K", "NOPE"], at=IN_2026)
    assert [(c.code, c.accepted, c.applied, c.reason) for c in result.coupons] == [
        ("GIAM50K", True, True, None), ("NOPE", False, False, "coupon_unknown")]
    assert result.discounts[0].code == "GIAM50K" and result.discount_total == 50_000
    without = quote(session, channel=SalesChannel.web, lines=CART, at=IN_2026)
    assert without.discount_total == 0


@pytest.mark.parametrize(("lines", "code"), [
    ([], "empty_cart"),
    ([QuoteRequestLine("AO-1", 0)], "invalid_quantity"),
    ([QuoteRequestLine("AO-1", -2)], "invalid_quantity"),
    ([QuoteRequestLine("AO-1", 1000)], "invalid_quantity"),
    ([QuoteRequestLine("AO-1", 1)] * 101, "too_many_lines"),
    ([QuoteRequestLine("KHONG-CO", 1)], "unknown_sku"),
    ([QuoteRequestLine(None, 1, variant_id=999_999)], "unknown_sku"),
])
def test_bad_carts_are_refused_clearly(session: Session, shop: Shop, lines: list[QuoteRequestLine],
                                       code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026)
    assert refused.value.code == code


def test_a_variant_without_a_price_or_not_for_sale_is_refused(session: Session, shop: Shop) -> None:
    from tests.commerce.pricing.support import make_variant

    make_variant(session, sku="NO-PRICE", name="Chưa có giá", price=None)
    make_variant(session, sku="OLD", name="Ngừng bán", price=10_000, active=False)
    with pytest.raises(ValidationFailed) as missing:
        quote(session, channel=SalesChannel.web, lines=[QuoteRequestLine("NO-PRICE", 1)], at=IN_2026)
    assert missing.value.code == "price_missing"
    with pytest.raises(ValidationFailed) as unsellable:
        quote(session, channel=SalesChannel.web, lines=[QuoteRequestLine("OLD", 1)], at=IN_2026)
    assert unsellable.value.code == "variant_not_sellable"
    with pytest.raises(NotFound):
        quote(session, channel=SalesChannel.pos, lines=[QuoteRequestLine("AO-1", 1)], store_id=999, at=IN_2026)


def test_skus_are_found_in_any_case_and_by_variant_id(session: Session, shop: Shop) -> None:
    lines = [QuoteRequestLine(" ao-1 ", 1), QuoteRequestLine(None, 2, variant_id=shop.variants["MU-1"])]
    result = quote(session, channel=SalesChannel.app, lines=lines, at=IN_2026)
    assert [(line.sku, line.quantity) for line in result.lines] == [("AO-1", 1), ("MU-1", 2)]
    assert result.total == 199_000 + 2 * 99_000
