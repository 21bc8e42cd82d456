"""The scores in use: segment rules on RFM groups and predictions (on SQLite and PostgreSQL, read out in both
languages), the customer 360 panel, the dashboard with its downloads, and who may see it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests import api_client
from tests.api_client import Browser
from tests.segments.conftest import run_worker, track
from xuyen.analytics.value_models import CustomerScore, ValueModelFit
from xuyen.clock import utcnow
from xuyen.errors import ValidationFailed
from xuyen.segments.compile import members_query
from xuyen.segments.rules import parse_rule
from xuyen.segments.text import describe

agent, manager = api_client.agent, api_client.manager


def _score(profile_id: int, group: str, *, r: int, f: int, value: int | None, alive: float | None,
           expected: float | None, spend: int = 500_000) -> CustomerScore:
    return CustomerScore(profile_id=profile_id, as_of=date(2026, 3, 31), recency_days=5, frequency=f, monetary=spend,
                         r_score=r, f_score=f, m_score=3, fm_score=3, rfm_group=group, expected_purchases=expected,
                         probability_alive=alive, predicted_value=value, horizon_days=90, computed_at=utcnow())


@pytest.fixture
def scored(session: Session, engine: Engine) -> dict[str, int]:
    """Four customers: three scored (a champion, a loyal one, one at risk without a prediction), one never bought."""
    people = {name: track(session, phone=f"09130000{index:02d}", traits={"name": name})
              for index, name in enumerate(("lan", "minh", "hoa", "tuan"), start=1)}
    run_worker(session, engine)
    session.add_all([
        _score(people["lan"], "champions", r=5, f=5, value=2_500_000, alive=0.92, expected=3.4, spend=4_000_000),
        _score(people["minh"], "loyal", r=4, f=4, value=800_000, alive=0.61, expected=1.2),
        _score(people["hoa"], "at_risk", r=1, f=3, value=None, alive=None, expected=None, spend=300_000),
        ValueModelFit(fitted_at=datetime(2026, 3, 31, 17, 5, tzinfo=UTC), as_of=date(2026, 3, 31), status="fitted",
                      customers=3, repeaters=2, horizon_days=90, r=0.5, alpha=30.0, a=0.8, b=3.0,
                      spend_model="gamma_gamma", p=3.0, q=4.0, gamma=50_000.0, log_likelihood=-10.0),
    ])
    session.commit()
    return people


def _members(session: Session, people: dict[str, int], definition: dict[str, Any]) -> set[str]:
    found = set(session.scalars(members_query(session, rule=parse_rule(definition), now=utcnow())))
    return {name for name, profile_id in people.items() if profile_id in found}


def test_segments_by_rfm_group_and_prediction(session: Session, scored: dict[str, int]) -> None:
    assert _members(session, scored, {"all": [{"rfm": ["champions", "loyal"]}]}) == {"lan", "minh"}
    assert _members(session, scored, {"all": [{"rfm": ["at_risk"]}]}) == {"hoa"}
    assert _members(session, scored, {"all": [{"predicted": {"value": {"gte": 1_000_000}}}]}) == {"lan"}
    assert _members(session, scored, {"all": [{"predicted": {"value": {"lt": 1_000_000}}}]}) == {"minh"}  # no hoa
    assert _members(session, scored, {"all": [{"predicted": {"probability_alive": {"gte": 0.5, "lt": 0.9}}}]}) == {
        "minh"}
    assert _members(session, scored, {"all": [{"predicted": {"expected_purchases": {"gt": 1},
                                                             "value": {"lte": 3_000_000}}}]}) == {"lan", "minh"}
    assert _members(session, scored, {"any": [{"rfm": ["lost"]}, {"predicted": {"value": {"gt": 0}}}]}) == {
        "lan", "minh"}


def test_the_rules_read_out_and_refuse_unknown_groups() -> None:
    rule = parse_rule({"all": [{"rfm": ["champions", "at_risk"]}, {"predicted": {"value": {"gte": 1000000}}}]})
    assert describe(rule) == ("Nhóm RFM là “Khách hàng xuất sắc” hoặc “Có nguy cơ rời bỏ” VÀ Giá trị dự đoán ít nhất "
                              "1.000.000 ₫")
    assert describe(rule, language="en") == ("RFM group is “Champions” or “At risk” AND Predicted value at least "
                                             "1,000,000 ₫")
    alive = parse_rule({"all": [{"predicted": {"probability_alive": {"gte": 0.75}}}]})
    assert describe(alive, language="en") == "Probability still active at least 0.75"
    for wrong, path in (({"rfm": ["vip"]}, "all[0].rfm"), ({"rfm": []}, "all[0].rfm"),
                        ({"predicted": {"value": {}}}, "all[0].predicted"),
                        ({"predicted": {"probability_alive": {"gt": 2}}}, "all[0].predicted"),
                        ({"predicted": {"value": {"eq": 5}}}, "all[0].predicted.value.eq.[key]")):
        with pytest.raises(ValidationFailed) as raised:
            parse_rule({"all": [wrong]})
        assert path in raised.value.details["errors"], raised.value.details


def test_the_customer_page_shows_the_customers_value(session: Session, scored: dict[str, int],
                                                     manager: Browser) -> None:
    page = manager.client.get(f"/customers/{scored['lan']}").text
    assert 'id="customer-value"' in page and 'data-rfm-group="champions"' in page
    assert 'data-rfm-scores="553"' in page and 'data-value="2500000"' in page and 'data-value="0.92"' in page
    assert 'id="customer-value"' not in manager.client.get(f"/customers/{scored['tuan']}").text


def test_the_dashboard_and_its_downloads(session: Session, scored: dict[str, int], manager: Browser,
                                         agent: Browser) -> None:
    page = manager.client.get("/analytics/customers-value")
    assert page.status_code == 200
    assert 'data-label="Khách hàng xuất sắc" data-value="1"' in page.text
    assert 'data-row="R5" data-column="F5" data-value="1.0"' in page.text
    assert 'data-kpi="predicted-value" data-value="3300000"' in page.text
    tile = page.text[page.text.index('data-kpi="expected-purchases"'):]
    purchases = float(tile.split('data-value="', 1)[1].split('"', 1)[0])
    shown = tile.split('<strong class="kpi__value">', 1)[1].split("<", 1)[0]
    assert shown == f"{round(purchases, 3):g}".replace(".", ",")  # written as Vietnamese writes numbers
    assert "r = 0.5000" in page.text
    assert "/analytics/customers-value" in manager.client.get("/analytics").text
    groups = manager.client.get("/analytics/value/export/groups.csv").content.decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(groups)))
    assert rows[0] == ["Nhóm", "Khách hàng", "Doanh thu"] and ["Khách hàng xuất sắc", "1", "4000000"] in rows
    customers = manager.client.get("/analytics/value/export/customers.csv").content.decode("utf-8").lstrip("\ufeff")
    first = list(csv.reader(io.StringIO(customers)))[1]
    assert first[0] == str(scored["lan"]) and first[-1] == "2500000"
    assert agent.client.get("/analytics/customers-value").status_code == 403
