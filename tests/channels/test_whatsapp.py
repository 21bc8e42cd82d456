"""The WhatsApp channel against a local fake of the Cloud API and webhooks signed as Meta signs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.meta import (
    GraphFake,
    meta_json,
    sign,
    subscription_check,
    webhook,
    whatsapp_contact,
    whatsapp_message,
    whatsapp_status,
    whatsapp_webhook,
)
from tests.fakes.server import serving
from xuyen.channels.base import (
    DELIVERY_ORDER,
    Attachment,
    AttachmentKind,
    ContactIdentifier,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    StatusUpdate,
    Template,
)
from xuyen.channels.whatsapp import WhatsAppAdapter

WABA = "102290129340398"
NUMBER = "106540352242922"
DISPLAY = "84901234000"
WA_ID = "84912345678"
BSUID = "VN.13491208655302741918"
TOKEN = "EAAJB-system-user-TOKEN"
SECRET = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
VERIFY = "xuyen-wa-verify"


@pytest.fixture(scope="module")
def graph() -> Iterator[tuple[GraphFake, str]]:
    fake = GraphFake()
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(graph: tuple[GraphFake, str]) -> GraphFake:
    meta = graph[0]
    meta.reset()
    meta.add_number(NUMBER, token=TOKEN, app_secret=SECRET, display_phone=DISPLAY)
    meta.bsuids[WA_ID] = BSUID
    return meta


@pytest.fixture
def adapter(graph: tuple[GraphFake, str], fake: GraphFake) -> Iterator[WhatsAppAdapter]:
    channel = WhatsAppAdapter(settings={"phone_number_id": NUMBER, "graph_api_base": graph[1]},
                              secrets={"app_secret": SECRET, "access_token": TOKEN, "verify_token": VERIFY})
    yield channel
    channel.close()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def delivery(**value: list) -> dict:
    return whatsapp_webhook(WABA, NUMBER, DISPLAY, **value)


def parsed(adapter: WhatsAppAdapter, payload: object) -> list:
    request = webhook(payload, SECRET)
    adapter.verify(request)
    return adapter.parse(request)


def one_message(adapter: WhatsAppAdapter, kind: str, content: dict | None, **extra: object) -> InboundMessage:
    message = whatsapp_message(WA_ID, "wamid.HBgLODQ5MTIzNDU2NzgVAgASGBQzQTdF", now(), kind, content,
                               **extra)  # type: ignore[arg-type]
    [found] = parsed(adapter, delivery(contacts=[whatsapp_contact(WA_ID, "Lan Nguyễn")], messages=[message]))
    assert isinstance(found, InboundMessage)
    return found


def to_customer(text: str = "", **extra: object) -> OutboundMessage:
    return OutboundMessage(idempotency_key="out-7", to=ContactIdentifier("whatsapp_id", WA_ID), text=text,
                           **extra)  # type: ignore[arg-type]


# Setup, handshake and signatures ---------------------------------------------------------------------


def test_the_entry_point_names_the_adapter() -> None:
    point = next(item for item in entry_points(group="xuyen.channels") if item.name == "whatsapp")
    assert point.load() is WhatsAppAdapter


def test_the_subscription_check_is_answered_only_with_the_right_token(adapter: WhatsAppAdapter) -> None:
    good = adapter.handshake(subscription_check(VERIFY, challenge="987654321"))
    bad = adapter.handshake(subscription_check("guess", challenge="987654321"))
    assert good is not None and (good.status, good.body) == (200, b"987654321")
    assert bad is not None and bad.status == 403


def test_signatures_are_checked_over_the_raw_bytes(adapter: WhatsAppAdapter) -> None:
    payload = delivery(contacts=[whatsapp_contact(WA_ID, "Lan")],
                       messages=[whatsapp_message(WA_ID, "wamid.1", now(), "text", {"body": "Xin chào / hello"})])
    raw = meta_json(payload)
    adapter.verify(webhook(raw, SECRET))
    with pytest.raises(SignatureInvalid):
        adapter.verify(webhook(raw, "not-the-app-secret"))
    with pytest.raises(SignatureInvalid):
        adapter.verify(webhook(raw, None))
    with pytest.raises(SignatureInvalid):
        adapter.verify(webhook(json.dumps(json.loads(raw), ensure_ascii=False).encode(), None,
                               signature=sign(raw, SECRET)))


# Bad payloads ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"<xml/>", b"null", b"{" * 50_000, b'{"object":"page","entry":[]}',
                                  b'{"object":"whatsapp_business_account","entry":"x"}'])
def test_a_body_that_is_not_a_whatsapp_webhook_is_payload_invalid(adapter: WhatsAppAdapter, body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        adapter.parse(webhook(body, SECRET))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["changes", "value", "field", "metadata", "phone_number_id", "contacts", "messages",
                         "statuses", "wa_id", "user_id", "profile", "name", "from", "id", "timestamp", "type", "text",
                         "body", "image", "location", "interactive", "button_reply", "status", "errors", "code"]),
        inner, max_size=5),
    max_leaves=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=json_values)
def test_parse_never_fails_on_any_shape_of_entries(adapter: WhatsAppAdapter, entries: object) -> None:
    items = adapter.parse(webhook({"object": "whatsapp_business_account",
                                   "entry": entries if isinstance(entries, list) else [entries]}, SECRET))
    assert isinstance(items, list)


def test_odd_values_inside_a_change_are_left_out(adapter: WhatsAppAdapter) -> None:
    payload = delivery(contacts=["x", {"wa_id": 5}], messages=[
        {"id": "wamid.no-sender", "type": "text", "text": {"body": "?"}},
        {"from": WA_ID, "type": "text", "text": {"body": "no id"}},
        {"from": WA_ID, "id": "wamid.ok", "timestamp": "soon", "type": "text", "text": "not an object"},
    ], statuses=[{"id": "wamid.s", "status": "teleported"}, "x"])
    [message] = parsed(adapter, payload)
    assert message.provider_message_id == "wamid.ok" and message.text == ""


# Parsing ---------------------------------------------------------------------------------------------


def test_a_text_names_the_person_by_whatsapp_id_phone_and_business_scoped_id(adapter: WhatsAppAdapter) -> None:
    at = datetime(2025, 6, 2, 3, 4, 5, tzinfo=UTC)
    message = whatsapp_message(WA_ID, "wamid.HBgLODQ5MTIzNDU2NzgVAgASGBQzQUIx", at, "text",
                               {"body": "Đơn của em giao chưa ạ?"}, user_id=BSUID)
    [found] = parsed(adapter, delivery(contacts=[whatsapp_contact(WA_ID, "Lan Nguyễn", user_id=BSUID)],
                                       messages=[message]))
    assert found.provider_message_id == "wamid.HBgLODQ5MTIzNDU2NzgVAgASGBQzQUIx"
    assert found.text == "Đơn của em giao chưa ạ?"
    assert found.sent_at == at
    assert found.contact.name == "Lan Nguyễn"
    assert found.contact.identifiers == (ContactIdentifier("whatsapp_id", WA_ID), ContactIdentifier("phone",
                                         "+84912345678"), ContactIdentifier("whatsapp_bsuid", BSUID))


def test_a_user_known_only_by_their_business_scoped_id_is_addressed_by_it(adapter: WhatsAppAdapter) -> None:
    message = whatsapp_message(None, "wamid.bsuid-only", now(), "text", {"body": "Hi"}, user_id=BSUID)
    [found] = parsed(adapter, delivery(contacts=[whatsapp_contact(None, "@lan", user_id=BSUID)], messages=[message]))
    assert found.contact.address == ContactIdentifier("whatsapp_bsuid", BSUID)
    assert len(found.contact.identifiers) == 1


def test_a_redelivered_webhook_gives_the_same_provider_ids(adapter: WhatsAppAdapter) -> None:
    at = now()
    payload = delivery(contacts=[whatsapp_contact(WA_ID, "Lan")],
                       messages=[whatsapp_message(WA_ID, "wamid.A", at, "text", {"body": "1"})],
                       statuses=[whatsapp_status("wamid.OUT", "delivered", WA_ID, at)])
    first, again = parsed(adapter, payload), parsed(adapter, payload)
    assert first == again
    assert [item.provider_message_id for item in first] == ["wamid.A", "wamid.OUT"]


@pytest.mark.parametrize(("kind", "content", "expected"), [
    ("image", {"id": "1266432357689999", "mime_type": "image/jpeg", "sha256": "f0e1", "caption": "size 39"},
     AttachmentKind.IMAGE),
    ("video", {"id": "2", "mime_type": "video/mp4"}, AttachmentKind.VIDEO),
    ("audio", {"id": "3", "mime_type": "audio/ogg; codecs=opus", "voice": True}, AttachmentKind.AUDIO),
    ("document", {"id": "4", "mime_type": "application/pdf", "filename": "hoa-don.pdf"}, AttachmentKind.FILE),
    ("sticker", {"id": "5", "mime_type": "image/webp", "animated": False}, AttachmentKind.STICKER),
])
def test_media_messages_carry_their_media_ids(adapter: WhatsAppAdapter, kind: str, content: dict,
                                              expected: AttachmentKind) -> None:
    found = one_message(adapter, kind, content)
    [attachment] = found.attachments
    assert attachment.kind is expected
    assert attachment.meta["media_id"] == content["id"]
    assert attachment.mime_type == content["mime_type"]
    assert attachment.name == content.get("filename")
    assert found.text == content.get("caption", "")


def test_a_location_is_an_attachment(adapter: WhatsAppAdapter) -> None:
    found = one_message(adapter, "location", {"latitude": 10.7769, "longitude": 106.7009, "name": "Chợ Bến Thành",
                                              "address": "Lê Lợi, Quận 1"})
    [place] = found.attachments
    assert place.kind is AttachmentKind.LOCATION and place.name == "Chợ Bến Thành"
    assert place.meta == {"latitude": 10.7769, "longitude": 106.7009, "address": "Lê Lợi, Quận 1"}


def test_button_and_list_replies_are_messages_with_their_titles(adapter: WhatsAppAdapter) -> None:
    button = one_message(adapter, "interactive", {"type": "button_reply",
                                                  "button_reply": {"id": "confirm", "title": "Xác nhận"}},
                         context={"from": DISPLAY, "id": "wamid.question"})
    assert button.text == "Xác nhận" and button.reply_to_provider_id == "wamid.question"
    assert button.thread_hints == {"interactive": {"type": "button_reply", "id": "confirm", "title": "Xác nhận"}}
    listed = one_message(adapter, "interactive", {"type": "list_reply", "list_reply": {
        "id": "size-39", "title": "Size 39", "description": "Còn 3 đôi"}})
    assert listed.text == "Size 39"
    quick = one_message(adapter, "button", {"payload": "STOP_PROMOS", "text": "Ngừng nhận khuyến mãi"})
    assert quick.text == "Ngừng nhận khuyến mãi" and quick.thread_hints["button"]["payload"] == "STOP_PROMOS"


def test_reactions_groups_and_unknown_message_types_are_left_out(adapter: WhatsAppAdapter) -> None:
    payload = delivery(contacts=[whatsapp_contact(WA_ID, "Lan")], messages=[
        whatsapp_message(WA_ID, "wamid.r", now(), "reaction", {"message_id": "wamid.OUT", "emoji": "👍"}),
        whatsapp_message(WA_ID, "wamid.u", now(), "hologram", {"x": 1}),
        {**whatsapp_message(WA_ID, "wamid.g", now(), "text", {"body": "in a group"}), "group_id": "Y2FwaV9ncm91cDox"},
    ])
    payload["entry"][0]["changes"].append({"field": "message_template_status_update", "value": {"event": "APPROVED"}})
    other = whatsapp_webhook(WABA, "999999", "1555", messages=[whatsapp_message(WA_ID, "wamid.o", now(), "text",
                                                                                {"body": "other number"})])
    payload["entry"].extend(other["entry"])
    assert parsed(adapter, payload) == []


def test_statuses_out_of_order_each_keep_their_own_state_and_time(adapter: WhatsAppAdapter) -> None:
    sent_at = now() - timedelta(minutes=3)
    payload = delivery(statuses=[whatsapp_status("wamid.OUT", "read", WA_ID, sent_at + timedelta(minutes=2)),
                                 whatsapp_status("wamid.OUT", "sent", WA_ID, sent_at),
                                 whatsapp_status("wamid.OUT", "delivered", WA_ID, sent_at + timedelta(minutes=1))])
    updates = parsed(adapter, payload)
    assert [(item.state, item.at) for item in updates] == [
        (DeliveryState.READ, sent_at + timedelta(minutes=2)), (DeliveryState.SENT, sent_at),
        (DeliveryState.DELIVERED, sent_at + timedelta(minutes=1))]
    assert max(updates, key=lambda item: DELIVERY_ORDER[item.state]).state is DeliveryState.READ
    assert all(item.contact is not None and item.contact.address.value == WA_ID for item in updates)


def test_a_failed_status_says_why(adapter: WhatsAppAdapter) -> None:
    error = {"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
             "error_data": {"details": "Message Undeliverable."}}
    [update] = parsed(adapter, delivery(statuses=[whatsapp_status("wamid.X", "failed", WA_ID, now(), errors=[error])]))
    assert isinstance(update, StatusUpdate)
    assert update.state is DeliveryState.FAILED
    assert update.error == "(131026) Message undeliverable Message Undeliverable."


# Sending ---------------------------------------------------------------------------------------------


def test_a_text_inside_the_window_goes_out_without_a_link_preview(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.require_appsecret_proof = True
    fake.customer_wrote(NUMBER, WA_ID, now() - timedelta(hours=3))
    result = adapter.send(to_customer("Đơn hàng #1042 đang giao: https://shop.example/t/1042",
                                      reply_to_provider_id="wamid.question"))
    [sent] = fake.sent
    assert result.provider_message_id == sent.message_id and result.provider_message_id.startswith("wamid.")
    assert sent.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID,
                         "biz_opaque_callback_data": "out-7", "type": "text", "context": {"message_id":
                                                                                          "wamid.question"},
                         "text": {"preview_url": False, "body": "Đơn hàng #1042 đang giao: https://shop.example/t/1042"}}
    [request] = fake.requests
    assert request.path == f"/v21.0/{NUMBER}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    [status] = fake.status_webhook(NUMBER)["entry"][0]["changes"][0]["value"]["statuses"]
    assert status["status"] == "sent"


def test_messages_reach_a_phone_or_a_business_scoped_id(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now())
    adapter.send(OutboundMessage(idempotency_key="a", to=ContactIdentifier("phone", "+84 912 345 678"), text="1"))
    adapter.send(OutboundMessage(idempotency_key="b", to=ContactIdentifier("whatsapp_bsuid", BSUID), text="2"))
    assert [(sent.body.get("to"), sent.body.get("recipient")) for sent in fake.sent] == [(WA_ID, None), (None, BSUID)]


def test_a_long_text_is_split_at_4096_characters(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now())
    text = "\n".join(f"Dòng {n}: sản phẩm còn hàng tại cửa hàng Quận {n % 12 + 1}." for n in range(200))
    result = adapter.send(to_customer(text))
    bodies = [sent.body["text"]["body"] for sent in fake.sent]
    assert result.parts == len(bodies) == 3
    assert all(len(body) <= 4096 for body in bodies) and "\n".join(bodies) == text


def test_media_goes_out_by_link(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now())
    adapter.send(to_customer(attachments=(
        Attachment(AttachmentKind.FILE, url="https://cdn.shop.example/hd.pdf", name="hoa-don-1042.pdf"),
        Attachment(AttachmentKind.IMAGE, url="https://cdn.shop.example/giay.jpg"),
        Attachment(AttachmentKind.LOCATION, name="Cửa hàng Q1", meta={"latitude": 10.77, "longitude": 106.7}))))
    assert [(sent.body["type"], sent.body[sent.body["type"]]) for sent in fake.sent] == [
        ("document", {"link": "https://cdn.shop.example/hd.pdf", "filename": "hoa-don-1042.pdf"}),
        ("image", {"link": "https://cdn.shop.example/giay.jpg"}),
        ("location", {"latitude": 10.77, "longitude": 106.7, "name": "Cửa hàng Q1"})]


def test_what_whatsapp_cannot_carry_is_refused_before_sending(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    with pytest.raises(SendFailed, match="empty"):
        adapter.send(to_customer("  "))
    with pytest.raises(SendFailed, match="link attachment"):
        adapter.send(to_customer(attachments=(Attachment(AttachmentKind.LINK, url="https://x.example"),)))
    with pytest.raises(SendFailed, match="language code"):
        adapter.send(to_customer(template=Template("order_update")))
    with pytest.raises(SendFailed, match="no WhatsApp number"):
        adapter.send(OutboundMessage(idempotency_key="k", to=ContactIdentifier("email", "lan@example.com"), text="x"))
    assert fake.requests == []


# The reply window ------------------------------------------------------------------------------------


def test_the_reply_rule_allows_free_text_for_24_hours_then_templates_only(adapter: WhatsAppAdapter) -> None:
    moment = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    inside = adapter.reply_rule(last_inbound_at=moment - timedelta(hours=20), now=moment)
    assert (inside.free_text, inside.templates, inside.until) == (True, True, moment + timedelta(hours=4))
    outside = adapter.reply_rule(last_inbound_at=moment - timedelta(hours=24), now=moment)
    assert (outside.free_text, outside.templates, outside.tag) == (False, True, None)
    assert "template" in outside.reason
    never = adapter.reply_rule(last_inbound_at=None, now=moment)
    assert (never.free_text, never.templates) == (False, True)


def test_a_template_goes_out_outside_the_window(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now() - timedelta(days=3))
    fake.approve_template("order_shipped", "vi", parameters=2)
    result = adapter.send(to_customer("Preview: Lan, đơn #1042 đã giao.", template=Template(
        "order_shipped", "vi", {"2": "#1042", "1": "Lan"})))
    [sent] = fake.sent
    assert result.provider_message_id == sent.message_id
    assert sent.body["type"] == "template" and "text" not in sent.body
    assert sent.body["template"] == {"name": "order_shipped", "language": {"code": "vi"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Lan"}, {"type": "text", "text": "#1042"}]}]}


def test_named_template_parameters_keep_their_names(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.approve_template("cart_reminder", "en_US", parameters=1)
    adapter.send(to_customer(template=Template("cart_reminder", "en_US", {"first_name": "Lan"})))
    assert fake.sent[0].body["template"]["components"][0]["parameters"] == [
        {"type": "text", "parameter_name": "first_name", "text": "Lan"}]


def test_a_template_whatsapp_did_not_approve_is_refused(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    with pytest.raises(SendFailed) as refused:
        adapter.send(to_customer(template=Template("never_submitted", "vi")))
    assert refused.value.code == "rejected" and refused.value.provider_code == "132001"
    assert "does not exist" in refused.value.message and not refused.value.retryable


def test_a_text_outside_the_window_fails_in_its_status(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now() - timedelta(hours=25))
    result = adapter.send(to_customer("Chào chị"))
    [update] = parsed(adapter, fake.status_webhook(NUMBER))
    assert (update.provider_message_id, update.state) == (result.provider_message_id, DeliveryState.FAILED)
    assert update.error is not None and update.error.startswith("(131047) Re-engagement message")


def test_a_text_outside_the_window_refused_at_once_is_outside_window(adapter: WhatsAppAdapter,
                                                                     fake: GraphFake) -> None:
    fake.window_errors_in_answer = True
    fake.customer_wrote(NUMBER, WA_ID, now() - timedelta(hours=25))
    with pytest.raises(SendFailed) as refused:
        adapter.send(to_customer("Chào chị"))
    assert refused.value.outside_window and refused.value.provider_code == "131047"
    assert "24 hours" in refused.value.message


def test_a_number_not_on_whatsapp_is_undeliverable(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.window_errors_in_answer = True
    fake.not_on_whatsapp.add(WA_ID)
    fake.approve_template("welcome", "vi")
    with pytest.raises(SendFailed) as refused:
        adapter.send(to_customer(template=Template("welcome", "vi")))
    assert refused.value.code == "undeliverable" and not refused.value.retryable


# Provider errors -------------------------------------------------------------------------------------


def test_a_revoked_token_asks_for_the_channel_to_be_reconnected(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now())
    fake.revoke(TOKEN)
    with pytest.raises(SendFailed) as revoked:
        adapter.send(to_customer("x"))
    assert revoked.value.credentials_revoked and revoked.value.code == "credentials_revoked"
    assert fake.sent == []


def test_a_rate_limit_is_retried(adapter: WhatsAppAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now())
    fake.throttle(NUMBER)
    with pytest.raises(SendFailed) as limited:
        adapter.send(to_customer("x"))
    assert limited.value.retryable and limited.value.provider_code == "130429"
    assert not limited.value.credentials_revoked


def test_a_wrong_app_secret_makes_the_proof_fail(graph: tuple[GraphFake, str], fake: GraphFake) -> None:
    fake.customer_wrote(NUMBER, WA_ID, now())
    channel = WhatsAppAdapter(settings={"phone_number_id": NUMBER, "graph_api_base": graph[1]},
                              secrets={"app_secret": "stale", "access_token": TOKEN, "verify_token": VERIFY})
    with pytest.raises(SendFailed) as refused:
        channel.send(to_customer("x"))
    channel.close()
    assert refused.value.code == "rejected" and "appsecret_proof" in refused.value.message
