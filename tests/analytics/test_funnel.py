"""The customer-journey funnel on a small known data set: counts, drop-offs, channels and channel moves by hand;
the stage rules edited by a manager (valid, refused with nothing saved); who may see it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import api_client
from tests.analytics.journey_data import MARCH, Shop, at
from tests.api_client import Browser
from xuyen.analytics import funnel, funnel_rules
from xuyen.analytics.filters import Filters
from xuyen.analytics.funnel_models import FunnelStageRule
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import ValidationFailed

agent, manager = api_client.agent, api_client.manager

A, B, C, D, E, F = "0901000001", "0901000002", "0901000003", "0901000004", "0901000005", "0901000006"


@pytest.fixture
def journeys(session: Session) -> Shop:
    """Six customers:

    A: web page (2/3), Product Viewed + Product Added on web (3/3), first order at the till 1,200,000 (5/3, not a
       trial: 500,000 or more), a 5-star review on web (10/3)            → furthest advocacy
    B: an order at the till in February (300,000), Product Viewed in the app (7/3), a second order on Shopee
       (8/3, 400,000: not a trial, it is not the first)                  → furthest repurchase
    C: first Zalo message (4/3), Product Viewed on web (6/3)            → furthest consideration
    D: a web page (12/3)                                                 → furthest awareness
    E: first order on web, 300,000 (20/3): trial and purchase            → furthest purchase
    F: Product Viewed on web in February only                            → not in March's funnel
    """
    shop = Shop(session)
    shop.page("web", at(2), phone=A)
    shop.record("web", at(3), "Product Viewed", phone=A, sku="AD-01")
    shop.record("web", at(3, 4), "Product Added", phone=A, sku="AD-01")
    shop.record("pos", at(5), "Order Completed", phone=A, total=1_200_000)
    shop.record("web", at(10), "Product Reviewed", phone=A, rating=5)
    shop.record("pos", at(10, month=2), "Order Completed", phone=B, total=300_000)
    shop.record("app", at(7), "Product Viewed", phone=B)
    shop.record("shopee", at(8), "Order Completed", phone=B, total=400_000)
    shop.record("zalo", at(4), "Message Received", phone=C)
    shop.record("web", at(6), "Product Viewed", phone=C)
    shop.page("web", at(12), phone=D)
    shop.record("web", at(20), "Order Completed", phone=E, total=300_000)
    shop.record("web", at(20, month=2), "Product Viewed", phone=F)
    return shop


def _by_stage(result: funnel.Funnel, attribute: str) -> list[object]:
    return [getattr(stage, attribute) for stage in result.stages]


def test_customers_count_in_their_furthest_stage_and_every_stage_before(session: Session, journeys: Shop) -> None:
    result = funnel.compute(session, filters=MARCH)
    # Furthest stages: A advocacy (6), B repurchase (7), C consideration (1), D awareness (0), E purchase (4).
    assert result.customers == 5
    assert _by_stage(result, "customers") == [5, 4, 3, 3, 3, 2, 2, 1]
    assert _by_stage(result, "dropped") == [1, 1, 0, 0, 1, 0, 1, 1]
    assert _by_stage(result, "furthest") == [1, 1, 0, 0, 1, 0, 1, 1]
    # Who did each stage's own events: awareness A, C, D; consideration A, B, C; evaluation A; trial E;
    # purchase A, B, E; use A (the review); advocacy A (5 stars); repurchase B.
    assert _by_stage(result, "reached") == [3, 3, 1, 1, 3, 1, 1, 1]
    assert [round(value, 4) if value is not None else None for value in _by_stage(result, "conversion")] == [
        0.8, 0.75, 1.0, 1.0, round(2 / 3, 4), 1.0, 0.5, None]
    stages = {stage.key: stage for stage in result.stages}
    assert stages["awareness"].channels == {"web": 2, "zalo": 1}
    assert stages["consideration"].channels == {"web": 2, "app": 1}
    assert stages["purchase"].channels == {"pos": 1, "shopee": 1, "web": 1}


def test_channel_moves_between_consecutive_stages(session: Session, journeys: Shop) -> None:
    result = funnel.compute(session, filters=MARCH)
    moves = {(m.from_stage, m.from_channel, m.to_channel): m.customers for m in result.moves}
    # A: awareness web → consideration web → evaluation web; purchase pos → use web → advocacy web.
    # C: awareness zalo → consideration web.  E: trial web → purchase web.  B reached no two stages in a row.
    assert moves == {("awareness", "web", "web"): 1, ("awareness", "zalo", "web"): 1,
                     ("consideration", "web", "web"): 1, ("trial", "web", "web"): 1, ("purchase", "pos", "web"): 1,
                     ("use", "web", "web"): 1}
    assert result.cross_channel_moves == 2
    rows, columns, matrix = funnel.channel_matrix(result)
    assert (rows, columns) == (["pos", "web", "zalo"], ["web"])
    assert matrix == {("web", "web"): 4, ("zalo", "web"): 1, ("pos", "web"): 1}


def test_a_channel_filter_counts_only_that_channels_events(session: Session, journeys: Shop) -> None:
    web = Filters(first=MARCH.first, last=MARCH.last, channel=SalesChannel.web, timezone=MARCH.timezone)
    result = funnel.compute(session, filters=web)
    # On the website alone: A reaches advocacy (the review), C consideration, D awareness, E purchase; B has
    # nothing on the website.
    assert _by_stage(result, "customers") == [4, 3, 2, 2, 2, 1, 1, 0]


def test_a_merged_customer_counts_once(session: Session, journeys: Shop) -> None:
    from xuyen.identity.graph import merge

    other = journeys.record("web", at(25), "Product Added", email="d@luamay.vn")
    survivor = journeys.page("web", at(26), phone=D)
    merge(session, survivor_id=survivor, absorbed_id=other, actor="test", reason="the same person")
    session.commit()
    result = funnel.compute(session, filters=MARCH)
    # D's page and the absorbed profile's Product Added are one customer, whose furthest stage is now evaluation:
    # consideration counts A, B, C, D, E; evaluation A, B, D, E.
    assert result.customers == 5
    assert _by_stage(result, "customers")[:3] == [5, 5, 4]


def test_rules_are_checked_whole(session: Session) -> None:
    rules = funnel_rules.rules_document(funnel_rules.load_stages(session))
    rules["trial"] = [{"event": "Trial Started", "nth": 0}]
    rules["use"] = [{"type": "click"}]
    rules["advocacy"] = [{"event": "Product Shared", "after": "repurchase"}]
    rules["loyalty"] = [{"event": "Points Earned"}]
    with pytest.raises(ValidationFailed) as refused:
        funnel_rules.parse_rules(rules)
    assert refused.value.code == "invalid_funnel_rules"
    assert set(refused.value.details["problems"]) == {"trial[0]", "use[0]", "advocacy[0]", "loyalty"}


def test_a_manager_edits_the_stage_rules(session: Session, journeys: Shop, manager: Browser) -> None:
    page = manager.client.get("/analytics/funnel?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200 and 'data-chart="funnel-stages"' in page.text
    rules = funnel_rules.rules_document(funnel_rules.load_stages(session))
    rules["purchase"] = [{"event": "Order Completed", "where": {"total": {"gte": 1_000_000}}}]
    saved = manager.client.post("/analytics/funnel/rules", data={"csrf_token": manager.csrf,
                                                                 "rules": json.dumps(rules)},
                                follow_redirects=False)
    assert saved.status_code == 303
    session.rollback()
    result = funnel.compute(session, filters=MARCH)
    # Purchase now needs 1,000,000 or more: only A's order. E (300,000) stops at trial; B still repurchases.
    assert [stage.reached for stage in result.stages][4] == 1
    assert session.scalar(select(func.count()).select_from(FunnelStageRule)) == 8


def test_a_wrong_rule_saves_nothing_and_says_why(session: Session, manager: Browser) -> None:
    rules = funnel_rules.rules_document(funnel_rules.load_stages(session))
    rules["repurchase"] = [{"event": "Order Completed", "nth": "second"}]
    refused = manager.client.post("/analytics/funnel/rules", data={"csrf_token": manager.csrf,
                                                                   "rules": json.dumps(rules)})
    assert refused.status_code == 422 and "data-rules-error" in refused.text and "repurchase[0]" in refused.text
    not_json = manager.client.post("/analytics/funnel/rules", data={"csrf_token": manager.csrf, "rules": "{"})
    assert not_json.status_code == 422 and "data-rules-error" in not_json.text
    forged = manager.client.post("/analytics/funnel/rules", data={"csrf_token": "wrong", "rules": json.dumps(rules)})
    assert forged.status_code == 403
    session.rollback()
    assert session.scalar(select(func.count()).select_from(FunnelStageRule)) == 0


def test_only_managers_see_the_funnel(agent: Browser, manager: Browser) -> None:
    assert agent.client.get("/analytics/funnel").status_code == 403
    assert agent.client.post("/analytics/funnel/rules", data={"csrf_token": agent.csrf, "rules": "{}"}).status_code \
        == 403
    assert manager.client.get("/analytics/funnel?from=2026-13-01").status_code == 422
    listed = manager.client.get("/analytics").text
    assert all(href in listed for href in ('"/analytics/funnel"', '"/analytics/attribution"', '"/analytics/readiness"'))
    stages = manager.client.get("/analytics/funnel/export/stages.csv?from=2026-03-01&to=2026-03-31")
    assert stages.status_code == 200 and stages.content.decode("utf-8").count("\r\n") == 9
