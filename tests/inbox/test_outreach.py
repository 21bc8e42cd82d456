"""Outreach into the inbox: a journey's message lands in the customer's conversation (a new one resolved, so the
agents' queue stays calm; their answer reopens it), goes out once per idempotency key through the send job, and
every state change of it, and only of it, is announced as ``inbox.message.status_changed``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.inbox.outreach_support import connect, events
from tests.journeys.policy.conftest import customer
from xuyen.channels.base import Contact, ContactIdentifier, DeliveryState, InboundMessage, StatusUpdate
from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.inbox import intake, service
from xuyen.inbox.models import (
    ChannelStatus,
    ContactPoint,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageState,
)
from xuyen.inbox.outreach import STATUS_CHANGED, queue_outreach
from xuyen.inbox.sla.handlers import is_reply
from xuyen.inbox.threads import add_inbound_message, conversation_for
from xuyen.jobs import Job
from xuyen.outbox import dispatch_pending
from xuyen.worker import Worker

PHONE = "+84912345678"
JOURNEY = {"journey_id": 7, "enrolment_id": 301, "node": "welcome-sms"}


def _sms(session: Session, profile_id: int, key: str = "j7:e301:welcome", **fields: object) -> Message:
    values: dict[str, object] = {"profile_id": profile_id, "channel_kind": "sms", "address_type": "phone",
                                 "address": PHONE, "text": "Chào Lan, tặng bạn mã GIAM20 cho đơn đầu tiên.",
                                 "idempotency_key": key, "meta": JOURNEY}
    values.update(fields)
    message = queue_outreach(session, **values)  # type: ignore[arg-type]
    session.commit()
    return message


def _send_jobs(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Job).where(Job.name == service.SEND_JOB)) or 0)


def test_a_first_message_opens_a_resolved_conversation_and_goes_out(session: Session, engine: Engine) -> None:
    lan = customer(session)
    sms = connect(session, "sms")
    message = _sms(session, lan)
    conversation = session.get(Conversation, message.conversation_id)
    assert conversation is not None and conversation.profile_id == lan
    assert conversation.status == ConversationStatus.resolved and conversation.resolved_at is not None
    assert (message.direction, message.state, message.author_id) == (Direction.outbound, MessageState.queued, None)
    assert message.meta == {**JOURNEY, "outreach": True} and message.channel_id == sms.id
    point = session.get(ContactPoint, message.contact_point_id)
    assert point is not None and (point.profile_id, point.type, point.value) == (lan, "phone", PHONE)
    assert service.list_conversations(session, status=ConversationStatus.open) == []
    added = events(session, "inbox.message.added")
    assert [(item["message_id"], item["direction"], item["channel_kind"]) for item in added] == \
        [(message.id, "outbound", "sms")]
    assert events(session, "inbox.conversation.opened") == []  # nothing for the agents to pick up

    Worker(engine=engine).run_until_idle()
    session.rollback()
    assert session.get(Message, message.id).state == MessageState.delivered  # type: ignore[union-attr]
    (changed,) = events(session, STATUS_CHANGED)
    assert changed["message_id"] == message.id and changed["state"] == "delivered"
    assert (changed["conversation_id"], changed["profile_id"]) == (conversation.id, lan)
    assert (changed["channel_kind"], changed["channel_id"], changed["error"]) == ("sms", sms.id, None)
    assert changed["meta"]["journey_id"] == 7 and changed["meta"]["outreach"] is True and changed["at"]


def test_the_same_idempotency_key_queues_nothing_new(session: Session) -> None:
    lan = customer(session)
    connect(session, "sms")
    first = _sms(session, lan)
    again = _sms(session, lan, text="Another text entirely")
    assert again.id == first.id and again.text == first.text
    assert session.scalar(select(func.count()).select_from(Message)) == 1
    assert _send_jobs(session) == 1
    assert len(events(session, "inbox.message.added")) == 1


def test_it_joins_the_conversation_in_progress(session: Session) -> None:
    lan = customer(session)
    connect(session, "sms")
    going = conversation_for(session, profile_id=lan, at=utcnow())
    session.commit()
    message = _sms(session, lan)
    assert message.conversation_id == going.id
    assert session.get(Conversation, going.id).status == ConversationStatus.open  # type: ignore[union-attr]
    assert is_reply(message) is False  # an outreach message does not answer the customer (the SLA clocks run on)


def test_the_customers_answer_reopens_the_conversation_with_the_outreach_in_it(session: Session) -> None:
    lan = customer(session)
    sms = connect(session, "sms")
    message = _sms(session, lan)
    answer = InboundMessage(provider_message_id="sms-in-1", sent_at=utcnow() + timedelta(minutes=5),
                            text="Mã GIAM20 dùng cho áo dài được không shop?",
                            contact=Contact(identifiers=(ContactIdentifier(type="phone", value=PHONE),)))
    added = add_inbound_message(session, channel=sms, message=answer, receipt_id=None, profile_id=lan)
    session.commit()
    assert added is not None and added.conversation_id == message.conversation_id
    conversation = session.get(Conversation, message.conversation_id)
    assert conversation is not None and conversation.status == ConversationStatus.open
    texts = [item.text for item in service.list_messages(session, conversation_id=conversation.id)]
    assert texts == [message.text, answer.text]
    (reopened,) = events(session, "inbox.conversation.status_changed")
    assert (reopened["status"], reopened["previous"], reopened["actor"]) == ("open", "resolved", "customer")


def test_a_given_channel_is_used_and_the_first_active_one_otherwise(session: Session) -> None:
    lan = customer(session)
    paused = connect(session, "sms")
    paused.status = ChannelStatus.needs_attention
    first, second = connect(session, "sms"), connect(session, "sms")
    assert _sms(session, lan, key="a").channel_id == first.id
    assert _sms(session, lan, key="b", channel_id=second.id).channel_id == second.id
    with pytest.raises(Conflict) as caught:
        _sms(session, lan, key="c", channel_id=paused.id)
    assert caught.value.code == "no_active_channel"
    session.rollback()
    with pytest.raises(ValidationFailed) as wrong_kind:
        _sms(session, lan, key="d", channel_id=connect(session, "email").id)
    assert wrong_kind.value.code == "channel_not_found"


def test_typed_refusals_the_caller_treats_as_a_failed_send(session: Session) -> None:
    lan = customer(session)
    with pytest.raises(Conflict) as none_connected:
        _sms(session, lan)
    assert none_connected.value.code == "no_active_channel"
    session.rollback()
    connect(session, "email")
    with pytest.raises(ValidationFailed) as wrong_address:
        queue_outreach(session, profile_id=lan, channel_kind="email", address_type="phone", address=PHONE,
                       text="Xin chào", idempotency_key="k1")
    assert wrong_address.value.code == "address_type_unsupported"
    session.rollback()
    with pytest.raises(ValidationFailed) as no_templates:
        queue_outreach(session, profile_id=lan, channel_kind="email", address_type="email", address="lan@example.vn",
                       template={"name": "231677", "parameters": {"order": "DH1024"}}, idempotency_key="k2")
    assert no_templates.value.code == "templates_not_supported"
    session.rollback()
    with pytest.raises(NotFound) as nobody:
        _sms(session, 999_999)
    assert nobody.value.code == "customer_not_found"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize(("fields", "code"), [
    ({"text": "  "}, "empty_message"),
    ({"text": "x" * 20_001}, "message_too_long"),
    ({"idempotency_key": ""}, "invalid_idempotency_key"),
    ({"idempotency_key": "k" * 101}, "invalid_idempotency_key"),
    ({"address": ""}, "invalid_address"),
    ({"address": "1" * 321}, "invalid_address"),
    ({"meta": {"blob": "x" * 9000}}, "meta_too_large"),
    ({"meta": {"when": object()}}, "invalid_meta"),
    ({"subject": "s" * 301}, "subject_too_long"),
    ({"html": "<p>only html</p>", "text": ""}, "empty_message"),
    ({"html": "<p>" + "x" * 600_000 + "</p>"}, "html_too_large"),
])
def test_bad_input_is_refused(session: Session, fields: dict[str, object], code: str) -> None:
    lan = customer(session)
    connect(session, "sms")
    with pytest.raises(ValidationFailed) as caught:
        _sms(session, lan, **fields)
    assert caught.value.code == code


def test_an_address_of_another_customer_or_opted_out_is_not_written_to(session: Session) -> None:
    lan, minh = customer(session), customer(session, phone="0987654321", email="minh@example.vn")
    connect(session, "sms")
    _sms(session, lan)
    with pytest.raises(Conflict) as someone_else:
        _sms(session, minh, key="for-minh")
    assert someone_else.value.code == "address_of_another_customer"
    session.rollback()
    point = session.scalar(select(ContactPoint).where(ContactPoint.value == PHONE))
    assert point is not None
    point.opted_out_at = utcnow()
    session.commit()
    with pytest.raises(Conflict) as opted_out:
        _sms(session, lan, key="after-stop")
    assert opted_out.value.code == "address_opted_out"


def test_provider_statuses_and_failures_are_announced_for_outreach_only(session: Session, engine: Engine) -> None:
    lan = customer(session)
    sms = connect(session, "sms")
    outreach = _sms(session, lan)
    conversation_id = outreach.conversation_id
    agent_reply = service.reply(session, conversation_id=conversation_id, text="Dạ shop chào chị ạ.",
                                author_id=None, actor="user:1")
    for message in (outreach, agent_reply):  # as if the provider took them
        message.state, message.provider_message_id = MessageState.sent, f"gw-{message.id}"
    session.commit()
    at = utcnow()
    for message in (outreach, agent_reply):
        intake.apply_status(session, channel=sms, update_=StatusUpdate(
            state=DeliveryState.FAILED, at=at, provider_message_id=f"gw-{message.id}", error="Số máy không tồn tại"))
    intake.apply_status(session, channel=sms, update_=StatusUpdate(  # never moves back: no event
        state=DeliveryState.DELIVERED, at=at, provider_message_id=f"gw-{outreach.id}"))
    session.commit()
    (failed,) = events(session, STATUS_CHANGED)
    assert (failed["message_id"], failed["state"], failed["error"]) == (outreach.id, "failed", "Số máy không tồn tại")
    assert failed["meta"]["enrolment_id"] == 301


def test_a_send_that_cannot_be_made_is_announced_as_failed(session: Session, engine: Engine) -> None:
    lan = customer(session)
    connect(session, "sms")
    message = _sms(session, lan)
    session.delete(session.get(ContactPoint, message.contact_point_id))
    session.commit()
    Worker(engine=engine).run_until_idle()
    session.rollback()
    (failed,) = events(session, STATUS_CHANGED)
    assert failed["message_id"] == message.id and failed["state"] == "failed" and failed["error"]


def _handlers_of_added(session: Session) -> list[str]:
    """The handlers queued for ``inbox.message.added`` events, one name per job."""
    return sorted(session.scalars(select(Job.name).where(Job.payload["topic"].as_string() == "inbox.message.added")))


def test_an_outreach_message_is_handed_only_to_the_handlers_it_concerns(session: Session) -> None:
    lan = customer(session)
    sms = connect(session, "sms")
    _sms(session, lan)
    assert dispatch_pending(session) > 0
    # Indexed for search; no SLA clock, survey reply or answer to a journey to count.
    assert _handlers_of_added(session) == ["inbox.routing.message_added"]

    answer = InboundMessage(provider_message_id="sms-in-2", sent_at=utcnow(), text="Cảm ơn shop",
                            contact=Contact(identifiers=(ContactIdentifier(type="phone", value=PHONE),)))
    add_inbound_message(session, channel=sms, message=answer, receipt_id=None, profile_id=lan)
    session.commit()
    dispatch_pending(session)
    assert _handlers_of_added(session) == ["inbox.csat.message_added", "inbox.routing.message_added",
                                           "inbox.routing.message_added", "inbox.sla.message_added",
                                           "journeys.count_replies", "messaging_policy.count_replies"]
