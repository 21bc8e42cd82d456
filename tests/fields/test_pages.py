"""The custom fields pages: the settings page, the customer 360 panel and its form, the list's filters and CSV."""

from __future__ import annotations

import csv
import html
import io
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.orm import Session

from tests.api_client import Browser, agent, manager  # noqa: F401
from tests.fields.helpers import ACTOR, customers, shop_fields
from xuyen.fields import service

PAGE = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def _get(browser: Browser, path: str, **params: Any) -> httpx.Response:
    return browser.client.get(path, params=params, headers=PAGE, follow_redirects=False)


def _post(browser: Browser, path: str, data: dict[str, str] | list[tuple[str, str]]) -> httpx.Response:
    pairs = list(data.items()) if isinstance(data, dict) else data
    return browser.client.post(path, content=urlencode([("csrf_token", browser.csrf), *pairs]),
                               headers={**PAGE, "content-type": "application/x-www-form-urlencoded"},
                               follow_redirects=False)


def test_a_manager_defines_changes_moves_and_archives_fields(session: Session, manager: Browser,  # noqa: F811
                                                             agent: Browser) -> None:  # noqa: F811
    page = _get(manager, "/settings/fields")
    assert page.status_code == 200
    assert "Trường tùy chỉnh" in page.text
    added = _post(manager, "/settings/fields", {"entity": "customer", "label_vi": "Hạng thành viên", "kind": "choice",
                                                "options": "bac = Bạc | Silver\nVàng\n"})
    assert added.status_code == 303, added.text
    [tier] = service.list_fields(session, entity="customer")
    assert tier.key == "hang_thanh_vien" and [o.key for o in tier.options] == ["bac", "vang"]
    refused = _post(manager, "/settings/fields", {"entity": "customer", "label_vi": "Hạng thành viên",
                                                  "kind": "choice", "options": "a = A"})
    assert refused.status_code == 409
    _post(manager, "/settings/fields", {"entity": "customer", "label_vi": "Ghi chú", "kind": "text"})
    assert _post(manager, f"/settings/fields/{tier.id}/move", {"offset": "1"}).status_code == 303
    session.rollback()
    assert [f.key for f in service.list_fields(session, entity="customer")] == ["ghi_chu", "hang_thanh_vien"]
    changed = _post(manager, f"/settings/fields/{tier.id}", {"label_vi": "Hạng", "options": "vang = Vàng\n"})
    assert changed.status_code == 303
    session.rollback()
    tier = service.get_field(session, field_id=tier.id)
    session.refresh(tier)
    assert [(o.key, o.retired) for o in tier.options] == [("vang", False), ("bac", True)]
    assert _get(manager, "/settings/fields", edit=tier.id).status_code == 200
    assert _post(manager, f"/settings/fields/{tier.id}/archive", {}).status_code == 303
    session.rollback()
    assert [f.key for f in service.list_fields(session, entity="customer")] == ["ghi_chu"]
    assert _get(agent, "/settings/fields").status_code == 403


def test_staff_see_and_edit_a_customers_fields_on_the_360(session: Session, agent: Browser) -> None:  # noqa: F811
    shop_fields(session)
    [customer] = customers(session, 1)
    service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                       values={"spend": 1500000, "joined": "2026-12-25", "likes": ["ao", "tui"]})
    page = html.unescape(_get(agent, f"/customers/{customer}").text)
    assert 'id="custom-fields"' in page and "25/12/2026" in page and "Áo, Túi xách" in page
    form = html.unescape(_get(agent, f"/customers/{customer}/custom-fields").text)
    assert 'value="1.500.000"' in form and 'value="25/12/2026"' in form
    refused = _post(agent, f"/customers/{customer}/custom-fields", [
        ("cf.note", "mới"), ("cf.spend", "rất nhiều"), ("cf.joined", "31/02/2026"), ("cf.likes.present", "1")])
    assert refused.status_code == 422
    assert 'value="rất nhiều"' in html.unescape(refused.text) and "Chi tiêu dự kiến (spend)" in html.unescape(
        refused.text)
    session.rollback()
    assert service.values_of(session, entity="customer", entity_id=customer)["likes"] == ["ao", "tui"]
    saved = _post(agent, f"/customers/{customer}/custom-fields", [
        ("cf.note", "Khách mới"), ("cf.spend", "2.000.000,5"), ("cf.joined", "01/02/2027"), ("cf.tier", "vang"),
        ("cf.likes.present", "1"), ("cf.likes", "giay")])
    assert saved.status_code == 303, saved.text
    session.rollback()
    assert service.values_of(session, entity="customer", entity_id=customer) == {
        "note": "Khách mới", "spend": 2000000.5, "joined": "2027-02-01", "tier": "vang", "likes": ["giay"]}


def test_the_list_filters_on_custom_fields_and_exports_them(session: Session, agent: Browser,  # noqa: F811
                                                            manager: Browser) -> None:  # noqa: F811
    shop_fields(session)
    first, second = customers(session, 2)
    service.set_values(session, entity="customer", entity_id=first, form=False, actor=ACTOR,
                       values={"spend": 5000000, "tier": "vang"})
    service.set_values(session, entity="customer", entity_id=second, form=False, actor=ACTOR,
                       values={"spend": 90000, "tier": "bac"})
    page = _get(agent, "/customers", **{"cf.spend.from": "1.000.000"})
    assert f'href="/customers/{first}"' in page.text and f'href="/customers/{second}"' not in page.text
    bad = _get(agent, "/customers", **{"cf.joined.from": "hôm qua"})
    assert bad.status_code == 200 and "Ngày tham gia (joined)" in html.unescape(bad.text)
    exported = _get(manager, "/customers/export.csv", **{"cf.tier": "bac"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(int(r["profile_id"]), r["Chi tiêu dự kiến (spend)"]) for r in rows] == [(second, "90.000")]
    assert _get(agent, "/customers/export.csv").status_code == 403
