"""The deals pages: the board with its columns, totals, filters and per-column limit; moving with the card's form
(a lost stage asks the reason); a new deal from the customer 360; the deal page converting to an order; the scope
rule on every page."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.commerce.orders.support import make_shop
from tests.factories import make_store, make_user
from tests.sales.deals.support import ACTOR, ALL, customer, stage, won_stage
from xuyen.auth.models import Role, User
from xuyen.sales.deals import board, pipelines, service
from xuyen.sales.deals.models import StageKind


def test_board_shows_columns_totals_and_cards(session: Session, agent: Browser) -> None:
    profile = customer(session)
    first = service.create_deal(session, actor=ACTOR, scope=ALL, title="Bàn ghế văn phòng", profile_id=profile,
                                value=12_500_000, owner_id=agent.user_id)
    service.create_deal(session, actor=ACTOR, scope=ALL, title="Tủ hồ sơ", profile_id=profile, value=2_000_000,
                        owner_id=agent.user_id)
    page = agent.client.get("/deals")
    assert page.status_code == 200
    assert all(name in page.text for name in ("Mới", "Đã liên hệ", "Báo giá", "Thương lượng", "Thắng", "Thua"))
    assert "Bàn ghế văn phòng" in page.text and f"Khách hàng #{profile}" in page.text
    assert "12.500.000\xa0₫" in page.text and "14.500.000\xa0₫" in page.text  # the card, and the column's total
    assert "2 cơ hội" in page.text and 'draggable="true"' in page.text and "/static/deals-board.js" in page.text
    assert f'action="/deals/{first.id}/move"' in page.text
    other = make_user(session, role=Role.agent)
    filtered = agent.client.get("/deals", params={"owner": str(other.id)})
    assert "Bàn ghế văn phòng" not in filtered.text
    assert agent.client.get("/deals", params={"pipeline": "999", "owner": "x"}).status_code == 200


def test_columns_show_a_limited_number_with_more_links(session: Session, agent: Browser) -> None:
    profile = customer(session)
    for number in range(board.PER_COLUMN + 3):
        service.create_deal(session, actor=ACTOR, scope=ALL, title=f"Cơ hội {number}", profile_id=profile,
                            value=1_000, owner_id=agent.user_id)
    page = agent.client.get("/deals")
    assert page.text.count('class="deal-card"') == board.PER_COLUMN and "thêm 3" in page.text
    new = stage(session, "Mới")
    column = agent.client.get(f"/deals/stages/{new.id}")
    assert column.status_code == 200 and "Cơ hội 0" in column.text and "Cơ hội 27" in column.text


def test_moving_with_the_form_and_the_lost_reason(session: Session, agent: Browser) -> None:
    profile = customer(session)
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Máy lạnh", profile_id=profile, value=9,
                               owner_id=agent.user_id)
    quoted, lost = stage(session, "Báo giá"), stage(session, "Thua")
    moved = agent.client.post(f"/deals/{deal.id}/move", data={"csrf_token": agent.csrf, "stage_id": quoted.id,
                                                              "back": "/deals"}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/deals"
    asks = agent.client.post(f"/deals/{deal.id}/move", data={"csrf_token": agent.csrf, "stage_id": lost.id})
    assert asks.status_code == 200 and "Vì sao thua?" in asks.text and "Giá cao" in asks.text
    session.rollback()
    assert service.get_deal(session, deal_id=deal.id, scope=ALL).stage_id == quoted.id
    reason = pipelines.lost_reasons(session)[0]
    done = agent.client.post(f"/deals/{deal.id}/move", data={
        "csrf_token": agent.csrf, "stage_id": lost.id, "lost_reason_id": reason.id, "lost_note": "đắt",
        "back": "https://evil.example/"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/deals/{deal.id}"
    session.rollback()
    assert service.get_deal(session, deal_id=deal.id, scope=ALL).status is StageKind.lost
    unknown = agent.client.post(f"/deals/{deal.id}/move", data={"csrf_token": agent.csrf, "stage_id": "abc"})
    assert unknown.status_code == 404
    forged = agent.client.post(f"/deals/{deal.id}/move", data={"csrf_token": "sai", "stage_id": quoted.id})
    assert forged.status_code == 403


def test_new_deal_from_the_customer_and_conversion_to_an_order(session: Session, agent: Browser) -> None:
    make_shop(session)
    profile = customer(session)
    person = agent.client.get(f"/customers/{profile}")
    assert f"/deals/new?profile_id={profile}" in person.text
    form = agent.client.get("/deals/new", params={"profile_id": profile})
    assert form.status_code == 200 and f'name="profile_id" value="{profile}"' in form.text
    refused = agent.client.post("/deals/new", data={"csrf_token": agent.csrf, "profile_id": profile, "title": ""})
    assert refused.status_code == 422 and "Hãy đặt tên cho cơ hội" in refused.text
    created = agent.client.post("/deals/new", data={
        "csrf_token": agent.csrf, "profile_id": profile, "title": "Áo đồng phục", "sku": "AO-DEN-M",
        "quantity": "3", "expected_close": "2026-12-31"}, follow_redirects=False)
    assert created.status_code == 303
    deal_url = created.headers["location"]
    deal_id = int(deal_url.rsplit("/", 1)[1])
    page = agent.client.get(deal_url)
    assert "597.000\xa0₫" in page.text and "AO-DEN-M" in page.text and "31/12/2026" in page.text
    added = agent.client.post(f"{deal_url}/lines", data={"csrf_token": agent.csrf, "sku": "SOMI-M",
                                                         "quantity": "1"}, follow_redirects=False)
    assert added.status_code == 303
    assert "946.000\xa0₫" in agent.client.get(deal_url).text
    assert agent.client.post(f"{deal_url}/lines", data={"csrf_token": agent.csrf, "sku": "KHONG",
                                                        "quantity": "1"}).status_code == 422
    early = agent.client.post(f"{deal_url}/convert", data={"csrf_token": agent.csrf})
    assert early.status_code == 409 and "Chỉ cơ hội đã thắng" in early.text
    agent.client.post(f"{deal_url}/move", data={"csrf_token": agent.csrf, "stage_id": won_stage(session).id})
    converted = agent.client.post(f"{deal_url}/convert", data={"csrf_token": agent.csrf}, follow_redirects=False)
    assert converted.status_code == 303 and converted.headers["location"].startswith("/orders/")
    session.rollback()
    order_id = service.get_deal(session, deal_id=deal_id, scope=ALL).order_id
    assert converted.headers["location"] == f"/orders/{order_id}"
    assert f'href="/orders/{order_id}"' in agent.client.get(deal_url).text
    panel = agent.client.get(f"/customers/{profile}")
    assert "Áo đồng phục" in panel.text and f"/deals/{deal_id}" in panel.text
    timeline = panel.text[panel.text.index('<section id="timeline"'):]
    assert "Áo đồng phục · Thắng" in timeline and "Mở cơ hội" in timeline


def test_pages_keep_to_the_scope(session: Session, browser_for: Callable[[User], Browser]) -> None:
    profile = customer(session)
    hanoi, saigon = make_store(session), make_store(session)
    viewer = browser_for(make_user(session, role=Role.agent, store=hanoi))
    mine = service.create_deal(session, actor=ACTOR, scope=ALL, title="Của Hà Nội", profile_id=profile,
                               store_id=hanoi.id)
    theirs = service.create_deal(session, actor=ACTOR, scope=ALL, title="Của Sài Gòn", profile_id=profile,
                                 store_id=saigon.id)
    page = viewer.client.get("/deals")
    assert "Của Hà Nội" in page.text and "Của Sài Gòn" not in page.text
    assert viewer.client.get(f"/deals/{theirs.id}").status_code == 404
    assert viewer.client.get(f"/deals/{mine.id}").status_code == 200
    moved = viewer.client.post(f"/deals/{theirs.id}/move", data={"csrf_token": viewer.csrf,
                                                                 "stage_id": won_stage(session).id})
    assert moved.status_code == 404
    person = viewer.client.get(f"/customers/{profile}").text
    panel = person[person.index('<section id="deals"'):person.index('<section id="timeline"')]
    assert "Của Hà Nội" in panel and "Của Sài Gòn" not in panel
