"""The messaging policy page: managers change the sending hours, caps, channel order and purposes and keep the
suppression list (bad input shown with its reason in Vietnamese, nothing kept); agents may not open it; the page
is in English for those who ask for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.journeys.policy.conftest import customer
from xuyen.audit import AuditEntry
from xuyen.customers.privacy import erase_person
from xuyen.journeys.policy import settings, suppressions
from xuyen.journeys.policy.models import Suppression
from xuyen.journeys.policy.settings import Cap
from xuyen.worker import Worker

PAGE = "/settings/messaging-policy"


def _form(manager: Browser, **changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": manager.csrf, "timezone": "Asia/Ho_Chi_Minh", "sending_from": "08:00", "sending_until": "21:30",
        "total_limit": "4", "total_hours": "24", "cap_zalo_limit": "2", "cap_zalo_hours": "24",
        "cap_sms_limit": "1", "cap_sms_hours": "48", "channel_order": "sms, zalo, messenger, whatsapp, email",
        "capped_purposes": ["marketing", "care"], "quiet_exempt": ["transactional"]}
    form.update(changes)
    return form


def test_a_manager_changes_the_policy_on_the_page(session: Session, manager: Browser) -> None:
    page = manager.client.get(PAGE)
    assert page.status_code == 200 and "Chính sách gửi tin" in page.text and 'value="07:00"' in page.text
    assert 'href="/settings/messaging-policy"' in page.text  # in the main navigation
    saved = manager.client.post(PAGE, data=_form(manager), follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == PAGE
    session.rollback()
    config = settings.current(session)
    assert (config.allowed_from, config.allowed_until, config.total) == (480, 1290, Cap(4, 24))
    assert config.channel_caps == {"zalo": Cap(2, 24), "sms": Cap(1, 48)}
    assert config.channel_order[0] == "sms" and config.capped_purposes == ("marketing", "care")
    shown = manager.client.get(PAGE).text
    assert 'value="21:30"' in shown and "sms, zalo, messenger" in shown
    assert session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "messaging_policy.settings_changed")).all() == ["messaging_policy.settings_changed"]


def test_bad_settings_are_shown_with_their_reason_and_nothing_is_kept(session: Session, manager: Browser) -> None:
    cases: list[tuple[dict[str, Any], str]] = [({"timezone": "Giờ Hà Nội"}, "Múi giờ là tên IANA"),
                             ({"sending_from": "7h"}, "Giờ gửi phải bắt đầu"),
                             ({"sending_until": "08:00"}, "Giờ gửi phải bắt đầu"),
                             ({"total_limit": "nhiều"}, "Giới hạn là từ 0 đến 1000"),
                             ({"cap_sms_hours": ""}, "Giới hạn là từ 0 đến 1000"),
                             ({"channel_order": "sms, sms"}, "Thứ tự kênh phải liệt kê"),
                             ({"capped_purposes": ["spam"]}, "Hãy chọn mục đích trong số")]
    for changes, message in cases:
        refused = manager.client.post(PAGE, data=_form(manager, **changes))
        assert refused.status_code == 422, changes
        assert message in refused.text, changes
    session.rollback()
    assert session.get(settings.PolicySettings, 1) is None


def test_a_manager_keeps_the_suppression_list_on_the_page(session: Session, manager: Browser) -> None:
    lan = customer(session)
    added = manager.client.post(PAGE + "/suppressions", follow_redirects=False, data={
        "csrf_token": manager.csrf, "kind": "email", "value": "Lan@Example.VN", "reason": "Thư bị trả lại"})
    assert added.status_code == 303
    manager.client.post(PAGE + "/suppressions", data={"csrf_token": manager.csrf, "kind": "profile",
                                                      "value": str(lan), "reason": "Khách yêu cầu"})
    shown = manager.client.get(PAGE).text
    assert "lan@example.vn" in shown and f'href="/customers/{lan}"' in shown and "Danh sách chặn (2)" in shown
    twice = manager.client.post(PAGE + "/suppressions", data={"csrf_token": manager.csrf, "kind": "email",
                                                              "value": "lan@example.vn", "reason": "Lần nữa"})
    assert twice.status_code == 409 and "Mục này đã có trong danh sách chặn." in twice.text
    bad = manager.client.post(PAGE + "/suppressions", data={"csrf_token": manager.csrf, "kind": "phone",
                                                            "value": "không có số", "reason": "x"})
    assert bad.status_code == 422 and "Đây không phải mã khách hàng" in bad.text
    session.rollback()
    email = session.scalars(select(Suppression).where(Suppression.kind == "email")).one()
    gone = manager.client.post(f"{PAGE}/suppressions/{email.id}/delete", data={"csrf_token": manager.csrf},
                               follow_redirects=False)
    assert gone.status_code == 303
    session.rollback()
    assert [entry.kind for entry in session.scalars(select(Suppression))] == ["profile"]


def test_changes_need_the_csrf_token_and_the_manager_role(session: Session, manager: Browser,
                                                          agent: Browser) -> None:
    assert manager.client.post(PAGE, data={**_form(manager), "csrf_token": "wrong"}).status_code == 403
    assert agent.client.get(PAGE).status_code == 403
    assert agent.client.post(PAGE, data=_form(agent)).status_code == 403
    assert agent.client.post(PAGE + "/suppressions", data={"csrf_token": agent.csrf, "kind": "phone",
                                                           "value": "0912345678", "reason": "x"}).status_code == 403
    session.rollback()
    assert session.get(settings.PolicySettings, 1) is None and session.scalars(select(Suppression)).all() == []


def test_the_page_is_in_english_when_asked(session: Session, manager: Browser) -> None:
    manager.client.post("/language", data={"locale": "en", "csrf_token": manager.csrf, "next": PAGE})
    english = manager.client.get(PAGE)
    assert "Messaging policy" in english.text and "Suppression list" in english.text


def test_an_erased_persons_address_is_shown_as_kept_only_as_a_hash(session: Session, engine: Engine,
                                                                    manager: Browser) -> None:
    lan = customer(session)
    suppressions.add_suppression(session, kind="email", value="lan@example.vn", reason="Hủy", actor="user:1")
    erase_person(session, profile_id=lan, actor="user:1", reason="Yêu cầu xóa dữ liệu")
    Worker(engine=engine, periodic=False).run_until_idle()
    page = manager.client.get(PAGE)
    assert page.status_code == 200
    assert "Địa chỉ của một người đã bị xóa dữ liệu, chỉ còn giữ dạng băm" in page.text
    assert "lan@example.vn" not in page.text
