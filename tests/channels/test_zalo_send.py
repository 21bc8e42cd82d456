"""The Zalo OA adapter's sends, token rotation and ZNS, against a local fake of Zalo's API over real HTTP."""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.channels import zalo_support as support
from tests.channels.zalo_support import HUGE_USER, USER, make_adapter, reply
from tests.fakes.server import serving
from tests.fakes.zalo import ZaloFake
from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    ChannelError,
    ContactIdentifier,
    OutboundMessage,
    SendFailed,
    Template,
)
from xuyen.channels.zalo import ZaloAdapter
from xuyen.channels.zalo.adapter import tracking_id

# The shared fixtures, found by name.
fake = support.fake
zalo_url = support.zalo_url
adapter = support.adapter


# Sending -----------------------------------------------------------------------------------------------


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
