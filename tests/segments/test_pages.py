"""The segment pages: the list with counts for every staff member, a manager previews a rule and saves it, a bad rule
is shown with its reason and nothing kept, agents read but may not edit or export."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.segments.conftest import run_worker, track
from xuyen.segments import service
from xuyen.segments.models import Segment

CART = {"all": [{"did": "Product Added", "days": 7}]}


def test_a_manager_previews_then_saves_a_segment(session: Session, engine: Engine, manager: Browser) -> None:
    track(session, phone="0912000001", event="Product Added")
    run_worker(session, engine)
    assert "Phân khúc" in manager.client.get("/").text  # the navigation entry
    form = {"csrf_token": manager.csrf, "name": "Đã bỏ giỏ hàng 7 ngày qua", "definition": json.dumps(CART)}
    preview = manager.client.post("/segments/save", data={**form, "action": "preview"})
    assert preview.status_code == 200 and "Xem trước: 1" in preview.text
    assert "Đã thêm vào giỏ hàng ít nhất 1 lần trong 7 ngày qua" in preview.text
    assert session.scalar(select(Segment.id)) is None
    saved = manager.client.post("/segments/save", data={**form, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    page = manager.client.get(saved.headers["location"])
    assert "+84912000001" in page.text and "Tải CSV" in page.text
    listed = manager.client.get("/segments").text
    assert "Đã bỏ giỏ hàng 7 ngày qua" in listed
    english = manager.client.get("/segments", headers={"Cookie": "xuyen_lang=en"})
    assert english.status_code == 200


def test_a_bad_rule_is_shown_with_its_reason(session: Session, manager: Browser) -> None:
    for definition, reason in (("{not json", "not valid JSON"), (json.dumps({"all": [{"did": "X", "days": 0}]}),
                                                                  "all[0].days")):
        answer = manager.client.post("/segments/save", data={"csrf_token": manager.csrf, "name": "Sai",
                                                             "definition": definition, "action": "save"})
        assert answer.status_code == 422 and reason in answer.text
    session.rollback()
    assert session.scalar(select(Segment.id)) is None


def test_agents_read_but_do_not_edit(session: Session, agent: Browser) -> None:
    segment = service.create_segment(session, name="Giỏ hàng", definition=CART, actor="user:1")
    assert agent.client.get("/segments").status_code == 200
    page = agent.client.get(f"/segments/{segment.id}")
    assert page.status_code == 200 and "Lưu phân khúc" not in page.text
    assert agent.client.get(f"/segments/{segment.id}/members.csv").status_code == 403
    assert agent.client.post("/segments/save", data={"csrf_token": agent.csrf, "name": "X",
                                                     "definition": json.dumps(CART)}).status_code == 403
