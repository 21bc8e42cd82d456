"""The Zalo OA adapter against a local fake of Zalo's wire protocol: real HTTP both ways, real signatures."""

from __future__ import annotations

import json
import socket
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.server import serving
from tests.fakes.zalo import ZaloFake, encode, sign
from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    ChannelError,
    ContactEvent,
    ContactEventKind,
    ContactIdentifier,
    DeliveryState,
    Inbound,
    InboundMessage,
    OutboundMessage,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    StatusUpdate,
    Template,
    WebhookRequest,
)
from xuyen.channels.zalo import ZaloAdapter
from xuyen.channels.zalo.adapter import tracking_id

USER = "2468458835296117922"  # a Zalo user id: digits, far above 2**53
HUGE_USER = "184467440737095516170"  # above 2**64: only a string holds it
T0 = 1_718_000_000_123  # milliseconds
T0_AT = datetime(2024, 6, 10, 6, 13, 20, 123_000, tzinfo=UTC)


# Fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> ZaloFake:
    """Zalo: one app linked to one OA."""
    return ZaloFake()


@pytest.fixture
def zalo_url(fake: ZaloFake) -> Iterator[str]:
    """The fake's address, serving the OA API, OAuth and ZNS."""
    with serving(fake.app) as url:
        yield url


def make_adapter(fake: ZaloFake, url: str, **secrets: str) -> ZaloAdapter:
    """A Zalo channel connected to ``fake``."""
    return ZaloAdapter(
        settings={"oa_id": fake.oa_id, "app_id": fake.app_id, "api_base": url, "oauth_base": url,
                  "business_api_base": url},
        secrets={"oa_secret_key": fake.oa_secret_key, "app_secret": fake.app_secret,
                 "access_token": fake.access_token, "refresh_token": fake.refresh_token, **secrets})


@pytest.fixture
def adapter(fake: ZaloFake, zalo_url: str) -> Iterator[ZaloAdapter]:
    """The adapter under test, its API addresses pointed at the fake."""
    channel = make_adapter(fake, zalo_url)
    yield channel
    channel.close()


@dataclass
class Inbox:
    """A stand-in for the inbox's webhook endpoint: verify, parse, answer; it keeps what it saw."""

    adapter: ZaloAdapter
    url: str = ""
    received: list[list[Inbound]] = field(default_factory=list)
    refused: list[Exception] = field(default_factory=list)
    webhook_ids: list[str | None] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        """Handle one delivery the way the inbox does."""
        hook = WebhookRequest(method=request.method, headers={k.lower(): v for k, v in request.headers.items()},
                              query=dict(request.query_params), body=await request.body(),
                              received_at=datetime.now(UTC))
        try:
            self.adapter.verify(hook)
            items = self.adapter.parse(hook)
        except SignatureInvalid as exc:
            self.refused.append(exc)
            return PlainTextResponse(exc.message, status_code=401)
        except PayloadInvalid as exc:
            self.refused.append(exc)
            return PlainTextResponse(exc.message, status_code=400)
        self.received.append(items)
        self.webhook_ids.append(self.adapter.webhook_id(hook))
        answer = self.adapter.ack(hook)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@pytest.fixture
def inbox(adapter: ZaloAdapter) -> Iterator[Inbox]:
    """The inbox's webhook URL, served for real."""
    box = Inbox(adapter)
    with serving(Starlette(routes=[Route("/webhooks/7", box.endpoint, methods=["POST"])])) as url:
        box.url = f"{url}/webhooks/7"
        yield box


def deliver(fake: ZaloFake, inbox: Inbox, payload: dict[str, Any], **kwargs: Any) -> list[Inbound]:
    """Zalo delivers ``payload``; the inbox must accept it within Zalo's two seconds."""
    response = fake.deliver(inbox.url, payload, **kwargs)
    assert response.status_code == 200, response.text
    assert response.text == "ok"
    assert response.elapsed < timedelta(seconds=2)
    return inbox.received[-1]


def hook(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    """A webhook request built directly, for bodies no HTTP client would send as is."""
    return WebhookRequest(method="POST", headers=headers or {}, query={}, body=body, received_at=datetime.now(UTC))


def only(items: list[Inbound]) -> Inbound:
    """The one item a webhook carried."""
    assert len(items) == 1, items
    return items[0]


# Signatures --------------------------------------------------------------------------------------------


def test_a_signed_text_message_is_accepted_and_read(fake: ZaloFake, inbox: Inbox) -> None:
    """A user's text arrives with its id, text, time and both of the user's Zalo ids."""
    item = only(deliver(fake, inbox, fake.user_message(USER, text="Shop ơi, còn size M không?",
                                                       msg_id="96d3cdf3af150460909", timestamp_ms=T0)))
    assert isinstance(item, InboundMessage)
    assert item.provider_message_id == "96d3cdf3af150460909"
    assert item.text == "Shop ơi, còn size M không?"
    assert item.sent_at == T0_AT
    assert item.echo is False
    assert item.attachments == ()
    assert item.contact.identifiers == (
        ContactIdentifier("zalo_id", USER, scope=fake.oa_id),
        ContactIdentifier("zalo_app_user_id", "552177279717587730", scope=fake.app_id))
    assert item.contact.address == ContactIdentifier("zalo_id", USER, scope=fake.oa_id)


def test_a_missing_signature_is_refused(fake: ZaloFake, inbox: Inbox) -> None:
    """Without X-ZEvent-Signature nothing is read."""
    response = fake.deliver(inbox.url, fake.user_message(USER, text="hi"), headers={"content-type": "application/json"})
    assert response.status_code == 401
    assert isinstance(inbox.refused[-1], SignatureInvalid)
    assert inbox.received == []


def test_a_wrong_signature_is_refused(fake: ZaloFake, inbox: Inbox) -> None:
    """A mac that is not the digest of this body is refused."""
    payload = fake.user_message(USER, text="hi")
    response = fake.deliver(inbox.url, payload, headers={"x-zevent-signature": "mac=" + "0" * 64})
    assert response.status_code == 401
    assert inbox.received == []


def test_a_signature_over_other_bytes_is_refused(fake: ZaloFake, inbox: Inbox) -> None:
    """A genuine signature of one body does not carry another body with the same timestamp."""
    signed_body, headers = fake.signed(fake.user_message(USER, text="Chuyển khoản 100.000đ", timestamp_ms=T0))
    forged = fake.user_message(USER, text="Chuyển khoản 9.000.000đ", timestamp_ms=T0)
    response = fake.deliver(inbox.url, forged, headers=headers)
    assert response.status_code == 401
    # The same bytes re-serialised with other spacing are other bytes too: the raw body is what Zalo signs.
    spaced = json.dumps(json.loads(signed_body), ensure_ascii=False, indent=1).encode()
    assert fake.deliver(inbox.url, spaced, headers=headers).status_code == 401
    assert inbox.received == []


def test_signatures_made_with_other_secrets_are_refused(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """The OA secret key signs, not the app secret; and the app id is part of the digest."""
    body = encode(fake.user_message(USER, text="hi", timestamp_ms=T0))
    for app_id, secret in ((fake.app_id, fake.app_secret), ("1111111111111111111", fake.oa_secret_key)):
        with pytest.raises(SignatureInvalid):
            adapter.verify(hook(body, {"x-zevent-signature": sign(app_id, body, str(T0), secret)}))
    adapter.verify(hook(body, {"x-zevent-signature": sign(fake.app_id, body, str(T0), fake.oa_secret_key)}))


def test_the_mac_prefix_is_required(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """Zalo's header is ``mac=<hex>``; a bare digest is not its form and is refused."""
    body = encode(fake.user_message(USER, text="hi", timestamp_ms=T0))
    good = sign(fake.app_id, body, str(T0), fake.oa_secret_key)
    with pytest.raises(SignatureInvalid, match="mac="):
        adapter.verify(hook(body, {"x-zevent-signature": good.removeprefix("mac=")}))
    adapter.verify(hook(body, {"x-zevent-signature": f" {good} "}))


def test_the_signed_timestamp_is_the_bodys(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """The digest takes the body's own timestamp; a body without one cannot be checked and is refused."""
    payload = fake.user_message(USER, text="hi", timestamp_ms=T0)
    body = encode(payload)
    with pytest.raises(SignatureInvalid):
        adapter.verify(hook(body, {"x-zevent-signature": sign(fake.app_id, body, str(T0 + 1), fake.oa_secret_key)}))
    del payload["timestamp"]
    body = encode(payload)
    with pytest.raises(SignatureInvalid, match="timestamp"):
        adapter.verify(hook(body, {"x-zevent-signature": sign(fake.app_id, body, "", fake.oa_secret_key)}))


# Ids and times -----------------------------------------------------------------------------------------


def test_ids_stay_strings_even_past_2_53(fake: ZaloFake, inbox: Inbox) -> None:
    """Numeric-looking ids larger than any float holds come out digit for digit."""
    payload = fake.user_message(HUGE_USER, text="hi", msg_id="90071992547409930001", timestamp_ms=T0,
                                user_id_by_app="9007199254740993")
    item = only(deliver(fake, inbox, payload))
    assert isinstance(item, InboundMessage)
    assert item.provider_message_id == "90071992547409930001"
    assert [identifier.value for identifier in item.contact.identifiers] == [HUGE_USER, "9007199254740993"]


def test_ids_written_as_bare_json_numbers_keep_every_digit(fake: ZaloFake, inbox: Inbox) -> None:
    """Should Zalo ever write an id unquoted, it is still read whole, never through a float."""
    body = (f'{{"app_id":"{fake.app_id}","sender":{{"id":{HUGE_USER}}},"user_id_by_app":9007199254740993,'
            f'"recipient":{{"id":{fake.oa_id}}},"event_name":"user_send_text",'
            f'"message":{{"text":"hi","msg_id":"m1"}},"timestamp":{T0}}}').encode()
    item = only(deliver(fake, inbox, body))  # type: ignore[arg-type]
    assert isinstance(item, InboundMessage)
    assert [identifier.value for identifier in item.contact.identifiers] == [HUGE_USER, "9007199254740993"]
    assert item.sent_at == T0_AT


def test_a_redelivered_event_gives_the_same_ids(fake: ZaloFake, inbox: Inbox) -> None:
    """Zalo retries a delivery it thinks failed; the inbox can drop the second by the same ids."""
    payload = fake.user_message(USER, text="Alo", timestamp_ms=T0)
    first = only(deliver(fake, inbox, payload))
    second = only(deliver(fake, inbox, payload, retry=1))
    assert first == second
    assert inbox.webhook_ids[0] == inbox.webhook_ids[1] is not None
    other = only(deliver(fake, inbox, fake.user_message(USER, text="Alo", timestamp_ms=T0)))
    assert isinstance(other, InboundMessage) and isinstance(first, InboundMessage)
    assert other.provider_message_id != first.provider_message_id
    assert inbox.webhook_ids[2] != inbox.webhook_ids[0]


# Event kinds -------------------------------------------------------------------------------------------

ATTACHMENT_EVENTS = [
    ("user_send_image", {"type": "image", "payload": {"thumbnail": "https://z.test/t.jpg",
                                                      "url": "https://z.test/i.jpg"}},
     Attachment(AttachmentKind.IMAGE, url="https://z.test/i.jpg",
                meta={"zalo_type": "image", "thumbnail": "https://z.test/t.jpg"})),
    ("user_send_gif", {"type": "gif", "payload": {"thumbnail": "https://z.test/t.gif", "url": "https://z.test/g.gif"}},
     Attachment(AttachmentKind.IMAGE, url="https://z.test/g.gif", mime_type="image/gif",
                meta={"zalo_type": "gif", "thumbnail": "https://z.test/t.gif"})),
    ("user_send_sticker", {"type": "sticker", "payload": {"id": "bfe458bf64fa8da4d4eb", "url": "https://z.test/s"}},
     Attachment(AttachmentKind.STICKER, url="https://z.test/s", meta={"zalo_type": "sticker",
                                                                      "id": "bfe458bf64fa8da4d4eb"})),
    ("user_send_file", {"type": "file", "payload": {"url": "https://z.test/f", "size": "2048", "name": "don-hang.pdf",
                                                    "checksum": "c0ffee", "type": "pdf"}},
     Attachment(AttachmentKind.FILE, url="https://z.test/f", name="don-hang.pdf", mime_type="application/pdf",
                size_bytes=2048, meta={"zalo_type": "file", "checksum": "c0ffee"})),
    ("user_send_audio", {"type": "audio", "payload": {"url": "https://z.test/a.aac"}},
     Attachment(AttachmentKind.AUDIO, url="https://z.test/a.aac", meta={"zalo_type": "audio"})),
    ("user_send_video", {"type": "video", "payload": {"thumbnail": "https://z.test/v.jpg", "description": "clip",
                                                      "url": "https://z.test/v.mp4"}},
     Attachment(AttachmentKind.VIDEO, url="https://z.test/v.mp4",
                meta={"zalo_type": "video", "thumbnail": "https://z.test/v.jpg", "description": "clip"})),
    ("user_send_link", {"type": "link", "payload": {"thumbnail": "https://z.test/l.jpg", "description": "Áo thun",
                                                    "url": "https://shop.test/ao"}},
     Attachment(AttachmentKind.LINK, url="https://shop.test/ao",
                meta={"zalo_type": "link", "thumbnail": "https://z.test/l.jpg", "description": "Áo thun"})),
    ("user_send_location", {"type": "location", "payload": {"coordinates": {"latitude": "10.7642473",
                                                                            "longitude": "106.6564313"}}},
     Attachment(AttachmentKind.LOCATION, meta={"zalo_type": "location", "latitude": 10.7642473,
                                               "longitude": 106.6564313})),
]


@pytest.mark.parametrize(("event_name", "raw", "expected"), ATTACHMENT_EVENTS,
                         ids=[event for event, _, _ in ATTACHMENT_EVENTS])
def test_every_kind_of_user_message(fake: ZaloFake, inbox: Inbox, event_name: str, raw: dict[str, Any],
                                    expected: Attachment) -> None:
    """Images, gifs, stickers, files, audio, video, links and locations keep what Zalo tells of them."""
    item = only(deliver(fake, inbox, fake.user_message(USER, event_name=event_name, attachments=[raw],
                                                       text="xem giúp em" if event_name == "user_send_image" else None,
                                                       timestamp_ms=T0)))
    assert isinstance(item, InboundMessage)
    assert item.attachments == (expected,)
    assert item.text == ("xem giúp em" if event_name == "user_send_image" else "")
    assert item.sent_at == T0_AT


def test_the_oas_own_messages_come_back_as_echoes(fake: ZaloFake, inbox: Inbox) -> None:
    """A reply an admin typed in the Zalo OA manager arrives as an echo addressed to the user."""
    item = only(deliver(fake, inbox, fake.oa_echo(USER, text="Dạ còn ạ", msg_id="e1", timestamp_ms=T0)))
    assert isinstance(item, InboundMessage)
    assert item.echo is True
    assert item.provider_message_id == "e1"
    assert item.contact.address == ContactIdentifier("zalo_id", USER, scope=fake.oa_id)
    image_echo = fake.oa_echo(USER, text="", msg_id="e2", event_name="oa_send_image", timestamp_ms=T0)
    assert only(deliver(fake, inbox, image_echo)).echo is True  # type: ignore[union-attr]


@pytest.mark.parametrize(("event_name", "kind"), [("follow", ContactEventKind.FOLLOW),
                                                  ("unfollow", ContactEventKind.UNFOLLOW)])
def test_follow_and_unfollow(fake: ZaloFake, inbox: Inbox, event_name: str, kind: ContactEventKind) -> None:
    """Following or leaving the OA is a contact event of the follower, with a stable id."""
    payload = fake.follow(USER, event_name=event_name, timestamp_ms=T0)
    item = only(deliver(fake, inbox, payload))
    assert isinstance(item, ContactEvent)
    assert item.kind is kind
    assert item.at == T0_AT
    assert item.contact.identifiers == (
        ContactIdentifier("zalo_id", USER, scope=fake.oa_id),
        ContactIdentifier("zalo_app_user_id", "552172779717587730", scope=fake.app_id))
    assert item.provider_event_id == f"{event_name}:{USER}:{T0}"
    assert only(deliver(fake, inbox, payload)) == item


def test_seen_marks_each_message_read(fake: ZaloFake, inbox: Inbox) -> None:
    """``user_seen_message`` lists the OA's messages the user read; each becomes a READ status."""
    items = deliver(fake, inbox, fake.seen(USER, ["bc45ff6b2d65c33b9a74", "a2", "a2"], timestamp_ms=T0))
    assert [type(item) for item in items] == [StatusUpdate, StatusUpdate]
    assert [item.provider_message_id for item in items] == ["bc45ff6b2d65c33b9a74", "a2"]  # type: ignore[union-attr]
    for item in items:
        assert isinstance(item, StatusUpdate)
        assert item.state is DeliveryState.READ
        assert item.at == T0_AT
        assert item.contact is not None
        assert item.contact.address == ContactIdentifier("zalo_id", USER, scope=fake.oa_id)


def test_statuses_arriving_out_of_order_keep_their_own_state_and_time(fake: ZaloFake, inbox: Inbox) -> None:
    """Read can arrive before delivered; each status says what it is and when, and the inbox keeps the later."""
    read = only(deliver(fake, inbox, fake.seen(USER, ["m9"], timestamp_ms=T0 + 5_000)))
    delivered = only(deliver(fake, inbox, fake.received(USER, "m9", timestamp_ms=T0)))
    assert isinstance(read, StatusUpdate) and isinstance(delivered, StatusUpdate)
    assert (read.state, read.at) == (DeliveryState.READ, T0_AT + timedelta(seconds=5))
    assert (delivered.state, delivered.at) == (DeliveryState.DELIVERED, T0_AT)
    assert read.provider_message_id == delivered.provider_message_id == "m9"


def test_a_zns_delivery_receipt_names_the_phone_and_the_delivery_time(fake: ZaloFake, inbox: Inbox) -> None:
    """ZNS reports delivery to the phone number it was sent to, at ``delivery_time``."""
    payload = fake.zns_received("84912345678", "15a0cc0bbb13bd4ce403", "order-88213", delivery_ms=T0,
                                timestamp_ms=T0 + 60_000)
    item = only(deliver(fake, inbox, payload, zns=True))
    assert isinstance(item, StatusUpdate)
    assert item.state is DeliveryState.DELIVERED
    assert item.provider_message_id == "15a0cc0bbb13bd4ce403"
    assert item.at == T0_AT
    assert item.contact is not None
    assert item.contact.identifiers == (ContactIdentifier("phone", "+84912345678"),)


def test_shared_details_become_traits_and_a_phone(fake: ZaloFake, inbox: Inbox) -> None:
    """``user_submit_info`` gives the name, the phone (as E.164) and the address the user chose to share."""
    info = {"name": "Nguyễn Thị Lan", "phone": "84912345678", "user_dob": "30/10/1999",
            "full_address": {"user_city": "Thành phố Hồ Chí Minh", "user_ward": "Phường Tân Thuận",
                             "user_address": "Đường số 13, KCX Tân Thuận Đông"}}
    item = only(deliver(fake, inbox, fake.submit_info(USER, info, timestamp_ms=T0)))
    assert isinstance(item, InboundMessage)
    assert item.contact.name == "Nguyễn Thị Lan"
    assert item.contact.identifiers == (
        ContactIdentifier("zalo_id", USER, scope=fake.oa_id),
        ContactIdentifier("zalo_app_user_id", "552177279717587730", scope=fake.app_id),
        ContactIdentifier("phone", "+84912345678"))
    assert item.contact.traits == {"name": "Nguyễn Thị Lan", "phone": "+84912345678",
                                   "address": "Đường số 13, KCX Tân Thuận Đông", "city": "Thành phố Hồ Chí Minh",
                                   "ward": "Phường Tân Thuận"}
    assert "+84912345678" in item.text
    assert item.provider_message_id == f"user_submit_info:{USER}:{T0}"
    flat = fake.submit_info(USER, {"name": "Anh Minh", "phone": "0987654321", "address": "12 Lý Tự Trọng"},
                            timestamp_ms=T0 + 1)
    again = only(deliver(fake, inbox, flat))
    assert isinstance(again, InboundMessage)
    assert again.contact.traits == {"name": "Anh Minh", "phone": "+84987654321", "address": "12 Lý Tự Trọng"}


@pytest.mark.parametrize("event_name", ["user_reacted_message", "add_user_to_tag", "user_send_group_text",
                                        "oa_send_group_text", "change_template_status", "some_event_from_2030"])
def test_events_the_channel_does_not_handle_are_left_out(fake: ZaloFake, inbox: Inbox, event_name: str) -> None:
    """New or unsupported event types are accepted and yield nothing, so Zalo stops retrying them."""
    payload = fake.user_message(USER, text="x", event_name=event_name)
    assert deliver(fake, inbox, payload) == []


# Malformed bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"user_send_text"', b"\xff\xfe{", b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_payload_invalid(adapter: ZaloAdapter, body: bytes) -> None:
    """Garbage never crashes the adapter: both verify and parse call it PayloadInvalid."""
    headers = {"x-zevent-signature": "mac=" + "a" * 64}
    with pytest.raises(PayloadInvalid):
        adapter.verify(hook(body, headers))
    with pytest.raises(PayloadInvalid):
        adapter.parse(hook(body, headers))


def test_malformed_json_over_http_is_refused_with_400(fake: ZaloFake, inbox: Inbox) -> None:
    """The inbox answers a broken body with an error, not a crash."""
    response = fake.deliver(inbox.url, b'{"event_name": "user_send_text", ', headers={"x-zevent-signature": "mac=00"})
    assert response.status_code == 400
    assert isinstance(inbox.refused[-1], PayloadInvalid)


def test_an_oversized_body_is_not_read(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """A body far larger than any Zalo event is refused before it is parsed."""
    payload = fake.user_message(USER, text="x" * 2_000_000, timestamp_ms=T0)
    body, headers = fake.signed(payload)
    with pytest.raises(PayloadInvalid, match="bytes"):
        adapter.verify(hook(body, headers))
    with pytest.raises(PayloadInvalid):
        adapter.parse(hook(body, headers))


@pytest.mark.parametrize("change", [
    lambda event: event["message"].pop("msg_id"),
    lambda event: event.pop("sender"),
    lambda event: event.update(timestamp="yesterday"),
    lambda event: event.pop("event_name"),
    lambda event: event["message"].update(attachments="not a list"),
])
def test_a_known_event_missing_its_ids_is_payload_invalid(fake: ZaloFake, adapter: ZaloAdapter, change: Any) -> None:
    """A message without its ids or time is not Zalo's shape: PayloadInvalid, never a half-made message."""
    payload = fake.user_message(USER, text="hi", timestamp_ms=T0)
    change(payload)
    body, headers = fake.signed(payload, timestamp=str(T0))
    with pytest.raises(PayloadInvalid):
        adapter.parse(hook(body, headers))


# Sending -----------------------------------------------------------------------------------------------


def reply(text: str = "", *attachments: Attachment, to: str = USER, key: str = "reply-1") -> OutboundMessage:
    """A reply to a Zalo user."""
    return OutboundMessage(idempotency_key=key, to=ContactIdentifier("zalo_id", to, scope="388613280879880645"),
                           text=text, attachments=attachments)


def test_send_text(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """A reply goes to /v3.0/oa/message/cs with the bare access_token header and the user id as a string."""
    fake.interact(HUGE_USER)
    result = adapter.send(reply("Dạ shop còn size M ạ", to=HUGE_USER))
    sent = fake.sent[-1]
    assert result.provider_message_id == sent["message_id"]
    assert result.parts == 1
    assert sent["user_id"] == HUGE_USER
    assert sent["message"] == {"text": "Dạ shop còn size M ạ"}
    path, headers = fake.calls[-1]
    assert path == "/v3.0/oa/message/cs"
    assert headers["access_token"] == fake.access_token
    assert "authorization" not in headers
    assert adapter.rotated_secrets == {}


def test_text_is_sent_composed(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """Decomposed Vietnamese is composed (NFC) first, so Zalo's 2,000-character limit counts what people see."""
    fake.interact(USER)
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hoàng Anh")
    assert len(decomposed) > 20
    adapter.send(reply(decomposed))
    assert fake.sent[-1]["message"]["text"] == "Nguyễn Thị Hoàng Anh"
    near_limit = unicodedata.normalize("NFD", "ế" * 2000)
    adapter.send(reply(near_limit))
    with pytest.raises(SendFailed) as refused:
        adapter.send(reply("a" * 2001))
    assert refused.value.code == "text_too_long"


def test_send_an_image_by_url_with_a_caption_and_by_attachment_id(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """An image goes as a media template, the text as its caption; an uploaded image goes by attachment id."""
    fake.interact(USER)
    adapter.send(reply("Mẫu mới về", Attachment(AttachmentKind.IMAGE, url="https://cdn.shop.test/ao.jpg")))
    assert fake.sent[-1]["message"] == {"text": "Mẫu mới về", "attachment": {"type": "template", "payload": {
        "template_type": "media", "elements": [{"media_type": "image", "url": "https://cdn.shop.test/ao.jpg"}]}}}
    adapter.send(reply("", Attachment(AttachmentKind.IMAGE, meta={"attachment_id": "wESbL53O_shdvIPILC7iR"})))
    element = fake.sent[-1]["message"]["attachment"]["payload"]["elements"][0]
    assert element == {"media_type": "image", "attachment_id": "wESbL53O_shdvIPILC7iR"}


@pytest.fixture
def file_host() -> Iterator[str]:
    """Where the inbox keeps an agent's attachments (any HTTP server the adapter can fetch from)."""
    async def serve(request: Request) -> Response:
        return Response(b"%PDF-1.4 invoice", media_type="application/pdf")
    with serving(Starlette(routes=[Route("/files/hoa-don.pdf", serve)])) as url:
        yield url


def test_send_a_file_uploads_it_then_sends_its_token(fake: ZaloFake, adapter: ZaloAdapter, file_host: str) -> None:
    """A file is fetched, uploaded to /v2.0/oa/upload/file, and sent by the token Zalo answers; text goes first."""
    fake.interact(USER)
    pdf = Attachment(AttachmentKind.FILE, url=f"{file_host}/files/hoa-don.pdf", mime_type="application/pdf")
    result = adapter.send(reply("Hoá đơn của chị", pdf))
    assert result.parts == 2
    text_part, file_part = fake.sent[-2:]
    assert result.provider_message_id == text_part["message_id"]
    assert text_part["message"] == {"text": "Hoá đơn của chị"}
    token = file_part["message"]["attachment"]["payload"]["token"]
    assert fake.uploads[token] == b"%PDF-1.4 invoice"
    adapter.send(reply("", Attachment(AttachmentKind.FILE, meta={"token": token})))
    assert fake.sent[-1]["message"]["attachment"] == {"type": "file", "payload": {"token": token}}


def test_what_zalo_cannot_carry_is_refused_before_sending(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """Phone numbers without a template, stickers and empty replies never reach Zalo."""
    fake.interact(USER)
    cases = {
        "template_required": OutboundMessage("k1", ContactIdentifier("phone", "+84912345678"), text="hi"),
        "unsupported_attachment": reply("", Attachment(AttachmentKind.STICKER, url="https://z.test/s")),
        "too_many_attachments": reply("", Attachment(AttachmentKind.IMAGE, url="https://a.test/1.jpg"),
                                      Attachment(AttachmentKind.IMAGE, url="https://a.test/2.jpg")),
        "empty_message": reply(""),
    }
    for code, message in cases.items():
        with pytest.raises(SendFailed) as refused:
            adapter.send(message)
        assert refused.value.code == code
        assert not refused.value.retryable
    assert fake.calls == []


@pytest.mark.parametrize("break_token", ["expire", "forget"])
def test_an_expired_token_is_refreshed_once_and_the_send_retried(fake: ZaloFake, adapter: ZaloAdapter,
                                                                 break_token: str) -> None:
    """-220 (expired) or -216 (invalid): refresh with the single-use refresh token, retry, surface both new tokens."""
    fake.interact(USER)
    old_refresh = fake.refresh_token
    if break_token == "expire":
        fake.expire_access_tokens()
    else:
        adapter.secrets["access_token"] = "a-token-zalo-never-issued"
    result = adapter.send(reply("Cảm ơn chị"))
    assert result.provider_message_id == fake.sent[-1]["message_id"]
    assert fake.token_requests == [{"refresh_token": old_refresh, "app_id": fake.app_id,
                                    "grant_type": "refresh_token", "secret_key": fake.app_secret}]
    assert adapter.rotated_secrets == {"access_token": fake.access_token, "refresh_token": fake.refresh_token}
    assert fake.refresh_token != old_refresh
    assert adapter.secrets["refresh_token"] == fake.refresh_token
    assert [path for path, _ in fake.calls] == ["/v3.0/oa/message/cs", "/v3.0/oa/message/cs"]
    adapter.send(reply("Dạ"))  # the new token is used straight away: no second refresh
    assert len(fake.token_requests) == 1


def test_a_revoked_refresh_token_means_reconnect(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """When the refresh is refused the channel's credentials are revoked: the owner must reconnect."""
    fake.interact(USER)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(SendFailed) as refused:
        adapter.send(reply("hi"))
    assert refused.value.credentials_revoked
    assert not refused.value.retryable
    assert refused.value.code == "refresh_token_invalid"
    assert "reconnect" in refused.value.message
    assert adapter.rotated_secrets == {}
    assert fake.sent == []


def test_a_refresh_token_used_twice_is_refused(fake: ZaloFake, zalo_url: str) -> None:
    """Refresh tokens are single-use: a second adapter holding the old pair cannot refresh after the first did."""
    fake.interact(USER)
    fake.expire_access_tokens()
    first, stale = make_adapter(fake, zalo_url), make_adapter(fake, zalo_url)
    first.send(reply("hi"))
    fake.expire_access_tokens()
    with pytest.raises(SendFailed) as refused:
        stale.send(reply("hi"))
    assert refused.value.credentials_revoked
    first.close()
    stale.close()


def test_rate_limits_and_quotas_are_retryable(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """-32 (calls per minute) and -211 (out of quota) are tried again later, not given up."""
    fake.interact(USER)
    fake.rate_limited = True
    with pytest.raises(SendFailed) as limited:
        adapter.send(reply("hi"))
    assert (limited.value.code, limited.value.retryable, limited.value.provider_code) == ("rate_limited", True, "-32")
    fake.rate_limited = False
    fake.cs_quota_left = 0
    with pytest.raises(SendFailed) as quota:
        adapter.send(reply("hi"))
    assert (quota.value.code, quota.value.retryable, quota.value.provider_code) == ("quota_exceeded", True, "-211")
    assert not quota.value.credentials_revoked


def test_outside_the_seven_day_window(fake: ZaloFake, adapter: ZaloAdapter) -> None:
    """A user who last interacted 8 days ago (or never) cannot get a consultation message: outside_window."""
    fake.interact(USER, fake.clock() - 8 * 86_400_000)
    for to in (USER, "1234567890123456789"):
        with pytest.raises(SendFailed) as refused:
            adapter.send(reply("hi", to=to))
        assert refused.value.outside_window
        assert not refused.value.retryable
        assert refused.value.provider_code == "-230"
        assert "ZNS" in refused.value.message


def test_zalo_out_of_reach_is_retryable(fake: ZaloFake) -> None:
    """A connection refused is a passing fault."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    channel = make_adapter(fake, closed)
    with pytest.raises(SendFailed) as refused:
        channel.send(reply("hi"))
    assert refused.value.retryable
    assert refused.value.code == "network"
    channel.close()


# ZNS ---------------------------------------------------------------------------------------------------


def notice(phone: str = "+84912345678", template_id: str = "7895417a7d3f9461cd2e", key: str = "order-88213-shipped",
           **parameters: str) -> OutboundMessage:
    """An order notice by ZNS template to a phone number."""
    values = parameters or {"customer": "Nguyễn Thị Hoàng Anh", "order_code": "PE010299485", "amount": "100000"}
    return OutboundMessage(idempotency_key=key, to=ContactIdentifier("phone", phone),
                           template=Template(template_id, language="vi", parameters=values))


@pytest.fixture
def zns(fake: ZaloFake) -> ZaloFake:
    """An approved template and a phone number with a Zalo account."""
    fake.add_template("7895417a7d3f9461cd2e", "customer", "order_code", "amount")
    fake.phones_on_zalo.add("84912345678")
    return fake


def test_zns_by_phone_with_tracking_id(zns: ZaloFake, adapter: ZaloAdapter) -> None:
    """A template to a +84 number goes to ZNS as 84xxxxxxxxx, with the idempotency key as tracking_id."""
    result = adapter.send(notice())
    sent = zns.sent[-1]
    assert result.provider_message_id == sent["msg_id"]
    assert sent["endpoint"] == "zns"
    assert sent["phone"] == "84912345678"
    assert sent["template_id"] == "7895417a7d3f9461cd2e"
    assert sent["template_data"] == {"customer": "Nguyễn Thị Hoàng Anh", "order_code": "PE010299485",
                                     "amount": "100000"}
    assert sent["tracking_id"] == "order-88213-shipped"
    assert zns.calls[-1][1]["access_token"] == zns.access_token


def test_zns_tracking_ids_fit_zalos_48_characters(zns: ZaloFake, adapter: ZaloAdapter) -> None:
    """A key ZNS would refuse (long, or with other characters) becomes a stable digest of at most 48."""
    key = "outbox:" + "x" * 80
    adapter.send(notice(key=key))
    assert zns.sent[-1]["tracking_id"] == tracking_id(key)
    assert len(tracking_id(key)) <= 48
    assert tracking_id(key) == tracking_id(key) != tracking_id(key + "y")


def test_zns_refreshes_an_expired_token_too(zns: ZaloFake, adapter: ZaloAdapter) -> None:
    """ZNS answers -124 for a token it no longer takes; the adapter refreshes and retries."""
    zns.expire_access_tokens()
    adapter.send(notice())
    assert len(zns.token_requests) == 1
    assert adapter.rotated_secrets["refresh_token"] == zns.refresh_token


@pytest.mark.parametrize(("setup", "message", "code", "retryable", "provider_code"), [
    (lambda fake: fake.add_template("7895417a7d3f9461cd2e", status="PENDING_REVIEW"), notice(),
     "template_not_approved", False, "-131"),
    (lambda fake: None, notice(phone="+84987654321"), "not_on_zalo", False, "-118"),
    (lambda fake: setattr(fake, "zns_daily_quota", 0), notice(), "quota_exceeded", True, "-144"),
    (lambda fake: None, notice(template_id="no-such-template"), "template_invalid", False, "-109"),
    (lambda fake: None, notice(phone="+1 650 253 0000"), "invalid_phone", False, "-108"),
    (lambda fake: None, notice(customer="Lan"), "template_data_invalid", False, "-1122"),
])
def test_zns_errors(zns: ZaloFake, adapter: ZaloAdapter, setup: Any, message: OutboundMessage, code: str,
                    retryable: bool, provider_code: str) -> None:
    """ZNS refusals say what went wrong and whether trying later helps."""
    setup(zns)
    with pytest.raises(SendFailed) as refused:
        adapter.send(message)
    assert (refused.value.code, refused.value.retryable, refused.value.provider_code) == (
        code, retryable, provider_code)
    assert refused.value.message.startswith("ZNS refused the message")


def test_a_number_that_is_no_phone_number_is_refused_before_zns(zns: ZaloFake, adapter: ZaloAdapter) -> None:
    """Text that is no phone number never reaches ZNS."""
    with pytest.raises(SendFailed) as refused:
        adapter.send(notice(phone="not a phone"))
    assert refused.value.code == "invalid_phone"
    assert zns.calls == []


def test_a_template_to_a_zalo_user_goes_by_uid(zns: ZaloFake, adapter: ZaloAdapter) -> None:
    """Past the reply window a template can still reach a known Zalo user through /v3.0/oa/message/template."""
    message = OutboundMessage(idempotency_key="k", to=ContactIdentifier("zalo_id", USER, scope=zns.oa_id),
                              template=Template("7895417a7d3f9461cd2e", parameters={"customer": "Lan"}))
    result = adapter.send(message)
    assert zns.sent[-1]["endpoint"] == "template"
    assert zns.sent[-1]["user_id"] == USER
    assert result.provider_message_id == zns.sent[-1]["message_id"]


# Rules and configuration -------------------------------------------------------------------------------


def test_reply_rule_follows_the_seven_day_window(adapter: ZaloAdapter) -> None:
    """Free replies for 7 days after the last interaction (paid after 48 hours); templates any time."""
    now = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
    never = adapter.reply_rule(last_inbound_at=None, now=now)
    assert (never.free_text, never.templates) == (False, True)
    fresh = adapter.reply_rule(last_inbound_at=now - timedelta(hours=1), now=now)
    assert (fresh.free_text, fresh.templates, fresh.until) == (True, True, now - timedelta(hours=1) + timedelta(days=7))
    assert "48 hours" not in fresh.reason
    paid = adapter.reply_rule(last_inbound_at=now - timedelta(days=3), now=now)
    assert paid.free_text and "48 hours" in paid.reason
    closed = adapter.reply_rule(last_inbound_at=now - timedelta(days=7, seconds=1), now=now)
    assert (closed.free_text, closed.templates) == (False, True)
    assert "ZNS" in closed.reason
    naive = adapter.reply_rule(last_inbound_at=datetime(2024, 6, 10, 11, 0), now=now)
    assert naive.free_text


def test_capabilities_and_entry_point() -> None:
    """The channel is installed under the ``zalo`` entry point and declares Zalo's limits."""
    (point,) = [point for point in entry_points(group="xuyen.channels") if point.name == "zalo"]
    assert point.load() is ZaloAdapter
    assert ZaloAdapter.kind == "zalo"
    assert ZaloAdapter.capabilities.max_text_length == 2000
    assert ZaloAdapter.capabilities.reply_window == timedelta(days=7)
    assert ZaloAdapter.capabilities.templates and ZaloAdapter.capabilities.attachments


def test_missing_settings_are_named(fake: ZaloFake) -> None:
    """A channel without its secrets cannot be built, and says which are missing."""
    with pytest.raises(ChannelError, match="oa_secret_key"):
        ZaloAdapter(settings={"oa_id": fake.oa_id, "app_id": fake.app_id}, secrets={
            "app_secret": "s", "access_token": "a", "refresh_token": "r"})
    channel = ZaloAdapter(settings={"oa_id": "1", "app_id": "2"}, secrets={
        "oa_secret_key": "k", "app_secret": "s", "access_token": "a", "refresh_token": "r"},
        http=httpx.Client())
    assert channel.api_base == "https://openapi.zalo.me"
    assert channel.oauth_base == "https://oauth.zaloapp.com"
    assert channel.business_api_base == "https://business.openapi.zalo.me"
    channel.close()
