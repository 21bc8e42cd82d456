"""The Messenger channel against a local fake of Meta's Graph API and webhooks signed as Meta signs them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.meta import (
    GraphFake,
    leadgen_webhook,
    messenger_delivery,
    messenger_echo,
    messenger_message,
    messenger_postback,
    messenger_read,
    messenger_webhook,
    meta_json,
    millis,
    sign,
    subscription_check,
    webhook,
)
from tests.fakes.server import serving
from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    ChannelError,
    ContactIdentifier,
    DeliveryState,
    FetchFailed,
    InboundMessage,
    LeadNotice,
    OutboundMessage,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    StatusUpdate,
    Template,
)
from xuyen.channels.messenger import MessengerAdapter
from xuyen.channels.meta import split_text

PAGE = "104987233745212"
PSID = "6783354315053723"
OTHER_PSID = "7011223344556677"
TOKEN = "EAAGm0PX4ZCpsBAKpageTOKEN"
SECRET = "5f1d8be2c4a94f0e9d1c2b3a4f5e6d7c"
VERIFY = "xuyen-verify-3b9f"


@pytest.fixture(scope="module")
def graph() -> Iterator[tuple[GraphFake, str]]:
    fake = GraphFake()
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(graph: tuple[GraphFake, str]) -> GraphFake:
    meta = graph[0]
    meta.reset()
    meta.add_page(PAGE, token=TOKEN, app_secret=SECRET)
    return meta


@pytest.fixture
def adapter(graph: tuple[GraphFake, str], fake: GraphFake) -> Iterator[MessengerAdapter]:
    channel = MessengerAdapter(settings={"page_id": PAGE, "graph_api_base": graph[1]},
                               secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": VERIFY})
    yield channel
    channel.close()


def now() -> datetime:
    return datetime.now(UTC)


def parsed(adapter: MessengerAdapter, payload: object) -> list:
    request = webhook(payload, SECRET)
    adapter.verify(request)
    return adapter.parse(request)


def reply(text: str = "", *, tag: str | None = None, to: str = PSID, **extra: object) -> OutboundMessage:
    return OutboundMessage(idempotency_key="msg-41", to=ContactIdentifier("facebook_psid", to, scope=PAGE), text=text,
                           tag=tag, **extra)  # type: ignore[arg-type]


# Setup ------------------------------------------------------------------------------------------------


def test_the_entry_point_names_the_adapter() -> None:
    point = next(item for item in entry_points(group="xuyen.channels") if item.name == "messenger")
    assert point.load() is MessengerAdapter
    assert MessengerAdapter.kind == "messenger"


def test_a_channel_without_its_secrets_says_which_are_missing() -> None:
    with pytest.raises(ChannelError, match="page_access_token"):
        MessengerAdapter(settings={"page_id": PAGE}, secrets={"app_secret": SECRET, "verify_token": VERIFY})


def test_the_graph_api_defaults_to_meta() -> None:
    channel = MessengerAdapter(settings={"page_id": PAGE}, secrets={"app_secret": SECRET, "page_access_token": TOKEN,
                                                                     "verify_token": VERIFY})
    assert channel.graph_url == "https://graph.facebook.com/v21.0"
    channel.close()


# Handshake and signatures ------------------------------------------------------------------------------


def test_the_subscription_check_is_answered_with_the_challenge(adapter: MessengerAdapter) -> None:
    answer = adapter.handshake(subscription_check(VERIFY, challenge="1158201444"))
    assert answer is not None
    assert (answer.status, answer.body) == (200, b"1158201444")


@pytest.mark.parametrize(("token", "mode"), [("wrong-token", "subscribe"), ("", "subscribe"), (VERIFY, "unsubscribe")])
def test_a_subscription_check_with_a_wrong_token_is_refused(adapter: MessengerAdapter, token: str, mode: str) -> None:
    answer = adapter.handshake(subscription_check(token, mode=mode))
    assert answer is not None
    assert answer.status == 403
    assert b"1158201444" not in answer.body


def test_an_ordinary_webhook_is_not_a_handshake(adapter: MessengerAdapter) -> None:
    assert adapter.handshake(webhook(messenger_webhook(PAGE), SECRET)) is None


def test_a_webhook_signed_with_the_app_secret_is_accepted(adapter: MessengerAdapter) -> None:
    adapter.verify(webhook(messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_1", now(), text="Chào shop/ạ")),
                           SECRET))


def test_a_webhook_signed_with_another_secret_is_refused(adapter: MessengerAdapter) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        adapter.verify(webhook(messenger_webhook(PAGE), "another-apps-secret"))


def test_a_webhook_without_a_signature_is_refused(adapter: MessengerAdapter) -> None:
    with pytest.raises(SignatureInvalid, match="no X-Hub-Signature-256"):
        adapter.verify(webhook(messenger_webhook(PAGE), None))


def test_a_sha1_signature_alone_is_refused(adapter: MessengerAdapter) -> None:
    with pytest.raises(SignatureInvalid, match="not a sha256"):
        adapter.verify(webhook(messenger_webhook(PAGE), None, signature="sha1=" + "0" * 40))


def test_a_signature_over_the_json_serialised_again_is_refused(adapter: MessengerAdapter) -> None:
    raw = meta_json(messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_2", now(), text="Giá bao nhiêu ạ?")))
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    with pytest.raises(SignatureInvalid):
        adapter.verify(webhook(reserialised, None, signature=sign(raw, SECRET)))


def test_a_signature_in_capitals_is_still_a_match(adapter: MessengerAdapter) -> None:
    raw = meta_json(messenger_webhook(PAGE))
    adapter.verify(webhook(raw, None, signature="sha256=" + sign(raw, SECRET)[7:].upper()))


# Bad payloads ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe\x00", b"[]", b'"page"', b"[" * 100_000 + b"]" * 100_000,
                                  b'{"object":"page"}', b'{"object":"page","entry":{"id":"1"}}'])
def test_a_body_that_is_not_a_page_webhook_is_payload_invalid(adapter: MessengerAdapter, body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        adapter.parse(webhook(body, SECRET))


def test_a_whatsapp_webhook_sent_here_is_payload_invalid(adapter: MessengerAdapter) -> None:
    with pytest.raises(PayloadInvalid, match="whatsapp_business_account"):
        adapter.parse(webhook({"object": "whatsapp_business_account", "entry": []}, SECRET))


def test_odd_shapes_inside_the_entries_are_left_out(adapter: MessengerAdapter) -> None:
    payload = {"object": "page", "entry": [
        1, "x", None, {"id": PAGE, "messaging": "nope"}, {"id": PAGE, "time": "soon", "messaging": [
            "x", {"sender": 5}, {"message": "text"}, {"sender": {"id": PSID}, "message": {"text": "no mid"}},
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 10**30, "message": {"mid": "m_ok",
                                                                                                "text": ["x"]}},
            {"sender": {"id": PSID}, "delivery": {"mids": "m_1", "watermark": "never"}},
            {"sender": {"id": PSID}, "read": {"watermark": None}},
        ]},
    ]}
    items = parsed(adapter, payload)
    assert [type(item) for item in items] == [InboundMessage]
    assert items[0].provider_message_id == "m_ok"
    assert items[0].text == ""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "time", "messaging", "sender", "recipient", "timestamp", "message", "mid", "text",
                         "attachments", "type", "payload", "url", "delivery", "read", "postback", "watermark",
                         "mids", "is_echo", "coordinates", "standby", "title"]), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=json_values)
def test_parse_never_fails_on_any_shape_of_entries(adapter: MessengerAdapter, entries: object) -> None:
    items = adapter.parse(webhook({"object": "page", "entry": entries if isinstance(entries, list) else [entries]},
                                  SECRET))
    assert isinstance(items, list)


# Parsing ---------------------------------------------------------------------------------------------


def test_a_text_message_names_the_person_by_their_page_scoped_id(adapter: MessengerAdapter) -> None:
    at = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
    [message] = parsed(adapter, messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_AG5Hz2U", at,
                                                                          text="Còn size 39 không shop?")))
    assert isinstance(message, InboundMessage)
    assert message.provider_message_id == "m_AG5Hz2U"
    assert message.text == "Còn size 39 không shop?"
    assert message.sent_at == at
    assert message.sent_at.tzinfo is not None
    assert message.contact.address == ContactIdentifier("facebook_psid", PSID, scope=PAGE)
    assert not message.echo


def test_a_redelivered_webhook_gives_the_same_provider_ids(adapter: MessengerAdapter) -> None:
    at = now()
    payload = messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_1", at, text="a"),
                                messenger_postback(PAGE, PSID, at, "Bắt đầu", "GET_STARTED"),
                                messenger_delivery(PAGE, PSID, at, ["m_out_1"]))
    first, again = parsed(adapter, payload), parsed(adapter, json.loads(meta_json(payload)))
    assert first == again
    assert [getattr(item, "provider_message_id", None) for item in first] == [
        "m_1", first[1].provider_message_id, "m_out_1", None]


def test_every_attachment_kind_is_read(adapter: MessengerAdapter) -> None:
    cdn = "https://scontent.xx.fbcdn.net/v/t1.15752-9/"
    attachments = [
        {"type": "image", "payload": {"url": cdn + "photo.jpg"}},
        {"type": "video", "payload": {"url": cdn + "clip.mp4"}},
        {"type": "audio", "payload": {"url": cdn + "voice.mp4"}},
        {"type": "file", "payload": {"url": cdn + "invoice.pdf"}},
        {"type": "location", "payload": {"coordinates": {"lat": 10.7769, "long": 106.7009}}, "title": "Q1"},
        {"type": "fallback", "title": "Giày chạy bộ", "url": "https://shop.example/p/42", "payload": None},
        {"type": "image", "payload": {"url": cdn + "369239263222822.png", "sticker_id": 369239263222822}},
        {"type": "something_new", "payload": {}},
    ]
    [message] = parsed(adapter, messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_att", now(),
                                                                          attachments=attachments)))
    kinds = [(item.kind, item.url) for item in message.attachments]
    assert kinds == [
        (AttachmentKind.IMAGE, cdn + "photo.jpg"), (AttachmentKind.VIDEO, cdn + "clip.mp4"),
        (AttachmentKind.AUDIO, cdn + "voice.mp4"), (AttachmentKind.FILE, cdn + "invoice.pdf"),
        (AttachmentKind.LOCATION, None), (AttachmentKind.LINK, "https://shop.example/p/42"),
        (AttachmentKind.STICKER, cdn + "369239263222822.png"),
    ]
    assert message.attachments[4].meta == {"latitude": 10.7769, "longitude": 106.7009}
    assert message.attachments[5].name == "Giày chạy bộ"
    assert message.attachments[6].meta == {"sticker_id": "369239263222822"}


def test_the_like_sticker_and_quick_replies_and_replies_are_read(adapter: MessengerAdapter) -> None:
    event = messenger_message(PAGE, PSID, "m_q", now(), text="Có", quick_reply={"payload": "SIZE_39"},
                              reply_to={"mid": "m_earlier"}, sticker_id=369239263222822)
    [message] = parsed(adapter, messenger_webhook(PAGE, event))
    assert message.thread_hints == {"quick_reply": {"payload": "SIZE_39"}}
    assert message.reply_to_provider_id == "m_earlier"
    assert [item.kind for item in message.attachments] == [AttachmentKind.STICKER]


def test_an_echo_is_the_pages_own_message_to_the_person(adapter: MessengerAdapter) -> None:
    [echo] = parsed(adapter, messenger_webhook(PAGE, messenger_echo(PAGE, PSID, "m_echo", now(), "Dạ còn ạ",
                                                                     metadata="msg-41")))
    assert echo.echo
    assert echo.contact.address.value == PSID
    assert echo.thread_hints == {"app_id": "1517776481860111", "metadata": "msg-41"}


def test_a_delivery_marks_each_mid_and_everything_before_the_watermark(adapter: MessengerAdapter) -> None:
    watermark = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    updates = parsed(adapter, messenger_webhook(PAGE, messenger_delivery(PAGE, PSID, watermark, ["m_a", "m_b"])))
    assert updates == [
        StatusUpdate(DeliveryState.DELIVERED, watermark, "m_a", updates[0].contact),
        StatusUpdate(DeliveryState.DELIVERED, watermark, "m_b", updates[0].contact),
        StatusUpdate(DeliveryState.DELIVERED, watermark, None, updates[0].contact, up_to=True),
    ]
    assert updates[0].contact is not None and updates[0].contact.address.value == PSID


def test_a_delivery_without_mids_is_the_watermark_alone(adapter: MessengerAdapter) -> None:
    [update] = parsed(adapter, messenger_webhook(PAGE, messenger_delivery(PAGE, PSID, now())))
    assert update.up_to and update.provider_message_id is None


def test_a_read_marks_everything_before_the_watermark(adapter: MessengerAdapter) -> None:
    watermark = datetime(2025, 3, 14, 9, 31, 2, 123000, tzinfo=UTC)
    [update] = parsed(adapter, messenger_webhook(PAGE, messenger_read(PAGE, PSID, watermark, now())))
    assert isinstance(update, StatusUpdate)
    assert (update.state, update.at, update.up_to) == (DeliveryState.READ, watermark, True)


def test_a_postback_is_a_message_with_the_buttons_title(adapter: MessengerAdapter) -> None:
    at = now()
    [with_mid, without] = parsed(adapter, messenger_webhook(
        PAGE, messenger_postback(PAGE, PSID, at, "Xem đơn hàng", "ORDER_STATUS", mid="m_pb"),
        messenger_postback(PAGE, OTHER_PSID, at, "Bắt đầu", "GET_STARTED")))
    assert (with_mid.provider_message_id, with_mid.text) == ("m_pb", "Xem đơn hàng")
    assert with_mid.thread_hints == {"postback": {"title": "Xem đơn hàng", "payload": "ORDER_STATUS"}}
    assert without.provider_message_id.startswith(f"postback:{OTHER_PSID}:{millis(at)}:")
    assert without.contact.address.value == OTHER_PSID


def test_standby_other_pages_and_unknown_events_are_left_out(adapter: MessengerAdapter) -> None:
    at = now()
    payload = messenger_webhook(PAGE, {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": millis(at),
                                       "reaction": {"mid": "m_1", "action": "react", "emoji": "❤"}},
                                {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": millis(at),
                                 "optin": {"type": "notification_messages"}},
                                standby=[messenger_message(PAGE, PSID, "m_standby", at, text="x")])
    other_page = messenger_webhook("999", messenger_message("999", PSID, "m_other", at, text="y"))
    payload["entry"].append(other_page["entry"][0])
    payload["entry"][0]["changes"] = [{"field": "feed", "value": {"item": "comment"}}]
    assert parsed(adapter, payload) == []


# Sending ---------------------------------------------------------------------------------------------


def test_a_reply_inside_the_window_goes_out_as_a_response(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.require_appsecret_proof = True
    fake.customer_wrote(PAGE, PSID, now() - timedelta(hours=2))
    result = adapter.send(reply("Dạ shop còn size 39 ạ"))
    [sent] = fake.sent
    assert result.provider_message_id == sent.message_id
    assert result.provider_message_id.startswith("m_")
    assert sent.body == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                         "message": {"text": "Dạ shop còn size 39 ạ", "metadata": "msg-41"}}
    [request] = fake.requests
    assert request.path == f"/v21.0/{PAGE}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in request.query


def test_a_long_text_is_split_into_messages_of_2000_characters(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    paragraph = "Chính sách đổi trả trong 30 ngày, miễn phí vận chuyển cho đơn từ 500.000 ₫. " * 12
    text = "\n\n".join([paragraph.strip()] * 5)
    result = adapter.send(reply(text))
    texts = [sent.body["message"]["text"] for sent in fake.sent]
    assert result.parts == len(texts) >= 3
    assert all(len(part) <= 2000 for part in texts)
    assert " ".join(texts).split() == text.split()
    assert result.provider_message_id == fake.sent[0].message_id


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab ạ\n\t😀"), max_size=700), limit=st.integers(20, 200))
def test_splitting_keeps_every_word_and_every_part_fits(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(part) <= limit for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())
    if all(len(word) < limit // 2 for word in text.split()):
        assert " ".join(parts).split() == text.split()
    assert len(text) > limit or parts == [text]


def test_attachments_are_sent_by_url_after_the_text(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    photo = Attachment(AttachmentKind.IMAGE, url="https://cdn.shop.example/giay-39.jpg")
    invoice = Attachment(AttachmentKind.FILE, url="https://cdn.shop.example/hd-0042.pdf", name="hd-0042.pdf")
    result = adapter.send(reply("Ảnh và hoá đơn ạ", attachments=(photo, invoice)))
    assert result.parts == 3
    assert [sent.body["message"].get("attachment") for sent in fake.sent] == [
        None, {"type": "image", "payload": {"url": photo.url, "is_reusable": True}},
        {"type": "file", "payload": {"url": invoice.url, "is_reusable": True}}]


def test_what_messenger_cannot_carry_is_refused_before_sending(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    with pytest.raises(SendFailed, match="no message templates") as template:
        adapter.send(reply("x", template=Template("order_update", "vi")))
    with pytest.raises(SendFailed, match="public web address"):
        adapter.send(reply(attachments=(Attachment(AttachmentKind.IMAGE, url=None),)))
    with pytest.raises(SendFailed, match="cannot send a location"):
        adapter.send(reply(attachments=(Attachment(AttachmentKind.LOCATION, meta={"latitude": 1, "longitude": 2}),)))
    with pytest.raises(SendFailed, match="empty"):
        adapter.send(reply("   "))
    with pytest.raises(SendFailed, match="page-scoped id"):
        adapter.send(OutboundMessage(idempotency_key="k", to=ContactIdentifier("phone", "+84901234567"), text="x"))
    with pytest.raises(SendFailed, match="page-scoped id"):
        adapter.send(OutboundMessage(idempotency_key="k", to=ContactIdentifier("facebook_psid", PSID, scope="999"),
                                     text="x"))
    assert not template.value.retryable
    assert fake.requests == []


# The reply window ------------------------------------------------------------------------------------


def test_the_reply_rule_follows_messengers_windows(adapter: MessengerAdapter) -> None:
    moment = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    fresh = adapter.reply_rule(last_inbound_at=moment - timedelta(hours=23), now=moment)
    assert (fresh.free_text, fresh.tag, fresh.until) == (True, None, moment + timedelta(hours=1))
    late = adapter.reply_rule(last_inbound_at=moment - timedelta(hours=30), now=moment)
    assert (late.free_text, late.tag, late.until) == (True, "HUMAN_AGENT", moment - timedelta(hours=30) +
                                                      timedelta(days=7))
    assert "7 days" in late.reason
    gone = adapter.reply_rule(last_inbound_at=moment - timedelta(days=7, seconds=1), now=moment)
    assert (gone.free_text, gone.tag, gone.templates) == (False, None, False)
    assert "more than 7 days" in gone.reason
    never = adapter.reply_rule(last_inbound_at=None, now=moment)
    assert not never.free_text and "wrote first" in never.reason


def test_between_a_day_and_a_week_a_reply_goes_out_with_the_human_agent_tag(adapter: MessengerAdapter,
                                                                            fake: GraphFake) -> None:
    last = now() - timedelta(hours=30)
    fake.customer_wrote(PAGE, PSID, last)
    with pytest.raises(SendFailed) as untagged:
        adapter.send(reply("Xin lỗi vì trả lời muộn"))
    assert untagged.value.outside_window and untagged.value.provider_code == "10/2018278"
    rule = adapter.reply_rule(last_inbound_at=last, now=now())
    result = adapter.send(reply("Xin lỗi vì trả lời muộn", tag=rule.tag))
    [sent] = fake.sent
    assert sent.message_id == result.provider_message_id
    assert (sent.body["messaging_type"], sent.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_after_a_week_the_page_may_not_write(adapter: MessengerAdapter, fake: GraphFake) -> None:
    last = now() - timedelta(days=8)
    fake.customer_wrote(PAGE, PSID, last)
    assert not adapter.reply_rule(last_inbound_at=last, now=now()).free_text
    with pytest.raises(SendFailed) as refused:
        adapter.send(reply("Chào bạn", tag="HUMAN_AGENT"))
    assert refused.value.outside_window and not refused.value.retryable
    assert "reply window has closed" in refused.value.message
    assert fake.sent == []


# Provider errors -------------------------------------------------------------------------------------


def test_a_revoked_token_asks_for_the_channel_to_be_reconnected(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    fake.revoke(TOKEN)
    with pytest.raises(SendFailed) as revoked:
        adapter.send(reply("Chào bạn"))
    assert revoked.value.credentials_revoked and not revoked.value.retryable
    assert revoked.value.provider_code == "190/460"
    assert "new token" in revoked.value.message


def test_an_unknown_token_is_revoked_credentials(graph: tuple[GraphFake, str], fake: GraphFake) -> None:
    channel = MessengerAdapter(settings={"page_id": PAGE, "graph_api_base": graph[1]},
                               secrets={"app_secret": SECRET, "page_access_token": "EAAG-typo", "verify_token": "v"})
    with pytest.raises(SendFailed) as refused:
        channel.send(reply("x"))
    channel.close()
    assert refused.value.credentials_revoked and refused.value.provider_code == "190"


def test_a_rate_limit_is_retried(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    fake.throttle(PAGE)
    with pytest.raises(SendFailed) as limited:
        adapter.send(reply("x"))
    assert limited.value.retryable and limited.value.code == "rate_limited" and limited.value.provider_code == "613"


def test_a_split_reply_cut_short_is_not_retried_so_nothing_is_sent_twice(adapter: MessengerAdapter,
                                                                        fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    fake.throttle(PAGE, after=1)
    with pytest.raises(SendFailed) as cut:
        adapter.send(reply("word " * 900))
    assert cut.value.code == "partially_sent" and not cut.value.retryable
    assert "Only 1 of the 3" in cut.value.message
    assert len(fake.sent) == 1


def test_a_person_who_blocked_the_page_cannot_be_messaged(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.customer_wrote(PAGE, PSID, now())
    fake.blocked.add((PAGE, PSID))
    with pytest.raises(SendFailed) as unavailable:
        adapter.send(reply("x"))
    assert unavailable.value.code == "recipient_unavailable" and unavailable.value.outside_window
    assert not unavailable.value.retryable


def test_an_unreachable_graph_api_is_retried(fake: GraphFake) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = MessengerAdapter(settings={"page_id": PAGE, "graph_api_base": f"http://127.0.0.1:{port}"},
                               secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": VERIFY})
    with pytest.raises(SendFailed) as down:
        channel.send(reply("x"))
    channel.close()
    assert down.value.retryable and down.value.code == "network"


def test_a_graph_api_base_that_is_no_address_is_reported(fake: GraphFake) -> None:
    channel = MessengerAdapter(settings={"page_id": PAGE, "graph_api_base": "graph.facebook.com"},
                               secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": VERIFY})
    with pytest.raises(SendFailed) as wrong:
        channel.send(reply("x"))
    channel.close()
    assert wrong.value.code == "misconfigured" and not wrong.value.retryable


# Lead Ads ----------------------------------------------------------------------------------------------


LEAD = "1053720931245566"


def test_a_leadgen_change_names_the_lead_without_its_answers(adapter: MessengerAdapter) -> None:
    at = datetime(2026, 12, 6, 9, 12, 44, tzinfo=UTC)
    payload = leadgen_webhook(PAGE, LEAD, form_id="1250743692438731", ad_id="120208876543210",
                              adgroup_id="120208876543210", created_time=at)
    [notice] = adapter.parse(webhook(payload, SECRET))
    assert isinstance(notice, LeadNotice)
    assert (notice.source, notice.provider_lead_id, notice.complete, notice.at) == (
        "facebook_lead_ads", LEAD, False, at)
    assert notice.detail == {"form_id": "1250743692438731", "ad_id": "120208876543210",
                             "adgroup_id": "120208876543210", "page_id": PAGE}
    # Messages and leads of one delivery are all read; a lead of another Page is left out.
    mixed = messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_1", at, text="Chào shop"))
    mixed["entry"].append(leadgen_webhook(PAGE, "77", created_time=at)["entry"][0])
    mixed["entry"].append(leadgen_webhook("999", "78", created_time=at)["entry"][0])
    kinds = [type(item).__name__ for item in adapter.parse(webhook(mixed, SECRET))]
    assert kinds == ["InboundMessage", "LeadNotice"]


@pytest.mark.parametrize("value", [{}, {"leadgen_id": ""}, {"leadgen_id": "12ab"}, {"leadgen_id": None},
                                   {"leadgen_id": True}, {"leadgen_id": "1" * 41}])
def test_a_leadgen_change_without_a_usable_id_is_payload_invalid(adapter: MessengerAdapter,
                                                                 value: dict[str, object]) -> None:
    payload = {"object": "page", "entry": [{"id": PAGE, "time": 1, "changes": [{"field": "leadgen", "value": value}]}]}
    with pytest.raises(PayloadInvalid, match="leadgen_id"):
        adapter.parse(webhook(payload, SECRET))


def test_a_lead_is_read_with_its_answers_ad_and_campaign(adapter: MessengerAdapter, fake: GraphFake) -> None:
    fake.require_appsecret_proof = True
    fake.add_lead(PAGE, LEAD, {"full_name": "Nguyễn Thị Mai", "phone_number": "+84912345678",
                               "size_ban_mac?": ["M", "L"]}, created_time=datetime(2026, 12, 6, 9, 12, 44, tzinfo=UTC))
    notice = adapter.fetch_lead(LEAD)
    assert notice.complete and notice.at == datetime(2026, 12, 6, 9, 12, 44, tzinfo=UTC)
    assert notice.fields == {"full_name": "Nguyễn Thị Mai", "phone_number": "+84912345678", "size_ban_mac?": "M, L"}
    assert notice.detail["campaign_name"] == "Tết 2027 - Áo dài" and notice.detail["adset_name"] == "Nữ 25-45 TP.HCM"
    assert notice.detail["is_organic"] == "false" and notice.detail["platform"] == "fb"
    organic = "1053720931245999"
    fake.add_lead(PAGE, organic, {"email": "a@shop.vn"}, is_organic=True)
    assert adapter.fetch_lead(organic).detail == {"form_id": "1250743692438731", "platform": "fb",
                                                  "is_organic": "true"}


@pytest.mark.parametrize(("arrange", "code", "retryable", "revoked"), [
    ("revoked", "credentials_revoked", False, True),
    ("no_permission", "permission_missing", False, True),
    ("unknown", "not_found", False, False),
    ("outage", "provider_unavailable", True, False),
])
def test_a_lead_meta_will_not_give_says_what_to_do(adapter: MessengerAdapter, fake: GraphFake, arrange: str,
                                                   code: str, retryable: bool, revoked: bool) -> None:
    fake.add_lead(PAGE, LEAD, {"full_name": "Mai"})
    if arrange == "revoked":
        fake.revoke(TOKEN)
    elif arrange == "no_permission":
        fake.without_leads_permission.add(PAGE)
    elif arrange == "outage":
        fake.lead_outages = 1
    with pytest.raises(FetchFailed) as failed:
        adapter.fetch_lead(LEAD if arrange != "unknown" else "1053720931240000")
    assert (failed.value.code, failed.value.retryable, failed.value.credentials_revoked) == (code, retryable, revoked)


def test_a_lead_on_an_unreachable_graph_api_is_retried(fake: GraphFake) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = MessengerAdapter(settings={"page_id": PAGE, "graph_api_base": f"http://127.0.0.1:{port}"},
                               secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": VERIFY})
    with pytest.raises(FetchFailed) as failed:
        channel.fetch_lead(LEAD)
    channel.close()
    assert failed.value.code == "network" and failed.value.retryable
