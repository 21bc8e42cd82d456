"""The quote's per-process cache is exact: whatever changes a price, a promotion, a VAT rate or a variant, and
whoever changes it (a service, another connection, plain SQL), the very next quote sees it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.commerce.pricing.support import ACTOR, IN_2026, Shop, make_promotion
from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.catalogue.models import ProductStatus, TaxClass
from xuyen.commerce.catalogue.schemas import ProductUpdate, VariantUpdate
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import admin, cache, prices, promotions
from xuyen.commerce.pricing.schemas import Quote
from xuyen.commerce.pricing.service import QuoteRequestLine, quote, redeem_coupons
from xuyen.db import make_engine, session_factory
from xuyen.errors import ValidationFailed

SHIRT = [QuoteRequestLine("AO-1", 1)]


@pytest.fixture
def other(db_url: str) -> Iterator[Session]:
    """A session on a second engine: its own connections, as another process has."""
    engine = make_engine(db_url)
    session = session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


def fresh_quote(session: Session, lines: list[QuoteRequestLine] = SHIRT, **options: object) -> Quote:
    """A quote in a new transaction (the test's session sees what others committed since its last one)."""
    session.rollback()
    return quote(session, channel=SalesChannel.web, lines=lines, at=IN_2026, **options)  # type: ignore[arg-type]


def test_a_new_base_price_is_quoted_at_once(session: Session, shop: Shop, other: Session) -> None:
    assert fresh_quote(session).total == 199_000
    admin.set_prices(other, price_list_id=prices.base_price_list(other).id,
                     amounts={shop.variants["AO-1"]: 209_000}, actor=ACTOR)
    assert fresh_quote(session).total == 209_000


def test_a_price_changed_in_plain_sql_by_another_connection_is_quoted_at_once(
        session: Session, shop: Shop, engine: Engine) -> None:
    assert fresh_quote(session).total == 199_000
    with engine.begin() as connection:
        connection.execute(text("UPDATE pricing_prices SET amount = 188000 WHERE variant_id = :id"),
                           {"id": shop.variants["AO-1"]})
    assert fresh_quote(session).total == 188_000


def test_a_new_override_is_quoted_at_once(session: Session, shop: Shop, other: Session) -> None:
    assert fresh_quote(session).total == 199_000
    admin.create_override(other, changes={"channel": "web", "kind": "fixed", "amount": 150_000,
                                          "variant_id": shop.variants["AO-1"], "reason": "Web"}, actor=ACTOR)
    assert fresh_quote(session).total == 150_000


def test_a_promotion_created_changed_or_stopped_is_quoted_at_once(session: Session, shop: Shop,
                                                                    other: Session) -> None:
    assert fresh_quote(session).discount_total == 0
    promotion = make_promotion(other, kind="percent", params={"percent": 10})
    assert fresh_quote(session).discount_total == 19_900
    promotions.update_promotion(other, promotion_id=promotion.id, changes={"params": {"percent": 20}}, actor=ACTOR)
    assert fresh_quote(session).discount_total == 39_800
    promotions.update_promotion(other, promotion_id=promotion.id, changes={"is_active": False}, actor=ACTOR)
    assert fresh_quote(session).discount_total == 0


def test_a_new_vat_rate_is_quoted_at_once(session: Session, shop: Shop, other: Session) -> None:
    assert fresh_quote(session).lines[0].vat_rate == Decimal(8)
    admin.add_vat_rate(other, tax_class="standard", rate_bp=700, valid_from=date(2026, 11, 1),
                       valid_until=date(2026, 11, 30), note="Thử", actor=ACTOR)
    assert fresh_quote(session).lines[0].vat_rate == Decimal(7)


def test_a_variant_or_product_changed_in_the_catalogue_is_quoted_at_once(session: Session, shop: Shop,
                                                                          other: Session) -> None:
    first = fresh_quote(session).lines[0]
    assert (first.name, first.vat_rate) == ("Áo thun (M)", Decimal(8))
    product_id = first.product_id
    catalogue.update_product(other, product_id=product_id, actor=ACTOR,
                             changes=ProductUpdate(name="Áo phông", tax_class=TaxClass.reduced))
    renamed = fresh_quote(session).lines[0]
    assert (renamed.name, renamed.vat_rate) == ("Áo phông (M)", Decimal(5))
    catalogue.update_variant(other, variant_id=shop.variants["AO-1"], changes=VariantUpdate(sku="AO-1B"),
                             actor=ACTOR)
    with pytest.raises(ValidationFailed) as unknown:
        fresh_quote(session)
    assert unknown.value.code == "unknown_sku"
    assert fresh_quote(session, [QuoteRequestLine("AO-1B", 1)]).total == 199_000
    catalogue.update_product(other, product_id=product_id, changes=ProductUpdate(status=ProductStatus.archived),
                             actor=ACTOR)
    with pytest.raises(ValidationFailed) as unsellable:
        fresh_quote(session, [QuoteRequestLine("AO-1B", 1)])
    assert unsellable.value.code == "variant_not_sellable"


def test_a_change_rolled_back_is_never_quoted(session: Session, shop: Shop, other: Session) -> None:
    assert fresh_quote(session).total == 199_000
    admin.add_prices(other, price_list_id=prices.base_price_list(other).id,
                     amounts={shop.variants["AO-1"]: 1_000}, actor=ACTOR)
    assert quote(other, channel=SalesChannel.web, lines=SHIRT, at=IN_2026).total == 1_000  # its own change
    other.rollback()
    assert fresh_quote(session).total == 199_000
    assert fresh_quote(other).total == 199_000


def test_coupon_uses_are_read_by_every_quote(session: Session, shop: Shop, other: Session) -> None:
    promotion = make_promotion(session, kind="fixed", params={"amount": 10_000}, requires_coupon=True)
    promotions.create_coupon(session, promotion_id=promotion.id, code="ONCE", max_uses=1, per_customer_limit=None,
                             actor=ACTOR)
    assert fresh_quote(session, coupon_codes=["ONCE"]).coupons[0].accepted
    redeem_coupons(other, codes=["ONCE"], profile_id=None, reference="SO-1", at=IN_2026)
    other.commit()
    refused = fresh_quote(session, coupon_codes=["ONCE"]).coupons[0]
    assert (refused.accepted, refused.reason) == (False, "coupon_used_up")


def test_a_process_cache_that_overflows_starts_again_and_quotes_the_same(
        session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [QuoteRequestLine(sku, 1) for sku in ("AO-1", "AO-2", "MU-1", "SACH-1")]
    expected = fresh_quote(session, lines).model_dump()
    monkeypatch.setattr(cache, "MAX_VARIANTS", 1)
    cache.clear()  # every quote from here loads its variants into a cache that empties on the way
    assert fresh_quote(session, lines).model_dump() == expected
    assert fresh_quote(session, lines).model_dump() == expected
