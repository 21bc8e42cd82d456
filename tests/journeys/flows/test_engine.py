"""The engine end to end: customers enter on events, move step by step as the worker runs their jobs, receive
their message once through a real SMTP server, leave at the goal even in the middle of a delay, and stay on the
version they entered when the journey is edited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.channels.test_email import SmtpServer
from tests.journeys.flows.conftest import (
    ACTOR,
    arrived_to,
    body_of,
    consent,
    customer,
    flow,
    live,
    run_worker,
    template,
    time_passes,
    track,
)
from xuyen.clock import utcnow
from xuyen.inbox.models import Channel, Conversation, ConversationStatus, Message, MessageState
from xuyen.journeys.flows import engine as journey_engine
from xuyen.journeys.flows import service
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, JourneySend, JourneyStep
from xuyen.journeys.flows.results import channel_stats, journey_results, node_stats
from xuyen.journeys.policy import settings
from xuyen.journeys.policy.models import PolicySend
from xuyen.journeys.policy.settings import Cap, PolicyConfig

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

CART = {"type": "event", "event": "Checkout Started", "where": {}}
EMAIL_TO = "lan@example.vn"
CART_EVENT = {"event": {"name": "Checkout Started", "properties": {"total": 350000}}}


def _enrolments(session: Session, journey_id: int) -> list[Enrolment]:
    session.expire_all()
    return list(session.scalars(select(Enrolment).where(Enrolment.journey_id == journey_id).order_by(Enrolment.id)))


def test_a_customer_enters_on_the_event_gets_one_email_and_completes(session: Session, engine: Engine,
                                                                     smtp: SmtpServer, mailbox: Channel) -> None:
    lan = customer(session)
    mail = template(session, purpose="transactional")
    journey = live(session, flow(CART, {"a": {"type": "send", "template_id": mail, "purpose": "transactional",
                                              "next": "b"}, "b": {"type": "exit"}}))
    track(session, event="Checkout Started", properties={"total": 1250000})
    run_worker(session, engine)

    [enrolment] = _enrolments(session, journey.id)
    assert (enrolment.profile_id, enrolment.status, enrolment.exit_reason) == (lan, EnrolmentStatus.completed,
                                                                               "completed")
    [mail_in] = arrived_to(smtp, EMAIL_TO)
    assert mail_in["Subject"] == "Lan ơi, giỏ hàng của bạn còn chờ"
    assert "1.250.000 ₫" in body_of(mail_in)
    [send] = session.scalars(select(JourneySend))
    assert (send.channel, send.node, send.status) == ("email", "a", "sent")
    message = session.get(Message, send.message_id)
    assert message is not None and message.meta["journey_id"] == journey.id and message.state == MessageState.sent
    conversation = session.get(Conversation, message.conversation_id)
    assert conversation is not None and conversation.profile_id == lan
    assert conversation.status == ConversationStatus.resolved  # marketing does not crowd the agents' queue
    stats = node_stats(session, journey_id=journey.id)
    assert stats["a"]["entered"] == 1 and stats["a"]["sent"] == 1 and stats["b"]["entered"] == 1
    assert channel_stats(session, journey_id=journey.id)["email"]["sent"] == 1


def test_history_that_arrives_after_publication_enters_no_one(session: Session, engine: Engine) -> None:
    customer(session)
    journey = live(session, flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": None}}))
    track(session, event="Checkout Started", at=utcnow() - timedelta(days=30))  # an import of last month
    track(session, event="Checkout Started", at=utcnow() - timedelta(minutes=20))  # a client sending late
    run_worker(session, engine)
    [enrolment] = _enrolments(session, journey.id)
    assert enrolment.entered_at > utcnow() - timedelta(hours=1)


def test_the_same_event_twice_enters_once_under_the_once_policy(session: Session, engine: Engine) -> None:
    customer(session)
    journey = live(session, flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": None}}))
    track(session, event="Checkout Started")
    track(session, event="Checkout Started")
    run_worker(session, engine)
    assert len(_enrolments(session, journey.id)) == 1


def test_again_lets_a_customer_back_in_only_after_the_days_set(session: Session, engine: Engine) -> None:
    lan = customer(session)
    journey = live(session, flow(CART, {"a": {"type": "exit"}}, entry="again", reentry_days=7))
    found = session.get(type(journey), journey.id)
    assert found is not None
    first = journey_engine.enrol(session, journey=found, profile_ids=[lan])
    assert len(first) == 1
    assert journey_engine.enrol(session, journey=found, profile_ids=[lan]) == []  # still inside
    run_worker(session, engine)
    found = session.get(type(journey), journey.id)
    assert found is not None
    assert journey_engine.enrol(session, journey=found, profile_ids=[lan]) == []  # within the 7 days
    [row] = _enrolments(session, journey.id)
    assert row.status == EnrolmentStatus.completed
    row.entered_at -= timedelta(days=8)
    session.commit()
    assert len(journey_engine.enrol(session, journey=found, profile_ids=[lan])) == 1


def test_the_goal_ends_the_journey_in_the_middle_of_a_delay(session: Session, engine: Engine, smtp: SmtpServer,
                                                            mailbox: Channel) -> None:
    customer(session)
    mail = template(session, purpose="transactional")
    journey = live(session, flow(CART, {
        "a": {"type": "delay", "for": {"days": 1}, "next": "b"},
        "b": {"type": "send", "template_id": mail, "purpose": "transactional", "next": None}},
        goal={"event": "Order Completed"}))
    track(session, event="Checkout Started", properties={"total": 500000})
    run_worker(session, engine)
    [waiting] = _enrolments(session, journey.id)
    assert (waiting.status, waiting.node, waiting.wake_at is not None) == (EnrolmentStatus.active, "a", True)

    track(session, event="Order Completed", properties={"revenue": 480000})
    run_worker(session, engine)
    time_passes(session, timedelta(days=2))
    run_worker(session, engine)

    [done] = _enrolments(session, journey.id)
    assert (done.status, done.exit_reason, done.revenue) == (EnrolmentStatus.goal, "goal", 480000)
    assert done.converted_at is not None
    assert arrived_to(smtp, EMAIL_TO) == []
    results = journey_results(session, journey_id=journey.id)
    assert (results.enrolled, results.goal_reached, results.treated_converted) == (1, 1, 1)


def test_after_the_delay_the_message_goes(session: Session, engine: Engine, smtp: SmtpServer,
                                          mailbox: Channel) -> None:
    customer(session)
    mail = template(session, purpose="transactional")
    journey = live(session, flow(CART, {
        "a": {"type": "delay", "for": {"hours": 2}, "next": "b"},
        "b": {"type": "send", "template_id": mail, "purpose": "transactional", "next": None}}))
    track(session, event="Checkout Started", properties={"total": 500000})
    run_worker(session, engine)
    assert arrived_to(smtp, EMAIL_TO) == []
    time_passes(session, timedelta(hours=1))
    run_worker(session, engine)
    assert arrived_to(smtp, EMAIL_TO) == []  # an hour is not two
    time_passes(session, timedelta(hours=1, minutes=1))
    run_worker(session, engine)
    assert len(arrived_to(smtp, EMAIL_TO)) == 1
    [done] = _enrolments(session, journey.id)
    assert done.status == EnrolmentStatus.completed


def test_a_wait_takes_the_event_branch_or_the_timeout_branch(session: Session, engine: Engine) -> None:
    lan = customer(session)
    binh = customer(session, phone="0987654321", email="binh@example.vn")
    journey = live(session, flow(CART, {
        "a": {"type": "wait_event", "event": "Order Completed", "timeout": {"hours": 4}, "next": "bought",
              "timeout_next": "reminded"},
        "bought": {"type": "update_profile", "traits": {"cart_recovered": True}, "next": None},
        "reminded": {"type": "update_profile", "traits": {"cart_recovered": False}, "next": None}}))
    track(session, phone="0912345678", event="Checkout Started")
    track(session, phone="0987654321", event="Checkout Started")
    run_worker(session, engine)
    track(session, phone="0912345678", event="Order Completed", properties={"revenue": 300000})
    run_worker(session, engine)
    time_passes(session, timedelta(hours=5))
    run_worker(session, engine)

    outcomes = {row.profile_id: [step.node for step in session.scalars(
        select(JourneyStep).where(JourneyStep.enrolment_id == row.id).order_by(JourneyStep.visit))]
        for row in _enrolments(session, journey.id)}
    assert outcomes[lan] == ["a", "a", "bought"]
    assert outcomes[binh] == ["a", "a", "reminded"]
    timeout = session.scalar(select(JourneyStep.outcome).where(JourneyStep.node == "a",
                                                               JourneyStep.outcome == "timeout"))
    assert timeout == "timeout"


def test_a_step_job_run_twice_acts_once(session: Session, engine: Engine, mailbox: Channel) -> None:
    lan = customer(session)
    mail = template(session, purpose="transactional")
    journey = live(session, flow(CART, {"a": {"type": "send", "template_id": mail, "purpose": "transactional",
                                              "next": None}}))
    found = session.get(type(journey), journey.id)
    assert found is not None
    [enrolment_id] = journey_engine.enrol(session, journey=found, profile_ids=[lan], context=CART_EVENT)
    session.commit()
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0) == "sent"
    session.commit()
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0) is None
    session.commit()
    assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_step_whose_transaction_dies_leaves_nothing_and_runs_again(session: Session, engine: Engine,
                                                                     mailbox: Channel) -> None:
    lan = customer(session)
    mail = template(session, purpose="transactional")
    journey = live(session, flow(CART, {"a": {"type": "send", "template_id": mail, "purpose": "transactional",
                                              "next": None}}))
    found = session.get(type(journey), journey.id)
    assert found is not None
    [enrolment_id] = journey_engine.enrol(session, journey=found, profile_ids=[lan], context=CART_EVENT)
    session.commit()
    journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0)
    session.rollback()  # the worker died before committing
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert journey_engine.run_step(session, enrolment_id=enrolment_id, visit=0) == "sent"
    session.commit()
    assert session.scalar(select(func.count()).select_from(Message)) == 1
    assert session.scalar(select(func.count()).select_from(JourneySend)) == 1


def test_customers_inside_keep_their_version_when_the_journey_is_edited(session: Session, engine: Engine) -> None:
    customer(session)
    first = flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": "b"},
                        "b": {"type": "update_profile", "traits": {"journey_version": 1}, "next": None}})
    journey = live(session, first)
    track(session, event="Checkout Started")
    run_worker(session, engine)
    second = flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": "c"},
                         "c": {"type": "update_profile", "traits": {"journey_version": 2}, "next": None}})
    service.save_draft(session, journey_id=journey.id, definition=second, actor=ACTOR)
    assert service.publish(session, journey_id=journey.id, actor=ACTOR).number == 2
    time_passes(session, timedelta(hours=2))
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    nodes = list(session.scalars(select(JourneyStep.node).where(JourneyStep.enrolment_id == row.id)
                                 .order_by(JourneyStep.visit)))
    assert nodes == ["a", "a", "b"] and row.status == EnrolmentStatus.completed


def test_a_paused_journey_holds_its_customers_and_resume_moves_them_on(session: Session, engine: Engine) -> None:
    customer(session)
    journey = live(session, flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": "b"},
                                        "b": {"type": "exit"}}))
    track(session, event="Checkout Started")
    run_worker(session, engine)
    service.pause(session, journey_id=journey.id, actor=ACTOR)
    time_passes(session, timedelta(hours=2))
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    assert (row.status, row.node) == (EnrolmentStatus.active, "a")
    track(session, event="Checkout Started", phone="0987654321")
    run_worker(session, engine)
    assert len(_enrolments(session, journey.id)) == 1  # no entries while paused
    service.resume(session, journey_id=journey.id, actor=ACTOR)
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    assert row.status == EnrolmentStatus.completed


def test_archiving_ends_every_enrolment_inside(session: Session, engine: Engine) -> None:
    customer(session)
    journey = live(session, flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": None}}))
    track(session, event="Checkout Started")
    run_worker(session, engine)
    service.archive(session, journey_id=journey.id, actor=ACTOR)
    time_passes(session, timedelta(hours=2))
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    assert (row.status, row.exit_reason) == (EnrolmentStatus.exited, "archived")
    consent(session, row.profile_id, "email")



def test_an_erased_customer_leaves_every_journey_and_its_data_goes(session: Session, engine: Engine) -> None:
    from xuyen.customers.privacy import erase_person

    lan = customer(session)
    journey = live(session, flow(CART, {"a": {"type": "delay", "for": {"days": 1}, "next": None}}))
    track(session, event="Checkout Started", properties={"total": 990000, "email": "lan@example.vn"})
    run_worker(session, engine)
    erase_person(session, profile_id=lan, actor=ACTOR, reason="Khách yêu cầu xoá dữ liệu")
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    assert (row.status, row.exit_reason, row.context) == (EnrolmentStatus.exited, "erased", {})


def test_the_event_that_made_a_customer_enter_is_not_their_conversion(session: Session, engine: Engine) -> None:
    customer(session)
    journey = live(session, flow({"type": "event", "event": "Order Completed"},
                                 {"a": {"type": "delay", "for": {"days": 3}, "next": None}}))
    track(session, event="Order Completed", properties={"revenue": 700000})
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    assert (row.status, row.converted_at) == (EnrolmentStatus.active, None)
    track(session, event="Order Completed", properties={"revenue": 250000})
    run_worker(session, engine)
    [row] = _enrolments(session, journey.id)
    assert row.converted_at is not None and row.revenue == 250000


def test_a_send_the_provider_refuses_falls_back_to_the_next_channel(session: Session, engine: Engine,
                                                                    smtp: SmtpServer, mailbox: Channel) -> None:
    from tests.channels.sms_support import HOOK_SECRET, KEY, SECRET
    from tests.fakes.server import serving
    from tests.fakes.sms_gateway import ESMS_JSON_PATH, FakeSmsGateway
    from xuyen.inbox import connections

    lan = customer(session)
    consent(session, lan, "sms", purpose="transactional")
    gateway = FakeSmsGateway(api_key=KEY, api_secret=SECRET, webhook_secret=HOOK_SECRET,
                             blocked_numbers={"84912345678", "+84912345678", "0912345678"})
    mail = template(session, purpose="transactional")
    with serving(gateway.app()) as url:
        connections.add_channel(session, kind="sms", name="SMS thương hiệu", actor="test", settings={
            "preset": "esms", "brand_name": "XUYEN", "send_url": url + ESMS_JSON_PATH},
            secrets={"api_key": KEY, "api_secret": SECRET, "webhook_secret": HOOK_SECRET})
        journey = live(session, flow(CART, {"a": {"type": "send", "template_id": mail, "purpose": "transactional",
                                                  "next": None}}))
        track(session, event="Checkout Started", properties={"total": 1250000})
        run_worker(session, engine)
    [send] = session.scalars(select(JourneySend))
    assert (send.channel, send.attempt, send.status) == ("email", 2, "sent")
    assert gateway.sent == [] and len(arrived_to(smtp, EMAIL_TO)) == 1
    messages = list(session.scalars(select(Message).order_by(Message.id)))
    assert [(m.state, m.meta["journey_id"]) for m in messages] == [(MessageState.failed, journey.id),
                                                                   (MessageState.sent, journey.id)]


def test_steps_run_together_send_once_each_and_count_a_customers_second_send(session: Session, engine: Engine,
                                                                             mailbox: Channel) -> None:
    settings.change(session, config=PolicyConfig(total=Cap(1, 24)), actor=ACTOR)
    people = [customer(session, phone=f"09120001{number:02d}", email=f"khach{number}@example.vn")
              for number in range(3)]
    for person in people:
        consent(session, person, "email")
    nodes = {"a": {"type": "send", "template_id": template(session), "purpose": "marketing", "on_cap": "skip",
                   "next": None}}
    first, second = live(session, flow(CART, nodes)), live(session, flow(CART, nodes))
    made = journey_engine.enrol(session, journey=first, profile_ids=people, context=CART_EVENT)
    made += journey_engine.enrol(session, journey=second, profile_ids=people[:1], context=CART_EVENT)
    session.commit()

    noon = utcnow().replace(hour=5, minute=0)  # 12:00 in Hồ Chí Minh City: inside the sending hours
    outcomes = journey_engine.run_steps(session, due=[(enrolment_id, 0) for enrolment_id in made], now=noon)
    session.commit()

    assert [outcomes[enrolment_id] for enrolment_id in made] == ["sent", "sent", "sent", "skipped"]
    sends = list(session.scalars(select(JourneySend).order_by(JourneySend.enrolment_id)))
    assert [send.enrolment_id for send in sends] == made[:3]
    assert session.scalar(select(func.count()).select_from(Message)) == 3
    assert session.scalar(select(func.count()).select_from(PolicySend)) == 3  # the cap counted each once
    assert [enrolment.status for enrolment in _enrolments(session, first.id)] == [EnrolmentStatus.completed] * 3
    [skipped] = session.scalars(select(JourneyStep).where(JourneyStep.enrolment_id == made[3]))
    assert (skipped.outcome, skipped.detail) == ("skipped", "frequency_capped")
    assert journey_engine.run_steps(session, due=[(enrolment_id, 0) for enrolment_id in made], now=noon) == {}


def test_a_stale_job_beside_the_current_one_in_a_batch_runs_nothing_and_the_current_one_runs(
        session: Session, engine: Engine) -> None:
    lan = customer(session)
    journey = live(session, flow(CART, {"a": {"type": "delay", "for": {"hours": 1}, "next": "b"},
                                        "b": {"type": "delay", "for": {"hours": 1}, "next": None}}))
    [enrolment_id] = journey_engine.enrol(session, journey=journey, profile_ids=[lan], context=CART_EVENT)
    assert journey_engine.run_steps(session, due=[(enrolment_id, 0)]) == {enrolment_id: "waiting"}
    session.commit()

    later = utcnow() + timedelta(hours=2)
    assert journey_engine.run_steps(session, due=[(enrolment_id, 1), (enrolment_id, 0)], now=later) == \
        {enrolment_id: "done"}
    session.commit()
    [enrolment] = _enrolments(session, journey.id)
    assert (enrolment.node, enrolment.visit) == ("b", 2)
