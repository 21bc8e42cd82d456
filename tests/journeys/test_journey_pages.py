"""The journey pages: managers create a journey, save its draft from the editor (a refused draft comes back with each
problem on its step and nothing kept), publish, pause, resume and archive it; agents read the list, the journey and
the editor but change nothing; forged or oversized posts are refused."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import api_client
from tests.api_client import Browser
from xuyen.jobs import Job
from xuyen.journeys.flows import service
from xuyen.segments import service as segments

agent, manager = api_client.agent, api_client.manager  # the role browsers of the tests here

SIMPLE: dict[str, Any] = {
    "trigger": {"type": "event", "event": "Checkout Started", "where": {}},
    "settings": {"entry": "once", "filter": None, "goal": {"event": "Order Completed", "where": {}},
                 "holdout_percent": 10, "conversion_days": 7},
    "start": "n1",
    "nodes": {"n1": {"type": "delay", "for": {"days": 0, "hours": 2, "minutes": 0}, "next": "n2", "label": "Chờ 2 giờ"},
              "n2": {"type": "exit"}},
}


def _diagram_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="journey-data">(.*?)</script>', html, re.S)
    assert found, "the page has no diagram data"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _journey(session: Session, name: str = "Giỏ hàng bị bỏ quên", definition: Any = None) -> int:
    return service.create_journey(session, name=name, definition=definition, actor="user:1").id


def _draft_of(session: Session, journey_id: int) -> dict[str, Any]:
    session.rollback()
    session.expire_all()
    return service.get_journey(session, journey_id=journey_id).draft


def _save(browser: Browser, journey_id: int, definition: Any, csrf: str | None = None) -> httpx.Response:
    text = definition if isinstance(definition, str) else json.dumps(definition, ensure_ascii=False)
    return browser.client.post(f"/journeys/{journey_id}/draft", data={"csrf_token": csrf or browser.csrf,
                                                                      "definition": text}, follow_redirects=False)


def test_a_manager_creates_a_journey_and_saves_its_draft(session: Session, manager: Browser) -> None:
    overview = manager.client.get("/").text
    assert 'href="/journeys"' in overview and "Hành trình" in overview
    assert "Hành trình mới" in manager.client.get("/journeys").text
    created = manager.client.post("/journeys/new", data={"csrf_token": manager.csrf, "name": "Chúc mừng sinh nhật",
                                                         "description": "Tặng mã vào ngày sinh"},
                                  follow_redirects=False)
    assert created.status_code == 303
    editor_path = created.headers["location"]
    journey_id = int(editor_path.split("/")[2])
    editor = manager.client.get(editor_path)
    assert editor.status_code == 200 and "Lưu bản nháp" in editor.text
    data = _diagram_data(editor.text)
    assert data["editable"] is True and data["strings"]["type_send"] == "Gửi tin nhắn"
    assert "Order Completed" in data["options"]["events"]

    saved = _save(manager, journey_id, SIMPLE)
    assert saved.status_code == 303 and saved.headers["location"] == f"/journeys/{journey_id}/edit?saved=true"
    assert _draft_of(session, journey_id) == SIMPLE
    assert "Đã lưu bản nháp." in manager.client.get(saved.headers["location"]).text

    listed = manager.client.get("/journeys")
    assert "Chúc mừng sinh nhật" in listed.text and "Nháp" in listed.text
    english = manager.client.get("/journeys", headers={"Cookie": "xuyen_lang=en"})
    assert english.status_code == 200


def test_a_refused_draft_comes_back_with_its_problems_and_nothing_is_kept(session: Session,
                                                                          manager: Browser) -> None:
    journey_id = _journey(session, definition=SIMPLE)
    wrong = json.loads(json.dumps(SIMPLE))
    wrong["nodes"]["n1"]["next"] = "n3"
    wrong["nodes"]["n3"] = {"type": "send", "template_id": 999, "channel": None, "purpose": "marketing",
                            "on_cap": "defer", "next": "n2"}
    answer = _save(manager, journey_id, wrong)
    assert answer.status_code == 422
    assert "Hành trình chưa được lưu" in answer.text
    assert 'data-error-path="nodes.n3.template_id"' in answer.text and "there is no template 999" in answer.text
    data = _diagram_data(answer.text)
    assert data["definition"] == wrong  # the manager's work is shown again, with the problems on its steps
    assert data["errors"] == {"nodes.n3.template_id": "there is no template 999"}
    assert _draft_of(session, journey_id) == SIMPLE

    wrong["nodes"]["n3"] = {"type": "split", "branches": [{"label": "A", "percent": 60, "next": "n2"},
                                                          {"label": "B", "percent": 30, "next": None}]}
    answer = _save(manager, journey_id, wrong)
    assert answer.status_code == 422 and 'data-error-path="nodes.n3"' in answer.text
    assert "percents must add up to 100" in _diagram_data(answer.text)["errors"]["nodes.n3"]
    assert _draft_of(session, journey_id) == SIMPLE

    for text in ("{not json", "[1, 2]"):
        answer = _save(manager, journey_id, text)
        assert answer.status_code == 422 and "không phải JSON hợp lệ" in answer.text
    assert _draft_of(session, journey_id) == SIMPLE


def test_an_oversized_draft_is_refused(session: Session, manager: Browser) -> None:
    journey_id = _journey(session, definition=SIMPLE)
    huge = json.loads(json.dumps(SIMPLE))
    huge["nodes"]["n1"]["label"] = "x" * 250_000
    answer = _save(manager, journey_id, huge)
    assert answer.status_code == 422 and "quá lớn" in answer.text
    too_big_for_a_form = _save(manager, journey_id, "x" * 1_100_000)
    assert too_big_for_a_form.status_code in (413, 422)
    assert _draft_of(session, journey_id) == SIMPLE


def test_forms_without_the_token_are_refused(session: Session, manager: Browser) -> None:
    journey_id = _journey(session, definition=SIMPLE)
    changed = {**SIMPLE, "settings": {**SIMPLE["settings"], "holdout_percent": 20}}
    assert _save(manager, journey_id, changed, csrf="forged").status_code == 403
    assert manager.client.post(f"/journeys/{journey_id}/publish", data={"csrf_token": "forged"},
                               follow_redirects=False).status_code == 403
    assert manager.client.post("/journeys/new", data={"csrf_token": "", "name": "Khác"},
                               follow_redirects=False).status_code == 403
    assert _draft_of(session, journey_id) == SIMPLE
    assert service.get_journey(session, journey_id=journey_id).status == "draft"
    assert [j.name for j in service.list_journeys(session)] == ["Giỏ hàng bị bỏ quên"]


def test_agents_read_but_change_nothing(session: Session, agent: Browser) -> None:
    journey_id = _journey(session, definition=SIMPLE)
    assert "Giỏ hàng bị bỏ quên" in agent.client.get("/journeys").text
    assert "Hành trình mới" not in agent.client.get("/journeys").text
    page = agent.client.get(f"/journeys/{journey_id}")
    assert page.status_code == 200 and "Phát hành bản nháp" not in page.text
    editor = agent.client.get(f"/journeys/{journey_id}/edit")
    assert editor.status_code == 200 and "Lưu bản nháp" not in editor.text
    assert _diagram_data(editor.text)["editable"] is False
    assert agent.client.get("/journeys/new").status_code == 403
    assert _save(agent, journey_id, {**SIMPLE, "start": "n2"}).status_code == 403
    for action in ("publish", "pause", "archive"):
        assert agent.client.post(f"/journeys/{journey_id}/{action}", data={"csrf_token": agent.csrf},
                                 follow_redirects=False).status_code == 403
    assert _draft_of(session, journey_id) == SIMPLE
    assert service.get_journey(session, journey_id=journey_id).status == "draft"


def test_unknown_journeys_are_not_found(manager: Browser) -> None:
    for path in ("/journeys/4040", "/journeys/4040/edit"):
        assert manager.client.get(path).status_code == 404
    assert _save(manager, 4040, SIMPLE).status_code == 404
    assert manager.client.post("/journeys/4040/publish", data={"csrf_token": manager.csrf},
                               follow_redirects=False).status_code == 404


def test_publish_pause_resume_and_archive(session: Session, manager: Browser) -> None:
    journey_id = _journey(session, definition=SIMPLE)

    def act(action: str) -> str:
        answer = manager.client.post(f"/journeys/{journey_id}/{action}", data={"csrf_token": manager.csrf},
                                     follow_redirects=False)
        assert answer.status_code == 303, answer.text
        session.rollback()
        session.expire_all()
        return str(service.get_journey(session, journey_id=journey_id).status)

    assert act("publish") == "live"
    page = manager.client.get(f"/journeys/{journey_id}")
    assert "Đang chạy" in page.text and "Phiên bản đang chạy 1" in page.text and "Chờ 2 giờ" in page.text
    data = _diagram_data(page.text)
    assert data["editable"] is False and data["stats"] == {}  # nobody entered yet
    assert data["definition"] == SIMPLE
    assert act("pause") == "paused"
    assert act("resume") == "live"
    assert act("archive") == "archived"
    editor = manager.client.get(f"/journeys/{journey_id}/edit")
    assert "Lưu bản nháp" not in editor.text  # an archived journey is no longer edited
    assert manager.client.post(f"/journeys/{journey_id}/launch", data={"csrf_token": manager.csrf},
                               follow_redirects=False).status_code == 404


def test_publishing_a_refused_draft_says_so(session: Session, manager: Browser) -> None:
    journey_id = _journey(session)
    session.rollback()
    journey = service.get_journey(session, journey_id=journey_id)
    journey.draft = {**SIMPLE, "start": "missing"}  # a draft saved before the rules changed
    session.commit()
    answer = manager.client.post(f"/journeys/{journey_id}/publish", data={"csrf_token": manager.csrf},
                                 follow_redirects=False)
    assert answer.status_code == 422 and "Chưa thể phát hành bản nháp" in answer.text
    session.rollback()
    assert service.get_journey(session, journey_id=journey_id).live_version is None


def test_a_broadcast_journey_is_sent_now_from_its_page(session: Session, manager: Browser) -> None:
    buyers = {"all": [{"did": "Order Completed", "days": 30}]}
    segment = segments.create_segment(session, name="Khách VIP", definition=buyers, actor="user:1")
    broadcast = {**SIMPLE, "trigger": {"type": "broadcast", "segment_id": segment.id}}
    journey_id = _journey(session, definition=broadcast)
    service.publish(session, journey_id=journey_id, actor="user:1")
    page = manager.client.get(f"/journeys/{journey_id}")
    assert "Gửi ngay" in page.text
    sent = manager.client.post(f"/journeys/{journey_id}/broadcast", data={"csrf_token": manager.csrf},
                               follow_redirects=False)
    assert sent.status_code == 303
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Job).where(Job.name == service.BROADCAST_JOB)) == 1

    by_trigger = _journey(session, name="Theo sự kiện", definition=SIMPLE)
    service.publish(session, journey_id=by_trigger, actor="user:1")
    assert "Gửi ngay" not in manager.client.get(f"/journeys/{by_trigger}").text
    refused = manager.client.post(f"/journeys/{by_trigger}/broadcast", data={"csrf_token": manager.csrf},
                                  follow_redirects=False)
    assert refused.status_code == 409 and "Chỉ hành trình gửi thủ công" in refused.text
