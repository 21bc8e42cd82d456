"""The orders pages: the list with its filters, an order with its invoice and forms, moving, cancelling and
taking a return in a store from the page; refused forms say why and change nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.commerce.orders.support import LAN, level, make_shop
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.models import OrderLine, OrderStatus, PaymentMethod
from xuyen.commerce.orders.pages import vat_summary
from xuyen.commerce.orders.records import lines_of


def _order(session: Session) -> int:
    return service.start_checkout(session, lines=[LineIn("AO-DEN-M", 2), LineIn("SACH-1", 1)], customer=LAN,
                                  payments=[PaymentIn(PaymentMethod.cod)], actor="web").id


def test_the_list_shows_orders_and_filters_them(agent: Browser, session: Session) -> None:
    make_shop(session)
    order = service.get_order(session, order_id=_order(session))
    page = agent.client.get("/orders")
    assert page.status_code == 200 and order.number in page.text and "Đơn hàng" in page.text
    assert order.number not in agent.client.get("/orders", params={"channel": "pos"}).text
    assert order.number in agent.client.get("/orders", params={"status": "placed", "since": "2020-01-01"}).text
    assert agent.client.get("/orders", params={"channel": "fax", "since": "hôm qua"}).status_code == 200


def test_an_order_page_moves_cancels_and_refuses_clearly(agent: Browser, session: Session) -> None:
    shop = make_shop(session)
    order_id = _order(session)
    page = agent.client.get(f"/orders/{order_id}")
    assert page.status_code == 200
    assert "Tổng hợp thuế GTGT" in page.text and "AO-DEN-M" in page.text
    moved = agent.client.post(f"/orders/{order_id}/status", data={"csrf_token": agent.csrf, "status": "fulfilling"},
                              follow_redirects=False)
    assert moved.status_code == 303
    refused = agent.client.post(f"/orders/{order_id}/status", data={"csrf_token": agent.csrf, "status": "placed"})
    assert refused.status_code == 422
    forged = agent.client.post(f"/orders/{order_id}/cancel", data={"csrf_token": "sai", "reason": "x"})
    assert forged.status_code == 403
    cancelled = agent.client.post(f"/orders/{order_id}/cancel",
                                  data={"csrf_token": agent.csrf, "reason": "khách huỷ"}, follow_redirects=False)
    assert cancelled.status_code == 303
    session.rollback()
    assert service.get_order(session, order_id=order_id).status is OrderStatus.cancelled
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)


def test_a_return_taken_in_the_hanoi_store_from_the_page(agent: Browser, session: Session) -> None:
    shop = make_shop(session)
    order_id = _order(session)
    for status in (OrderStatus.shipped, OrderStatus.completed):
        service.move_order(session, order_id=order_id, status=status, actor="kho")
    shirt, book = lines_of(session, order_id)
    too_many = agent.client.post(f"/orders/{order_id}/returns", data={
        "csrf_token": agent.csrf, f"qty_{shirt.id}": "3", "location_id": str(shop.hanoi)})
    assert too_many.status_code == 422
    taken = agent.client.post(f"/orders/{order_id}/returns", data={
        "csrf_token": agent.csrf, f"qty_{shirt.id}": "1", f"qty_{book.id}": "1", f"damaged_{book.id}": "1",
        "location_id": str(shop.hanoi), "refund_to": "original", "reason": "đổi ý"}, follow_redirects=False)
    assert taken.status_code == 303, taken.text
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (4, 0)
    assert level(session, variant_id=shop.variants["SACH-1"], location_id=shop.hanoi) == (3, 0)
    page = agent.client.get(f"/orders/{order_id}")
    assert "RET-" in page.text and "hư hỏng" in page.text


def test_the_vat_summary_adds_up_per_rate() -> None:
    lines = [OrderLine(vat_rate="8", net_amount=100, vat_amount=8), OrderLine(vat_rate="10", net_amount=50,
                                                                             vat_amount=5),
             OrderLine(vat_rate="8", net_amount=200, vat_amount=16), OrderLine(vat_rate=None, net_amount=70,
                                                                              vat_amount=0)]
    assert [(row.rate, row.net, row.vat, row.total) for row in vat_summary(lines)] == [
        ("8", 300, 24, 324), ("10", 50, 5, 55), (None, 70, 0, 70)]


def test_an_exchange_in_the_hanoi_store_from_the_page(agent: Browser, session: Session) -> None:
    shop = make_shop(session)
    order_id = _order(session)
    for status in (OrderStatus.shipped, OrderStatus.completed):
        service.move_order(session, order_id=order_id, status=status, actor="kho")
    shirt, _book = lines_of(session, order_id)
    assert "/exchanges" in agent.client.get(f"/orders/{order_id}").text
    form = {"csrf_token": agent.csrf, f"qty_{shirt.id}": "1", "location_id": str(shop.hanoi), "reason": "đổi cỡ"}
    for refused, code in (({}, 422), ({"new_sku_1": "KHONG-CO"}, 404),
                          ({"new_sku_1": "SOMI-M", "difference_by": "cod"}, 422),
                          ({"new_sku_1": "SOMI-M", "location_id": ""}, 422)):
        answer = agent.client.post(f"/orders/{order_id}/exchanges", data={**form, **refused})
        assert answer.status_code == code, (refused, answer.status_code)
    session.rollback()
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (3, 0)  # nothing done

    swapped = agent.client.post(f"/orders/{order_id}/exchanges", data={
        **form, "new_sku_1": "SOMI-M", "new_qty_1": "1", "difference_by": "cash"}, follow_redirects=False)
    assert swapped.status_code == 303, swapped.text
    new_order_id = int(swapped.headers["location"].split("/orders/")[1].split("?")[0])
    assert new_order_id != order_id
    session.rollback()
    new_order = service.get_order(session, order_id=new_order_id)
    assert (new_order.channel.value, new_order.total) == ("pos", 349_000)
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (4, 0)  # came back
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.hanoi) == (2, 0)  # went out
    detail = service.order_detail(session, order_id=new_order_id)
    assert sorted((payment.method.value, payment.amount) for payment in detail.payments) == [
        ("cash", 349_000 - 199_000), ("exchange", 199_000)]
