"""The sales and customers dashboard page: its tiles, charts and tables carry the hand-worked figures of the small
shop (tests/analytics/sales_data.py), filters narrow them, agents are refused, wrong filters answer 422, and every
table downloads."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests import api_client
from tests.analytics import sales_data
from tests.analytics.sales_data import Shop
from tests.api_client import Browser
from xuyen.analytics import rollups

agent, manager, owner = api_client.agent, api_client.manager, api_client.owner
MARCH = "from=2026-03-01&to=2026-03-10"


@pytest.fixture
def shop(session: Session) -> Shop:
    built = sales_data.build(session)
    rollups.rebuild(session, first=date(2026, 1, 1), last=date(2026, 3, 10))
    return built


def _values(html: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'{attribute}="([^"]*)" data-value="([^"]*)"', html))


def _chart(html: str, key: str) -> str:
    return html.split(f'data-chart="{key}"')[1].split("</figure>")[0]


def test_the_dashboard_shows_the_periods_figures(manager: Browser, shop: Shop) -> None:
    page = manager.client.get(f"/analytics/sales?{MARCH}")
    assert page.status_code == 200
    kpis = _values(page.text, "data-kpi")
    assert (kpis["revenue"], kpis["orders"], kpis["average_order"], kpis["customers"]) == (
        "1250000", "6", "208333", "3")
    assert (kpis["new_customers"], kpis["returning_customers"]) == ("2", "1")
    assert (kpis["multi_channel_share"], kpis["repeat_rate"]) == ("0.3333", "0.6667")
    days = _values(_chart(page.text, "revenue-per-day"), "data-label")
    assert (days["01/03"], days["02/03"], days["04/03"], len(days)) == ("420000", "80000", "0", 10)
    channels = _values(_chart(page.text, "revenue-by-channel"), "data-label")
    assert channels == {"POS tại cửa hàng": "1050000", "Website": "200000"}
    stores = _values(_chart(page.text, "revenue-by-store"), "data-label")
    assert stores["Cửa hàng Sài Gòn"] == "700000" and stores["Cửa hàng Hà Nội"] == "350000"
    cohorts = re.findall(r'data-row="([^"]*)" data-column="([^"]*)" data-value="([^"]*)"',
                         _chart(page.text, "retention-cohorts"))
    assert ("01/2026 (2)", "+1", "0.5") in cohorts and ("03/2026 (2)", "+0", "1.0") in cohorts
    assert ("03/2026 (2)", "+1", "") in cohorts


def test_the_filters_narrow_the_figures(owner: Browser, shop: Shop) -> None:
    page = owner.client.get(f"/analytics/sales?{MARCH}&channel=pos&store={shop.stores['S1']}")
    kpis = _values(page.text, "data-kpi")
    assert (kpis["revenue"], kpis["orders"], kpis["customers"]) == ("350000", "2", "1")  # A's order and the walk-in


def test_agents_are_refused_and_wrong_filters_explained(agent: Browser, manager: Browser, shop: Shop) -> None:
    assert agent.client.get("/analytics/sales").status_code == 403
    wrong = manager.client.get("/analytics/sales?from=2026-03-10&to=2026-03-01")
    assert wrong.status_code == 422 and "invalid_filters" in wrong.text
    assert manager.client.get("/analytics/sales?channel=tiki").status_code == 422
    assert manager.client.get("/analytics/sales?store=" + "9" * 50).status_code == 422
    assert 'href="/analytics/sales"' in manager.client.get("/analytics").text


def test_every_table_downloads(manager: Browser, shop: Shop) -> None:
    daily = manager.client.get(f"/analytics/sales/export/daily.csv?{MARCH}")
    rows = list(csv.reader(io.StringIO(daily.content.decode("utf-8").lstrip("\ufeff"))))
    assert len(rows) == 11 and rows[1] == ["2026-03-01", "2", "420000", "210000"]
    channels = manager.client.get(f"/analytics/sales/export/channels.csv?{MARCH}").content.decode("utf-8")
    assert ",4,1050000,262500" in channels and ",2,200000,100000" in channels
    stores = manager.client.get(f"/analytics/sales/export/stores.csv?{MARCH}").content.decode("utf-8")
    assert "Cửa hàng Sài Gòn,2,700000,350000" in stores
    customers = manager.client.get(f"/analytics/sales/export/customers.csv?{MARCH}").content.decode("utf-8")
    assert ",2,0.6667,700000,350000" in customers and ",1,0.3333,500000,500000" in customers
    workbook = manager.client.get(f"/analytics/sales/export/cohorts.xlsx?{MARCH}")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[1][:5] == (sales_data.datetime(2026, 1, 1), 2, 1, 0.5, 0.5) and cells[1][5] is None


def test_the_overview_opens_on_the_last_30_days_sales_for_managers(manager: Browser, agent: Browser) -> None:
    overview = manager.client.get("/").text
    assert 'data-chart="overview-revenue-per-day"' in overview and 'href="/analytics/sales"' in overview
    assert 'data-kpi="revenue"' in overview
    assert 'data-chart="overview-revenue-per-day"' not in agent.client.get("/").text
