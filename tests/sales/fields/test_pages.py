"""Lead and deal custom fields on the pages: shown on the lead and deal pages, edited through their forms (each
field's problem shown, nothing saved), filtering the leads list and the deals board, and the CSV downloads."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.factories import make_store, make_user
from tests.fields.helpers import ACTOR, shop_fields
from tests.sales.deals.support import ACTOR as DEAL_ACTOR
from tests.sales.deals.support import ALL, customer
from xuyen.auth.models import User
from xuyen.fields import service as field_service
from xuyen.sales.deals import service as deals
from xuyen.sales.leads import service as leads
from xuyen.sales.leads.models import SourceKind

PAGE = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def _get(browser: Browser, path: str, params: Any = None) -> httpx.Response:
    return browser.client.get(path, params=params, headers=PAGE, follow_redirects=False)


def _post(browser: Browser, path: str, pairs: list[tuple[str, str]], csrf: str | None = None) -> httpx.Response:
    return browser.client.post(path, content=urlencode([("csrf_token", csrf or browser.csrf), *pairs]),
                               headers={**PAGE, "content-type": "application/x-www-form-urlencoded"},
                               follow_redirects=False)


def test_a_leads_fields_are_shown_and_edited_on_its_page(session: Session, agent: Browser) -> None:
    shop_fields(session, entity="lead")
    lead = leads.capture(session, source=SourceKind.api, phone="0916000001", name="Đỗ Hà", owner_id=agent.user_id,
                         custom_values={"spend": 2500000, "tier": "vang"}, actor=ACTOR).lead
    page = _get(agent, f"/leads/{lead.id}")
    assert page.status_code == 200 and "2.500.000" in page.text and "Vàng" in page.text
    assert f"/leads/{lead.id}/custom-fields" in page.text
    form = _get(agent, f"/leads/{lead.id}/custom-fields")
    assert form.status_code == 200 and 'name="cf.spend"' in form.text and 'value="2.500.000"' in form.text
    refused = _post(agent, f"/leads/{lead.id}/custom-fields", [("cf.spend", "nhiều tiền"), ("cf.joined", "31/02/2026"),
                                                               ("cf.tier", "bac")])
    assert refused.status_code == 422
    assert 'value="nhiều tiền"' in html.unescape(refused.text) and "aria-invalid" in refused.text
    assert leads.lead_values(session, lead_ids=[lead.id])[lead.id]["tier"] == "vang"
    saved = _post(agent, f"/leads/{lead.id}/custom-fields", [("cf.spend", "1.500.000,5"), ("cf.joined", "05/01/2026"),
                                                             ("cf.likes.present", "1"), ("cf.likes", "giay"),
                                                             ("cf.likes", "ao")])
    assert saved.status_code == 303 and saved.headers["location"] == f"/leads/{lead.id}#custom-fields"
    session.rollback()
    values = leads.lead_values(session, lead_ids=[lead.id])[lead.id]
    assert values["spend"] == 1500000.5 and values["joined"] == "2026-01-05" and values["likes"] == ["ao", "giay"]
    forged = _post(agent, f"/leads/{lead.id}/custom-fields", [("cf.spend", "1")], csrf="sai")
    assert forged.status_code == 403
    timeline = html.unescape(_get(agent, f"/customers/{lead.profile_id}").text)
    assert "Đổi trường của khách hàng tiềm năng: Chi tiêu dự kiến, Ngày tham gia, Sở thích" in timeline


def test_a_lead_outside_the_scope_has_no_form(session: Session, browser_for: Callable[[User], Browser]) -> None:
    shop_fields(session, entity="lead")
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    lead = leads.capture(session, source=SourceKind.api, phone="0916000002", store_id=saigon.id).lead
    stranger = browser_for(make_user(session, store=hanoi))
    assert _get(stranger, f"/leads/{lead.id}/custom-fields").status_code == 404
    assert _post(stranger, f"/leads/{lead.id}/custom-fields", [("cf.tier", "bac")]).status_code == 404
    assert leads.lead_values(session, lead_ids=[lead.id])[lead.id]["tier"] is None


def test_the_leads_list_filters_and_downloads_by_custom_fields(session: Session, manager: Browser,
                                                               agent: Browser) -> None:
    shop_fields(session, entity="lead")
    for phone, name, spend in (("0917000001", "Khách Nhỏ", 500000), ("0917000002", "Khách Lớn", 50000000)):
        leads.capture(session, source=SourceKind.api, phone=phone, name=name, custom_values={"spend": spend},
                      actor=ACTOR)
    page = _get(manager, "/leads", params=[("cf.spend.from", "1.000.000")])
    assert page.status_code == 200 and "Khách Lớn" in page.text and "Khách Nhỏ" not in page.text
    assert "/leads/export.csv?cf.spend.from=1.000.000" in html.unescape(page.text)
    bad = _get(manager, "/leads", params=[("cf.joined.from", "hôm qua")])
    assert bad.status_code == 200 and "Ngày tham gia (joined)" in html.unescape(bad.text)
    download = _get(manager, "/leads/export.csv", params=[("cf.spend.from", "1.000.000")])
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["Khách Lớn"] and rows[1][-4] == "50.000.000"
    assert _get(agent, "/leads/export.csv").status_code == 403


def test_a_deals_fields_on_its_page_the_new_deal_form_and_the_board(session: Session, manager: Browser) -> None:
    shop_fields(session, entity="deal")
    field_service.define_field(session, entity="deal", label_vi="Thanh toán", kind="choice", key="thanh_toan",
                               required=True, actor=ACTOR, options=[field_service.OptionSpec("tien_mat", "Tiền mặt")])
    profile = customer(session)
    form = _get(manager, "/deals/new", params={"profile_id": profile})
    assert 'name="cf.thanh_toan"' in form.text
    missing = _post(manager, "/deals/new", [("profile_id", str(profile)), ("title", "Bàn ghế"), ("cf.spend", "9.000")])
    assert missing.status_code == 422 and "Thanh toán (thanh_toan) is required" in html.unescape(missing.text)
    assert deals.list_deals(session, scope=ALL)[1] == 0
    session.rollback()
    opened = _post(manager, "/deals/new", [("profile_id", str(profile)), ("title", "Bàn ghế"), ("cf.spend", "9.000"),
                                          ("cf.thanh_toan", "tien_mat")])
    assert opened.status_code == 303, opened.text
    deal_id = int(opened.headers["location"].rsplit("/", 1)[1])
    page = _get(manager, f"/deals/{deal_id}")
    assert "Tiền mặt" in page.text and "9.000" in page.text and f"/deals/{deal_id}/custom-fields" in page.text
    refused = _post(manager, f"/deals/{deal_id}/custom-fields", [("cf.thanh_toan", ""), ("cf.tier", "vang")])
    assert refused.status_code == 422 and "Thanh toán (thanh_toan) is required" in html.unescape(refused.text)
    saved = _post(manager, f"/deals/{deal_id}/custom-fields", [("cf.tier", "vang")])
    assert saved.status_code == 303
    other = deals.create_deal(session, actor=DEAL_ACTOR, scope=ALL, title="Tủ lạnh", profile_id=profile,
                              custom_values={"thanh_toan": "tien_mat", "spend": 1})
    board = _get(manager, "/deals", params=[("cf.tier", "vang")])
    assert board.status_code == 200 and "Bàn ghế" in board.text and other.title not in board.text
    assert "/deals/export.csv?cf.tier=vang" in html.unescape(board.text)
    rows = list(csv.reader(io.StringIO(_get(manager, "/deals/export.csv", params=[("cf.spend.to", "100")])
                                       .content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["Tủ lạnh"]


def test_a_manager_deletes_an_archived_deal_field_on_the_settings_page(session: Session, manager: Browser,
                                                                     agent: Browser) -> None:
    fields = shop_fields(session, entity="deal")
    deal = deals.create_deal(session, actor=DEAL_ACTOR, scope=ALL, title="Rèm cửa", profile_id=customer(session),
                             custom_values={"note": "Giao chiều"})
    note = fields["note"].id
    page = _get(manager, "/settings/fields", params={"entity": "deal"})
    assert page.status_code == 200 and f"/settings/fields/{note}/delete" not in page.text
    refused = _post(manager, f"/settings/fields/{note}/delete", [])
    assert refused.status_code == 409 and "Hãy lưu trữ trường trước khi xóa." in html.unescape(refused.text)
    assert _post(manager, f"/settings/fields/{note}/archive", []).status_code == 303
    assert f"/settings/fields/{note}/delete" in _get(manager, "/settings/fields", params={"entity": "deal"}).text
    assert _post(agent, f"/settings/fields/{note}/delete", []).status_code == 403
    assert _post(manager, f"/settings/fields/{note}/delete", []).status_code == 303
    session.rollback()
    assert "note" not in deals.deal_values(session, deal_ids=[deal.id])[deal.id]
    assert [field.key for field in field_service.list_fields(session, entity="deal", include_archived=True)] == [
        "spend", "joined", "tier", "likes"]
