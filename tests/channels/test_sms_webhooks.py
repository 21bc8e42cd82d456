"""SMS webhooks: signatures, the replay window, customers' replies, opt-outs and delivery reports."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.channels.sms_support import (
    CUSTOMER,
    HOOK_SECRET,
    KEY,
    Inbox,
    generic,
    message,
    request_for,
    served_gateway,  # noqa: F401  (fixture)
    served_inbox,  # noqa: F401  (fixture)
)
from tests.fakes.sms_gateway import (
    FakeSmsGateway,
    signed_webhook,
)
from tests.live_server import call
from xuyen.channels.base import (
    ContactEvent,
    ContactEventKind,
    ContactIdentifier,
    DeliveryState,
    Inbound,
    InboundMessage,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
    WebhookRequest,
)

# Webhooks ---------------------------------------------------------------------------------------------


def test_a_customers_reply_arrives(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    answer = fake.reply("0912345678", "Cho em hỏi đơn hàng #42 ạ", message_id="mo-1",
                        timestamp="2024-04-24T16:58:01+07:00")
    assert (answer.status_code, answer.text) == (200, "ok")
    [reply] = inbox.received
    assert isinstance(reply, InboundMessage)
    assert reply.provider_message_id == "mo-1"
    assert reply.contact.address == ContactIdentifier("phone", CUSTOMER)
    assert reply.text == "Cho em hỏi đơn hàng #42 ạ"
    assert reply.sent_at == datetime(2024, 4, 24, 9, 58, 1, tzinfo=UTC)


def test_delivery_reports_name_the_sent_message(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    sent = inbox.adapter.send(message("Đơn hàng đã giao"))
    assert fake.report(sent.provider_message_id, "delivered").status_code == 200
    assert fake.report(sent.provider_message_id, "failed", error="Subscriber absent").status_code == 200
    delivered, failed = inbox.received
    assert isinstance(delivered, StatusUpdate) and isinstance(failed, StatusUpdate)
    assert (delivered.state, delivered.provider_message_id) == (DeliveryState.DELIVERED, sent.provider_message_id)
    assert delivered.contact is not None and delivered.contact.address.value == CUSTOMER
    assert delivered.at.tzinfo is not None and abs(delivered.at - datetime.now(UTC)) < timedelta(minutes=1)
    assert (failed.state, failed.error) == (DeliveryState.FAILED, "Subscriber absent")


def test_statuses_out_of_order_are_all_reported() -> None:
    adapter = generic("http://gw.invalid")
    updates = adapter.parse(request_for([
        {"type": "dlr", "message_id": "m1", "status": "delivered", "timestamp": 1714000010},
        {"type": "dlr", "message_id": "m1", "status": "sent", "timestamp": 1714000000},
    ]))
    assert [u.state for u in updates if isinstance(u, StatusUpdate)] == [DeliveryState.DELIVERED, DeliveryState.SENT]


def test_a_bad_signature_is_refused(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    fake.webhook_secret = "someone-else"
    assert fake.reply("0912345678", "hi").status_code == 401
    assert inbox.received == [] and "does not match" in inbox.refused[0]


@pytest.mark.parametrize("drop", ["x-signature", "x-timestamp"])
def test_missing_signature_headers_are_refused(drop: str) -> None:
    adapter = generic("http://gw.invalid")
    signed = request_for({"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": "1"})
    headers = {k: v for k, v in signed.headers.items() if k != drop}
    with pytest.raises(SignatureInvalid, match=f"no {drop}"):
        adapter.verify(WebhookRequest("POST", headers, {}, signed.body, signed.received_at))


def test_a_tampered_body_is_refused() -> None:
    adapter = generic("http://gw.invalid")
    signed = request_for({"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": "1"})
    tampered = WebhookRequest("POST", signed.headers, {}, signed.body.replace(b"hi", b"yo"), signed.received_at)
    with pytest.raises(SignatureInvalid):
        adapter.verify(tampered)


def test_a_channel_without_webhook_secret_refuses_webhooks() -> None:
    adapter = generic("http://gw.invalid", secrets={"api_key": KEY})
    with pytest.raises(SignatureInvalid, match="no webhook secret"):
        adapter.verify(request_for({"type": "mo"}))


def test_stale_and_future_webhooks_are_refused() -> None:
    adapter = generic("http://gw.invalid")
    event = {"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": "1"}
    adapter.verify(request_for(event, age=290))
    adapter.verify(request_for(event, age=-290))
    with pytest.raises(SignatureInvalid, match="more than 5 minutes ago"):
        adapter.verify(request_for(event, age=301))
    with pytest.raises(SignatureInvalid, match="ahead"):
        adapter.verify(request_for(event, age=-301))


def test_a_replay_within_the_window_gives_the_same_ids(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    body, headers = signed_webhook({"type": "mo", "from": "0912345678", "text": "STOP", "message_id": "mo-9"},
                                   HOOK_SECRET)
    assert fake.webhook_url is not None
    for _ in range(2):
        assert call("POST", fake.webhook_url, content=body, headers=headers).status_code == 200
    first, second = inbox.received[:2], inbox.received[2:]
    assert [_ids(i) for i in first] == [_ids(i) for i in second] == [("message", "mo-9"), ("event", "mo-9:opt_out")]


def test_a_replay_after_the_window_is_refused(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    body, headers = signed_webhook({"type": "mo", "from": "0912345678", "text": "hi", "message_id": "mo-1"},
                                   HOOK_SECRET, timestamp=int(time.time()) - 600)
    assert fake.webhook_url is not None
    assert call("POST", fake.webhook_url, content=body, headers=headers).status_code == 401
    assert inbox.received == []


def test_a_signature_bound_to_the_timestamp() -> None:
    adapter = generic("http://gw.invalid", signature_payload="timestamp.body", signature_header="X-Sms-Signature")
    event = {"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": "1"}
    adapter.verify(request_for(event, payload="timestamp.body", signature_header="X-Sms-Signature"))
    with pytest.raises(SignatureInvalid):  # a body-only signature cannot be replayed with a fresh timestamp
        adapter.verify(request_for(event, signature_header="X-Sms-Signature"))


def _ids(item: Inbound) -> tuple[str, str | None]:
    """What the inbox dedupes an item on."""
    if isinstance(item, InboundMessage):
        return "message", item.provider_message_id
    if isinstance(item, ContactEvent):
        return "event", item.provider_event_id
    return "status", item.provider_message_id


@pytest.mark.parametrize("text", ["STOP", "stop", "Hủy", "HUY", " huỷ! ", "Từ chối", "TU CHOI", "tu  choi."])
def test_stop_keywords_opt_out(text: str) -> None:
    adapter = generic("http://gw.invalid")
    items = adapter.parse(request_for({"type": "mo", "from": "0912345678", "text": text, "message_id": "mo-1"}))
    reply, opt_out = items
    assert isinstance(reply, InboundMessage) and reply.text == text
    assert isinstance(opt_out, ContactEvent) and opt_out.kind == ContactEventKind.OPT_OUT
    assert opt_out.contact.address == ContactIdentifier("phone", CUSTOMER)
    assert opt_out.provider_event_id == "mo-1:opt_out"


@pytest.mark.parametrize("text", ["Huy đây, cho hỏi giá", "Please don't stop", "STOPPED", "Hủy đơn #42 giúp em"])
def test_a_message_that_only_contains_a_keyword_is_not_an_opt_out(text: str) -> None:
    adapter = generic("http://gw.invalid")
    items = adapter.parse(request_for({"type": "mo", "from": "0912345678", "text": text, "message_id": "mo-1"}))
    assert [type(i) for i in items] == [InboundMessage]


def test_opt_out_keywords_are_configurable() -> None:
    adapter = generic("http://gw.invalid", opt_out_keywords="HUY QC, Từ-chối QC")
    for text, opts_out in [("huy qc", True), ("TU CHOI QC", True), ("STOP", False)]:
        items = adapter.parse(request_for({"type": "mo", "from": CUSTOMER, "text": text, "message_id": "1"}))
        assert any(isinstance(i, ContactEvent) for i in items) is opts_out, text


def test_webhook_fields_are_configurable() -> None:
    adapter = generic("http://gw.invalid", webhook_type_field="event", webhook_mo_values="inbound,MO",
                      webhook_from_field="sender.msisdn", webhook_text_field="content",
                      webhook_message_id_field="id", webhook_timestamp_field="time")
    [reply] = adapter.parse(request_for({"event": "MO", "sender": {"msisdn": "84912345678"}, "content": "Alo",
                                         "id": 991, "time": "24/04/2024 16:58:01"}))
    assert isinstance(reply, InboundMessage)
    assert (reply.provider_message_id, reply.text, reply.contact.address.value) == ("991", "Alo", CUSTOMER)
    assert reply.sent_at == datetime(2024, 4, 24, 9, 58, 1, tzinfo=UTC)


def test_an_old_prefix_sender_is_normalised() -> None:
    adapter = generic("http://gw.invalid")
    [reply] = adapter.parse(request_for({"type": "mo", "from": "841689123456", "text": "hi", "message_id": "1"}))
    assert isinstance(reply, InboundMessage) and reply.contact.address.value == "+84389123456"


@pytest.mark.parametrize(("stamp", "expected"), [
    (1714000000, datetime(2024, 4, 24, 23, 6, 40, tzinfo=UTC)),
    (1714000000123, datetime(2024, 4, 24, 23, 6, 40, 123000, tzinfo=UTC)),
    ("2024-04-24 16:58:01", datetime(2024, 4, 24, 9, 58, 1, tzinfo=UTC)),
    ("2024-04-24T09:58:01Z", datetime(2024, 4, 24, 9, 58, 1, tzinfo=UTC)),
])
def test_webhook_times_become_utc(stamp: Any, expected: datetime) -> None:
    adapter = generic("http://gw.invalid")
    [update] = adapter.parse(request_for({"type": "dlr", "message_id": "m", "status": "DELIVRD", "timestamp": stamp}))
    assert isinstance(update, StatusUpdate) and update.at == expected and update.state == DeliveryState.DELIVERED


def test_unknown_event_types_and_statuses_are_left_out() -> None:
    adapter = generic("http://gw.invalid")
    items = adapter.parse(request_for([{"type": "balance_low", "amount": 1000},
                                       {"type": "dlr", "message_id": "m", "status": "teleported"},
                                       {"type": "dlr", "message_id": "m", "status": "delivered"}]))
    assert [type(i) for i in items] == [StatusUpdate]


def test_dlr_status_map_is_configurable() -> None:
    adapter = generic("http://gw.invalid", dlr_status_map='{"5": "delivered", "4": "failed"}')
    [update] = adapter.parse(request_for({"type": "dlr", "message_id": "m", "status": 5}))
    assert isinstance(update, StatusUpdate) and update.state == DeliveryState.DELIVERED


@pytest.mark.parametrize("body", [
    b"not json",
    b"",
    b"\xff\xfe",
    b"[1, 2]",
    b'"mo"',
    b"[" * 5000 + b"]" * 5000,
    json.dumps({"type": "mo", "from": CUSTOMER, "text": "no id"}).encode(),
    json.dumps({"type": "mo", "from": "not a phone", "text": "hi", "message_id": "1"}).encode(),
    json.dumps({"type": "mo", "from": CUSTOMER, "text": {"nested": True}, "message_id": "1"}).encode(),
    json.dumps({"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": True}).encode(),
    json.dumps({"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": "1", "timestamp": "yesterday"}).encode(),
    json.dumps({"type": "mo", "from": CUSTOMER, "text": "hi", "message_id": "1", "timestamp": 1e300}).encode(),
    json.dumps({"type": "dlr", "status": "delivered"}).encode(),
    json.dumps({"type": "dlr", "message_id": "m"}).encode(),
    json.dumps({"type": "mo", "from": CUSTOMER, "text": "x" * 6000, "message_id": "1"}).encode(),
    json.dumps([{"type": "other"}] * 501).encode(),
    json.dumps({"type": "other", "pad": "x" * 300_000}).encode(),
])
def test_malformed_bodies_are_payload_invalid(body: bytes) -> None:
    adapter = generic("http://gw.invalid")
    with pytest.raises(PayloadInvalid):
        adapter.parse(WebhookRequest("POST", {}, {}, body, datetime.now(UTC)))


def test_a_malformed_body_is_answered_400_over_http(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    body, headers = signed_webhook({"type": "mo", "from": "nobody", "text": "hi", "message_id": "1"}, HOOK_SECRET)
    assert fake.webhook_url is not None
    assert call("POST", fake.webhook_url, content=body, headers=headers).status_code == 400
    assert "not a phone number" in inbox.refused[0]
