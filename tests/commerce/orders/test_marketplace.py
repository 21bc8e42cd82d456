"""Marketplace orders: created once per (channel, shop, platform id), moved along as the platform reports,
whatever order the reports come in; stock held, sold and released; unknown listings kept and flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tests.commerce.orders.support import Shop, level, list_on, make_shop, topics
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import service
from xuyen.commerce.orders.external import ExternalLine, ExternalOrder, ExternalStatus
from xuyen.commerce.orders.models import Order, OrderStatus, PaymentKind, PaymentStatus
from xuyen.commerce.orders.records import lines_of, payments_of

SHOP_ID = "220314588"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
S = ExternalStatus


def _listed(session: Session) -> Shop:
    shop = make_shop(session)
    list_on(session, variant_id=shop.variants["AO-DEN-M"], channel=SalesChannel.shopee, account=SHOP_ID,
            item="23456789012", model="180012345")
    list_on(session, variant_id=shop.variants["SACH-1"], channel=SalesChannel.shopee, account=SHOP_ID,
            item="23456789099")
    return shop


def _report(status: ExternalStatus, minutes: int, *, external_id: str = "2611200ABCDEF",
            lines: list[ExternalLine] | None = None) -> ExternalOrder:
    return ExternalOrder(
        channel=SalesChannel.shopee, account=SHOP_ID, external_id=external_id, status=status, placed_at=T0,
        updated_at=T0 + timedelta(minutes=minutes), raw_status=status.value.upper(), payment_method="cod",
        lines=lines or [ExternalLine(external_item_id="23456789012", external_model_id="180012345", quantity=2,
                                     unit_price=189_000, name="Áo thun Đen M"),
                        ExternalLine(external_item_id="23456789099", quantity=1, unit_price=120_000)],
        total=2 * 189_000 + 120_000 - 20_000 + 15_000, shipping_fee=15_000,
        buyer_identifiers=[("shopee_buyer", "88112233", SHOP_ID)], buyer_name="l***n",
        shipping_address={"address": "12 Lê Lợi", "province": "Huế"})


def _upsert(session: Session, report: ExternalOrder) -> Order:
    order = service.upsert_external_order(session, order=report)
    session.commit()
    return order


def test_the_same_order_twice_is_one_order_holding_its_stock(session: Session) -> None:
    shop = _listed(session)
    first = _upsert(session, _report(S.to_ship, 1))
    again = _upsert(session, _report(S.to_ship, 1))
    assert again.id == first.id and first.number == f"SHP-{first.id:06d}"
    assert first.status is OrderStatus.placed and first.external_id == "2611200ABCDEF"
    assert service.list_orders(session)[1] == 1
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 2)
    assert topics(session, order_id=first.id) == ["order.placed"]  # cash on delivery: paid when delivered
    shirt, book = lines_of(session, first.id)
    assert shirt.total + book.total == first.total - first.shipping_fee
    assert shirt.vat_rate in ("8", "10") and book.vat_rate == "5"
    assert all(line.net_amount + line.vat_amount == line.total for line in (shirt, book))
    assert first.vat_total == shirt.vat_amount + book.vat_amount > 0
    assert first.profile_id is not None


def test_a_status_sequence_sells_the_stock_and_completes(session: Session) -> None:
    shop = _listed(session)
    order = _upsert(session, _report(S.unpaid, 0))
    assert order.status is OrderStatus.pending_payment
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 2)
    for status, minutes in ((S.to_ship, 5), (S.shipped, 60), (S.delivered, 3000)):
        order = _upsert(session, _report(status, minutes))
    assert order.status is OrderStatus.completed
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (8, 0)
    assert topics(session, order_id=order.id)[-1] == "order.completed"
    assert [p.status for p in payments_of(session, order.id)] == [PaymentStatus.paid]


def test_late_and_out_of_order_reports_never_move_an_order_back(session: Session) -> None:
    shop = _listed(session)
    order = _upsert(session, _report(S.shipped, 60))
    assert order.status is OrderStatus.shipped
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (8, 0)
    order = _upsert(session, _report(S.to_ship, 5))
    order = _upsert(session, _report(S.unpaid, 0))
    assert order.status is OrderStatus.shipped and order.external_status == "SHIPPED"
    order = _upsert(session, _report(S.cancelled, 90))
    assert order.status is OrderStatus.shipped and order.needs_attention
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (8, 0)


def test_a_cancelled_order_lets_its_stock_go(session: Session) -> None:
    shop = _listed(session)
    order = _upsert(session, _report(S.unpaid, 0))
    order = _upsert(session, _report(S.cancelled, 30))
    assert order.status is OrderStatus.cancelled
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)
    first_seen_cancelled = _upsert(session, _report(S.cancelled, 30, external_id="OTHER-1"))
    assert first_seen_cancelled.status is OrderStatus.cancelled
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)


def test_an_unknown_listing_is_kept_and_flagged(session: Session) -> None:
    shop = _listed(session)
    lines = [ExternalLine(external_item_id="23456789012", external_model_id="180012345", quantity=1,
                          unit_price=189_000),
             ExternalLine(external_item_id="99999", external_model_id="1", quantity=1, unit_price=50_000,
                          name="Tất cổ ngắn")]
    order = _upsert(session, _report(S.to_ship, 1, lines=lines))
    known, unknown = lines_of(session, order.id)
    assert known.variant_id == shop.variants["AO-DEN-M"] and not known.unmatched
    assert unknown.variant_id is None and unknown.unmatched and unknown.name == "Tất cổ ngắn"
    assert order.needs_attention and "99999" in order.attention_reason
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 1)


def test_a_returned_order_comes_back_where_it_was_held(session: Session) -> None:
    shop = _listed(session)
    for status, minutes in ((S.to_ship, 1), (S.shipped, 60), (S.delivered, 600), (S.returned, 9000)):
        order = _upsert(session, _report(status, minutes))
    assert order.status is OrderStatus.completed
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)
    assert topics(session, order_id=order.id)[-1] == "order.returned"
    refunds = [p for p in payments_of(session, order.id) if p.kind is PaymentKind.refund]
    assert sum(p.amount for p in refunds) == order.total - order.shipping_fee
    assert all(p.status is PaymentStatus.paid for p in refunds)
    again = _upsert(session, _report(S.returned, 9001))
    assert len([p for p in payments_of(session, again.id) if p.kind is PaymentKind.refund]) == len(refunds)
