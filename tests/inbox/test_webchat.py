"""The web chat's public endpoints end to end on both databases: the widget's script, visitors' sessions (site
origins, identity verification), their messages through the inbox's real webhook intake into the conversation of
the customer the tracking API knows by the same anonymous id, their own history only, and the limits."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.inbox.conftest import work
from tests.inbox.webchat_support import (
    IDENTITY_SECRET,
    OTHER_SITE,
    SITE,
    WIDGET_SECRET,
    connect_webchat,
    history,
    message_body,
    open_session,
    say,
    visitor,
)
from xuyen.channels.webchat import Visitor, identity_hash
from xuyen.channels.webchat.tokens import issue
from xuyen.errors import RateLimited
from xuyen.events.models import ChannelType, Event
from xuyen.events.service import create_source
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.models import ProfileIdentifier
from xuyen.inbox import webchat
from xuyen.inbox.models import Message, WebhookReceipt
from xuyen.inbox.webchat import CHAT_LIMITED
from xuyen.ratelimit import RateLimiter


def only_conversation(agent: Browser) -> dict[str, object]:
    (found,) = agent.request("GET", "/conversations", params={"status": "open"}).json()
    detail: dict[str, object] = agent.request("GET", f"/conversations/{found['id']}").json()
    return detail


def receipts(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(WebhookReceipt)) or 0)


# The script --------------------------------------------------------------------------------------------


def test_the_widget_script_is_served_as_javascript_cached_and_revalidated(client: TestClient) -> None:
    response = client.get("/chat/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "data-channel" in response.text and "EventSource" in response.text and "attachShadow" in response.text
    assert "innerHTML" not in response.text and "eval(" not in response.text  # strict CSP, Trusted Types
    assert len(response.content) < 40_000
    again = client.get("/chat/widget.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


# Sessions ----------------------------------------------------------------------------------------------


def test_a_session_is_given_to_the_allowed_sites_only(client: TestClient, owner: Browser) -> None:
    chat = connect_webchat(owner, title="Tư vấn Xuyên", colour="#AA3300")
    response = open_session(client, chat)
    assert response.status_code == 200, response.text
    body = response.json()
    assert str(uuid.UUID(body["anonymousId"])) == body["anonymousId"]  # a new id for a first-time visitor
    assert body["token"].startswith("wv1.") and body["identified"] is False
    assert body["title"] == "Tư vấn Xuyên" and body["colour"] == "#aa3300" and body["greeting"] is None
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["cache-control"] == "no-store"
    sub = open_session(client, chat, origin="https://www.shop.example.vn:443")  # the *. entry, default port
    assert sub.status_code == 200 and sub.headers["access-control-allow-origin"] == "https://www.shop.example.vn:443"

    for origin in (OTHER_SITE, "https://shop.example.vn.evil.com", "http://shop.example.vn", "null"):
        refused = open_session(client, chat, origin=origin)
        assert_problem(refused, 403, "origin_not_allowed")
        assert "access-control-allow-origin" not in refused.headers
    assert_problem(client.post(f"/chat/{chat}/session", json={}), 403, "origin_not_allowed")


def test_browsers_preflight_is_answered_for_allowed_sites_only(client: TestClient, owner: Browser) -> None:
    chat = connect_webchat(owner)
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options(f"/chat/{chat}/messages", headers={"Origin": SITE, **asked})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = client.options(f"/chat/{chat}/session", headers={"Origin": OTHER_SITE, **asked})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_only_web_chat_channels_answer_and_bad_session_requests_are_refused(client: TestClient,
                                                                              owner: Browser) -> None:
    chat = connect_webchat(owner)
    sms = owner.request("POST", "/inbox/channels", json={"kind": "sms", "name": "SMS", "settings": {
        "brand_name": "XUYEN", "send_url": "http://127.0.0.1:9/send"}, "secrets": {"api_key": "k"}}).json()["id"]
    assert_problem(open_session(client, sms), 404, "chat_not_found")
    assert_problem(open_session(client, 999_999), 404, "chat_not_found")
    assert client.post("/chat/abc/session", headers={"Origin": SITE}).status_code == 422

    kept = visitor(client, chat, anonymousId="  ajs-4f1c2a  ")
    assert kept["anonymousId"] == "ajs-4f1c2a"
    headers = {"Origin": SITE, "Content-Type": "application/json"}
    assert_problem(client.post(f"/chat/{chat}/session", content=b"{nope", headers=headers), 400, "invalid_json")
    assert_problem(client.post(f"/chat/{chat}/session", content=b"[1]", headers=headers), 400, "invalid_body")
    assert_problem(open_session(client, chat, anonymousId="x" * 201), 422, "invalid_session")
    assert_problem(open_session(client, chat, anonymousId="a\nb"), 422, "invalid_session")
    assert_problem(open_session(client, chat, anonymousId={"id": 1}), 422, "invalid_session")
    huge = b'{"anonymousId": "' + b"x" * 40_000 + b'"}'
    assert_problem(client.post(f"/chat/{chat}/session", content=huge, headers=headers), 413, "payload_too_large")


def test_a_signed_in_customer_is_identified_only_with_the_shops_hash(client: TestClient, owner: Browser) -> None:
    chat = connect_webchat(owner)
    email_hash = identity_hash(IDENTITY_SECRET, "lan.nguyen@example.vn")  # of the address in lower case
    good = open_session(client, chat, userId="KH-1001", userHash=identity_hash(IDENTITY_SECRET, "KH-1001"),
                        email="Lan.Nguyen@Example.vn", emailHash=email_hash)
    assert good.status_code == 200 and good.json()["identified"] is True
    forged = open_session(client, chat, userId="KH-1001", userHash=identity_hash("a guess", "KH-1001"))
    assert "hash does not verify" in assert_problem(forged, 403, "identity_not_verified")["detail"]
    assert forged.headers["access-control-allow-origin"] == SITE  # the widget reads why, and goes on anonymous
    unhashed = open_session(client, chat, email="lan.nguyen@example.vn")
    assert_problem(unhashed, 403, "identity_not_verified")
    other_users_hash = open_session(client, chat, userId="KH-1002", userHash=identity_hash(IDENTITY_SECRET, "KH-1001"))
    assert_problem(other_users_hash, 403, "identity_not_verified")

    without_secret = connect_webchat(owner, identity=False)
    refused = open_session(client, without_secret, userId="KH-1001",
                           userHash=identity_hash(IDENTITY_SECRET, "KH-1001"))
    assert "no identity secret" in assert_problem(refused, 403, "identity_not_verified")["detail"]


# Messages in -------------------------------------------------------------------------------------------


def test_a_visitor_is_the_customer_the_tracking_api_knows_by_the_same_anonymous_id(
        client: TestClient, owner: Browser, agent: Browser, engine: Engine, session: Session) -> None:
    _source, write_key = create_source(session, name="Website", channel=ChannelType.web)
    anonymous_id = "0f6a1c3e-5b7d-4e2a-9c1f-2d3b4a5c6d7e"
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    tracked = client.post("/v1/track", headers={"Authorization": auth}, json={
        "anonymousId": anonymous_id, "event": "Product Viewed", "messageId": "web-pv-1",
        "properties": {"product_id": "SP-101", "name": "Áo dài lụa tơ tằm", "price": 950_000}})
    assert tracked.status_code == 200, tracked.text
    chat = connect_webchat(owner)

    guest = visitor(client, chat, anonymousId=anonymous_id)
    answer = say(client, chat, guest, "Shop ơi, áo dài lụa còn size M không ạ?", path="webhooks")
    assert answer.status_code == 200, answer.text
    work(engine)

    detail = only_conversation(agent)
    (message,) = detail["messages"]  # type: ignore[misc]
    assert message["text"] == "Shop ơi, áo dài lụa còn size M không ạ?" and message["channel_id"] == chat
    session.rollback()
    event_profile = session.scalar(select(Event.profile_id).where(Event.message_id == "web-pv-1"))
    assert event_profile is not None
    assert resolve_profile_id(session, profile_id=event_profile) == detail["customer_id"]  # one customer
    holders = session.scalars(select(ProfileIdentifier).where(ProfileIdentifier.type == "anonymous_id",
                                                              ProfileIdentifier.value == anonymous_id)).all()
    assert len(holders) == 1
    stored = session.get(Message, message["id"])
    assert stored is not None and stored.meta["thread_hints"]["page"] == {"url": f"{SITE}/ao-dai-lua",
                                                                          "title": "Áo dài lụa tơ tằm"}
    (option,) = detail["reply_options"]  # type: ignore[misc]
    assert option["channel_id"] == chat and option["free_text"] is True and "no reply window" in option["reason"]


def test_a_message_retried_with_the_same_client_id_is_taken_once(client: TestClient, owner: Browser,
                                                                 agent: Browser, engine: Engine,
                                                                 session: Session) -> None:
    chat = connect_webchat(owner)
    guest = visitor(client, chat)
    for _ in range(3):
        response = say(client, chat, guest, "Cho em hỏi giờ mở cửa", client_id="cm-1")
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": True, "clientMessageId": "cm-1"}
        assert response.headers["access-control-allow-origin"] == SITE
    renewed = visitor(client, chat, anonymousId=guest["anonymousId"])  # a new token: other bytes, same message
    assert say(client, chat, renewed, "Cho em hỏi giờ mở cửa", client_id="cm-1", path="webhooks").status_code == 200
    assert receipts(session) == 1
    other = visitor(client, chat)  # another visitor's same client id is another message
    assert say(client, chat, other, "Em cũng hỏi giờ mở cửa", client_id="cm-1").status_code == 200
    work(engine)
    session.rollback()
    texts = sorted(session.scalars(select(Message.text)))
    assert texts == ["Cho em hỏi giờ mở cửa", "Em cũng hỏi giờ mở cửa"]


def test_forged_expired_and_misplaced_tokens_are_refused_and_nothing_is_kept(client: TestClient, owner: Browser,
                                                                             session: Session) -> None:
    chat = connect_webchat(owner)
    guest = visitor(client, chat)
    stranger = visitor(client, chat, anonymousId="someone-else")

    payload, signature = guest["token"].split(".")[1:]
    tampered = dict(guest, token=f"wv1.{payload}.{signature[:-2]}AA")
    expired = dict(guest, token=issue(WIDGET_SECRET, Visitor(anonymous_id=guest["anonymousId"], origin=SITE,
                                                             expires_at=datetime.now(UTC) - timedelta(seconds=1))))
    resigned = dict(guest, token=issue("another-widget-secret-0123456789", Visitor(
        anonymous_id=guest["anonymousId"], origin=SITE, expires_at=datetime.now(UTC) + timedelta(hours=1))))
    borrowed = dict(guest, token=stranger["token"])  # someone else's token for this visitor's id
    elsewhere = dict(guest, token=visitor(client, chat, anonymousId=guest["anonymousId"],
                                          origin="https://m.shop.example.vn")["token"])
    before = receipts(session)
    for bad in (tampered, expired, resigned, borrowed, elsewhere, dict(guest, token="")):
        for path in ("chat", "webhooks"):
            response = say(client, chat, bad, "Xin chào", path=path)
            if bad["token"] == "" and path == "chat":
                assert_problem(response, 422, "invalid_message")
                continue
            code = "visitor_token_invalid" if path == "chat" else "bad_signature"
            assert_problem(response, 401, code)
    assert "expired" in assert_problem(say(client, chat, expired, "x"), 401, "visitor_token_invalid")["detail"]
    for path in ("chat", "webhooks"):
        refused = say(client, chat, guest, "Xin chào", path=path, origin=OTHER_SITE)
        assert refused.status_code == (403 if path == "chat" else 401)
    forged_identity = say(client, chat, guest, "Em là KH-1", userId="KH-1", userHash="00" * 32)
    assert_problem(forged_identity, 401, "visitor_token_invalid")
    assert receipts(session) == before


def test_malformed_and_oversized_messages_are_refused_with_reasons(client: TestClient, owner: Browser,
                                                                   session: Session) -> None:
    chat = connect_webchat(owner)
    guest = visitor(client, chat)
    headers = {"Origin": SITE, "Content-Type": "text/plain;charset=UTF-8"}
    url = f"/chat/{chat}/messages"
    assert_problem(client.post(url, content=b"not json", headers=headers), 400, "invalid_json")
    assert_problem(client.post(url, content=b'"text"', headers=headers), 400, "invalid_body")
    long_text = assert_problem(say(client, chat, guest, "ạ" * 4001), 422, "invalid_message")
    assert "4,000" in long_text["detail"]
    assert_problem(say(client, chat, guest, "   "), 422, "invalid_message")
    assert_problem(say(client, chat, guest, "ok", client_id="has spaces in it"), 422, "invalid_message")
    missing = message_body(guest, "ok")
    del missing["anonymousId"]
    assert_problem(client.post(url, json=missing, headers=headers), 422, "invalid_message")
    huge = message_body(guest, "x" * 40_000)
    assert_problem(client.post(url, json=huge, headers=headers), 413, "payload_too_large")
    assert say(client, chat, guest, "ạ" * 4000).status_code == 200  # the longest text there is
    assert receipts(session) == 1


def test_the_customer_the_shop_vouched_for_is_linked_to_the_visitor(client: TestClient, owner: Browser,
                                                                    agent: Browser, engine: Engine,
                                                                    session: Session) -> None:
    chat = connect_webchat(owner)
    signed_in = visitor(client, chat, userId="KH-2002", userHash=identity_hash(IDENTITY_SECRET, "KH-2002"))
    assert say(client, chat, signed_in, "Đơn DH-1 của em đâu rồi ạ?").status_code == 200  # identity in the token
    later = visitor(client, chat)
    hashed = {"email": "minh@example.vn", "emailHash": identity_hash(IDENTITY_SECRET, "minh@example.vn")}
    assert say(client, chat, later, "Em là Minh", **hashed).status_code == 200  # identity in the message
    work(engine)
    session.rollback()
    rows = session.execute(select(ProfileIdentifier.type, ProfileIdentifier.value, ProfileIdentifier.profile_id)).all()
    by_value = {value: (kind, profile) for kind, value, profile in rows}
    assert by_value["KH-2002"][0] == "user_id"
    assert by_value[signed_in["anonymousId"]][1] == by_value["KH-2002"][1]
    assert by_value["minh@example.vn"][1] == by_value[later["anonymousId"]][1]
    assert by_value["minh@example.vn"][1] != by_value["KH-2002"][1]


# What a visitor reads ------------------------------------------------------------------------------------


def test_the_agents_reply_is_in_the_visitors_history_and_no_one_elses(client: TestClient, owner: Browser,
                                                                      agent: Browser, engine: Engine) -> None:
    chat = connect_webchat(owner)
    lan = visitor(client, chat)
    binh = visitor(client, chat)
    assert say(client, chat, lan, "Áo sơ mi trắng còn không?", client_id="lan-1").status_code == 200
    assert say(client, chat, binh, "Quần jean size 30?", client_id="binh-1").status_code == 200
    work(engine)
    conversations = agent.request("GET", "/conversations", params={"status": "open"}).json()
    assert len(conversations) == 2  # two visitors, two customers
    lans = next(item for item in conversations
                if agent.request("GET", f"/conversations/{item['id']}").json()["messages"][0]["text"].startswith("Áo"))
    reply = agent.request("POST", f"/conversations/{lans['id']}/replies", json={"text": "Dạ còn ạ, chị mặc size gì?"})
    assert reply.status_code == 202, reply.text
    assert agent.request("POST", f"/conversations/{lans['id']}/notes", json={"text": "Khách quen"}).status_code == 201
    work(engine)
    assert agent.request("GET", f"/conversations/{lans['id']}").json()["messages"][1]["state"] == "sent"

    shown = history(client, chat, lan["token"])
    assert shown.status_code == 200 and shown.headers["access-control-allow-origin"] == SITE
    assert [(item["from"], item["text"], item["clientMessageId"]) for item in shown.json()["messages"]] == [
        ("visitor", "Áo sơ mi trắng còn không?", "lan-1"), ("agent", "Dạ còn ạ, chị mặc size gì?", None)]
    assert [item["text"] for item in history(client, chat, binh["token"]).json()["messages"]] == [
        "Quần jean size 30?"]
    newcomer = visitor(client, chat)
    assert history(client, chat, newcomer["token"]).json()["messages"] == []
    assert_problem(history(client, chat, "wv1.bad.token"), 401, "visitor_token_invalid")
    assert_problem(client.get(f"/chat/{chat}/messages", headers={"Origin": SITE}), 401, "visitor_token_invalid")
    assert_problem(history(client, chat, lan["token"], origin=OTHER_SITE), 403, "origin_not_allowed")
    other_chat = connect_webchat(owner)
    assert history(client, other_chat, lan["token"]).json()["messages"] == []  # the same id on another chat


# Limits ------------------------------------------------------------------------------------------------


def test_sessions_and_messages_are_rate_limited_with_a_clear_answer(client: TestClient, owner: Browser,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(webchat.LIMITS, "session", (3, 60.0))
    monkeypatch.setitem(webchat.LIMITS, "message_visitor", (2, 60.0))
    chat = connect_webchat(owner)
    guests = [visitor(client, chat) for _ in range(3)]
    limited = open_session(client, chat)
    body = assert_problem(limited, 429, "chat_rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60 and body["details"]["retry_after"]
    assert limited.headers["access-control-allow-origin"] == SITE
    assert "retry-after" in limited.headers["access-control-expose-headers"].lower()

    first, second = guests[:2]
    assert [say(client, chat, first, f"tin {n}").status_code for n in range(2)] == [200, 200]
    assert_problem(say(client, chat, first, "tin 3"), 429, "chat_rate_limited")
    assert say(client, chat, second, "tin của người khác").status_code == 200  # per visitor


def test_the_limit_counts_a_sliding_window_per_key_and_forgets_quiet_keys() -> None:
    now = [1000.0]
    limiter = RateLimiter(code="chat_rate_limited", message=CHAT_LIMITED, clock=lambda: now[0])
    for _ in range(3):
        limiter.check("a", limit=3, window=60)
    with pytest.raises(RateLimited) as refused:
        limiter.check("a", limit=3, window=60)
    assert refused.value.retry_after == 60
    limiter.check("b", limit=3, window=60)  # another key counts on its own
    now[0] += 30
    with pytest.raises(RateLimited) as refused:
        limiter.check("a", limit=3, window=60)
    assert refused.value.retry_after == 30
    now[0] += 30.5
    limiter.check("a", limit=3, window=60)  # the first hits left the window
    limiter.MAX_KEYS = 2
    now[0] += 120
    limiter.check("c", limit=3, window=60)
    assert set(limiter.hits) == {"c"}  # past the key limit, keys quiet for a whole window are forgotten
