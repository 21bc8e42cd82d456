"""The SMS channel against a local fake of Vietnamese brand-name gateways, over real HTTP."""

from __future__ import annotations

import json
import socket
import time
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
from tests.fakes.sms_gateway import (
    ESMS_FORM_PATH,
    ESMS_JSON_PATH,
    GENERIC_PATH,
    SPEEDSMS_PATH,
    FakeSmsGateway,
    signed_webhook,
)
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
    WebhookRequest,
)
from xuyen.channels.sms import SegmentInfo, SmsAdapter, fold_diacritics, segments
from xuyen.channels.sms.phones import PhoneInvalid, for_gateway, to_e164

KEY, SECRET, HOOK_SECRET = "test-api-key", "test-secret-key", "test-webhook-secret"
CUSTOMER = "+84912345678"


@pytest.fixture
def gateway() -> Iterator[tuple[FakeSmsGateway, str]]:
    """A fake gateway served on a local port, with its base URL."""
    fake = FakeSmsGateway(api_key=KEY, api_secret=SECRET, webhook_secret=HOOK_SECRET)
    with serving(fake.app()) as url:
        yield fake, url


def esms(url: str, **settings: str) -> SmsAdapter:
    """An adapter on the eSMS preset, pointed at the fake."""
    return SmsAdapter(settings={"preset": "esms", "brand_name": "XUYEN", "send_url": url + ESMS_JSON_PATH,
                                **settings},
                      secrets={"api_key": KEY, "api_secret": SECRET, "webhook_secret": HOOK_SECRET})


def speedsms(url: str, token: str = KEY, **settings: str) -> SmsAdapter:
    """An adapter on the SpeedSMS preset, pointed at the fake."""
    return SmsAdapter(settings={"preset": "speedsms", "brand_name": "XUYEN", "send_url": url + SPEEDSMS_PATH,
                                **settings},
                      secrets={"api_key": token, "webhook_secret": HOOK_SECRET})


def generic(url: str, *, secrets: dict[str, str] | None = None, **settings: str) -> SmsAdapter:
    """An adapter on the generic settings, pointed at the fake's generic gateway."""
    return SmsAdapter(settings={"brand_name": "XUYEN", "send_url": url + GENERIC_PATH,
                                "duplicate_codes": "duplicate_request", "invalid_number_codes": "invalid_number",
                                "brand_error_codes": "brand_not_registered", **settings},
                      secrets=secrets or {"api_key": KEY, "webhook_secret": HOOK_SECRET})


def message(text: str, *, to: str = CUSTOMER, key: str = "msg-1", **extra: Any) -> OutboundMessage:
    """An outbound SMS."""
    return OutboundMessage(idempotency_key=key, to=ContactIdentifier("phone", to), text=text, **extra)


# Segments ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "expected"), [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3),
                                                  (765, 5), (766, 6)])
def test_gsm7_segments_at_the_boundaries(length: int, expected: int) -> None:
    info = segments("a" * length, unicode_allowed=True)
    assert (info.encoding, info.units, info.segments) == ("gsm7", length, expected)


def test_gsm7_remaining_counts_down_in_the_last_segment() -> None:
    assert segments("a" * 150, unicode_allowed=True).remaining == 10
    info = segments("a" * 161, unicode_allowed=True)
    assert (info.per_segment, info.remaining) == (153, 153 - 8)


def test_extension_characters_count_twice() -> None:
    assert segments("€" * 80, unicode_allowed=True).units == 160
    assert segments("€" * 80, unicode_allowed=True).segments == 1
    assert segments("€" * 80 + "a", unicode_allowed=True).segments == 2
    for char in "^{}\\[~]|€":
        assert segments(char, unicode_allowed=True).units == 2, char


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets would fit two parts of 153, but each part can end with one septet unused rather than split "€".
    info = segments("a" * 152 + "€" * 77, unicode_allowed=True)
    assert (info.units, info.segments) == (306, 3)


@pytest.mark.parametrize(("length", "expected"), [(70, 1), (71, 2), (134, 2), (135, 3), (335, 5), (336, 6)])
def test_ucs2_segments_at_the_boundaries(length: int, expected: int) -> None:
    info = segments("ơ" * length, unicode_allowed=True)
    assert (info.encoding, info.units, info.segments) == ("ucs2", length, expected)


def test_emoji_take_two_units_and_are_not_split() -> None:
    assert segments("😀" * 35, unicode_allowed=True).segments == 1
    info = segments("😀" * 36, unicode_allowed=True)
    assert (info.units, info.segments, info.remaining) == (72, 2, 67 - 6)


def test_vietnamese_with_diacritics_forces_ucs2() -> None:
    assert segments("Cảm ơn quý khách", unicode_allowed=True).encoding == "ucs2"
    assert segments("Đơn hàng", unicode_allowed=True).encoding == "ucs2"
    # à and é are GSM-7 letters, but a Vietnamese text is sent as UCS-2 to keep its diacritics whole.
    assert segments("Chào bà", unicode_allowed=True).encoding == "ucs2"
    assert segments("Cam on quy khach", unicode_allowed=True).encoding == "gsm7"


def test_decomposed_input_counts_like_composed() -> None:
    composed = "Nguyễn Thị Ánh " * 4
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > len(composed)
    assert segments(decomposed, unicode_allowed=True) == segments(composed, unicode_allowed=True)
    assert segments(decomposed, unicode_allowed=False) == segments(composed, unicode_allowed=False)


def test_without_unicode_the_text_is_folded_and_counted_as_gsm7() -> None:
    info = segments("Cảm ơn quý khách đã đặt hàng", unicode_allowed=False)
    assert info == SegmentInfo(text="Cam on quy khach da dat hang", encoding="gsm7", units=28, segments=1,
                               per_segment=160, remaining=132, folded=True)
    assert info.sendable


def test_without_unicode_characters_that_cannot_be_folded_are_listed() -> None:
    info = segments("Cảm ơn 😀 謝謝", unicode_allowed=False)
    assert info.unsupported == ("😀", "謝")
    assert not info.sendable


# Folding ----------------------------------------------------------------------------------------------


def test_folding_takes_off_every_vietnamese_diacritic() -> None:
    assert fold_diacritics("Nguyễn Thị Ánh Tuyết, Đường Lê Lợi, Quận 1") == "Nguyen Thi Anh Tuyet, Duong Le Loi, Quan 1"
    assert fold_diacritics("ăâêôơư ĂÂÊÔƠƯ ạảãáàặẩẫ ừứửữự ỳýỷỹỵ") == "aaeoou AAEOOU aaaaaaaa uuuuu yyyyy"


def test_folding_maps_d_with_stroke_which_decomposition_misses() -> None:
    decomposition_only = "".join(c for c in unicodedata.normalize("NFD", "đĐ") if not unicodedata.combining(c))
    assert decomposition_only == "đĐ"  # why the adapter maps these two itself
    assert fold_diacritics("đi Đà Nẵng, ĐT 0912") == "di Da Nang, DT 0912"


def test_folding_treats_composed_and_decomposed_input_alike() -> None:
    text = "Đặng Thị Hồng Nhung — “Đã giao”…"
    assert fold_diacritics(unicodedata.normalize("NFD", text)) == fold_diacritics(text)
    assert fold_diacritics(text) == 'Dang Thi Hong Nhung - "Da giao"...'


# Phones -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0912345678", "0912 345 678", "84912345678", "+84 912 345 678", "0084912345678",
                                 "091.234.5678"])
def test_phone_numbers_written_any_way_become_e164(raw: str) -> None:
    assert to_e164(raw) == CUSTOMER


def test_old_eleven_digit_prefixes_are_remapped() -> None:
    assert to_e164("01689123456") == "+84389123456"
    assert to_e164("841689123456") == "+84389123456"
    assert to_e164("+84 128 912 3456") == "+84789123456"


def test_numbers_are_written_as_the_gateway_wants() -> None:
    assert for_gateway(CUSTOMER, "e164") == CUSTOMER
    assert for_gateway(CUSTOMER, "84") == "84912345678"
    assert for_gateway(CUSTOMER, "0") == "0912345678"
    with pytest.raises(PhoneInvalid):
        for_gateway("+6591234567", "0")


@pytest.mark.parametrize("raw", ["", "abc", "12", "0912", "+84 000 000 000", "0912345678901234567890"])
def test_what_is_not_a_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(PhoneInvalid):
        to_e164(raw)


# Sending ----------------------------------------------------------------------------------------------


def test_esms_json_send(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    result = esms(url).send(message("Cảm ơn quý khách đã đặt hàng tại Xuyên.", key="order-42"))
    [sent] = fake.sent
    assert (sent.route, sent.phone, sent.brand_name, sent.unicode) == ("esms-json", "0912345678", "XUYEN", "1")
    assert sent.text == "Cảm ơn quý khách đã đặt hàng tại Xuyên."
    assert sent.request_id == "order-42"
    assert sent.fields["SmsType"] == "2"
    assert (result.provider_message_id, result.state, result.parts) == (sent.message_id, DeliveryState.SENT, 1)


def test_esms_form_send(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    adapter = esms(url, method_format="form", send_url=url + ESMS_FORM_PATH)
    result = adapter.send(message("Don hang #42 da duoc giao. " * 7))
    [sent] = fake.sent
    assert (sent.route, sent.unicode, sent.fields["SecretKey"]) == ("esms-form", "0", SECRET)
    assert result.parts == 2
    assert result.provider_message_id == sent.message_id


def test_without_unicode_the_gateway_gets_folded_text(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    result = esms(url, unicode_allowed="false").send(message("Đơn hàng của chị Đào đã được giao"))
    [sent] = fake.sent
    assert (sent.text, sent.unicode) == ("Don hang cua chi Dao da duoc giao", "0")
    assert result.parts == 1


def test_speedsms_send_with_basic_auth_and_a_list_of_numbers(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    result = speedsms(url).send(message("Ma xac nhan cua ban la 123456"))
    [sent] = fake.sent
    assert sent.route == "speedsms"
    assert sent.fields["to"] == ["84912345678"]
    assert (sent.fields["sms_type"], sent.fields["sender"]) == (3, "XUYEN")
    assert result.provider_message_id == sent.message_id == "100001"


def test_generic_json_send_with_a_bearer_key(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    result = generic(url).send(message("Hello from Xuyen"))
    [sent] = fake.sent
    assert (sent.phone, sent.unicode, sent.request_id) == (CUSTOMER, "0", "msg-1")
    assert result.provider_message_id == sent.message_id


def test_generic_form_send_with_the_key_in_the_query(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.generic_phone_format = "84"
    generic(url, method_format="form", auth_style="query", phone_format="84").send(message("Xin chào"))
    [sent] = fake.sent
    assert (sent.phone, sent.text, sent.unicode) == ("84912345678", "Xin chào", "1")


def test_national_phone_format(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.generic_phone_format = "0"
    generic(url, phone_format="0").send(message("Hello", to="+84 168 912 3456"))
    assert fake.sent[0].phone == "0389123456"


def test_a_field_set_to_dash_is_left_out(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    generic(url, field_request_id="-").send(message("Hello"))
    assert "request_id" not in fake.sent[0].fields


def test_too_long_is_refused_before_any_request(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    adapter = generic(url)
    with pytest.raises(SendFailed) as refused:
        adapter.send(message("ơ" * 336))
    assert refused.value.code == "too_long"
    assert not refused.value.retryable
    assert "6 SMS segments" in refused.value.message and "limit of 5" in refused.value.message
    with pytest.raises(SendFailed, match="limit of 2"):
        generic(url, max_segments="2").send(message("a" * 307))
    assert fake.requests == 0
    assert adapter.send(message("a" * 765)).parts == 5


@pytest.mark.parametrize(("outbound", "code"), [
    (message("   "), "empty"),
    (message("Hi", to="not a number"), "invalid_number"),
    (OutboundMessage(idempotency_key="k", to=ContactIdentifier("email", "a@b.vn"), text="Hi"), "unsupported_address"),
    (message("Hi", attachments=(Attachment(kind=AttachmentKind.IMAGE, url="https://x/y.png"),)), "unsupported"),
])
def test_what_sms_cannot_carry_is_refused_before_any_request(gateway: tuple[FakeSmsGateway, str],
                                                             outbound: OutboundMessage, code: str) -> None:
    fake, url = gateway
    with pytest.raises(SendFailed) as refused:
        generic(url).send(outbound)
    assert (refused.value.code, refused.value.retryable) == (code, False)
    assert fake.requests == 0


def test_emoji_on_a_route_without_unicode_is_refused(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    with pytest.raises(SendFailed) as refused:
        generic(url, unicode_allowed="false").send(message("Cảm ơn 😀"))
    assert refused.value.code == "unsupported_characters"
    assert "😀" in refused.value.message
    assert fake.requests == 0


# Send errors ------------------------------------------------------------------------------------------


def test_esms_wrong_keys_mean_credentials_revoked(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.api_secret = "rotated"
    with pytest.raises(SendFailed) as refused:
        esms(url).send(message("Hi"))
    assert (refused.value.code, refused.value.provider_code) == ("unauthorized", "101")
    assert refused.value.credentials_revoked and not refused.value.retryable
    assert "Authorize Failed" in refused.value.message


def test_esms_unknown_brand_name_is_permanent_with_the_gateways_message(gateway: tuple[FakeSmsGateway, str]) -> None:
    _, url = gateway
    with pytest.raises(SendFailed) as refused:
        esms(url, brand_name="NOTREG").send(message("Hi"))
    assert (refused.value.code, refused.value.provider_code) == ("brand_not_registered", "104")
    assert not refused.value.retryable and not refused.value.credentials_revoked
    assert "Brand name code is not exist" in refused.value.message and "NOTREG" in refused.value.message


def test_esms_refused_numbers_are_permanent(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    with pytest.raises(SendFailed) as landline:  # a valid number, but no mobile: the gateway's format check fails
        esms(url).send(message("Hi", to="024 3825 3535"))
    assert (landline.value.code, landline.value.provider_code) == ("invalid_number", "108")
    assert "not in correct format" in landline.value.message
    fake.blocked_numbers.add("0912345678")
    with pytest.raises(SendFailed) as blocked:
        esms(url).send(message("Hi"))
    assert (blocked.value.code, blocked.value.provider_code) == ("invalid_number", "99")


def test_esms_template_mismatch(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.templates = (r"Ma OTP cua ban la \d{6}",)
    with pytest.raises(SendFailed) as refused:
        esms(url).send(message("Free text"))
    assert (refused.value.code, refused.value.provider_code) == ("template_mismatch", "146")
    assert esms(url).send(message("Ma OTP cua ban la 123456", key="otp")).provider_message_id


def test_esms_duplicate_request_id_is_not_sent_twice(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    adapter = esms(url)
    adapter.send(message("Hi", key="same"))
    again = adapter.send(message("Hi", key="same"))
    assert len(fake.sent) == 1
    assert again.provider_message_id == "same"  # eSMS's 124 answer carries no SMSID: the request id stands in


def test_generic_duplicate_request_gives_the_first_message_id(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    adapter = generic(url)
    first = adapter.send(message("Hi", key="same"))
    assert adapter.send(message("Hi", key="same")).provider_message_id == first.provider_message_id
    assert len(fake.sent) == 1


def test_generic_http_errors(gateway: tuple[FakeSmsGateway, str]) -> None:
    _, url = gateway
    with pytest.raises(SendFailed) as brand:
        generic(url, brand_name="OTHER").send(message("Hi"))
    assert (brand.value.code, brand.value.provider_code) == ("brand_not_registered", "brand_not_registered")
    with pytest.raises(SendFailed) as unknown:
        generic(url, field_unicode="-").send(message("Hi"))
    assert (unknown.value.code, unknown.value.retryable) == ("rejected", False)
    assert "HTTP 400" in unknown.value.message and "unicode must be 0 or 1" in unknown.value.message
    with pytest.raises(SendFailed) as revoked:
        generic(url, secrets={"api_key": "old-key"}).send(message("Hi"))
    assert revoked.value.credentials_revoked and revoked.value.provider_code == "unauthorized"


def test_speedsms_bad_token_and_error_codes(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    with pytest.raises(SendFailed) as revoked:
        speedsms(url, token="expired").send(message("Hi"))
    assert (revoked.value.code, revoked.value.credentials_revoked) == ("unauthorized", True)
    fake.blocked_numbers.add("84912345678")
    with pytest.raises(SendFailed) as number:
        speedsms(url).send(message("Hi"))
    assert (number.value.code, number.value.provider_code) == ("invalid_number", "105")
    assert "Phone number invalid" in number.value.message


def test_rate_limit_is_retryable(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.rate_limit = 1
    adapter = speedsms(url)
    adapter.send(message("one", key="1"))
    with pytest.raises(SendFailed) as limited:
        adapter.send(message("two", key="2"))
    assert (limited.value.code, limited.value.retryable, limited.value.provider_code) == ("rate_limited", True, "0")
    assert "60 s" in limited.value.message
    with pytest.raises(SendFailed) as generic_limited:
        generic(url).send(message("three", key="3"))
    assert generic_limited.value.retryable and generic_limited.value.provider_code == "rate_limited"


def test_a_down_gateway_is_retryable(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.down = True
    with pytest.raises(SendFailed) as down:
        esms(url).send(message("Hi"))
    assert (down.value.code, down.value.retryable, down.value.provider_code) == ("gateway_error", True, "503")


def test_a_timeout_is_retryable(gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    fake.delay = 1.0
    adapter = SmsAdapter(settings={"preset": "esms", "brand_name": "XUYEN", "send_url": url + ESMS_JSON_PATH},
                         secrets={"api_key": KEY, "api_secret": SECRET}, http=httpx.Client(timeout=0.2))
    with pytest.raises(SendFailed) as slow:
        adapter.send(message("Hi"))
    assert (slow.value.code, slow.value.retryable) == ("timeout", True)


def test_an_unreachable_gateway_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SendFailed) as unreachable:
        generic(f"http://127.0.0.1:{port}").send(message("Hi"))
    assert (unreachable.value.code, unreachable.value.retryable) == ("unreachable", True)


def test_speedsms_internal_error_is_retryable() -> None:
    answers = Starlette(routes=[Route(SPEEDSMS_PATH, lambda _: Response(json.dumps(
        {"status": "error", "code": "500", "message": "Internal error, please try again"}),
        media_type="application/json"), methods=["POST"])])
    with serving(answers) as url, pytest.raises(SendFailed) as failed:
        speedsms(url).send(message("Hi"))
    assert (failed.value.code, failed.value.retryable, failed.value.provider_code) == ("gateway_error", True, "500")


def test_an_answer_that_is_not_json_is_not_taken_for_success() -> None:
    answers = Starlette(routes=[Route(ESMS_JSON_PATH, lambda _: PlainTextResponse("OK"), methods=["POST"])])
    with serving(answers) as url, pytest.raises(SendFailed) as failed:
        esms(url).send(message("Hi"))
    assert (failed.value.code, failed.value.retryable) == ("unknown_answer", False)


def test_a_redirect_is_not_taken_for_success() -> None:
    answers = Starlette(routes=[Route(GENERIC_PATH, lambda _: Response(status_code=301, headers={
        "Location": "https://gw.example/v2/sms"}), methods=["POST"])])
    with serving(answers) as url, pytest.raises(SendFailed) as failed:
        generic(url).send(message("Hi"))
    assert (failed.value.code, failed.value.retryable) == ("bad_url", False)
    assert "https://gw.example/v2/sms" in failed.value.message


# Settings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "secrets", "says"), [
    ({"preset": "nope", "brand_name": "X"}, {"api_key": "k"}, "preset 'nope' is unknown"),
    ({"brand_name": "X"}, {"api_key": "k"}, "needs send_url"),
    ({"send_url": "https://gw.example/send"}, {"api_key": "k"}, "needs brand_name"),
    ({"send_url": "https://gw.example/send", "brand_name": "X", "method_format": "xml"}, {"api_key": "k"},
     "method_format is 'xml'"),
    ({"send_url": "https://gw.example/send", "brand_name": "X", "max_segments": "0"}, {"api_key": "k"},
     "max_segments"),
    ({"send_url": "https://gw.example/send", "brand_name": "X", "extra_fields": "[1]"}, {"api_key": "k"},
     "extra_fields must be a JSON object"),
    ({"send_url": "https://gw.example/send", "brand_name": "X"}, {}, "needs api_key"),
    ({"preset": "esms", "brand_name": "X"}, {"api_key": "k"}, "needs api_secret"),
    ({"preset": "speedsms", "brand_name": "X"}, {"username": "u"}, "needs password"),
    ({"send_url": "https://gw.example/send", "brand_name": "X", "dlr_status_map": '{"ok": "great"}'},
     {"api_key": "k"}, "dlr_status_map"),
])
def test_settings_that_cannot_work_are_refused(settings: dict[str, str], secrets: dict[str, str], says: str) -> None:
    with pytest.raises(ChannelError, match=says):
        SmsAdapter(settings=settings, secrets=secrets)


def test_the_entry_point_names_the_adapter() -> None:
    [point] = [p for p in entry_points(group="xuyen.channels") if p.name == "sms"]
    assert point.load() is SmsAdapter
    assert SmsAdapter.kind == "sms"


def test_no_reply_window_and_a_text_limit(gateway: tuple[FakeSmsGateway, str]) -> None:
    _, url = gateway
    adapter = generic(url)
    rule = adapter.reply_rule(last_inbound_at=None, now=datetime.now(UTC))
    assert rule.free_text and rule.until is None
    assert SmsAdapter.capabilities.max_text_length == 765 and SmsAdapter.capabilities.reply_window is None
    assert adapter.segment_info("Cảm ơn").encoding == "ucs2"
    assert esms(url, unicode_allowed="false").segment_info("Cảm ơn").text == "Cam on"


# Webhooks ---------------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """The inbox's side of the webhook, as far as the adapter goes: verify, parse, answer."""

    adapter: SmsAdapter
    received: list[Inbound] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def webhook(self, request: Request) -> Response:
        """Verify and parse one delivery from the raw bytes."""
        delivery = WebhookRequest(method=request.method, headers={k.lower(): v for k, v in request.headers.items()},
                                  query=dict(request.query_params), body=await request.body(),
                                  received_at=datetime.now(UTC))
        try:
            self.adapter.verify(delivery)
            self.received.extend(self.adapter.parse(delivery))
        except SignatureInvalid as exc:
            self.refused.append(exc.message)
            return PlainTextResponse("bad signature", 401)
        except PayloadInvalid as exc:
            self.refused.append(exc.message)
            return PlainTextResponse("bad payload", 400)
        answer = self.adapter.ack(delivery)
        return Response(answer.body, answer.status, media_type=answer.content_type)


@pytest.fixture
def inbox(gateway: tuple[FakeSmsGateway, str]) -> Iterator[Inbox]:
    """A served webhook endpoint for the generic adapter; the fake gateway posts to it."""
    fake, url = gateway
    box = Inbox(generic(url))
    with serving(Starlette(routes=[Route("/webhooks/1", box.webhook, methods=["POST"])])) as base:
        fake.webhook_url = base + "/webhooks/1"
        yield box


def request_for(events: Any, *, secret: str = HOOK_SECRET, age: float = 0.0, **options: Any) -> WebhookRequest:
    """A signed webhook as the adapter sees it, signed ``age`` seconds before it is received."""
    now = datetime.now(UTC)
    body, headers = signed_webhook(events, secret, timestamp=int(now.timestamp() - age), **options)
    return WebhookRequest(method="POST", headers={k.lower(): v for k, v in headers.items()}, query={}, body=body,
                          received_at=now)


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
        assert httpx.post(fake.webhook_url, content=body, headers=headers).status_code == 200
    first, second = inbox.received[:2], inbox.received[2:]
    assert [_ids(i) for i in first] == [_ids(i) for i in second] == [("message", "mo-9"), ("event", "mo-9:opt_out")]


def test_a_replay_after_the_window_is_refused(gateway: tuple[FakeSmsGateway, str], inbox: Inbox) -> None:
    fake, _ = gateway
    body, headers = signed_webhook({"type": "mo", "from": "0912345678", "text": "hi", "message_id": "mo-1"},
                                   HOOK_SECRET, timestamp=int(time.time()) - 600)
    assert fake.webhook_url is not None
    assert httpx.post(fake.webhook_url, content=body, headers=headers).status_code == 401
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
    adapter = generic("http://gw.invalid", opt_out_keywords="HUY QC, Từ chối QC")
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
    assert httpx.post(fake.webhook_url, content=body, headers=headers).status_code == 400
    assert "not a phone number" in inbox.refused[0]
