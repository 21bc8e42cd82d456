"""Each kind of step and each journey rule: conditions on the customer and on the event, A/B splits, the holdout
and its lift, the messaging policy inside a send (quiet hours across midnight in the customer's zone, caps), the
filter checked before a send, coupons, tasks and notices for staff, signed webhooks, segment, broadcast and
date triggers."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.factories import make_user
from tests.fakes.server import serving
from tests.journeys.flows.conftest import (
    ACTOR,
    consent,
    customer,
    flow,
    live,
    run_worker,
    template,
    track,
    utc,
)
from xuyen.auth.models import Role
from xuyen.commerce.pricing import promotions
from xuyen.commerce.pricing.models import Coupon
from xuyen.customers.models import CustomerProfile
from xuyen.inbox.models import Channel, Message
from xuyen.journeys.flows import dates, service
from xuyen.journeys.flows import engine as journey_engine
from xuyen.journeys.flows.definition import DateTrigger
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, Journey, JourneyStep
from xuyen.journeys.flows.results import journey_results, node_stats
from xuyen.sales.tasks.models import Task
from xuyen.segments.service import create_segment

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

CART = {"type": "event", "event": "Checkout Started", "where": {}}
CART_EVENT = {"event": {"name": "Checkout Started", "properties": {"total": 2_500_000}}}


def _journey(session: Session, journey: Journey) -> Journey:
    session.expire_all()
    found = session.get(Journey, journey.id)
    assert found is not None
    return found


def _outcomes(session: Session, journey_id: int) -> list[tuple[str, str]]:
    return [(step.node, step.outcome) for step in session.scalars(
        select(JourneyStep).where(JourneyStep.journey_id == journey_id).order_by(JourneyStep.id))]


def test_a_condition_on_the_event_sends_big_carts_one_way(session: Session, engine: Engine) -> None:
    customer(session)
    journey = live(session, flow(CART, {
        "a": {"type": "condition", "event": {"property": "total", "op": "gte", "value": 2_000_000},
              "yes": "big", "no": None},
        "big": {"type": "update_profile", "traits": {"big_cart": True}, "next": None}}))
    track(session, event="Checkout Started", properties={"total": 2_500_000})
    track(session, phone="0987654321", event="Checkout Started", properties={"total": 300_000})
    run_worker(session, engine)
    assert sorted(_outcomes(session, journey.id)) == [("a", "no"), ("a", "yes"), ("big", "done")]


def test_a_condition_on_the_customer_reads_the_segment_rule(session: Session, engine: Engine) -> None:
    customer(session, traits={"city": "Hà Nội"})
    customer(session, phone="0987654321", email="binh@example.vn", traits={"city": "Đà Nẵng"})
    journey = live(session, flow(CART, {
        "a": {"type": "condition", "rule": {"all": [{"trait": "city", "op": "eq", "value": "Hà Nội"}]},
              "yes": None, "no": None}}))
    track(session, event="Checkout Started")
    track(session, phone="0987654321", event="Checkout Started")
    run_worker(session, engine)
    assert sorted(outcome for _, outcome in _outcomes(session, journey.id)) == ["no", "yes"]


def test_a_split_sends_each_customer_down_one_stable_branch_in_the_set_shares(session: Session) -> None:
    buckets = [journey_engine.in_holdout(journey_id=1, entry_key=f"1:{n}", percent=30) for n in range(2000)]
    assert 0.26 < sum(buckets) / len(buckets) < 0.34
    from xuyen.journeys.flows.steps import split_bucket

    assert split_bucket(enrolment_id=7, node_id="ab") == split_bucket(enrolment_id=7, node_id="ab")
    shares = [split_bucket(enrolment_id=n, node_id="ab") < 50 for n in range(2000)]
    assert 0.45 < sum(shares) / len(shares) < 0.55


def test_the_holdout_gets_nothing_and_the_lift_is_measured(session: Session, engine: Engine) -> None:
    journey = live(session, flow(CART, {"a": {"type": "update_profile", "traits": {"nudged": True}, "next": None}},
                                 holdout_percent=50, goal={"event": "Order Completed"}))
    phones = [f"09120000{n:02d}" for n in range(40)]
    profiles = {phone: track(session, phone=phone, event="Checkout Started") for phone in phones}
    run_worker(session, engine)
    rows = list(session.scalars(select(Enrolment).where(Enrolment.journey_id == journey.id)))
    held = [row for row in rows if row.holdout]
    treated = [row for row in rows if not row.holdout]
    assert held and treated and all(row.status == EnrolmentStatus.holdout for row in held)
    assert session.scalar(select(func.count()).select_from(JourneyStep)
                          .where(JourneyStep.enrolment_id.in_([row.id for row in held]))) == 0
    phone_of = {profile_id: phone for phone, profile_id in profiles.items()}
    for row in held[:1] + treated[:2]:
        track(session, phone=phone_of[row.profile_id], event="Order Completed", properties={"revenue": 400_000})
    run_worker(session, engine)
    results = journey_results(session, journey_id=journey.id)
    assert (results.holdout, results.treated) == (len(held), len(treated))
    assert (results.holdout_converted, results.treated_converted) == (1, 2)
    assert results.holdout_conversion_rate == pytest.approx(1 / len(held))
    assert results.treatment_conversion_rate == pytest.approx(2 / len(treated))
    expected = (2 / len(treated) - 1 / len(held)) / (1 / len(held))
    assert results.lift == pytest.approx(expected)


def test_marketing_waits_for_the_morning_in_the_customers_own_zone(session: Session, mailbox: Channel) -> None:
    lan = customer(session, traits={"timezone": "Asia/Tokyo"})
    consent(session, lan, "email")
    mail = template(session)
    journey = live(session, flow(CART, {"a": {"type": "send", "template_id": mail, "channel": "email",
                                              "next": None}}))
    [enrolment_id] = journey_engine.enrol(session, journey=_journey(session, journey), profile_ids=[lan],
                                          context=CART_EVENT)
    session.commit()
    # 23:30 in Tokyo (14:30 UTC) is past the sending hours: the send waits until 07:00 Tokyo time (22:00 UTC).
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0, now=utc("2026-12-06 14:30")) == \
        "deferred"
    session.commit()
    row = session.get(Enrolment, enrolment_id)
    assert row is not None and row.wake_at == utc("2026-12-06 22:00") and row.node == "a"
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=1, now=utc("2026-12-06 22:00")) == \
        "sent"
    session.commit()
    assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_capped_send_is_skipped_when_the_step_says_so(session: Session, mailbox: Channel) -> None:
    lan = customer(session)
    consent(session, lan, "email")
    mail = template(session)
    nodes = {f"s{n}": {"type": "send", "template_id": mail, "channel": "email", "on_cap": "skip",
                       "next": f"s{n + 1}" if n < 3 else None} for n in range(4)}
    journey = live(session, flow(CART, nodes, start="s0"))
    [enrolment_id] = journey_engine.enrol(session, journey=_journey(session, journey), profile_ids=[lan],
                                          context=CART_EVENT)
    session.commit()
    noon = utc("2026-12-06 05:00")  # 12:00 in Vietnam
    outcomes = []
    for visit in range(4):
        outcomes.append(journey_engine.run_step(session, enrolment_id=enrolment_id, visit=visit,
                                                now=noon + timedelta(minutes=visit)))
        session.commit()
    assert outcomes == ["sent", "sent", "sent", "skipped"]  # at most 3 advertising messages in 24 hours
    assert node_stats(session, journey_id=journey.id)["s3"]["skipped"] == 1


def test_the_filter_is_checked_again_before_a_send(session: Session, mailbox: Channel) -> None:
    lan = customer(session)
    consent(session, lan, "email")
    mail = template(session)
    journey = live(session, flow(CART, {"a": {"type": "send", "template_id": mail, "next": None}},
                                 filter={"all": [{"consent": {"channel": "sms", "purpose": "marketing"}}]}))
    [enrolment_id] = journey_engine.enrol(session, journey=_journey(session, journey), profile_ids=[lan],
                                          context=CART_EVENT)
    session.commit()
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0, now=utc("2026-12-06 05:00")) == \
        "filtered"
    session.commit()
    row = session.get(Enrolment, enrolment_id)
    assert row is not None and (row.status, row.exit_reason) == (EnrolmentStatus.exited, "filter")
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_coupon_step_issues_a_single_use_code_the_next_message_carries(session: Session, mailbox: Channel) -> None:
    lan = customer(session)
    consent(session, lan, "email")
    promotion = promotions.create_promotion(session, changes={"name": "Sinh nhật -10%", "kind": "percent",
                                                              "params": {"percent": 10}, "requires_coupon": True},
                                            actor=ACTOR)
    mail = template(session)
    journey = live(session, flow(CART, {"a": {"type": "coupon", "promotion_id": promotion.id, "next": "b"},
                                        "b": {"type": "send", "template_id": mail, "channel": "email",
                                              "next": None}}))
    [enrolment_id] = journey_engine.enrol(session, journey=_journey(session, journey), profile_ids=[lan],
                                          context=CART_EVENT)
    session.commit()
    for visit in range(2):
        journey_engine.run_step(session, enrolment_id=enrolment_id, visit=visit, now=utc("2026-12-06 05:00"))
        session.commit()
    [coupon] = session.scalars(select(Coupon).where(Coupon.promotion_id == promotion.id))
    assert (coupon.max_uses, coupon.per_customer_limit) == (1, 1)
    [message] = session.scalars(select(Message))
    assert f"Mã giảm giá: {coupon.code}" in message.meta["html"]


def test_tasks_and_notices_reach_the_branch_manager(session: Session, engine: Engine) -> None:
    manager_user = make_user(session, role=Role.manager, name="Lê Văn Quản", email="quan@shop.vn")
    customer(session)
    journey = live(session, flow(CART, {
        "a": {"type": "notify", "text": "Giỏ hàng lớn bị bỏ quên", "to": "store_manager", "next": "b"},
        "b": {"type": "task", "title": "Gọi lại cho khách", "kind": "call", "due_in": {"hours": 4},
              "assign": {"user_id": manager_user.id}, "next": None}}))
    track(session, event="Checkout Started", properties={"total": 5_000_000})
    run_worker(session, engine)
    tasks = list(session.scalars(select(Task).order_by(Task.id)))
    assert [(task.title, task.owner_id, task.kind.value) for task in tasks] == [
        ("Giỏ hàng lớn bị bỏ quên", manager_user.id, "follow_up"), ("Gọi lại cho khách", manager_user.id, "call")]
    assert tasks[0].remind_at is not None and tasks[0].remind_at <= tasks[0].created_at + timedelta(seconds=1)
    assert tasks[1].due_at - tasks[1].created_at == pytest.approx(timedelta(hours=4), abs=timedelta(minutes=1))
    assert tasks[0].created_by == f"journey:{journey.id}"


def test_a_webhook_step_posts_signed_json_with_an_idempotency_key(session: Session, engine: Engine) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, Any]:
        received.append((await request.body(), dict(request.headers)))
        return {"ok": True}

    customer(session)
    with serving(app) as base:
        journey = live(session, flow(CART, {"a": {"type": "webhook", "url": f"{base}/hook", "next": None}}))
        track(session, event="Checkout Started", properties={"total": 99_000})
        run_worker(session, engine)
    [(body, headers)] = received
    secret = _journey(session, journey).secret
    assert headers["x-xuyen-signature"] == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["journey"]["id"] == journey.id and payload["context"]["event"]["properties"]["total"] == 99_000
    assert headers["idempotency-key"].startswith("journey-")


def test_a_segment_entry_and_a_broadcast_enrol_their_members(session: Session, engine: Engine) -> None:
    lan = track(session, event="Product Added")
    segment = create_segment(session, name="Giỏ hàng", definition={"all": [{"did": "Product Added", "days": 7}]},
                             actor=ACTOR)
    run_worker(session, engine)
    entered = live(session, flow({"type": "segment_entered", "segment_id": segment.id},
                                 {"a": {"type": "exit"}}))
    broadcast = live(session, flow({"type": "broadcast", "segment_id": segment.id}, {"a": {"type": "exit"}}))
    binh = track(session, phone="0987654321", event="Product Added")
    run_worker(session, engine)
    assert [row.profile_id for row in session.scalars(select(Enrolment).where(
        Enrolment.journey_id == entered.id))] == [binh]  # lan was in before the journey went live
    service.start_broadcast(session, journey_id=broadcast.id, actor=ACTOR)
    run_worker(session, engine)
    assert sorted(row.profile_id for row in session.scalars(select(Enrolment).where(
        Enrolment.journey_id == broadcast.id))) == sorted([lan, binh])
    service.start_broadcast(session, journey_id=broadcast.id, actor=ACTOR)
    run_worker(session, engine)
    assert session.scalar(select(func.count()).select_from(Enrolment)
                          .where(Enrolment.journey_id == broadcast.id)) == 2  # once per customer


def test_a_birthday_is_due_on_the_day_at_the_hour_in_the_customers_zone() -> None:
    trigger = DateTrigger(type="date", trait="birthday", offset_days=0, at="09:00")
    # 02:00 UTC on 6 December is 09:00 in Vietnam: due; 01:59 UTC is not yet.
    assert dates.is_due(month_day=(12, 6), trigger=trigger, now=utc("2026-12-06 02:00"),
                        timezone="Asia/Ho_Chi_Minh") == "2026"
    assert dates.is_due(month_day=(12, 6), trigger=trigger, now=utc("2026-12-06 01:59"),
                        timezone="Asia/Ho_Chi_Minh") is None
    # 23:30 UTC on 5 December is already 6 December 08:30 in Tokyo: not yet; an hour later it is.
    assert dates.is_due(month_day=(12, 6), trigger=trigger, now=utc("2026-12-05 23:30"),
                        timezone="Asia/Tokyo") is None
    assert dates.is_due(month_day=(12, 6), trigger=trigger, now=utc("2026-12-06 00:30"),
                        timezone="Asia/Tokyo") == "2026"
    three_before = DateTrigger(type="date", trait="birthday", offset_days=-3, at="09:00")
    assert dates.is_due(month_day=(1, 2), trigger=three_before, now=utc("2026-12-30 03:00"),
                        timezone="Asia/Ho_Chi_Minh") == "2027"
    assert dates.is_due(month_day=(2, 29), trigger=trigger, now=utc("2027-02-28 03:00"),
                        timezone="Asia/Ho_Chi_Minh") == "2027"


def test_the_date_trigger_enters_each_birthday_once_a_year(session: Session) -> None:
    from datetime import date

    lan = customer(session)
    row = session.get(CustomerProfile, lan)
    assert row is not None
    row.birth_date = date(1992, 12, 6)
    session.commit()
    journey = live(session, flow({"type": "date", "trait": "birthday", "at": "09:00"}, {"a": {"type": "exit"}}))
    assert dates.enter_due(session, now=utc("2026-12-06 01:00")) == 0
    assert dates.enter_due(session, now=utc("2026-12-06 03:00")) == 1
    assert dates.enter_due(session, now=utc("2026-12-06 05:00")) == 0
    session.commit()
    [enrolment] = session.scalars(select(Enrolment).where(Enrolment.journey_id == journey.id))
    assert enrolment.entry_key.endswith(":2026")


ZNS_ORDER = {"zns": {"template_id": "231677", "params": [
    {"name": "customer_name", "value": "{{ profile.name }}", "max_length": 30},
    {"name": "order_code", "value": "{{ event.properties.order_id }}", "max_length": 30}]},
    "zalo_oa": {"text": "Đơn {{ event.properties.order_id }} đang được giao."}}


def test_zalo_takes_a_zns_template_by_phone_when_the_reply_window_is_closed(session: Session) -> None:
    from tests.journeys.policy.conftest import connected, wrote
    from xuyen.journeys.policy.service import decide

    lan = customer(session)
    zalo = connected(session, "zalo")
    wrote(session, lan, zalo, at=utc("2026-11-01 08:00"))  # a month ago: the 7-day window is closed
    now = utc("2026-12-06 05:00")
    closed = decide(session, profile_id=lan, purpose="transactional", at=now, channel="zalo")
    assert (closed.action, closed.code) == ("skip", "reply_window_closed")
    templated = decide(session, profile_id=lan, purpose="transactional", at=now, channel="zalo", templated=("zalo",))
    assert templated.action == "send"
    [route] = templated.routes
    assert (route.address_type, route.address, route.template_only) == ("phone", "+84912345678", True)

    mail = template(session, purpose="transactional", variants=ZNS_ORDER)
    journey = live(session, flow({"type": "event", "event": "Order Shipped"},
                                 {"a": {"type": "send", "template_id": mail, "purpose": "transactional",
                                        "channel": "zalo", "next": None}}))
    [enrolment_id] = journey_engine.enrol(session, journey=_journey(session, journey), profile_ids=[lan],
                                          context={"event": {"name": "Order Shipped",
                                                             "properties": {"order_id": "DH1024"}}})
    session.commit()
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0, now=now) == "sent"
    session.commit()
    [message] = session.scalars(select(Message))
    assert message.channel_id == zalo.id and message.text.startswith("[ZNS 231677]")
    assert message.meta["template"] == {"name": "231677", "language": None,
                                        "parameters": {"customer_name": "Nguyễn Thị Lan", "order_code": "DH1024"}}
