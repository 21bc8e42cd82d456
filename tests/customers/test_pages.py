"""The customers pages: search, the customer 360 with its timeline, recording consent, export and erasure,
each for the roles allowed and refused to the others."""

from __future__ import annotations

import html
import json
import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.customers.conftest import Channels, Send
from tests.ui.helpers import csrf_token
from xuyen.audit import AuditEntry
from xuyen.identity.graph import find_profile
from xuyen.identity.models import Merge

PAGE = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}

HOA_AT_STORE = {"type": "identify", "userId": "KH001", "timestamp": "2026-11-01T03:00:00Z",
                "traits": {"name": "Nguyễn Thị Hoa", "phone": "0168 123 4567", "birthday": "12/05/1990"}}
HOA_ON_SHOPEE = {"type": "identify", "anonymousId": "buyer-9", "timestamp": "2026-11-02T03:00:00Z",
                 "traits": {"name": "h***a", "phone": "0381234567", "email": "Hoa@Example.vn"}}
HOA_ORDER = {"type": "track", "anonymousId": "buyer-9", "event": "Order Completed", "timestamp": "2026-11-02T03:05:00Z",
             "properties": {"order_id": "S1", "total": 1_250_000, "currency": "VND",
                            "products": [{"name": "Áo dài lụa tơ tằm", "price": 1_250_000}]}}
HOA_ON_THE_WEB = [
    {"type": "track", "userId": "KH001", "event": "Product Viewed", "timestamp": "2026-11-03T01:00:00Z",
     "properties": {"name": "Khăn lụa Hà Đông", "price": 350_000}},
    {"type": "track", "userId": "KH001", "event": "Product Added", "timestamp": "2026-11-03T01:01:00Z",
     "properties": {"name": "Khăn lụa Hà Đông"}},
    {"type": "track", "userId": "KH001", "event": "Checkout Started", "timestamp": "2026-11-03T01:02:00Z",
     "properties": {"order_id": "W7", "total": 350_000}},
    {"type": "page", "userId": "KH001", "name": "Trang chủ", "timestamp": "2026-11-03T01:03:00Z"},
]


def _hoa(session: Session) -> int:
    session.rollback()
    profile_id = find_profile(session, type="user_id", value="KH001")
    assert profile_id is not None
    return profile_id


def _audited(session: Session, action: str) -> list[str]:
    """The subjects of the audit log's entries for ``action``, oldest first."""
    session.rollback()
    return list(session.scalars(select(AuditEntry.subject_id).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))


def _shop(keys: Channels, send: Send, session: Session) -> int:
    """Hoa at the Hà Nội store, on Shopee (an order) and on the website; returns her profile id."""
    send(keys.pos, HOA_AT_STORE)
    send(keys.shopee, HOA_ON_SHOPEE, HOA_ORDER)
    send(keys.web, *HOA_ON_THE_WEB)
    return _hoa(session)


def _get(browser: Browser, path: str, params: dict[str, str] | None = None) -> httpx.Response:
    return browser.client.get(path, params=params, headers=PAGE, follow_redirects=False)


def _post(browser: Browser, path: str, data: dict[str, str]) -> httpx.Response:
    return browser.client.post(path, data=data, headers=PAGE, follow_redirects=False)


def _text(response: httpx.Response) -> str:
    """The page's visible text, tags removed and whitespace folded (enough to look for phrases)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def test_search_finds_by_name_without_diacritics_and_by_an_old_phone_number(
        keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    hoa = _shop(keys, send, session)
    send(keys.pos, {"type": "identify", "userId": "KH002", "traits": {"name": "Trần Văn Bình", "phone": "0912345678"}})

    page = _get(agent, "/customers", params={"q": "nguyen thi hoa"})
    assert page.status_code == 200
    assert f'<a href="/customers/{hoa}">Nguyễn Thị Hoa</a>' in page.text
    assert "Trần Văn Bình" not in page.text
    assert "1 khách hàng khớp với “nguyen thi hoa”." in _text(page)
    assert "Tổng cộng 2 khách hàng." in _text(page)
    assert "+84381234567" in page.text and "hoa@example.vn" in page.text
    assert '<time datetime="2026-11-03T01:03:00+00:00">03/11/2026 08:03</time>' in page.text  # Hà Nội time

    old_number = _get(agent, "/customers", params={"q": "0168.123.4567"})
    assert f'href="/customers/{hoa}"' in old_number.text and "Trần Văn Bình" not in old_number.text

    everyone = _get(agent, "/customers")  # no query: the most recently seen first (Bình was seen just now)
    assert everyone.text.index("Trần Văn Bình") < everyone.text.index("Nguyễn Thị Hoa")
    assert "Không có khách hàng nào khớp" in _text(_get(agent, "/customers", params={"q": "không ai cả"}))


def test_the_360_shows_traits_with_their_sources_computed_traits_and_identity(
        keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    hoa = _shop(keys, send, session)
    page = _get(agent, f"/customers/{hoa}")
    assert page.status_code == 200, page.text
    text = _text(page)
    assert "<h1>Nguyễn Thị Hoa</h1>" in page.text
    assert '<a href="/customers" aria-current="page">Khách hàng</a>' in page.text
    # the store's name wins; Shopee's masked one is shown beside it with its source
    name_row = next(row for row in page.text.split("<tr>") if '<th scope="row">Họ tên</th>' in row)
    assert "Nguyễn Thị Hoa" in name_row and "Cửa hàng Hà Nội" in name_row
    assert "h***a" in name_row and "Shopee" in name_row
    assert "Đơn hàng 1" in text
    assert '<a href="/orders">Đơn hàng</a>' in page.text  # the menu names the orders page, not a count
    assert "Doanh thu 1.250.000 ₫" in text and "Giá trị đơn trung bình 1.250.000 ₫" in text
    assert "4 sự kiện" in text  # four calls from the website
    assert "+84381234567" in page.text and "KH001" in page.text and "buyer-9" in page.text
    assert "Xuất dữ liệu (JSON)" not in text and "Xoá người này" not in text  # an agent can do neither
    assert _audited(session, "customer.viewed") == [str(hoa)]


def test_the_timeline_mixes_channels_translates_titles_and_pages_to_older_items(
        keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    hoa = _shop(keys, send, session)
    views = [{"type": "track", "userId": "KH001", "event": "Product Viewed",
              "properties": {"name": f"Nón lá số {n:02d}"}, "timestamp": f"2026-11-04T02:{n:02d}:00Z"}
             for n in range(32)]
    send(keys.web, *views)

    first = _text(_get(agent, f"/customers/{hoa}"))
    assert "Xem sản phẩm Website Website Nón lá số 31" in first  # newest first, with channel and source
    assert "Nón lá số 02" in first and "Nón lá số 01" not in first  # 30 items a page
    page = _get(agent, f"/customers/{hoa}")
    older = re.search(r'rel="next" href="(/customers/\d+\?cursor=[^"#]+)#timeline"', page.text)
    assert older, "the first page links to older items"
    second = _text(_get(agent, html.unescape(older.group(1))))
    assert "Nón lá số 01" in second and "Nón lá số 00" in second and "Nón lá số 02" not in second
    assert "Xem trang Trang chủ" in second
    assert "Bắt đầu thanh toán" in second and "Đơn W7" in second
    assert "Thêm vào giỏ" in second and "Khăn lụa Hà Đông" in second
    assert "Đặt hàng thành công Shopee Shopee Đơn S1 1.250.000 ₫ Áo dài lụa tơ tằm" in second
    assert "Cập nhật thông tin POS tại cửa hàng Cửa hàng Hà Nội" in second
    assert "Về mới nhất" in second

    bad_cursor = _get(agent, f"/customers/{hoa}", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400 and "invalid_cursor" in bad_cursor.text


def test_an_agent_records_a_consent_and_a_bad_one_is_refused_on_the_page(
        keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    hoa = _shop(keys, send, session)
    token = csrf_token(_get(agent, f"/customers/{hoa}").text)
    form = {"csrf_token": token, "channel": "zalo", "purpose": "marketing", "status": "granted",
            "proof": "Ký phiếu đồng ý tại cửa hàng HN01"}

    done = _post(agent, f"/customers/{hoa}/consents", form)
    assert done.status_code == 303 and done.headers["location"] == f"/customers/{hoa}?recorded=consent#consents"
    page = _get(agent, done.headers["location"])
    text = _text(page)
    assert "Đã ghi nhận sự đồng ý." in text
    consent_row = next(row for row in page.text.split("<tr>") if "Ký phiếu đồng ý tại cửa hàng HN01" in row)
    assert "Zalo OA" in consent_row and "Tiếp thị" in consent_row and "Đã đồng ý" in consent_row
    assert "Cập nhật đồng ý" in text  # the consent is on the timeline too

    bad_channel = _post(agent, f"/customers/{hoa}/consents", {**form, "channel": "fax"})
    assert bad_channel.status_code == 422
    assert "Hãy chọn kênh, mục đích" in _text(bad_channel)
    assert 'aria-invalid="true"' in bad_channel.text
    assert "Ký phiếu đồng ý tại cửa hàng HN01</textarea>" in bad_channel.text  # what was typed is kept
    no_proof = _post(agent, f"/customers/{hoa}/consents", {**form, "proof": "  "})
    assert no_proof.status_code == 422 and "Hãy ghi rõ khách hàng đồng ý" in _text(no_proof)

    no_token = _post(agent, f"/customers/{hoa}/consents", {**form, "csrf_token": "", "status": "withdrawn"})
    assert no_token.status_code == 403 and "Biểu mẫu đã hết hạn" in _text(no_token)
    after = _get(agent, f"/customers/{hoa}")
    assert "Đã rút lại" not in _text(after) and _text(after).count("Cập nhật đồng ý") == 1


def test_a_manager_downloads_the_export_and_an_agent_may_not(
        keys: Channels, send: Send, agent: Browser, manager: Browser, session: Session) -> None:
    hoa = _shop(keys, send, session)
    assert f'href="/customers/{hoa}/export"' in _get(manager, f"/customers/{hoa}").text

    download = _get(manager, f"/customers/{hoa}/export")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == f'attachment; filename="xuyen-customer-{hoa}.json"'
    data = json.loads(download.content)
    assert data["profile_id"] == hoa and data["traits"]["name"] == "Nguyễn Thị Hoa"
    assert len(data["events"]) == 7

    refused = _get(agent, f"/customers/{hoa}/export")
    assert refused.status_code == 403 and "Nguyễn Thị Hoa" not in refused.text
    assert _audited(session, "customer.exported") == [str(hoa)]


def test_an_owner_erases_a_person_and_a_manager_may_not(
        keys: Channels, send: Send, manager: Browser, owner: Browser, session: Session) -> None:
    hoa = _shop(keys, send, session)
    manager_page = _get(manager, f"/customers/{hoa}")
    assert f'action="/customers/{hoa}/erase"' not in manager_page.text
    refused = _post(manager, f"/customers/{hoa}/erase", {"csrf_token": csrf_token(manager_page.text),
                                                         "reason": "Yêu cầu qua email", "confirm": "yes"})
    assert refused.status_code == 403

    page = _get(owner, f"/customers/{hoa}")
    assert f'action="/customers/{hoa}/erase"' in page.text
    form = {"csrf_token": csrf_token(page.text), "reason": "Khách yêu cầu qua email ngày 20/11/2026"}
    unconfirmed = _post(owner, f"/customers/{hoa}/erase", form)
    assert unconfirmed.status_code == 422 and "Hãy đánh dấu ô xác nhận" in _text(unconfirmed)
    assert _post(owner, f"/customers/{hoa}/erase", {**form, "confirm": "yes", "csrf_token": ""}).status_code == 403

    erased = _post(owner, f"/customers/{hoa}/erase", {**form, "confirm": "yes"})
    assert erased.status_code == 303 and erased.headers["location"] == f"/customers/{hoa}"
    gone = _get(owner, f"/customers/{hoa}")
    assert gone.status_code == 410
    assert "Khách hàng này đã bị xoá" in _text(gone) and "Nguyễn Thị Hoa" not in gone.text
    assert "Nguyễn Thị Hoa" not in _get(owner, "/customers").text
    assert _get(manager, f"/customers/{hoa}/export").status_code == 409


def test_an_absorbed_id_shows_the_survivor_with_a_note(keys: Channels, send: Send, agent: Browser,
                                                       session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    send(keys.shopee, {**HOA_ON_SHOPEE, "traits": {"email": "hoa@example.vn"}})  # a second profile, for now
    send(keys.web, {"type": "identify", "userId": "KH001", "anonymousId": "buyer-9"})  # the web links the two
    session.rollback()
    merge: Merge = session.scalars(select(Merge)).one()
    survivor = _get(agent, f"/customers/{merge.survivor_id}")
    assert f'<a href="/customers/{merge.absorbed_id}">#{merge.absorbed_id}</a>' in survivor.text
    assert "đã được gộp vào" not in _text(survivor)

    absorbed = _get(agent, f"/customers/{merge.absorbed_id}")
    assert absorbed.status_code == 200
    assert (f"Khách hàng #{merge.absorbed_id} đã được gộp vào khách hàng này, #{merge.survivor_id}"
            in _text(absorbed))
    assert "<h1>Nguyễn Thị Hoa</h1>" in absorbed.text


def test_unknown_customers_and_signed_out_visitors(agent: Browser, client: TestClient) -> None:
    missing = _get(agent, "/customers/987654")
    assert missing.status_code == 404 and "Không tìm thấy trang" in _text(missing)
    assert _get(agent, "/customers/0").status_code == 422
    signed_out = client.get("/customers/1", headers=PAGE, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login?next=%2Fcustomers%2F1"
    assert client.get("/customers", headers=PAGE, follow_redirects=False).status_code == 303
