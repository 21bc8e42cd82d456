"""The read-only pages show the real stores, sources, staff and jobs, each to the roles allowed to see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ui.helpers import Shop, sign_in
from xuyen import jobs
from xuyen.auth.models import User
from xuyen.clock import to_local


def test_overview_counts_everything_and_shows_a_card_per_store(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.owner.email)
    page = browser.get("/")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Tổng quan</h1>" in text
    assert "Xin chào Nguyễn Thị Lan." in text
    for store in (shop.hanoi, shop.saigon):
        assert f'<h3 class="card__title">{store.name}</h3>' in text
        assert store.code in text and store.province in text
    assert text.count('<li class="card">') == 2
    assert '<span class="stat__value">4</span>' in text  # staff
    assert '<span class="stat__value">2</span>' in text  # stores and sources
    assert "<li><span>POS tại cửa hàng</span> <strong>1</strong></li>" in text
    assert "<li><span>Shopee</span> <strong>1</strong></li>" in text
    assert "Đang chờ" in text and "Thất bại" in text


def test_navigation_follows_the_role(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.hanoi_agent.email)
    text = browser.get("/").text
    assert 'href="/stores"' in text and 'href="/sources"' in text
    assert 'href="/staff"' not in text and 'href="/jobs"' not in text
    assert "Lê Thị Hoa" in text and "Tư vấn viên" in text


def test_stores_page_lists_every_store(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.hanoi_agent.email)
    text = browser.get("/stores").text
    assert '<a href="/stores" aria-current="page">Cửa hàng</a>' in text
    for value in ("HN01", "Xuyên Hoàn Kiếm", "Hà Nội", "12 Hàng Bạc, Hoàn Kiếm", "024 3825 1234",
                  "SG01", "Xuyên Quận 1", "TP. Hồ Chí Minh", "45 Lê Lợi, Bến Nghé", "028 3822 5678"):
        assert value in text
    rows = text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 2
    hanoi_row = next(row for row in rows if "HN01" in row)
    saigon_row = next(row for row in rows if "SG01" in row)
    assert '<td class="num">2</td>' in hanoi_row  # the manager and an agent
    assert '<td class="num">1</td>' in saigon_row


def test_sources_page_shows_channels_stores_and_only_the_key_prefix(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.owner.email)
    text = browser.get("/sources").text
    assert "Quầy thu ngân Hoàn Kiếm" in text and "Gian hàng Shopee" in text
    assert "POS tại cửa hàng" in text and ">Shopee</span>" in text
    pos_row = next(row for row in text.split("<tr>") if "Quầy thu ngân Hoàn Kiếm" in row)
    assert "<td>Xuyên Hoàn Kiếm</td>" in pos_row
    assert f"<code>wk_{shop.pos.write_key_prefix}_…</code>" in text
    assert shop.pos_write_key not in text
    assert shop.pos_write_key.split("_", 2)[2] not in text
    created = to_local(shop.pos.created_at, "Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M")
    assert f'<time datetime="{shop.pos.created_at.isoformat()}">{created}</time>' in pos_row


def test_owner_sees_all_staff_with_roles_stores_and_last_sign_in(browser: TestClient, shop: Shop,
                                                                  session: Session) -> None:
    sign_in(browser, shop.owner.email)
    text = browser.get("/staff").text
    for member in (shop.owner, shop.hanoi_manager, shop.hanoi_agent, shop.saigon_agent):
        assert member.name in text and member.email in text
    assert "Chủ sở hữu" in text and "Quản lý" in text and "Tư vấn viên" in text
    owner_row = next(row for row in text.split("<tr>") if shop.owner.email in row)
    assert "Tất cả cửa hàng" in owner_row
    session.rollback()
    session.expire_all()
    session.refresh(shop.owner)
    assert shop.owner.last_login_at is not None
    signed_in_at = to_local(shop.owner.last_login_at, "Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M")
    assert signed_in_at in owner_row
    agent_row = next(row for row in text.split("<tr>") if shop.saigon_agent.email in row)
    assert "Xuyên Quận 1" in agent_row and "Chưa đăng nhập" in agent_row


def test_a_store_manager_sees_only_the_staff_of_their_store(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.hanoi_manager.email)
    page = browser.get("/staff")
    assert page.status_code == 200
    text = page.text
    assert shop.hanoi_manager.email in text and shop.hanoi_agent.email in text
    assert shop.saigon_agent.email not in text
    assert shop.owner.email not in text
    assert 'href="/jobs"' not in text


@pytest.mark.parametrize("path", ["/staff", "/jobs"])
def test_agents_may_not_see_staff_or_jobs(browser: TestClient, shop: Shop, path: str) -> None:
    sign_in(browser, shop.hanoi_agent.email)
    page = browser.get(path)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "Bạn không có quyền truy cập trang này" in page.text
    assert "role_required" in page.text
    assert "Lê Thị Hoa" in page.text, "the error page keeps the signed-in layout"
    assert shop.saigon_agent.email not in page.text


def test_managers_may_not_see_jobs(browser: TestClient, shop: Shop) -> None:
    sign_in(browser, shop.hanoi_manager.email)
    assert browser.get("/jobs").status_code == 403


def test_role_refusal_is_a_problem_for_api_clients(client: TestClient, shop: Shop) -> None:
    sign_in(client, shop.hanoi_agent.email)
    response = client.get("/jobs", headers={"accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["code"] == "role_required"


def test_jobs_page_counts_by_status_and_shows_the_last_error_line(browser: TestClient, shop: Shop,
                                                                   session: Session) -> None:
    jobs.add_job(session, name="demo.sync_stock", max_attempts=1)
    jobs.add_job(session, name="demo.send_zalo")
    session.commit()
    jobs.enqueue(session, name="demo.import_orders")
    claimed = jobs.claim_jobs(session, worker_id="worker-1", limit=2, lease=timedelta(seconds=60))
    assert len(claimed) == 2
    for job in claimed:
        jobs.fail_job(session, job_id=job.id, worker_id="worker-1",
                      error="Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                            "ValueError: kho Hà Nội hết hàng\n")
    session.commit()
    sign_in(browser, shop.owner.email)
    page = browser.get("/jobs")
    assert page.status_code == 200
    text = page.text
    assert "demo.sync_stock" in text and "demo.send_zalo" in text and "demo.import_orders" in text
    assert text.count('<td class="error-line">ValueError: kho Hà Nội hết hàng</td>') == 2
    assert "Traceback" not in text
    counts = text.split('class="stats stats--compact"')[1].split("</ul>")[0]
    assert re.search(r'status--dead">Thất bại</span></span>\s*<span class="stat__value">1<', counts)
    assert re.search(r'status--queued">Đang chờ</span></span>\s*<span class="stat__value">2<', counts)
    assert '<td class="num">1/1</td>' in text


def test_pages_carry_security_headers(browser: TestClient, owner_session: None) -> None:
    response = browser.get("/")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_static_files_are_served(browser: TestClient) -> None:
    response = browser.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "font-family" in response.text
    assert "http" not in response.text.replace("https://", "").split("*/", 1)[-1], "no external resources"


def test_unknown_page_is_a_friendly_html_page_for_browsers(browser: TestClient) -> None:
    response = browser.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang" in response.text
    assert response.headers["x-request-id"] in response.text


def test_api_errors_stay_problem_json(browser: TestClient) -> None:
    response = browser.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_error_pages_offer_the_language_switch_only_when_it_can_work(browser: TestClient, owner: User) -> None:
    assert 'action="/language"' in browser.get("/no-such-page").text
    sign_in(browser, owner.email)
    assert 'action="/language"' not in browser.get("/no-such-page").text, "no CSRF token on this page"
    assert 'action="/language"' in browser.get("/").text


def test_the_error_renderer_sends_unauthenticated_browsers_to_sign_in(app: FastAPI) -> None:
    request = Request({"type": "http", "method": "GET", "path": "/sources", "query_string": b"channel=pos",
                       "headers": [(b"accept", b"text/html")], "app": app})
    response = app.state.html_error_renderer(request, 401, "not_authenticated", "Sign in.")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsources%3Fchannel%3Dpos"


def test_sign_in_page_offers_the_language_switch_even_with_a_stale_session_cookie(browser: TestClient) -> None:
    browser.cookies.set("xuyen_session", "expired-or-unknown")
    page = browser.get("/login")
    assert page.status_code == 200
    assert 'action="/language"' in page.text
    response = browser.post("/language", data={"locale": "en"})
    assert response.status_code == 303
    assert browser.cookies["xuyen_lang"] == "en"
