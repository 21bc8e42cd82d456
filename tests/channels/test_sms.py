"""The SMS channel sending through a local fake of Vietnamese brand-name gateways, over real HTTP."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from importlib.metadata import entry_points

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.channels.sms_support import (
    CUSTOMER,
    KEY,
    SECRET,
    esms,
    generic,
    message,
    served_gateway,  # noqa: F401  (fixture)
    speedsms,
)
from tests.fakes.server import serving
from tests.fakes.sms_gateway import (
    ESMS_FORM_PATH,
    ESMS_JSON_PATH,
    GENERIC_PATH,
    SPEEDSMS_PATH,
    FakeSmsGateway,
)
from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    ChannelError,
    ContactIdentifier,
    DeliveryState,
    OutboundMessage,
    SendFailed,
)
from xuyen.channels.sms import SmsAdapter

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
