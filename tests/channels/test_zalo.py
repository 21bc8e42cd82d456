"""The Zalo OA adapter's webhooks, delivered by a local fake of Zalo over real HTTP with real signatures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.channels import zalo_support as support
from tests.channels.zalo_support import HUGE_USER, T0, T0_AT, USER, Inbox, deliver, hook, only
from tests.fakes.zalo import ZaloFake, encode, sign
from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    ContactEvent,
    ContactEventKind,
    ContactIdentifier,
    DeliveryState,
    InboundMessage,
    LeadNotice,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
    WebhookRequest,
)
from xuyen.channels.zalo import ZaloAdapter

# The shared fixtures, found by name.
fake = support.fake
zalo_url = support.zalo_url
adapter = support.adapter
inbox = support.inbox


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
    idless = fake.oa_echo(USER, text="?", event_name="oa_send_list", timestamp_ms=T0)
    del idless["message"]["msg_id"]
    assert deliver(fake, inbox, idless) == []


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


def test_receipts_find_the_user_whichever_side_names_them(fake: ZaloFake, inbox: Inbox) -> None:
    """Zalo names the OA as sender of a receipt; a receipt naming the user as sender still finds the user."""
    swapped = fake.seen(USER, ["m1"], timestamp_ms=T0)
    swapped["sender"], swapped["recipient"] = swapped["recipient"], swapped["sender"]
    item = only(deliver(fake, inbox, swapped))
    assert isinstance(item, StatusUpdate)
    assert item.contact is not None
    assert item.contact.address == ContactIdentifier("zalo_id", USER, scope=fake.oa_id)


def test_a_zns_receipt_for_a_hashed_phone_has_no_contact(fake: ZaloFake, inbox: Inbox) -> None:
    """A template sent by hashed phone is reported to the hash: the status keeps its message id, no phone."""
    payload = fake.zns_received("544bcae26adc08abc55ec3db75887109eacf8bfe65a2150bc8db2802403d57f2", "z1", "t1",
                                delivery_ms=T0)
    item = only(deliver(fake, inbox, payload, zns=True))
    assert isinstance(item, StatusUpdate)
    assert (item.provider_message_id, item.state, item.contact) == ("z1", DeliveryState.DELIVERED, None)


def test_shared_details_become_traits_and_a_phone(fake: ZaloFake, inbox: Inbox) -> None:
    """``user_submit_info`` gives the name, the phone (as E.164) and the address the user chose to share."""
    info = {"name": "Nguyễn Thị Lan", "phone": "84912345678", "user_dob": "30/10/1999",
            "full_address": {"user_city": "Thành phố Hồ Chí Minh", "user_ward": "Phường Tân Thuận",
                             "user_address": "Đường số 13, KCX Tân Thuận Đông"}}
    item, lead = deliver(fake, inbox, fake.submit_info(USER, info, timestamp_ms=T0))
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
    # The same submission is a lead of the zalo_form source, its answers as given, keyed by user and time.
    assert isinstance(lead, LeadNotice)
    assert (lead.source, lead.provider_lead_id, lead.complete, lead.at) == ("zalo_form", f"{USER}:{T0}", True, T0_AT)
    assert lead.fields == {"name": "Nguyễn Thị Lan", "phone": "84912345678",
                           "address": "Đường số 13, KCX Tân Thuận Đông", "city": "Thành phố Hồ Chí Minh",
                           "ward": "Phường Tân Thuận"}
    assert lead.contact == item.contact
    assert lead.detail == {"oa_id": fake.oa_id, "event": "user_submit_info"}
    flat = fake.submit_info(USER, {"name": "Anh Minh", "phone": "0987654321", "address": "12 Lý Tự Trọng"},
                            timestamp_ms=T0 + 1)
    again, _lead = deliver(fake, inbox, flat)
    assert isinstance(again, InboundMessage)
    assert again.contact.traits == {"name": "Anh Minh", "phone": "+84987654321", "address": "12 Lý Tự Trọng"}


@pytest.mark.parametrize("event_name", ["user_reacted_message", "add_user_to_tag", "user_send_group_text",
                                        "oa_send_group_text", "change_template_status", "some_event_from_2030"])
def test_events_the_channel_does_not_handle_are_left_out(fake: ZaloFake, inbox: Inbox, event_name: str) -> None:
    """New or unsupported event types are accepted and yield nothing, so Zalo stops retrying them."""
    payload = fake.user_message(USER, text="x", event_name=event_name)
    assert deliver(fake, inbox, payload) == []


def test_a_get_to_the_webhook_url_is_answered(adapter: ZaloAdapter) -> None:
    """A reachability check (GET) gets 200; a POST is an event and goes through the signature check."""
    answer = adapter.handshake(WebhookRequest(method="GET", headers={}, query={}, body=b"",
                                              received_at=datetime.now(UTC)))
    assert answer is not None and answer.status == 200
    assert adapter.handshake(hook(b"{}")) is None


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
