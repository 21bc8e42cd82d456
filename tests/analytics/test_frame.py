"""What every dashboard shares: the filters, the merged customer a row belongs to, the charts' geometry and the
CSV / Excel export of any registered table (with its errors and who may download)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import api_client
from tests.api_client import Browser
from xuyen.analytics import filters, tables
from xuyen.analytics.owners import merged_roots, owner_id
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import ValidationFailed
from xuyen.i18n import activated
from xuyen.identity.models import Profile
from xuyen.ui import charts

agent, manager = api_client.agent, api_client.manager


def test_filters_count_days_in_the_shops_time_zone() -> None:
    chosen = filters.parse(first="2026-03-01", last="2026-03-31", channel="shopee", store="2",
                           timezone="Asia/Ho_Chi_Minh")
    assert (chosen.days, chosen.channel, chosen.store_id) == (31, SalesChannel.shopee, 2)
    assert chosen.start == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # midnight in Hà Nội is 17:00 UTC the day before
    assert chosen.end == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    assert filters.local_day(datetime(2026, 3, 31, 16, 59, tzinfo=UTC), chosen.timezone) == date(2026, 3, 31)
    assert filters.local_day(datetime(2026, 3, 31, 17, 0, tzinfo=UTC), chosen.timezone) == date(2026, 4, 1)
    before = chosen.previous()
    assert (before.first, before.last) == (date(2026, 1, 29), date(2026, 2, 28))
    assert chosen.as_query() == {"from": "2026-03-01", "to": "2026-03-31", "channel": "shopee", "store": "2"}


def test_filters_default_to_the_last_thirty_days() -> None:
    chosen = filters.parse()
    assert chosen.days == filters.DEFAULT_DAYS and chosen.last == filters.today()
    assert chosen.channel is None and chosen.store_id is None


@pytest.mark.parametrize(("values", "wrong"), [
    ({"first": "01/03/2026"}, "from"), ({"last": "2026-02-30"}, "to"), ({"channel": "tiki"}, "channel"),
    ({"store": "0"}, "store"), ({"store": "abc"}, "store"),
    ({"first": "2026-03-02", "last": "2026-03-01"}, "to"), ({"first": "2020-01-01", "last": "2026-01-01"}, "days"),
])
def test_filters_say_which_value_is_wrong(values: dict[str, str], wrong: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        filters.parse(**values)
    assert raised.value.code == "invalid_filters" and wrong in raised.value.details


def _profile(session: Session, merged_into: int | None = None) -> int:
    now = datetime.now(UTC)
    profile = Profile(first_seen_at=now, last_seen_at=now, merged_into_id=merged_into)
    session.add(profile)
    session.flush()
    return profile.id


def test_rows_of_absorbed_profiles_belong_to_the_surviving_root(session: Session) -> None:
    root = _profile(session)
    middle = _profile(session)
    first = _profile(session, merged_into=middle)  # first was absorbed by middle, then middle by root
    session.flush()
    session.get(Profile, middle).merged_into_id = root  # type: ignore[union-attr]
    alone = _profile(session)
    session.commit()
    roots = merged_roots()
    query = (select(Profile.id, owner_id(Profile.id, roots)).outerjoin(roots, roots.c.profile_id == Profile.id)
             .order_by(Profile.id))
    assert dict(session.execute(query).all()) == {root: root, middle: root, first: root, alone: alone}


def test_charts_scale_their_marks_to_the_largest_value() -> None:
    bars = charts.bar_chart(title="Doanh thu", key="revenue", items=[("Web", 200, "200"), ("POS", 50, "50")])
    assert [bar.width for bar in bars.bars] == [bars.plot_width, bars.plot_width / 4]
    lines = charts.line_chart(title="Đơn", key="orders", labels=["1/3", "2/3", "3/3"],
                              series=[("Đơn", [0, 5, 10], ["0", "5", "10"])])
    points = lines.lines[0].points
    assert points[0].y > points[1].y > points[2].y and points[0].x < points[2].x
    heat = charts.heat_map(title="Cohort", key="cohorts", rows=["T1", "T2"], columns=["0", "1"],
                           values=[[1.0, 0.5], [1.0, None]], texts=[["100%", "50%"], ["100%", ""]])
    assert [cell.opacity for cell in heat.cells][:2] == [1.0, 0.56] and heat.cells[3].opacity == 0.0


def test_a_line_charts_axis_writes_numbers_in_the_pages_language() -> None:
    series = [("Doanh thu", [0.0, 2_045_000.0], ["0 ₫", "2.045.000 ₫"])]
    with activated("vi", "Asia/Ho_Chi_Minh"):
        vietnamese = [tick.text for tick in charts.line_chart(title="", key="r", labels=["1", "2"],
                                                               series=series).y_ticks]
    with activated("en", "Asia/Ho_Chi_Minh"):
        english = [tick.text for tick in charts.line_chart(title="", key="r", labels=["1", "2"],
                                                            series=series).y_ticks]
    assert (vietnamese, english) == (["0", "1.022.500", "2.045.000"], ["0", "1,022,500", "2,045,000"])


SAMPLE = tables.Table(title="Doanh thu: theo kênh", columns=["Kênh", "Đơn", "Ngày", "Ghi chú"],
                      rows=[["Cửa hàng", 3, date(2026, 3, 1), "=1+1"], ["Shopee", 0, None, "bình thường"]])


def test_tables_download_as_csv_and_excel_with_values_not_formulas() -> None:
    text = tables.to_csv(SAMPLE).decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        ["Kênh", "Đơn", "Ngày", "Ghi chú"], ["Cửa hàng", "3", "2026-03-01", "'=1+1"],
        ["Shopee", "0", "", "bình thường"]]
    sheet = load_workbook(io.BytesIO(tables.to_xlsx(SAMPLE))).active
    assert sheet is not None and sheet.title == "Doanh thu  theo kênh"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("Cửa hàng", 3, datetime(2026, 3, 1)) and rows[1][3] == "'=1+1"


@tables.exportable("frame-test", "sample")
def _sample(session: Session, chosen: filters.Filters, locale: str) -> tables.Table:
    return tables.Table(title=SAMPLE.title, columns=[*SAMPLE.columns, locale],
                        rows=[[*row, chosen.days] for row in SAMPLE.rows])


def test_a_manager_downloads_a_registered_table_for_the_pages_filters(manager: Browser) -> None:
    answer = manager.client.get("/analytics/frame-test/export/sample.csv?from=2026-03-01&to=2026-03-07")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="frame-test-sample-2026-03-01-2026-03-07.csv"' in answer.headers["content-disposition"]
    assert answer.content.decode("utf-8").splitlines()[1].endswith(",7")
    workbook = manager.client.get("/analytics/frame-test/export/sample.xlsx")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"


def test_exports_refuse_unknown_tables_formats_and_filters(manager: Browser, agent: Browser) -> None:
    assert manager.client.get("/analytics/frame-test/export/missing.csv").status_code == 404
    assert manager.client.get("/analytics/frame-test/export/sample.pdf").status_code == 422
    wrong = manager.client.get("/analytics/frame-test/export/sample.csv?from=yesterday")
    assert wrong.status_code == 422 and "YYYY-MM-DD" in wrong.text
    assert manager.client.get("/analytics/frame-test/export/sample.csv?channel=" + "x" * 300).status_code == 422
    assert agent.client.get("/analytics/frame-test/export/sample.csv").status_code == 403
    assert agent.client.get("/analytics").status_code == 403


def test_the_analytics_page_lists_the_dashboards_for_managers(manager: Browser) -> None:
    page = manager.client.get("/analytics")
    assert page.status_code == 200 and 'href="/analytics"' in page.text


def test_a_range_one_day_long_starts_and_ends_at_local_midnight() -> None:
    chosen = filters.parse(first="2026-07-04", last="2026-07-04", timezone="Asia/Ho_Chi_Minh")
    assert chosen.end - chosen.start == timedelta(days=1)


def test_a_pages_own_choices_travel_with_its_downloads(manager: Browser) -> None:
    chosen = filters.parse(first="2026-03-01", last="2026-03-07").with_options(lookback="60", kind="")
    assert chosen.as_query() == {"lookback": "60", "from": "2026-03-01", "to": "2026-03-07"}
    assert filters.page_options({"from": "2026-03-01", "kind": "zalo"}) == {"kind": "zalo"}
    too_many = "&".join(f"o{number}=1" for number in range(filters.MAX_OPTIONS + 1))
    assert manager.client.get(f"/analytics/frame-test/export/sample.csv?{too_many}").status_code == 422
    assert manager.client.get("/analytics/frame-test/export/sample.csv?kind=" + "z" * 41).status_code == 422
