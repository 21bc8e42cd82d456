"""The managers' routing settings page: assignment rules (add, change, switch, move, remove), labels and label rules,
shared saved replies; refused forms say why in the page's language; agents get 403, forms need their CSRF token.
The rules made here are the ones routing follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.factories import make_user
from tests.inbox.conftest import Channels
from tests.inbox.routing.conftest import Staff, conversation_of, customer_writes, go, make_team, settle
from tests.inbox.routing.test_pages import form, page
from xuyen.auth.models import Role, User

PAGE = "/inbox/routing"


def post(browser: Browser, path: str, data: dict[str, Any]) -> tuple[int, str]:
    """POST a form of the page (lists as repeated fields); the status and the page shown."""
    response = browser.client.post(path, data={"csrf_token": browser.csrf, **data},
                                   headers={"Accept": "text/html"}, follow_redirects=False)
    return response.status_code, response.text


def rules(browser: Browser) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = browser.request("GET", "/inbox/assignment-rules").json()
    return found


def labels(browser: Browser) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in browser.request("GET", "/inbox/labels").json()}


def test_agents_may_not_see_or_change_the_settings(staff: Staff) -> None:
    hoa = staff.agents[0]
    page(hoa, PAGE, status=403)
    assert form(hoa, f"{PAGE}/labels", {"name": "Khách sỉ"}) == 403
    assert form(hoa, f"{PAGE}/replies", {"shortcut": "chao", "text": "Chào bạn"}) == 403
    assert labels(staff.manager) == {}
    assert 'href="/inbox/routing"' not in page(hoa, "/inbox")  # the link is for managers
    assert 'href="/inbox/routing"' in page(staff.manager, "/inbox")
    assert 'href="/inbox/routing"' in page(staff.manager, "/inbox/teams")


def test_a_form_without_its_token_is_refused(staff: Staff) -> None:
    assert form(staff.manager, f"{PAGE}/labels", {"name": "Khách sỉ"}, csrf=False) == 403
    assert labels(staff.manager) == {}


def test_managers_add_change_order_switch_and_remove_assignment_rules(staff: Staff) -> None:
    manager = staff.manager
    sales = make_team(manager, "Bán hàng", [staff.agents[0].user_id])
    care = make_team(manager, "Chăm sóc", [])
    html = page(manager, PAGE)
    assert "No assignment rule yet" in html or "Chưa có quy tắc" in html
    assert post(manager, f"{PAGE}/labels", {"name": "VIP", "colour": "#ffd700"})[0] == 303
    vip = labels(manager)["VIP"]["id"]

    assert post(manager, f"{PAGE}/rules", {"name": "Zalo → Bán hàng", "team_id": str(sales),
                                           "channel_kinds": ["zalo"], "assign_agent": "on"})[0] == 303
    assert post(manager, f"{PAGE}/rules", {"name": "VIP → Chăm sóc", "team_id": str(care),
                                           "label_ids": [str(vip)]})[0] == 303
    first, second = rules(manager)
    assert (first["name"], first["team_id"], first["conditions"], first["assign_agent"]) == (
        "Zalo → Bán hàng", sales, {"channel_kinds": ["zalo"]}, True)
    assert (second["conditions"], second["assign_agent"]) == ({"labels": [vip]}, False)
    html = page(manager, PAGE)
    assert html.index("Zalo → Bán hàng") < html.index("VIP → Chăm sóc")

    assert post(manager, f"{PAGE}/rules/{second['id']}/move", {"direction": "up"})[0] == 303
    assert [rule["id"] for rule in rules(manager)] == [second["id"], first["id"]]
    assert post(manager, f"{PAGE}/rules/{second['id']}/move", {"direction": "up"})[0] == 303  # first already
    assert post(manager, f"{PAGE}/rules/{second['id']}/move", {"direction": "down"})[0] == 303
    assert [rule["id"] for rule in rules(manager)] == [first["id"], second["id"]]
    assert post(manager, f"{PAGE}/rules/{second['id']}/move", {"direction": "sideways"})[0] == 422

    assert post(manager, f"{PAGE}/rules/{first['id']}", {"name": "Zalo, Messenger → Chăm sóc", "team_id": str(care),
                                                         "channel_kinds": ["zalo", "messenger"]})[0] == 303
    changed = rules(manager)[0]
    assert (changed["name"], changed["team_id"], changed["assign_agent"]) == ("Zalo, Messenger → Chăm sóc", care,
                                                                             False)
    assert changed["conditions"] == {"channel_kinds": ["zalo", "messenger"]}

    assert post(manager, f"{PAGE}/rules/{first['id']}/enabled", {})[0] == 303
    assert rules(manager)[0]["enabled"] is False
    assert "status--dead" in page(manager, PAGE)
    assert post(manager, f"{PAGE}/rules/{first['id']}/enabled", {"enabled": "on"})[0] == 303
    assert rules(manager)[0]["enabled"] is True

    assert post(manager, f"{PAGE}/rules/{first['id']}/delete", {})[0] == 303
    assert [rule["id"] for rule in rules(manager)] == [second["id"]]
    assert post(manager, f"{PAGE}/rules/{first['id']}/delete", {})[0] == 404


def test_bad_assignment_rules_are_refused_with_the_reason(session: Session, browser_for: Callable[[User], Browser],
                                                         staff: Staff) -> None:
    manager = staff.manager
    team = make_team(manager, "Bán hàng", [])
    status, html = post(manager, f"{PAGE}/rules", {"name": "Lạc đội", "team_id": "999999"})
    assert status == 422 and 'role="alert"' in html and "Chọn một trong các đội" in html
    status, html = post(manager, f"{PAGE}/rules", {"name": "   ", "team_id": str(team)})
    assert status == 422 and "Đặt tên cho quy tắc phân công" in html
    status, html = post(manager, f"{PAGE}/rules", {"name": "Kênh lạ", "team_id": str(team),
                                                   "channel_kinds": ["fax"]})
    assert status == 422 and 'role="alert"' in html
    assert post(manager, f"{PAGE}/rules", {"name": "Nhãn lạ", "team_id": str(team), "label_ids": ["424242"]})[0] == 422
    assert rules(manager) == []
    assert post(manager, f"{PAGE}/rules/999/move", {"direction": "up"})[0] == 404
    english = browser_for(make_user(session, role=Role.manager, locale="en"))
    status, html = post(english, f"{PAGE}/rules", {"name": "Lost", "team_id": "999999"})
    assert status == 422 and "Choose one of the teams" in html


def test_managers_keep_labels_and_their_rules(staff: Staff) -> None:
    manager = staff.manager
    assert post(manager, f"{PAGE}/labels", {"name": "Đổi trả", "colour": "#dc2626"})[0] == 303
    status, html = post(manager, f"{PAGE}/labels", {"name": "doi tra", "colour": "#000000"})
    assert status == 409 and "Đã có một nhãn" in html  # the same name, folded
    status, html = post(manager, f"{PAGE}/labels", {"name": " !! ", "colour": "#000000"})
    assert status == 422 and 'role="alert"' in html
    assert post(manager, f"{PAGE}/labels", {"name": "Đỏ", "colour": "red"})[0] == 422
    label = labels(manager)["Đổi trả"]
    assert post(manager, f"{PAGE}/labels/{label['id']}", {"name": "Đổi / trả hàng", "colour": "#7c3aed"})[0] == 303
    assert labels(manager)["Đổi / trả hàng"] == {"id": label["id"], "name": "Đổi / trả hàng", "colour": "#7c3aed"}
    assert post(manager, f"{PAGE}/labels", {"name": "Zalo OA", "colour": "#0068ff"})[0] == 303
    zalo = labels(manager)["Zalo OA"]["id"]
    assert post(manager, f"{PAGE}/labels/{zalo}", {"name": "đổi / TRẢ hàng"})[0] == 409

    assert post(manager, f"{PAGE}/label-rules", {"label_id": str(label["id"]), "kind": "keyword",
                                                 "keywords": "đổi size, hoàn tiền,  ,"})[0] == 303
    assert post(manager, f"{PAGE}/label-rules", {"label_id": str(zalo), "kind": "source",
                                                 "channel_kinds": ["zalo"]})[0] == 303
    status, html = post(manager, f"{PAGE}/label-rules", {"label_id": str(zalo), "kind": "keyword", "keywords": " , "})
    assert status == 422 and "cần ít nhất một từ khoá" in html
    assert post(manager, f"{PAGE}/label-rules", {"label_id": str(zalo), "kind": "source"})[0] == 422
    assert post(manager, f"{PAGE}/label-rules", {"label_id": str(zalo), "kind": "source",
                                                 "referral": "tv"})[0] == 422
    assert post(manager, f"{PAGE}/label-rules", {"label_id": "31337", "kind": "keyword", "keywords": "x"})[0] == 404
    found = manager.request("GET", "/inbox/label-rules").json()
    assert sorted((rule["kind"], rule["conditions"]) for rule in found) == [
        ("keyword", {"keywords": ["đổi size", "hoàn tiền"]}), ("source", {"channel_kinds": ["zalo"]})]
    html = page(manager, PAGE)
    assert "đổi size, hoàn tiền" in html and "Zalo" in html
    keyword = next(rule for rule in found if rule["kind"] == "keyword")
    assert post(manager, f"{PAGE}/label-rules/{keyword['id']}/enabled", {})[0] == 303
    assert {rule["id"]: rule["enabled"] for rule in manager.request("GET", "/inbox/label-rules").json()}[
        keyword["id"]] is False
    assert post(manager, f"{PAGE}/label-rules/{keyword['id']}/delete", {})[0] == 303
    assert post(manager, f"{PAGE}/label-rules/{keyword['id']}/delete", {})[0] == 404

    assert post(manager, f"{PAGE}/labels/{zalo}/delete", {})[0] == 303
    assert set(labels(manager)) == {"Đổi / trả hàng"}
    assert manager.request("GET", "/inbox/label-rules").json() == []  # its rule went with it
    assert post(manager, f"{PAGE}/label-rules/defaults", {})[0] == 303
    assert {"Facebook Ads", "Zalo OA", "Khiếu nại"} <= set(labels(manager))


def test_managers_keep_the_shared_saved_replies(staff: Staff) -> None:
    manager, hoa = staff.manager, staff.agents[0]
    assert post(manager, f"{PAGE}/replies", {"shortcut": "/Chao", "text": "Dạ em chào {{ten_khach}} ạ"})[0] == 303
    status, html = post(manager, f"{PAGE}/replies", {"shortcut": "chao", "text": "Xin chào"})
    assert status == 409 and "Lối tắt này đã có" in html
    assert post(manager, f"{PAGE}/replies", {"shortcut": "có dấu", "text": "Xin chào"})[0] == 422
    assert post(manager, f"{PAGE}/replies", {"shortcut": "trong", "text": "   "})[0] == 422
    shared = hoa.request("GET", "/inbox/canned-responses").json()
    assert [(item["shortcut"], item["shared"]) for item in shared] == [("chao", True)]
    reply_id = shared[0]["id"]
    assert "/chao" in page(manager, PAGE) and "{{ten_khach}}" in page(manager, PAGE)
    assert post(manager, f"{PAGE}/replies/{reply_id}", {"shortcut": "xinchao", "text": "Dạ chào anh/chị"})[0] == 303
    expanded = hoa.request("POST", "/inbox/canned-responses/expand", json={"text": "/xinchao"}).json()
    assert expanded["text"] == "Dạ chào anh/chị"
    personal = hoa.request("POST", "/inbox/canned-responses", json={"shortcut": "rieng", "text": "Của Hoa"}).json()
    assert post(manager, f"{PAGE}/replies/{personal['id']}/delete", {})[0] == 404  # someone's own is theirs
    assert post(manager, f"{PAGE}/replies/{reply_id}/delete", {})[0] == 303
    assert [item["shortcut"] for item in hoa.request("GET", "/inbox/canned-responses").json()] == ["rieng"]


def test_rules_made_on_the_page_route_and_label_new_conversations(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff) -> None:
    manager, hoa = staff.manager, staff.agents[0]
    team = make_team(manager, "Đổi trả", [hoa.user_id])
    go(hoa, "online")
    assert post(manager, f"{PAGE}/labels", {"name": "Đổi trả", "colour": "#dc2626"})[0] == 303
    label = labels(manager)["Đổi trả"]["id"]
    assert post(manager, f"{PAGE}/label-rules", {"label_id": str(label), "kind": "keyword",
                                                 "keywords": "đổi size"})[0] == 303
    assert post(manager, f"{PAGE}/rules", {"name": "Đổi trả → đội Đổi trả", "team_id": str(team),
                                           "label_ids": [str(label)], "assign_agent": "on"})[0] == 303
    wants_swap = customer_writes(client, channels, "Em muốn ĐỔI SIZE áo ạ")
    just_asks = customer_writes(client, channels, "Shop mở cửa mấy giờ?")
    settle(engine)
    swap, other = conversation_of(session, wants_swap), conversation_of(session, just_asks)
    assert swap.assignee_id == hoa.user_id and other.assignee_id is None
    routed = hoa.request("GET", f"/conversations/{swap.id}/routing").json()
    assert routed["team_id"] == team
    assert [item["name"] for item in hoa.request("GET", f"/conversations/{swap.id}/labels").json()] == ["Đổi trả"]
