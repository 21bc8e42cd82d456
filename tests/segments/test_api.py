"""The segments API: managers define, change, preview and remove segments and export their members (audited);
agents only read; bad rules answered with problem+json naming each problem, and nothing kept."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.segments.conftest import run_worker, track
from xuyen.audit import AuditEntry
from xuyen.segments.models import Segment

CART = {"all": [{"did": "Product Added", "days": 7}]}


def _audited(session: Session) -> list[str]:
    session.rollback()
    return [entry.action for entry in session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("segment.%")).order_by(AuditEntry.id))]


def test_a_manager_keeps_segments_and_agents_read_them(session: Session, engine: Engine, manager: Browser,
                                                       agent: Browser) -> None:
    lan = track(session, phone="0912000001", event="Product Added", traits={"name": "Nguyễn Thị Lan"})
    track(session, phone="0912000002", event="Page Viewed")
    run_worker(session, engine)
    preview = manager.request("POST", "/segments/preview", json={"definition": CART})
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 1 and [item["profile_id"] for item in preview.json()["sample"]] == [lan]
    assert preview.json()["text_vi"] == "Đã thêm vào giỏ hàng ít nhất 1 lần trong 7 ngày qua"
    assert session.scalar(select(Segment.id)) is None  # a preview saves nothing
    created = manager.request("POST", "/segments", json={"name": "Đã bỏ giỏ hàng 7 ngày qua", "definition": CART})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert (segment["member_count"], segment["text_en"]) == (1, "Did add to cart at least once in the last 7 days")
    assert [item["name"] for item in agent.request("GET", "/segments").json()] == ["Đã bỏ giỏ hàng 7 ngày qua"]
    assert agent.request("GET", f"/segments/{segment['id']}").json()["member_count"] == 1
    members = agent.request("GET", f"/segments/{segment['id']}/members").json()
    assert [item["profile_id"] for item in members] == [lan]
    changed = manager.request("PATCH", f"/segments/{segment['id']}",
                              json={"definition": {"all": [{"did": "Page Viewed", "days": 7}]}})
    assert changed.status_code == 200 and changed.json()["member_count"] == 1
    exported = manager.request("GET", f"/segments/{segment['id']}/members.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["profile_id", "name"] and len(rows) == 2 and rows[1][2] == "+84912000002"
    assert manager.request("DELETE", f"/segments/{segment['id']}").status_code == 204
    assert_problem(agent.request("GET", f"/segments/{segment['id']}"), 404, "segment_not_found")
    assert _audited(session) == ["segment.created", "segment.changed", "segment.exported", "segment.deleted"]


def test_agents_may_not_change_preview_or_export(session: Session, manager: Browser, agent: Browser) -> None:
    segment = manager.request("POST", "/segments", json={"name": "Giỏ hàng", "definition": CART}).json()
    assert_problem(agent.request("POST", "/segments", json={"name": "X", "definition": CART}), 403,
                   "role_required")
    assert_problem(agent.request("POST", "/segments/preview", json={"definition": CART}), 403, "role_required")
    assert_problem(agent.request("PATCH", f"/segments/{segment['id']}", json={"name": "Y"}), 403,
                   "role_required")
    assert_problem(agent.request("DELETE", f"/segments/{segment['id']}"), 403, "role_required")
    assert_problem(agent.request("GET", f"/segments/{segment['id']}/members.csv"), 403, "role_required")


def test_bad_rules_and_names_are_refused_and_nothing_is_kept(session: Session, manager: Browser) -> None:
    bad = manager.request("POST", "/segments", json={"name": "Sai", "definition": {"all": [
        {"did": "Product Added", "days": 0}, {"trait": "city", "op": "like", "value": "HN"},
        {"province": "Atlantis"}]}})
    problem = assert_problem(bad, 422, "invalid_segment_rule")
    assert set(problem["details"]["errors"]) == {"all[0].days", "all[1].op"}
    unknown_place = manager.request("POST", "/segments", json={"name": "Sai", "definition": {"all": [
        {"province": "Atlantis"}]}})
    assert "all[0].province" in assert_problem(unknown_place, 422, "invalid_segment_rule")["details"]["errors"]
    unknown_field = manager.request("POST", "/segments/preview", json={"definition": {"all": [
        {"field": "colour", "op": "equals", "value": "đỏ"}]}})
    assert_problem(unknown_field, 422, "invalid_segment_rule")
    assert manager.request("POST", "/segments", json={"name": "Giỏ hàng", "definition": CART}).status_code == 201
    assert_problem(manager.request("POST", "/segments", json={"name": "Giỏ  hàng", "definition": CART}), 409,
                   "segment_name_taken")
    session.rollback()
    assert list(session.scalars(select(Segment.name))) == ["Giỏ hàng"]
