"""The deals settings pages: managers add and rename pipelines, reorder, edit and archive stages (a stage that
still holds deals only once they are moved), choose the default pipeline, and keep the list of lost reasons; agents
may not; bad input is refused with a clear message and changes nothing; every change is audited."""

from __future__ import annotations

import html

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.sales.deals.support import ACTOR, ALL, customer
from xuyen.audit import AuditEntry
from xuyen.sales.deals import pipelines, service
from xuyen.sales.deals.models import Pipeline, StageKind


def _stages(session: Session, pipeline_id: int) -> list[tuple[str, int, str]]:
    session.rollback()
    session.expire_all()
    return [(s.name, s.probability, s.kind.value) for s in pipelines.stages_of(session, pipeline_id=pipeline_id)]


def _form(session: Session, pipeline_id: int, browser: Browser, action: str = "save",
          **changes: tuple[str, str, str]) -> dict[str, object]:
    """The stages form as the page sends it, with some rows changed (by stage name: name, probability, kind)."""
    session.rollback()
    rows = [(*changes.get(s.name, (s.name, str(s.probability), s.kind.value)), str(s.id))
            for s in pipelines.stages_of(session, pipeline_id=pipeline_id)]
    return {"csrf_token": browser.csrf, "action": action, "stage_id": [r[3] for r in rows],
            "name": [r[0] for r in rows], "probability": [r[1] for r in rows], "kind": [r[2] for r in rows]}


def _new_pipeline(session: Session, manager: Browser, name: str = "Bán sỉ") -> int:
    made = manager.client.post("/deals/settings/pipelines", data={"csrf_token": manager.csrf, "name": name},
                               follow_redirects=False)
    assert made.status_code == 303, made.text
    session.rollback()
    pipeline = session.scalar(select(Pipeline).where(Pipeline.name == name))
    assert pipeline is not None and made.headers["location"] == f"/deals/settings/pipelines/{pipeline.id}"
    return pipeline.id


def test_a_manager_builds_a_pipeline_on_the_settings_pages(session: Session, manager: Browser) -> None:
    page = manager.client.get("/deals/settings")
    assert page.status_code == 200 and "Cài đặt cơ hội" in page.text and "Bán hàng" in page.text
    assert "Giá cao" in page.text  # the default lost reasons
    pipeline_id = _new_pipeline(session, manager)
    assert [name for name, _p, _k in _stages(session, pipeline_id)] == [
        "Mới", "Đã liên hệ", "Báo giá", "Thương lượng", "Thắng", "Thua"]

    renamed = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}", data={
        "csrf_token": manager.csrf, "name": "Bán sỉ miền Bắc", "is_default": "1"}, follow_redirects=False)
    assert renamed.status_code == 303
    session.rollback()
    assert pipelines.ensure_defaults(session).id == pipeline_id  # the new default
    assert session.get(Pipeline, pipeline_id).name == "Bán sỉ miền Bắc"  # type: ignore[union-attr]

    edited = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages", data=_form(
        session, pipeline_id, manager, **{"Báo giá": ("Gửi báo giá", "40", "open")}), follow_redirects=False)
    assert edited.status_code == 303
    assert _stages(session, pipeline_id)[2] == ("Gửi báo giá", 40, "open")
    moved_up = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages", data=_form(
        session, pipeline_id, manager, action=f"up:{pipelines.stages_of(session, pipeline_id=pipeline_id)[3].id}"))
    assert moved_up.status_code == 200
    assert [n for n, _p, _k in _stages(session, pipeline_id)][:4] == ["Mới", "Đã liên hệ", "Thương lượng",
                                                                       "Gửi báo giá"]
    added = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages/new", data={
        "csrf_token": manager.csrf, "name": "Ký hợp đồng", "probability": "90"})
    assert added.status_code == 200 and "Ký hợp đồng" in added.text
    assert _stages(session, pipeline_id)[4:] == [("Ký hợp đồng", 90, "open"), ("Thắng", 100, "won"),
                                                 ("Thua", 0, "lost")]
    session.rollback()
    actions = [entry.action for entry in session.scalars(select(AuditEntry).where(
        AuditEntry.subject_type == "sales_pipeline", AuditEntry.subject_id == str(pipeline_id)))]
    assert actions == ["sales.pipeline.created", *["sales.pipeline.updated"] * 4]


def test_a_stage_with_deals_is_archived_only_once_they_are_moved(session: Session, manager: Browser) -> None:
    pipeline_id = _new_pipeline(session, manager)
    contacted = pipelines.stages_of(session, pipeline_id=pipeline_id)[1]
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Khăn lụa sỉ", profile_id=customer(session),
                               pipeline_id=pipeline_id, stage_id=contacted.id)
    refused = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages",
                                  data=_form(session, pipeline_id, manager, action=f"archive:{contacted.id}"))
    assert refused.status_code == 409
    assert "“Đã liên hệ” vẫn còn 1 cơ hội: hãy chuyển chúng sang giai đoạn khác" in html.unescape(refused.text)
    assert f'href="/deals/stages/{contacted.id}"' in refused.text
    assert len(_stages(session, pipeline_id)) == 6
    kind_change = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages", data=_form(
        session, pipeline_id, manager, **{"Đã liên hệ": ("Đã liên hệ", "25", "won"), "Thắng": ("Thắng", "100",
                                                                                               "open")}))
    assert kind_change.status_code == 409 and "không thể đổi loại" in kind_change.text

    first = pipelines.stages_of(session, pipeline_id=pipeline_id)[0]
    service.move_deal(session, deal_id=deal.id, stage_id=first.id, actor=ACTOR, scope=ALL)
    archived = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages",
                                   data=_form(session, pipeline_id, manager, action=f"archive:{contacted.id}"),
                                   follow_redirects=False)
    assert archived.status_code == 303
    assert "Đã liên hệ" not in [n for n, _p, _k in _stages(session, pipeline_id)]
    assert service.history_of(session, deal_id=deal.id)[0].to_stage_id == contacted.id  # history keeps it


def test_bad_stage_input_is_refused_and_changes_nothing(session: Session, manager: Browser) -> None:
    pipeline_id = _new_pipeline(session, manager)
    before = _stages(session, pipeline_id)
    url = f"/deals/settings/pipelines/{pipeline_id}/stages"
    cases = [
        (_form(session, pipeline_id, manager, **{"Mới": ("Mới", "150", "open")}), "số phần trăm nguyên"),
        (_form(session, pipeline_id, manager, **{"Mới": ("Mới", "mười", "open")}), "số phần trăm nguyên"),
        (_form(session, pipeline_id, manager, **{"Mới": ("Thua", "10", "open")}), "mỗi giai đoạn một tên riêng"),
        (_form(session, pipeline_id, manager, **{"Mới": ("Mới", "10", "won")}), "một giai đoạn thắng"),
        (_form(session, pipeline_id, manager, **{"Mới": ("Mới", "10", "closed")}), "một giai đoạn thắng"),
        ({**_form(session, pipeline_id, manager), "name": ["Mới"]}, "một giai đoạn thắng"),
        (_form(session, pipeline_id, manager, **{"Mới": ("", "10", "open")}), "mỗi giai đoạn một tên riêng"),
    ]
    for data, message in cases:
        answer = manager.client.post(url, data=data)
        assert answer.status_code == 422, (data, answer.status_code)
        assert message in answer.text
    too_many = manager.client.post(f"{url}/new", data={"csrf_token": manager.csrf, "name": "X", "probability": "-1"})
    assert too_many.status_code == 422
    assert _stages(session, pipeline_id) == before
    taken = manager.client.post("/deals/settings/pipelines", data={"csrf_token": manager.csrf, "name": "Bán sỉ"})
    assert taken.status_code == 409 and "Đã có một quy trình mang tên này." in taken.text
    blank = manager.client.post(f"/deals/settings/pipelines/{pipeline_id}", data={"csrf_token": manager.csrf,
                                                                                   "name": "  "})
    assert blank.status_code == 422 and "Hãy đặt tên" in blank.text
    forged = manager.client.post(url, data={**_form(session, pipeline_id, manager), "csrf_token": "wrong"})
    assert forged.status_code == 403
    assert manager.client.get("/deals/settings/pipelines/99999").status_code == 404
    assert _stages(session, pipeline_id) == before


def test_the_lost_reasons_are_kept_on_the_settings_page(session: Session, manager: Browser) -> None:
    manager.client.get("/deals/settings")
    added = manager.client.post("/deals/settings/lost-reasons", data={"csrf_token": manager.csrf,
                                                                      "name": "Giao hàng chậm"})
    assert added.status_code == 200 and "Giao hàng chậm" in added.text
    session.rollback()
    reasons = {reason.name: reason for reason in pipelines.lost_reasons(session)}
    late, price = reasons["Giao hàng chậm"], reasons["Giá cao"]
    twice = manager.client.post("/deals/settings/lost-reasons", data={"csrf_token": manager.csrf,
                                                                      "name": "Giao hàng chậm"})
    assert twice.status_code == 409 and "Lý do thua này đã có trong danh sách." in twice.text

    def post(reason_id: int, **data: str) -> int:
        return manager.client.post(f"/deals/settings/lost-reasons/{reason_id}",
                                   data={"csrf_token": manager.csrf, **data}, follow_redirects=False).status_code

    assert post(late.id, action="up") == 303
    assert post(late.id, action="save", name="Giao hàng quá chậm") == 303
    assert post(price.id, action="archive") == 303
    assert post(price.id, action="save", name="Chọn đối thủ") == 409
    assert post(price.id, action="save", name=" ") == 422
    session.rollback()
    session.expire_all()
    offered = [reason.name for reason in pipelines.lost_reasons(session)]
    assert offered == ["Chọn đối thủ", "Không liên lạc được", "Hết hàng", "Giao hàng quá chậm", "Chưa có nhu cầu"]
    assert post(price.id, action="restore") == 303
    session.rollback()
    session.expire_all()
    assert pipelines.lost_reasons(session)[0].name == "Giá cao"
    assert post(99_999, action="archive") == 404
    session.rollback()
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "sales_lost_reason")).all()


def test_agents_may_not_open_or_change_the_settings(session: Session, agent: Browser, manager: Browser) -> None:
    pipeline_id = _new_pipeline(session, manager)
    before = _stages(session, pipeline_id)
    assert agent.client.get("/deals/settings").status_code == 403
    assert agent.client.get(f"/deals/settings/pipelines/{pipeline_id}").status_code == 403
    assert agent.client.post("/deals/settings/pipelines", data={"csrf_token": agent.csrf,
                                                                "name": "Của tôi"}).status_code == 403
    assert agent.client.post(f"/deals/settings/pipelines/{pipeline_id}/stages",
                             data=_form(session, pipeline_id, agent, action="archive:1")).status_code == 403
    reason = pipelines.lost_reasons(session)[0]
    assert agent.client.post(f"/deals/settings/lost-reasons/{reason.id}", data={
        "csrf_token": agent.csrf, "action": "archive"}).status_code == 403
    assert "/deals/settings" not in agent.client.get("/deals").text
    assert "/deals/settings" in manager.client.get("/deals").text
    assert _stages(session, pipeline_id) == before
    assert pipelines.lost_reasons(session)[0].is_active


def test_the_lost_reasons_api_renames_archives_and_moves(session: Session, agent: Browser,
                                                         manager: Browser) -> None:
    reasons = agent.request("GET", "/deals/lost-reasons").json()
    first, last = reasons[0], reasons[-1]
    assert_problem(agent.request("PATCH", f"/deals/lost-reasons/{first['id']}", json={"is_active": False}), 403,
                   "role_required")
    moved = manager.request("PATCH", f"/deals/lost-reasons/{last['id']}", json={"position": 0, "name": "Chưa cần"})
    assert moved.status_code == 200 and moved.json() == {**last, "name": "Chưa cần", "position": 0}
    archived = manager.request("PATCH", f"/deals/lost-reasons/{first['id']}", json={"is_active": False})
    assert archived.json()["is_active"] is False
    offered = agent.request("GET", "/deals/lost-reasons").json()
    assert next(r["name"] for r in offered) == "Chưa cần" and first["id"] not in [r["id"] for r in offered]
    everything = agent.request("GET", "/deals/lost-reasons", params={"include_archived": "true"}).json()
    assert first["id"] in [r["id"] for r in everything]
    assert_problem(manager.request("PATCH", "/deals/lost-reasons/99999", json={"name": "X"}), 404,
                   "lost_reason_not_found")
    assert_problem(manager.request("PATCH", f"/deals/lost-reasons/{first['id']}", json={"position": -1}), 422,
                   "validation_failed")
    assert_problem(manager.request("PATCH", f"/deals/lost-reasons/{first['id']}", json={"name": "Chưa cần"}), 409,
                   "reason_exists")
    stage = next(s for s in pipelines.stages_of(session, pipeline_id=pipelines.ensure_defaults(session).id)
             if s.kind is StageKind.lost)
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Thua", profile_id=customer(session),
                               owner_id=agent.user_id)
    lost = agent.request("POST", f"/deals/{deal.id}/move", json={"stage_id": stage.id,
                                                                 "lost_reason_id": first["id"]})
    assert_problem(lost, 404, "lost_reason_not_found")  # an archived reason is no longer offered
