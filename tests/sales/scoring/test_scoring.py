"""Scoring leads: behaviour points for the customer's events (with property conditions and caps), fit points for
what the lead is (its columns, traits, custom fields), decay over time, and every change announced in the outbox
and the event log, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.sales.scoring.conftest import (
    add_rule,
    capture,
    lead_of,
    logged_changes,
    run_worker,
    score_events,
    track,
)
from xuyen.clock import to_local, utcnow
from xuyen.customers.timeline import read_timeline
from xuyen.errors import ValidationFailed
from xuyen.fields import service as fields
from xuyen.identity.graph import find_profile, merge
from xuyen.jobs import handler_for, periodic_specs
from xuyen.sales.scoring import rules, service
from xuyen.sales.scoring.handlers import DECAY_JOB
from xuyen.sales.scoring.models import CapPeriod, RuleKind


def _three_moments_of_this_local_day() -> list[datetime]:
    """Three moments of the last half hour that fall on the shop's current calendar day (Hà Nội), whatever the time."""
    now = utcnow()
    local_midnight = to_local(now, "Asia/Ho_Chi_Minh").replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(now - timedelta(minutes=30), local_midnight.astimezone(UTC))
    return [start + (now - start) * share for share in (0.0, 0.3, 0.6)]


def test_events_give_points_up_to_the_cap_and_the_change_is_announced(session: Session, engine: Engine) -> None:
    add_rule(session, kind=RuleKind.behaviour, name="Xem sản phẩm", points=3, event="Product Viewed",
             cap_points=6, cap_period=CapPeriod.day)
    lead = capture(session, phone="0912000001", name="Nguyễn Thị Lan")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 0
    for at in _three_moments_of_this_local_day():
        track(session, phone="0912000001", event="Product Viewed", at=at, properties={"product_id": "ao-dai-lua"})
    run_worker(session, engine)
    scored = lead_of(session, lead.id)
    assert scored.score == 6
    assert scored.score_parts["behaviour"][0]["events"] == 2  # the third view is over the day's cap
    assert [item["event"] for item in scored.score_parts["recent"]] == ["Product Viewed", "Product Viewed"]
    assert score_events(session) == [{"lead_id": lead.id, "profile_id": lead.profile_id, "score": 6,
                                      "previous_score": 0, "reason": "activity"}]
    [logged] = logged_changes(session)
    assert logged.profile_id == lead.profile_id
    assert (logged.properties["score"], logged.properties["previous_score"]) == (6, 0)
    titles = [item.title for item in read_timeline(session, profile_ids=[lead.profile_id], cursor=None,
                                                   limit=20).items]
    assert "Lead Score Changed" in titles
    run_worker(session, engine)  # the change's own event scores nothing again
    assert len(score_events(session)) == 1


def test_cap_windows_follow_the_shops_calendar_days(session: Session, engine: Engine) -> None:
    rule = add_rule(session, kind=RuleKind.behaviour, name="Xem sản phẩm", points=5, event="Product Viewed",
                    cap_points=5, cap_period=CapPeriod.day)
    lead = capture(session, phone="0912000002")
    # 16:30 and 17:30 UTC are the evening of one day and the small hours of the next in Hà Nội (UTC+7).
    today = utcnow().replace(hour=16, minute=30, second=0, microsecond=0) - timedelta(days=2)
    track(session, phone="0912000002", event="Product Viewed", at=today)
    track(session, phone="0912000002", event="Product Viewed", at=today + timedelta(minutes=20))
    track(session, phone="0912000002", event="Product Viewed", at=today + timedelta(hours=1))
    run_worker(session, engine)
    parts = lead_of(session, lead.id).score_parts
    assert [part["events"] for part in parts["behaviour"] if part["rule_id"] == rule.id] == [2]


def test_a_property_condition_picks_the_events(session: Session, engine: Engine) -> None:
    add_rule(session, kind=RuleKind.behaviour, name="Đến cửa hàng", points=25, event="Lead Captured",
             property_key="source", property_value="store_visit")
    add_rule(session, kind=RuleKind.behaviour, name="Xem trang", points=1, event=rules.PAGE_VIEWED)
    online = capture(session, phone="0912000003")
    in_store = capture(session, phone="0912000004", source="store_visit")
    track(session, phone="0912000003", event="Bảng giá", at=utcnow() - timedelta(minutes=1), page=True)
    run_worker(session, engine)
    assert (lead_of(session, online.id).score, lead_of(session, in_store.id).score) == (1, 25)


def test_fit_rules_read_the_lead_its_traits_and_custom_fields(session: Session, engine: Engine) -> None:
    fields.define_field(session, entity="lead", label_vi="Ngân sách", kind="number", key="budget", actor="user:1")
    add_rule(session, kind=RuleKind.fit, name="Hà Nội", points=10, attribute="province", op="any_of",
             value="Hà Nội, Hồ Chí Minh")
    add_rule(session, kind=RuleKind.fit, name="Có e-mail", points=5, attribute="email", op="is_set", value="yes")
    add_rule(session, kind=RuleKind.fit, name="Ngân sách lớn", points=20, attribute="field.lead.budget",
             op="between", value="10.000.000..")
    add_rule(session, kind=RuleKind.fit, name="Nhãn VIP", points=7, attribute="label", op="equals", value="vip")
    rich = capture(session, phone="0912000005", province="ha noi", email="lan@shop.vn", labels=["VIP"])
    plain = capture(session, phone="0912000006", province="Đà Nẵng")
    fields.set_values(session, entity="lead", entity_id=rich.id, values={"budget": "15.000.000"}, form=True,
                      actor="user:1")
    fields.set_values(session, entity="lead", entity_id=plain.id, values={"budget": "2.000.000"}, form=True,
                      actor="user:1")
    service.score_all(session, reason="rules")
    session.commit()
    rich, plain = lead_of(session, rich.id), lead_of(session, plain.id)
    assert (rich.score, plain.score) == (42, 0)
    assert {part["name"] for part in rich.score_parts["fit"]} == {"Hà Nội", "Có e-mail", "Ngân sách lớn",
                                                                  "Nhãn VIP"}


def test_a_changed_custom_field_scores_the_lead_again_in_the_background(session: Session, engine: Engine) -> None:
    fields.define_field(session, entity="lead", label_vi="Ngân sách", kind="number", key="budget", actor="user:1")
    fields.define_field(session, entity="customer", label_vi="Hạng thẻ cũ", kind="text", key="old_card",
                        actor="user:1")
    add_rule(session, kind=RuleKind.fit, name="Ngân sách lớn", points=20, attribute="field.lead.budget",
             op="between", value="10.000.000..")
    add_rule(session, kind=RuleKind.fit, name="Có thẻ cũ", points=5, attribute="field.customer.old_card",
             op="is_set", value="yes")
    lead = capture(session, phone="0912000014")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 0
    fields.set_values(session, entity="lead", entity_id=lead.id, values={"budget": "15.000.000"}, form=True,
                      actor="user:1")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 20
    fields.set_values(session, entity="customer", entity_id=lead.profile_id, values={"old_card": "Vàng"},
                      form=True, actor="user:1")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 25
    assert [change["reason"] for change in score_events(session)][-2:] == ["fields", "fields"]


def test_behaviour_points_halve_every_half_life_and_rescoring_is_idempotent(session: Session,
                                                                              engine: Engine) -> None:
    add_rule(session, kind=RuleKind.behaviour, name="Để lại thông tin", points=40, event="Lead Captured")
    lead = capture(session, phone="0912000007")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 40
    month_later = utcnow() + timedelta(days=30)
    assert service.score_all(session, reason="decay", now=month_later) == 1
    session.commit()
    assert lead_of(session, lead.id).score == 20
    announced = len(score_events(session))
    assert service.score_all(session, reason="decay", now=month_later) == 0  # the same moment again: no change
    session.commit()
    assert len(score_events(session)) == announced
    service.score_all(session, reason="decay", now=month_later + timedelta(days=2))  # 20 → 19: too small to log
    session.commit()
    assert lead_of(session, lead.id).score == 19
    assert [event.properties["score"] for event in logged_changes(session)] == [40, 20]
    assert score_events(session)[-1] == {"lead_id": lead.id, "profile_id": lead.profile_id, "score": 19,
                                              "previous_score": 20, "reason": "decay"}


def test_the_decay_job_is_registered_and_scores_every_lead(session: Session, engine: Engine) -> None:
    assert DECAY_JOB in {spec.name for spec in periodic_specs()}
    add_rule(session, kind=RuleKind.fit, name="Có số điện thoại", points=10, attribute="phone", op="is_set",
             value="yes")
    lead = capture(session, phone="0912000008")
    spec = handler_for(DECAY_JOB)
    assert spec is not None
    spec.func(session, {})
    session.commit()
    assert lead_of(session, lead.id).score == 10


def test_a_rule_change_scores_every_lead_again(session: Session, engine: Engine) -> None:
    rule = add_rule(session, kind=RuleKind.fit, name="Có số điện thoại", points=10, attribute="phone", op="is_set",
                    value="yes")
    lead = capture(session, phone="0912000009")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 10
    rules.update_rule(session, rule_id=rule.id, changes={"points": 15}, actor="user:1")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 15
    rules.delete_rule(session, rule_id=rule.id, actor="user:1")
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 0
    assert [payload["reason"] for payload in score_events(session)][-2:] == ["rules", "rules"]


@pytest.mark.parametrize(("values", "code"), [
    ({"kind": RuleKind.behaviour, "name": "", "points": 5, "event": "Product Viewed"}, "rule_name_missing"),
    ({"kind": RuleKind.behaviour, "name": "x", "points": 0, "event": "Product Viewed"}, "points_out_of_range"),
    ({"kind": RuleKind.behaviour, "name": "x", "points": 5000, "event": "Product Viewed"}, "points_out_of_range"),
    ({"kind": RuleKind.behaviour, "name": "x", "points": 5, "event": " "}, "event_missing"),
    ({"kind": RuleKind.behaviour, "name": "x", "points": 5, "event": "Lead Score Changed"}, "event_not_scorable"),
    ({"kind": RuleKind.behaviour, "name": "x", "points": 5, "event": "Product Viewed", "cap_points": 5},
     "cap_incomplete"),
    ({"kind": RuleKind.behaviour, "name": "x", "points": 5, "event": "Product Viewed", "property_value": "a"},
     "property_key_missing"),
    ({"kind": RuleKind.fit, "name": "x", "points": 5, "attribute": "shoe_size", "op": "equals", "value": "40"},
     "unknown_attribute"),
    ({"kind": RuleKind.fit, "name": "x", "points": 5, "attribute": "trait.a:b", "op": "equals", "value": "1"},
     "unknown_attribute"),
    ({"kind": RuleKind.fit, "name": "x", "points": 5, "attribute": "province", "op": "near", "value": "a"},
     "invalid_condition"),
    ({"kind": RuleKind.fit, "name": "x", "points": 5, "attribute": "field.lead.nothing", "op": "equals",
      "value": "1"}, "unknown_field"),
])
def test_rules_that_say_nothing_sensible_are_refused(session: Session, values: dict[str, object],
                                                     code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        add_rule(session, **values)
    assert refused.value.code == code
    session.rollback()
    assert rules.list_rules(session) == []


def test_a_merge_scores_the_survivors_lead_with_both_customers_events(session: Session, engine: Engine) -> None:
    add_rule(session, kind=RuleKind.behaviour, name="Xem sản phẩm", points=4, event="Product Viewed")
    lead = capture(session, phone="0912000010")
    track(session, phone="0912000011", event="Product Viewed", at=utcnow() - timedelta(minutes=5))
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 0
    absorbed = find_profile(session, type="phone", value="0912000011")
    assert absorbed is not None
    merge(session, survivor_id=lead.profile_id, absorbed_id=absorbed, reason="test", actor="user:1")
    session.commit()
    run_worker(session, engine)
    assert lead_of(session, lead.id).score == 4


def test_a_lead_not_yet_moved_to_the_survivor_is_scored_with_both_customers_events(session: Session,
                                                                                     engine: Engine) -> None:
    add_rule(session, kind=RuleKind.behaviour, name="Xem sản phẩm", points=4, event="Product Viewed")
    lead = capture(session, phone="0912000012")
    track(session, phone="0912000013", event="Product Viewed", at=utcnow() - timedelta(minutes=5))
    run_worker(session, engine)
    survivor = find_profile(session, type="phone", value="0912000013")
    assert survivor is not None and lead_of(session, lead.id).score == 0
    merge(session, survivor_id=survivor, absorbed_id=lead.profile_id, reason="test", actor="user:1")
    session.commit()
    # Scored before the leads' own handler moves the lead to the survivor: the merged customer's events count.
    assert [change.score for change in service.score_profiles(session, profile_ids=[survivor], reason="merge")] == [4]
    session.commit()
    run_worker(session, engine)
    moved = lead_of(session, lead.id)
    assert (moved.profile_id, moved.score) == (survivor, 4)
