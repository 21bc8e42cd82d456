"""The demo's prices and promotions: every variant has its retail price, Shopee adds its fee, and the promotions
and the Tết coupon apply as a shop assistant would expect."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing.service import QuoteRequestLine, quote
from xuyen.demo import catalogue as demo_catalogue
from xuyen.demo import pricing as demo_pricing
from xuyen.demo.registry import DemoContext
from xuyen.demo.shop import SHOP
from xuyen.demo.steps import add_stores


def _demo_prices(session: Session) -> DemoContext:
    context = DemoContext(seed=2026, shop=SHOP)
    add_stores(session, random.Random(1), context)
    demo_catalogue.add_catalogue(session, random.Random(2), context)
    demo_pricing.add_pricing(session, random.Random(3), context)
    session.commit()
    return context


def test_every_demo_variant_is_priced_and_shopee_adds_its_fee(session: Session) -> None:
    context = _demo_prices(session)
    skus = sorted(context.extra["catalogue"]["variants"])
    lines = [QuoteRequestLine(sku, 1) for sku in skus[:100]]
    web = quote(session, channel=SalesChannel.web, lines=lines)
    assert all(line.unit_price == context.extra["catalogue"]["prices"][line.sku] for line in web.lines)
    shopee = quote(session, channel=SalesChannel.shopee, lines=[QuoteRequestLine("AT001-TRA-M", 1)])
    assert shopee.lines[0].unit_price == 215_000  # 199.000 đ + 8 %, to the thousand
    assert shopee.lines[0].adjustments[0].reason == "Bù phí sàn Shopee"


def test_the_demo_promotions_and_coupon_apply(session: Session) -> None:
    context = _demo_prices(session)
    tees = [QuoteRequestLine("AT001-TRA-M", 2), QuoteRequestLine("AT004-XAM-L", 1)]
    result = quote(session, channel=SalesChannel.web, lines=tees, coupon_codes=[context.extra["pricing"]["coupon"]])
    names = {item.name for item in result.discounts}
    assert "Mua 2 tặng 1 áo thun" in names and "Mã TET2027 giảm 100.000đ" in names
    at_till = quote(session, channel=SalesChannel.pos, lines=[QuoteRequestLine("VD004-DO-M", 2)],
                    store_id=context.stores["HN01"].id)
    assert "Khách mua tại cửa hàng giảm 5%" in {item.name for item in at_till.discounts}
    assert [line.sku for line in at_till.lines if line.is_gift] == ["PK002-BE"]
    gold = quote(session, channel=SalesChannel.app, lines=tees, tier="gold")
    assert "Hạng Vàng và Kim cương giảm thêm 5%" in {item.name for item in gold.discounts}
    later = quote(session, channel=SalesChannel.web, lines=tees, at=utcnow() + timedelta(days=400))
    assert later.lines[0].vat_rate is not None
