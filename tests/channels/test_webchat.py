"""The web chat adapter on its own: site origins, visitor tokens, identity hashes, verify and parse of the widget's
messages over their raw bytes, and send/reply rules (web chat has no provider)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from xuyen.channels.base import (
    ChannelError,
    ContactIdentifier,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    WebhookRequest,
)
from xuyen.channels.registry import adapter_class
from xuyen.channels.webchat import Visitor, WebChatAdapter, identity_hash
from xuyen.channels.webchat.posts import normalise_origin, origin_allowed, parse_allowed_origins
from xuyen.channels.webchat.tokens import issue

SITE = "https://shop.example.vn"
WIDGET_SECRET = "widget-secret-for-tests-0123456789"
IDENTITY_SECRET = "identity-secret-for-tests-0123456789"
NOW = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)


def adapter(**settings: str) -> WebChatAdapter:
    return WebChatAdapter(settings={"allowed_origins": f"{SITE}, https://*.shop.example.vn", **settings},
                          secrets={"widget_secret": WIDGET_SECRET, "identity_secret": IDENTITY_SECRET})


def session_of(chat: WebChatAdapter, anonymous_id: str = "anon-1", *, now: datetime = NOW,
               **identity: Any) -> dict[str, Any]:
    found: dict[str, Any] = chat.open_session(origin=SITE, anonymous_id=anonymous_id, now=now, **identity)
    return found


def request(body: dict[str, Any] | bytes, *, origin: str | None = SITE, at: datetime = NOW) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "text/plain;charset=UTF-8"} | ({"origin": origin} if origin else {})
    return WebhookRequest(method="POST", headers=headers, query={}, body=raw, received_at=at)


def message(token: str, text: str = "Shop ơi, còn size M không?", *, anonymous_id: str = "anon-1",
            client_id: str = "c-1", **extra: Any) -> dict[str, Any]:
    return {"visitor": token, "anonymousId": anonymous_id, "text": text, "clientMessageId": client_id,
            "page": {"url": f"{SITE}/ao-dai", "title": "  Áo dài \n lụa "}, **extra}


def test_the_adapter_is_registered_and_its_settings_are_checked() -> None:
    assert adapter_class("webchat") is WebChatAdapter
    assert b"data-channel" in WebChatAdapter.widget_script()
    with pytest.raises(ChannelError, match="allowed_origins"):
        WebChatAdapter(settings={}, secrets={"widget_secret": WIDGET_SECRET})
    with pytest.raises(ChannelError, match="widget_secret"):
        WebChatAdapter(settings={"allowed_origins": SITE}, secrets={})
    for origins in ("*", "shop.vn", "https://shop.vn/path", "ftp://shop.vn", " , "):
        with pytest.raises(ChannelError):
            WebChatAdapter(settings={"allowed_origins": origins}, secrets={"widget_secret": WIDGET_SECRET})
    with pytest.raises(ChannelError, match="too short"):
        WebChatAdapter(settings={"allowed_origins": SITE}, secrets={"widget_secret": "short"})
    with pytest.raises(ChannelError, match="hex colour"):
        adapter(colour="red")
    assert adapter(colour="#ABC").colour == "#abc" and adapter().colour == "#0f766e"


def test_site_origins_are_compared_normalised_and_wildcards_cover_subdomains_only() -> None:
    assert normalise_origin("HTTPS://Shop.Example.VN:443/") == SITE
    assert normalise_origin("http://localhost:8080") == "http://localhost:8080"
    assert normalise_origin("null") is None and normalise_origin("https://shop.vn/a") is None
    allowed = parse_allowed_origins(f"{SITE}, https://*.shop.example.vn, http://localhost:8080")
    assert origin_allowed("https://shop.example.vn", allowed)
    assert origin_allowed("https://www.shop.example.vn", allowed)
    assert origin_allowed("https://a.b.shop.example.vn", allowed)
    assert origin_allowed("http://localhost:8080", allowed)
    for refused in (None, "", "null", "http://shop.example.vn", "https://evilshop.example.vn",
                    "https://shop.example.vn.evil.com", "http://www.shop.example.vn", "http://localhost:8081"):
        assert not origin_allowed(refused, allowed), refused


def test_a_session_binds_the_anonymous_id_and_only_the_identity_the_shop_signed() -> None:
    chat = adapter(title="Tư vấn", greeting="Chào bạn!")
    fresh = chat.open_session(origin=SITE, anonymous_id=None, now=NOW)
    assert len(fresh["anonymousId"]) == 36 and fresh["identified"] is False
    assert fresh["title"] == "Tư vấn" and fresh["greeting"] == "Chào bạn!"
    assert fresh["expiresAt"] == (NOW + timedelta(hours=24)).isoformat()
    visitor = chat.visitor_of(fresh["token"], now=NOW)
    assert visitor.anonymous_id == fresh["anonymousId"] and visitor.origin == SITE and visitor.user_id is None
    signed = session_of(chat, user_id="KH-1", user_hash=identity_hash(IDENTITY_SECRET, "KH-1").upper())
    assert signed["identified"] is True and chat.visitor_of(signed["token"], now=NOW).user_id == "KH-1"
    with pytest.raises(SignatureInvalid, match="userId hash"):
        session_of(chat, user_id="KH-1", user_hash=identity_hash(IDENTITY_SECRET, "KH-2"))
    with pytest.raises(SignatureInvalid, match="email hash"):
        session_of(chat, email="lan@example.vn")
    with pytest.raises(PayloadInvalid):
        session_of(chat, email="not an address")
    with pytest.raises(PayloadInvalid):
        session_of(chat, anonymous_id="x" * 201)


def test_verify_takes_a_good_message_and_refuses_bad_expired_foreign_and_misplaced_tokens() -> None:
    chat = adapter()
    token = session_of(chat)["token"]
    chat.verify(request(message(token)))
    chat.verify(request(message(token), at=NOW + timedelta(hours=23)))
    refusals = {
        "expired": request(message(token), at=NOW + timedelta(hours=24)),
        "signature": request(message(token[:-3] + "abc")),
        "another anonymous id": request(message(token, anonymous_id="anon-2")),
        "allowed origins": request(message(token), origin="https://evil.example.com"),
        "no site": request(message(token), origin=None),
        "another site": request(message(token), origin="https://www.shop.example.vn"),
        "not JSON": request(b"{not json"),
        "4,000": request(message(token, "x" * 4001)),
        "visitor": request(message("")),
        "issues": request(message("wv1.e30.x.y")),
    }
    for reason, bad in refusals.items():
        with pytest.raises(SignatureInvalid, match=reason):
            chat.verify(bad)
    other_secret = WebChatAdapter(settings={"allowed_origins": SITE},
                                  secrets={"widget_secret": "a-different-widget-secret-0123"})
    with pytest.raises(SignatureInvalid, match="widget secret"):
        other_secret.verify(request(message(token)))
    forged = issue("a-different-widget-secret-0123", Visitor("anon-1", SITE, NOW + timedelta(hours=1)))
    with pytest.raises(SignatureInvalid):
        chat.verify(request(message(forged)))


def test_parse_names_the_visitor_by_anonymous_id_and_dedupes_on_the_client_message_id() -> None:
    chat = adapter()
    token = session_of(chat)["token"]
    (item,) = chat.parse(request(message(token)))
    assert isinstance(item, InboundMessage)
    assert item.provider_message_id == "anon-1/c-1" and item.text == "Shop ơi, còn size M không?"
    assert item.contact.identifiers == (ContactIdentifier("anonymous_id", "anon-1"),)
    assert item.contact.address.type == "anonymous_id" and item.sent_at == NOW
    assert item.thread_hints == {"page": {"url": f"{SITE}/ao-dai", "title": "Áo dài lụa"}}
    # a retry after renewing the token: other bytes, the same message
    renewed = session_of(chat, now=NOW + timedelta(minutes=5))["token"]
    first, retry = request(message(token)), request(message(renewed))
    assert first.body != retry.body
    assert chat.webhook_id(first) == chat.webhook_id(retry) == "anon-1/c-1"
    assert chat.parse(retry)[0].provider_message_id == item.provider_message_id
    assert chat.webhook_id(request(message(session_of(chat, "anon-2")["token"], anonymous_id="anon-2"))) \
        == "anon-2/c-1"  # another visitor's same client id is another message
    assert json.loads(chat.ack(first).body) == {"accepted": True, "clientMessageId": "c-1"}


def test_parse_adds_user_id_and_email_only_when_the_shop_vouched_for_them() -> None:
    chat = adapter()
    in_token = session_of(chat, user_id="KH-1", user_hash=identity_hash(IDENTITY_SECRET, "KH-1"))["token"]
    (item,) = chat.parse(request(message(in_token)))
    assert [(i.type, i.value) for i in item.contact.identifiers] == [("anonymous_id", "anon-1"), ("user_id", "KH-1")]
    token = session_of(chat)["token"]
    hashed = message(token, email="Lan@Example.VN", emailHash=identity_hash(IDENTITY_SECRET, "lan@example.vn"))
    chat.verify(request(hashed))
    (item,) = chat.parse(request(hashed))
    assert [(i.type, i.value) for i in item.contact.identifiers] == [("anonymous_id", "anon-1"),
                                                                     ("email", "lan@example.vn")]
    forged = message(token, userId="KH-9", userHash="0" * 64)
    with pytest.raises(SignatureInvalid, match="userId hash"):
        chat.verify(request(forged))
    (item,) = chat.parse(request(forged))  # (had it been kept) the claim is left out, never believed
    assert [i.type for i in item.contact.identifiers] == ["anonymous_id"]
    anonymous_only = WebChatAdapter(settings={"allowed_origins": SITE}, secrets={"widget_secret": WIDGET_SECRET})
    with pytest.raises(SignatureInvalid, match="no identity secret"):
        anonymous_only.verify(request(message(session_of(anonymous_only)["token"], userId="KH-1", userHash="00")))


def test_parse_refuses_what_is_not_a_widget_message() -> None:
    chat = adapter()
    token = session_of(chat)["token"]
    bad_bodies: list[bytes | dict[str, Any]] = [
        b"", b"[]", b"\xff\xfe", message(token, ""), message(token, "x" * 4001), message(token, client_id=""),
        message(token, client_id="a/b"), message(token, anonymous_id=""), message(token, anonymous_id="a\tb"),
        message(token, page="https://shop.vn"), {"visitor": token}]
    for body in bad_bodies:
        with pytest.raises(PayloadInvalid):
            chat.parse(request(body))
    odd_page = message(token, page={"url": "javascript:alert(1)", "title": 42})
    assert chat.parse(request(odd_page))[0].thread_hints == {}  # a page we cannot name is left out


def test_send_delivers_nothing_outside_and_replies_are_always_allowed() -> None:
    chat = adapter()
    to = ContactIdentifier("anonymous_id", "anon-1")
    first = chat.send(OutboundMessage(idempotency_key="k1", to=to, text="Dạ còn ạ"))
    second = chat.send(OutboundMessage(idempotency_key="k2", to=to, text="Chị đặt nhé"))
    assert first.state == DeliveryState.SENT and first.provider_message_id != second.provider_message_id
    with pytest.raises(SendFailed) as refused:
        chat.send(OutboundMessage(idempotency_key="k3", to=ContactIdentifier("phone", "+84912345678"), text="x"))
    assert refused.value.code == "unsupported_address"
    rule = chat.reply_rule(last_inbound_at=NOW - timedelta(days=30), now=NOW)
    assert rule.free_text and rule.until is None and "no reply window" in rule.reason
