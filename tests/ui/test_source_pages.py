"""The sources page counts each source's events and quarantined calls; a source's page lists them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ui.helpers import PASSWORD, Shop, sign_in
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.events import service as events_service
from xuyen.ui.formatting import format_local_time


def _send(client: TestClient, key: str, batch: list[dict[str, Any]], request_id: str) -> None:
    response = client.post("/v1/batch", json={"batch": batch}, headers={"X-Write-Key": key,
                                                                        "X-Request-ID": request_id})
    assert response.status_code == 200, response.text


def _pos_traffic(client: TestClient, shop: Shop) -> None:
    """Three good calls and two bad ones from the Hà Nội POS."""
    _send(client, shop.pos_write_key, [
        {"type": "identify", "userId": "KH-0912345678", "traits": {"name": "Đỗ Thị Thu", "phone": "0912345678"}},
        {"type": "track", "userId": "KH-0912345678", "event": "Order Completed",
         "properties": {"order_id": "HD-001", "total": 450_000, "currency": "VND"}},
        {"type": "track", "userId": "KH-0912345678", "properties": {"order_id": "HD-002"}},
    ], request_id="pos-lo-1")
    _send(client, shop.pos_write_key, [
        {"type": "page", "anonymousId": "quay-3", "name": "Màn hình thanh toán"},
        {"type": "group", "userId": "KH-0912345678"},
    ], request_id="pos-lo-2")


def _row(html: str, name: str) -> str:
    return next(row for row in html.split("<tr>") if name in row)


def test_sources_page_counts_events_and_quarantined_calls_and_links_managers_to_each_source(
    browser: TestClient, shop: Shop
) -> None:
    _pos_traffic(browser, shop)
    sign_in(browser, shop.owner.email)
    text = browser.get("/sources").text
    assert '<th scope="col" class="num">Sự kiện</th>' in text
    assert '<th scope="col" class="num">Bị cách ly</th>' in text
    pos_row = _row(text, "Quầy thu ngân Hoàn Kiếm")
    assert f'<a href="/sources/{shop.pos.id}">Quầy thu ngân Hoàn Kiếm</a>' in pos_row
    assert '<td class="num">3</td>' in pos_row
    assert '<td class="num"><span class="status status--dead">2</span></td>' in pos_row
    shopee_row = _row(text, "Gian hàng Shopee")
    assert shopee_row.count('<td class="num">0</td>') == 2


def test_agents_see_the_counts_but_not_the_source_page(browser: TestClient, shop: Shop) -> None:
    _pos_traffic(browser, shop)
    sign_in(browser, shop.hanoi_agent.email)
    text = browser.get("/sources").text
    assert f'href="/sources/{shop.pos.id}"' not in text
    assert '<td class="num">3</td>' in _row(text, "Quầy thu ngân Hoàn Kiếm")
    page = browser.get(f"/sources/{shop.pos.id}")
    assert page.status_code == 403
    assert "KH-0912345678" not in page.text


def test_source_page_lists_quarantined_calls_and_events_in_the_viewers_language_and_time_zone(
    browser: TestClient, shop: Shop, session: Session
) -> None:
    _pos_traffic(browser, shop)
    sign_in(browser, shop.hanoi_manager.email)
    page = browser.get(f"/sources/{shop.pos.id}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Quầy thu ngân Hoàn Kiếm</h1>" in text
    assert '<a href="/sources" aria-current="page">Nguồn dữ liệu</a>' in text
    assert "POS tại cửa hàng" in text and "Xuyên Hoàn Kiếm" in text
    assert f"<code>wk_{shop.pos.write_key_prefix}_…</code>" in text and shop.pos_write_key not in text

    quarantine = text.split('id="quarantine-title"')[1].split("</section>")[0]
    rows = quarantine.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == 2
    group, track = rows  # newest first
    assert 'Lệnh group không có groupId <span class="tag">missing_group_id</span>' in group
    assert "group needs a groupId" in group and '<td class="num">1</td>' in group
    assert "<code>pos-lo-2</code>" in group
    assert 'Lệnh track không có tên sự kiện <span class="tag">missing_event</span>' in track
    assert '<td class="num">2</td>' in track and "<code>pos-lo-1</code>" in track
    [stored] = events_service.list_quarantined(session, source_id=shop.pos.id, limit=1)
    assert f">{format_local_time(stored.received_at, 'Asia/Ho_Chi_Minh')}</time>" in group

    events = text.split('id="events-title"')[1].split("</section>")[0]
    assert events.count("<tr>") == 4  # the header and three events
    assert "<code>page</code>" in events and "Màn hình thanh toán" in events and "quay-3" in events
    assert "<code>track</code>" in events and "Order Completed" in events
    assert "<code>identify</code>" in events and "KH-0912345678" in events


def test_source_page_in_english_and_in_another_time_zone(browser: TestClient, shop: Shop, session: Session) -> None:
    _pos_traffic(browser, shop)
    auth_service.create_user(session, email="kenji@xuyen.example", name="Kenji", password=PASSWORD,
                             role=Role.owner, timezone="Asia/Tokyo", locale="en")
    sign_in(browser, "kenji@xuyen.example")
    text = browser.get(f"/sources/{shop.pos.id}").text
    assert "Latest quarantined calls" in text and "Track call without an event name" in text
    [event] = events_service.list_events(session, source_id=shop.pos.id, event="Order Completed")
    tokyo = format_local_time(event.timestamp, "Asia/Tokyo")
    assert tokyo != format_local_time(event.timestamp, "Asia/Ho_Chi_Minh")
    assert f'<time datetime="{event.timestamp.isoformat()}">{tokyo}</time>' in text


def test_a_source_without_traffic_and_an_unknown_source(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.owner.email)
    text = browser.get(f"/sources/{shop.shopee.id}").text
    assert "Chưa có lệnh nào của nguồn này bị cách ly." in text
    assert "Nguồn này chưa gửi sự kiện nào." in text
    assert browser.get("/sources/99999").status_code == 404
