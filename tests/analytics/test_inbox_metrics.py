"""The inbox dashboard on a small known inbox (tests/analytics/inbox_data.py): response and resolution times in
business hours, SLA compliance, CSAT, volume by channel and by local hour, its page, downloads and errors."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.orm import Session

from tests import api_client
from tests.analytics import inbox_data
from tests.api_client import Browser
from xuyen.analytics import filters, inbox
from xuyen.i18n import activated

agent, manager = api_client.agent, api_client.manager

WEEK = filters.parse(first="2026-03-02", last="2026-03-08", timezone="Asia/Ho_Chi_Minh")


def test_times_are_business_minutes_of_the_sla_calendar(session: Session) -> None:
    inbox_data.build(session)
    metrics = inbox.inbox_metrics(session, filters=WEEK)
    # first responses 30, 70 and 120 business minutes; resolutions 60 and 150
    assert metrics.first_response == inbox.Durations(3, 70 * 60, 120 * 60)
    assert metrics.resolution == inbox.Durations(2, 105 * 60, 150 * 60)
    # C1 met every decided clock; C2 and C3 breached their first response
    assert (metrics.sla_decided, metrics.sla_met) == (3, 1)
    assert metrics.csat.answered == 3 and metrics.csat.sent == 4 and metrics.csat.average == 4.0
    assert metrics.satisfied_share == pytest.approx(2 / 3)
    assert (metrics.messages, metrics.conversations) == (4, 3)
    by_channel = {row.kind: row for row in metrics.by_channel}
    assert (by_channel["zalo"].messages, by_channel["messenger"].messages, by_channel["sms"].messages) == (2, 2, 0)
    assert by_channel["messenger"].first_response.median == 70 * 60 and by_channel["messenger"].sla_compliance == 0
    assert [hour for hour, count in enumerate(metrics.by_hour) for _ in range(count)] == [9, 11, 11, 16]
    assert metrics.by_weekday_hour[0][11] == 2 and sum(map(sum, metrics.by_weekday_hour[1:])) == 0


def test_one_channel_keeps_its_own_figures(session: Session) -> None:
    inbox_data.build(session)
    zalo = inbox.inbox_metrics(session, filters=WEEK, kind="zalo")
    assert zalo.first_response == inbox.Durations(2, 75 * 60, 120 * 60)
    assert (zalo.sla_decided, zalo.sla_met, zalo.messages) == (2, 1, 2)
    assert zalo.csat.average == 4.0 and zalo.satisfied_share == 0.5
    assert [row.kind for row in zalo.by_channel] == ["zalo"]
    later = inbox.inbox_metrics(session, filters=filters.parse(first="2026-03-09", last="2026-03-09",
                                                               timezone="Asia/Ho_Chi_Minh"))
    assert later.first_response == inbox.Durations(1, 5 * 60, 5 * 60) and later.csat.answered == 0


def test_the_page_shows_the_figures_and_the_tables_download(session: Session, manager: Browser) -> None:
    inbox_data.build(session)
    page = manager.client.get("/analytics/inbox?from=2026-03-02&to=2026-03-08")
    assert page.status_code == 200
    assert 'data-kpi="first_response_median" data-value="4200.0"' in page.text
    assert 'data-kpi="sla_compliance" data-value="0.3333333333333333"' in page.text
    assert 'data-label="Zalo OA" data-value="2"' in page.text
    assert 'data-row="' in page.text and 'data-column="11" data-value="2.0"' in page.text
    answer = manager.client.get("/analytics/inbox/export/channels.csv?from=2026-03-02&to=2026-03-08")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8").lstrip("\ufeff"))))
    zalo = next(row for row in rows if row[0] == "zalo")
    assert zalo[1:] == ["2", "2", "75.0", "120.0", "105.0", "150.0", "0.5", "4.0", "0.5", "2"]
    hours = manager.client.get("/analytics/inbox/export/hours.xlsx?from=2026-03-02&to=2026-03-08")
    assert hours.status_code == 200 and hours.content[:2] == b"PK"
    # the hours table on the page: Monday (the week's first column) holds the two messages of 11:00
    table = page.text[page.text.index('data-table="hours"'):]
    eleven = table[table.index('<tr data-hour="11">'):table.index('<tr data-hour="12">')]
    assert [cell.split("<")[0] for cell in eleven.split("<td>")[1:]] == ["2", "0", "0", "0", "0", "0", "0", "2"]
    assert "<th scope=\"col\">T2</th>" in table  # weekday headings in the page's language


def test_agents_may_not_look_and_bad_filters_are_refused(agent: Browser, manager: Browser) -> None:
    assert agent.client.get("/analytics/inbox").status_code == 403
    assert manager.client.get("/analytics/inbox?kind=tiki").status_code == 422
    assert manager.client.get("/analytics/inbox?from=2026-13-01").status_code == 422
    assert manager.client.get("/analytics/inbox").status_code == 200
    listed = manager.client.get("/analytics").text
    assert all(f'href="/analytics/{key}"' in listed for key in ("inbox", "journeys", "stock", "schedules"))


def test_the_hours_download_follows_the_pages_channel(session: Session, manager: Browser) -> None:
    inbox_data.build(session)
    week = "from=2026-03-02&to=2026-03-08"
    page = manager.client.get(f"/analytics/inbox?{week}&kind=zalo")
    assert "/analytics/inbox/export/hours.csv?kind=zalo&amp;from=2026-03-02" in page.text

    def totals(query: str) -> int:
        answer = manager.client.get(f"/analytics/inbox/export/hours.csv?{query}")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8").lstrip("\ufeff"))))
        return sum(int(row[-1]) for row in rows[1:])

    assert (totals(week), totals(f"{week}&kind=zalo")) == (4, 2)  # all four customer messages, two on Zalo
    assert manager.client.get(f"/analytics/inbox/export/hours.csv?{week}&kind=tiki").status_code == 422


def test_durations_are_written_in_the_pages_language() -> None:
    with activated("vi", "Asia/Ho_Chi_Minh"):
        vietnamese = [inbox.duration_text(value) for value in (40, 12 * 60, 3900, None)]
    with activated("en", "Asia/Ho_Chi_Minh"):
        english = [inbox.duration_text(value) for value in (40, 12 * 60, 3900, None)]
    assert vietnamese == ["40 giây", "12 phút", "1 giờ 5 phút", "—"]
    assert english == ["40 s", "12 min", "1 h 5 min", "—"]
