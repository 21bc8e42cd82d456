"""The inbox end to end: providers' webhooks (through the real adapters, signed as the providers sign them) become
one conversation per customer across channels; agents reply within each channel's rules and the fake provider
receives the reply; delivery states, failures, revoked tokens and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.fakes.meta import (
    GraphFake,
    messenger_message,
    messenger_webhook,
    whatsapp_contact,
    whatsapp_message,
    whatsapp_status,
    whatsapp_webhook,
)
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.inbox.conftest import APP_SECRET, NUMBER, PAGE, PAGE_TOKEN, VERIFY, Channels, ago, post_meta, post_sms, work
from xuyen.identity.models import ProfileIdentifier
from xuyen.inbox.models import Channel, Message, ReceiptStatus, WebhookReceipt
from xuyen.jobs import Job, JobStatus

PSID = "6024829371642213"
WA_ID = "84912345678"


def say_on_messenger(client: TestClient, channels: Channels, mid: str, text_: str, *, at: datetime | None = None,
                     psid: str = PSID) -> None:
    payload = messenger_webhook(PAGE, messenger_message(PAGE, psid, mid, at or ago(minutes=1), text=text_))
    assert post_meta(client, channels.messenger, payload).status_code == 200


def conversations(browser: Browser, **query: object) -> list[dict[str, object]]:
    response = browser.request("GET", "/conversations", params={"status": "open", **query})
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()
    return found


def only_conversation(browser: Browser) -> dict[str, object]:
    (found,) = conversations(browser)
    response = browser.request("GET", f"/conversations/{found['id']}")
    assert response.status_code == 200, response.text
    detail: dict[str, object] = response.json()
    return detail


# Connecting channels ---------------------------------------------------------------------------------


def test_owners_connect_channels_and_secrets_never_show(owner: Browser, channels: Channels, session: Session) -> None:
    listed = owner.request("GET", "/inbox/channels").json()
    assert {item["kind"] for item in listed} == {"messenger", "whatsapp", "sms"}
    assert all("secrets" not in item and "sealed_secrets" not in item for item in listed)
    stored = session.scalar(select(Channel.sealed_secrets).where(Channel.id == channels.messenger))
    assert stored and PAGE_TOKEN not in stored and APP_SECRET not in stored  # sealed at rest
    kinds = owner.request("GET", "/inbox/channel-kinds").json()
    assert {"messenger", "whatsapp", "zalo", "sms"} <= set(kinds)
    assert "page_access_token" in kinds["messenger"]["secrets"]


def test_a_channel_missing_a_secret_is_refused_with_the_adapters_reason(owner: Browser) -> None:
    response = owner.request("POST", "/inbox/channels", json={
        "kind": "messenger", "name": "Facebook", "settings": {"page_id": PAGE},
        "secrets": {"app_secret": APP_SECRET, "verify_token": VERIFY}})
    body = assert_problem(response, 422, "channel_settings_invalid")
    assert "page_access_token" in body["detail"]
    assert_problem(owner.request("POST", "/inbox/channels", json={"kind": "telegraph", "name": "x"}), 422,
                   "channel_kind_unknown")
    assert owner.request("GET", "/inbox/channels").json() == []


def test_only_owners_connect_channels(agent: Browser, manager: Browser, client: TestClient) -> None:
    body = {"kind": "sms", "name": "SMS", "settings": {"brand_name": "X"}, "secrets": {"api_key": "k"}}
    assert_problem(agent.request("POST", "/inbox/channels", json=body), 403, "role_required")
    assert_problem(manager.request("POST", "/inbox/channels", json=body), 403, "role_required")
    assert_problem(agent.request("GET", "/inbox/channels"), 403, "role_required")
    assert client.get("/api/v1/conversations").status_code == 401


# Webhooks in -----------------------------------------------------------------------------------------


def test_the_subscription_handshake_answers_the_challenge_only_to_the_right_token(client: TestClient,
                                                                                  channels: Channels) -> None:
    good = client.get(f"/webhooks/{channels.messenger}",
                      params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert good.status_code == 200 and good.text == "1158201444"
    bad = client.get(f"/webhooks/{channels.messenger}",
                     params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert bad.status_code == 403


def test_a_message_becomes_a_conversation_of_a_new_customer(client: TestClient, channels: Channels, agent: Browser,
                                                            engine: Engine, session: Session) -> None:
    say_on_messenger(client, channels, "m_1", "Shop ơi, áo sơ mi trắng còn size M không?")
    assert session.scalar(select(WebhookReceipt.status)) == ReceiptStatus.queued  # kept raw, parsed later
    work(engine)
    detail = only_conversation(agent)
    (message,) = detail["messages"]  # type: ignore[misc]
    assert message["text"] == "Shop ơi, áo sơ mi trắng còn size M không?"
    assert message["direction"] == "inbound" and message["channel_id"] == channels.messenger
    session.rollback()
    identifier = session.scalar(select(ProfileIdentifier).where(ProfileIdentifier.value == PSID))
    assert identifier is not None and identifier.type == "facebook_psid" and identifier.scope == PAGE
    assert identifier.profile_id == detail["customer_id"]
    options = detail["reply_options"]
    assert [option["channel_id"] for option in options] == [channels.messenger]  # type: ignore[index]
    assert options[0]["free_text"] is True  # type: ignore[index]


def test_a_bad_signature_is_refused_and_nothing_is_kept(client: TestClient, channels: Channels,
                                                         session: Session) -> None:
    payload = messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_forged", ago(minutes=1), text="hi"))
    response = post_meta(client, channels.messenger, payload, secret="not-the-app-secret")
    assert_problem(response, 401, "bad_signature")
    unsigned = client.post(f"/webhooks/{channels.messenger}", content=b'{"object":"page","entry":[]}',
                           headers={"Content-Type": "application/json"})
    assert_problem(unsigned, 401, "bad_signature")
    assert session.scalars(select(WebhookReceipt)).all() == []


def test_redelivered_webhooks_and_repeated_messages_are_kept_once(client: TestClient, channels: Channels,
                                                                  engine: Engine, session: Session,
                                                                  agent: Browser) -> None:
    at = ago(minutes=3)
    payload = messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_2", at, text="Còn hàng không ạ?"), at=at)
    for _ in range(3):
        assert post_meta(client, channels.messenger, payload).status_code == 200
    again = messenger_webhook(PAGE, messenger_message(PAGE, PSID, "m_2", at, text="Còn hàng không ạ?"),
                              at=at + timedelta(seconds=5))  # another delivery carrying the same message
    assert post_meta(client, channels.messenger, again).status_code == 200
    work(engine)
    assert len(session.scalars(select(WebhookReceipt)).all()) == 2
    assert len(only_conversation(agent)["messages"]) == 1  # type: ignore[arg-type]


def test_an_unparseable_delivery_fails_alone_and_the_channel_goes_on(client: TestClient, channels: Channels,
                                                                     engine: Engine, session: Session,
                                                                     agent: Browser) -> None:
    garbage = {"object": "instagram", "entry": "not a list"}
    assert post_meta(client, channels.messenger, garbage).status_code == 200  # signed, so accepted and kept
    say_on_messenger(client, channels, "m_3", "Tin sau vẫn đến")
    work(engine)
    session.rollback()
    failed = session.scalars(select(WebhookReceipt).where(WebhookReceipt.status == ReceiptStatus.failed)).all()
    assert len(failed) == 1 and failed[0].error and failed[0].body.startswith(b'{"object":"instagram"')
    assert only_conversation(agent)["messages"][0]["text"] == "Tin sau vẫn đến"  # type: ignore[index]


def test_oversized_unknown_and_malformed_webhooks_are_refused(client: TestClient, channels: Channels,
                                                              settings: object) -> None:
    huge = b"{" + b" " * 1_100_000 + b"}"
    response = client.post(f"/webhooks/{channels.messenger}", content=huge,
                           headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")
    assert_problem(client.post("/webhooks/999999", content=b"{}"), 404, "channel_not_found")
    assert client.post("/webhooks/not-a-number", content=b"{}").status_code == 422


# One conversation across channels -------------------------------------------------------------------


def test_one_customer_writing_on_whatsapp_and_sms_has_one_conversation(client: TestClient, channels: Channels,
                                                                      engine: Engine, agent: Browser) -> None:
    at = ago(minutes=10)
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111",
                               contacts=[whatsapp_contact(WA_ID, "Nguyễn Thị Lan")],
                               messages=[whatsapp_message(WA_ID, "wamid.ABC1", at, "text", {"body": "Chào shop"})])
    assert post_meta(client, channels.whatsapp, payload).status_code == 200
    sms = {"type": "mo", "from": "0912345678", "to": "8077", "text": "Em vừa nhắn WhatsApp đó",
           "message_id": "mo-1", "timestamp": datetime.now(UTC).isoformat()}
    assert post_sms(client, channels.sms, sms).status_code == 200
    work(engine)
    detail = only_conversation(agent)  # the phone links them: one customer, one conversation
    assert [message["channel_id"] for message in detail["messages"]] == [  # type: ignore[attr-defined]
        channels.whatsapp, channels.sms]
    assert detail["last_inbound_channel_id"] == channels.sms
    assert detail["reply_options"][0]["channel_id"] == channels.sms  # type: ignore[index]


# Replies out -----------------------------------------------------------------------------------------


def test_a_reply_reaches_the_provider_and_its_states_only_move_forward(client: TestClient, channels: Channels,
                                                                      engine: Engine, agent: Browser,
                                                                      graph: GraphFake, session: Session) -> None:
    at = ago(minutes=5)
    graph.customer_wrote(NUMBER, WA_ID, at)
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111",
                               contacts=[whatsapp_contact(WA_ID, "Lan")],
                               messages=[whatsapp_message(WA_ID, "wamid.IN1", at, "text", {"body": "Size M?"})])
    post_meta(client, channels.whatsapp, payload)
    work(engine)
    conversation = only_conversation(agent)
    answer = agent.request("POST", f"/conversations/{conversation['id']}/replies",
                           json={"text": "Dạ còn size M ạ, chị đặt luôn nhé!"})
    assert answer.status_code == 202 and answer.json()["state"] == "queued"
    work(engine)
    (sent,) = graph.sent
    assert sent.body["text"]["body"] == "Dạ còn size M ạ, chị đặt luôn nhé!" and sent.to == WA_ID
    session.rollback()
    message = session.get(Message, answer.json()["id"])
    assert message is not None and message.state.value == "sent" and message.provider_message_id
    statuses = [whatsapp_status(message.provider_message_id, "read", WA_ID, ago(seconds=5)),
                whatsapp_status(message.provider_message_id, "delivered", WA_ID, ago(seconds=20))]
    delivered = post_meta(client, channels.whatsapp, whatsapp_webhook("102290129340398", NUMBER, "15550001111",
                                                                     statuses=statuses))
    assert delivered.status_code == 200, delivered.text
    work(engine)
    session.rollback()
    assert session.get(Message, message.id).state.value == "read"  # type: ignore[union-attr]


def test_messenger_replies_after_a_day_go_with_the_human_agent_tag_and_after_a_week_are_refused(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    three_days = ago(days=3)
    graph.customer_wrote(PAGE, PSID, three_days)
    say_on_messenger(client, channels, "m_old", "Em hỏi đơn hàng", at=three_days)
    work(engine)
    conversation = only_conversation(agent)
    (option,) = conversation["reply_options"]  # type: ignore[misc]
    assert option["tag"] == "HUMAN_AGENT" and "7 days" in option["reason"]
    assert agent.request("POST", f"/conversations/{conversation['id']}/replies",
                         json={"text": "Dạ đơn của chị đã giao ạ"}).status_code == 202
    work(engine)
    sent = graph.sent[-1].body
    assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
    assert sent["message"]["text"] == "Dạ đơn của chị đã giao ạ"


def test_a_closed_window_is_explained_and_offers_the_open_channels(client: TestClient, channels: Channels,
                                                                   engine: Engine, agent: Browser,
                                                                   graph: GraphFake) -> None:
    eight_days = ago(days=8)
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111",
                               contacts=[whatsapp_contact(WA_ID, "Lan")],
                               messages=[whatsapp_message(WA_ID, "wamid.OLD", eight_days, "text", {"body": "Hi"})])
    post_meta(client, channels.whatsapp, payload)
    work(engine)
    conversation = only_conversation(agent)
    refused = agent.request("POST", f"/conversations/{conversation['id']}/replies", json={"text": "Chào chị"})
    body = assert_problem(refused, 422, "outside_reply_window")
    assert body["details"]["templates"] is True and body["details"]["open_channels"] == []
    assert graph.sent == []
    post_sms(client, channels.sms, {"type": "mo", "from": "+84912345678", "to": "8077", "text": "Alo",
                                    "message_id": "mo-2", "timestamp": datetime.now(UTC).isoformat()})
    work(engine)
    refused = agent.request("POST", f"/conversations/{conversation['id']}/replies",
                            json={"text": "Chào chị", "channel_id": channels.whatsapp})
    assert assert_problem(refused, 422, "outside_reply_window")["details"]["open_channels"] == [channels.sms]


def test_a_revoked_token_flags_the_channel_and_fails_the_message(client: TestClient, channels: Channels,
                                                                 engine: Engine, agent: Browser, graph: GraphFake,
                                                                 owner: Browser, session: Session) -> None:
    graph.customer_wrote(PAGE, PSID, ago(minutes=1))
    say_on_messenger(client, channels, "m_4", "Alo shop")
    work(engine)
    conversation = only_conversation(agent)
    graph.revoke(PAGE_TOKEN)
    reply = agent.request("POST", f"/conversations/{conversation['id']}/replies", json={"text": "Dạ"}).json()
    work(engine)
    session.rollback()
    assert session.get(Message, reply["id"]).state.value == "failed"  # type: ignore[union-attr]
    channel = next(item for item in owner.request("GET", "/inbox/channels").json()
                   if item["id"] == channels.messenger)
    assert channel["status"] == "needs_attention" and channel["status_reason"]
    again = agent.request("POST", f"/conversations/{conversation['id']}/replies", json={"text": "Dạ"})
    assert_problem(again, 409, "channel_needs_attention")


def test_a_busy_gateway_is_tried_again_later(client: TestClient, channels: Channels, engine: Engine, agent: Browser,
                                             sms_gateway: FakeSmsGateway, session: Session) -> None:
    post_sms(client, channels.sms, {"type": "mo", "from": "0987654321", "to": "8077", "text": "Còn áo không?",
                                    "message_id": "mo-3", "timestamp": datetime.now(UTC).isoformat()})
    work(engine)
    conversation = only_conversation(agent)
    sms_gateway.down = True
    reply = agent.request("POST", f"/conversations/{conversation['id']}/replies", json={"text": "Dạ còn ạ"}).json()
    work(engine)
    session.rollback()
    waiting = session.get(Message, reply["id"])
    assert waiting is not None and waiting.state.value == "queued" and "attempt 1" in (waiting.error or "")
    sms_gateway.down = False
    session.execute(update(Job).where(Job.status == JobStatus.queued).values(run_at=datetime.now(UTC)))
    session.commit()
    work(engine)
    session.refresh(waiting)
    assert waiting.state.value == "sent"
    assert [sent.text for sent in sms_gateway.sent] == ["Da con a"]  # brand-name routes carry no diacritics


# Notes and statuses ----------------------------------------------------------------------------------


def test_notes_stay_inside_and_a_customer_message_reopens_a_pending_conversation(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    say_on_messenger(client, channels, "m_5", "Cho em hỏi")
    work(engine)
    conversation = only_conversation(agent)
    cid = conversation["id"]
    assert agent.request("POST", f"/conversations/{cid}/notes", json={"text": "Khách VIP, ưu tiên"}).status_code == 201
    assert agent.request("POST", f"/conversations/{cid}/status", json={"status": "pending"}).json()["status"] == \
        "pending"
    assert conversations(agent) == []
    say_on_messenger(client, channels, "m_6", "Shop ơi?", at=datetime.now(UTC))
    work(engine)
    detail = only_conversation(agent)
    assert detail["id"] == cid and detail["status"] == "open"
    assert [message["direction"] for message in detail["messages"]] == ["inbound", "note", "inbound"]  # type: ignore
    assert graph.sent == []  # the note was never sent
    snooze = agent.request("POST", f"/conversations/{cid}/status", json={"status": "snoozed"})
    assert_problem(snooze, 422, "snooze_until_required")
    assert_problem(agent.request("POST", f"/conversations/{cid}/notes", json={"text": " "}), 422, "empty_note")


def test_messages_show_on_the_customer_timeline_with_their_text(client: TestClient, channels: Channels,
                                                                engine: Engine, agent: Browser) -> None:
    say_on_messenger(client, channels, "m_7", "Cho em xin bảng size áo khoác")
    work(engine)
    customer_id = only_conversation(agent)["customer_id"]
    timeline = agent.request("GET", f"/customers/{customer_id}/timeline").json()
    messages = [item for item in timeline["items"] if item["kind"] == "message"]
    assert [item["data"]["text"] for item in messages] == ["Cho em xin bảng size áo khoác"]
    assert messages[0]["channel"] == "messenger" and messages[0]["data"]["direction"] == "inbound"
    assert not [item for item in timeline["items"] if item["kind"] == "event"
                and item["data"].get("event") == "Message Received"]  # shown once, as the message
    page = agent.client.get(f"/customers/{customer_id}")
    assert "Cho em xin bảng size áo khoác" in page.text and "/inbox/" in page.text


def test_the_live_stream_needs_a_signed_in_agent(client: TestClient, channels: Channels) -> None:
    assert_problem(client.get("/api/v1/inbox/stream"), 401, "not_authenticated")
    assert_problem(client.get("/api/v1/inbox/stream", headers={"Authorization": "Bearer xk_nope"}), 401,
                   "invalid_api_key")


def test_outside_the_window_an_approved_template_still_goes_out(client: TestClient, channels: Channels,
                                                                engine: Engine, agent: Browser,
                                                                graph: GraphFake) -> None:
    graph.approve_template("xac_nhan_don_hang", "vi", parameters=2)
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111", contacts=[whatsapp_contact(WA_ID, "Lan")],
                               messages=[whatsapp_message(WA_ID, "wamid.T1", ago(days=2), "text", {"body": "Hi"})])
    post_meta(client, channels.whatsapp, payload)
    work(engine)
    cid = only_conversation(agent)["id"]
    body = {"channel_id": channels.whatsapp, "name": "xac_nhan_don_hang", "language": "vi",
            "parameters": {"1": "Lan", "2": "DH1042"}}
    sent = agent.request("POST", f"/conversations/{cid}/templates", json=body)
    assert sent.status_code == 202, sent.text
    work(engine)
    (delivered,) = graph.sent
    assert delivered.body["type"] == "template" and delivered.body["template"]["name"] == "xac_nhan_don_hang"
    assert [item["text"] for item in only_conversation(agent)["messages"]][-1].startswith("[xac_nhan_don_hang]")
    assert_problem(agent.request("POST", f"/conversations/{cid}/templates", json={**body, "name": " "}), 422,
                   "template_required")
    assert_problem(agent.request("POST", f"/conversations/{cid}/templates", json={**body, "extra": 1}), 422,
                   "validation_failed")
    say_on_messenger(client, channels, "m_t", "Alo", psid="5550001")  # a Messenger-only customer: no templates
    work(engine)
    other = next(item for item in conversations(agent) if item["id"] != cid)
    refused = agent.request("POST", f"/conversations/{other['id']}/templates",
                            json={**body, "channel_id": channels.messenger})
    assert_problem(refused, 422, "templates_not_supported")


def test_a_snoozed_conversation_wakes_up_when_its_time_comes(client: TestClient, channels: Channels, engine: Engine,
                                                             agent: Browser, session: Session) -> None:
    say_on_messenger(client, channels, "m_z", "Mai shop nhắn lại em nhé")
    work(engine)
    cid = only_conversation(agent)["id"]
    until = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    snoozed = agent.request("POST", f"/conversations/{cid}/status", json={"status": "snoozed", "snoozed_until": until})
    assert snoozed.status_code == 200 and conversations(agent) == []
    from xuyen.inbox.service import wake_snoozed

    assert wake_snoozed(session) == 0
    assert wake_snoozed(session, now=datetime.now(UTC) + timedelta(hours=4)) == 1
    session.commit()
    assert only_conversation(agent)["status"] == "open"


def test_erasing_a_person_blanks_their_messages_and_addresses(client: TestClient, channels: Channels,
                                                              engine: Engine, agent: Browser, owner: Browser,
                                                              session: Session) -> None:
    say_on_messenger(client, channels, "m_e", "Số điện thoại của em là 0912 345 678")
    work(engine)
    conversation = only_conversation(agent)
    body = {"reason": "Yêu cầu qua Messenger ngày 20/11", "confirm": True}
    erased = owner.request("POST", f"/customers/{conversation['customer_id']}/erase", json=body)
    assert erased.status_code == 201, erased.text
    work(engine)
    session.rollback()
    texts = session.scalars(select(Message.text)).all()
    assert texts == ["[erased]"]
    bodies = session.scalars(select(WebhookReceipt.body)).all()
    assert all(b"0912" not in raw for raw in bodies)
    from xuyen.inbox.models import ContactPoint

    assert session.scalars(select(ContactPoint)).all() == []


def test_assigning_a_conversation_to_an_agent_and_back(client: TestClient, channels: Channels, engine: Engine,
                                                       agent: Browser, manager: Browser) -> None:
    say_on_messenger(client, channels, "m_a", "Ai tư vấn cho em với?")
    work(engine)
    cid = only_conversation(agent)["id"]
    given = agent.request("POST", f"/conversations/{cid}/assignee", json={"user_id": manager.user_id})
    assert given.status_code == 200 and given.json()["assignee_id"] == manager.user_id
    assert_problem(agent.request("POST", f"/conversations/{cid}/assignee", json={"user_id": 999_999}), 404,
                   "user_not_found")
    back = agent.request("POST", f"/conversations/{cid}/assignee", json={"user_id": None})
    assert back.status_code == 200 and back.json()["assignee_id"] is None


def test_receipts_parsed_together_keep_their_order_and_a_sender_without_identifiers_fails_alone(
        client: TestClient, channels: Channels, engine: Engine, session: Session, agent: Browser) -> None:
    say_on_messenger(client, channels, "m_b1", "Cho mình hỏi áo khoác", at=ago(minutes=4))
    junk = {"type": "mo", "from": "0999999999", "to": "8077", "text": "Tin từ số rác", "message_id": "mo-junk",
            "timestamp": ago(minutes=3).isoformat()}
    assert post_sms(client, channels.sms, junk).status_code == 200
    say_on_messenger(client, channels, "m_b2", "Size L nhé", at=ago(minutes=2))
    say_on_messenger(client, channels, "m_b3", "Giao Đà Nẵng được không?", at=ago(minutes=1))
    work(engine)  # the four receipts are handed to one batch call
    session.rollback()
    done = session.scalars(select(Job).where(Job.name == "inbox.process_receipt")).all()
    assert len(done) == 4 and {job.status for job in done} == {JobStatus.done} and {job.attempts for job in done} == {1}
    failed = session.scalars(select(WebhookReceipt).where(WebhookReceipt.status == ReceiptStatus.failed)).all()
    assert len(failed) == 1 and b"mo-junk" in failed[0].body and "no identifier" in (failed[0].error or "")
    detail = only_conversation(agent)
    assert [message["text"] for message in detail["messages"]] == [  # type: ignore[attr-defined]
        "Cho mình hỏi áo khoác", "Size L nhé", "Giao Đà Nẵng được không?"]
