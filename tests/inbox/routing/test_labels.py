"""Labels: the Vietnamese defaults, labels put by source when a conversation opens (an ad on Messenger or WhatsApp,
a channel), by keywords in what the customer writes (with or without diacritics), by agents; filtering by label;
permissions and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.fakes.meta import messenger_message, messenger_webhook, millis
from tests.inbox.conftest import PAGE, Channels, ago, post_meta, post_sms
from tests.inbox.routing.conftest import (
    conversation_of,
    customer_writes,
    customer_writes_on_whatsapp,
    new_psid,
    settle,
)
from xuyen.audit import AuditEntry
from xuyen.inbox.models import Conversation, Message
from xuyen.inbox.routing.labels import keyword_matches, label_key

AD = {"ref": "spring-sale", "ad_id": "23851234567890123", "source": "ADS", "type": "OPEN_THREAD",
      "ads_context_data": {"ad_title": "Áo sơ mi linen giảm 30%", "post_id": "104729384756102_987"}}


def defaults(manager: Browser) -> dict[str, int]:
    response = manager.request("POST", "/inbox/label-rules/defaults")
    assert response.status_code == 200, response.text
    return {label["name"]: label["id"] for label in manager.request("GET", "/inbox/labels").json()}


def names(browser: Browser, conversation_id: int) -> list[str]:
    response = browser.request("GET", f"/conversations/{conversation_id}/labels")
    assert response.status_code == 200, response.text
    return [label["name"] for label in response.json()]


def test_the_vietnamese_defaults_are_added_once(manager: Browser) -> None:
    first = manager.request("POST", "/inbox/label-rules/defaults").json()
    assert {label["name"] for label in first} >= {"Facebook Ads", "Zalo OA", "Form website", "Đổi trả"}
    assert manager.request("POST", "/inbox/label-rules/defaults").json() == []  # nothing twice
    rules = manager.request("GET", "/inbox/label-rules").json()
    assert len(rules) == len(first)
    by_label = {rule["label_id"]: rule for rule in rules}
    returns = next(label["id"] for label in first if label["name"] == "Đổi trả")
    assert by_label[returns]["kind"] == "keyword" and "đổi trả" in by_label[returns]["conditions"]["keywords"]


def test_a_customer_from_a_facebook_ad_is_labelled_and_others_are_not(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser) -> None:
    defaults(manager)
    from_ad = customer_writes(client, channels, "Mẫu này còn không shop?", referral=AD)
    plain = customer_writes(client, channels, "Shop ơi")
    settle(engine)
    assert names(agent, conversation_of(session, from_ad).id) == ["Facebook Ads"]
    assert names(agent, conversation_of(session, plain).id) == []
    message = agent.request("GET", f"/conversations/{conversation_of(session, from_ad).id}").json()["messages"][0]
    assert message["text"] == "Mẫu này còn không shop?"


def test_a_referral_beside_the_message_or_on_a_get_started_postback_counts_too(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser) -> None:
    defaults(manager)
    beside, started = new_psid(), new_psid()
    event = messenger_message(PAGE, beside, f"m_{beside}_1", ago(seconds=40), text="Còn size L không?")
    event["referral"] = AD
    postback = {"sender": {"id": started}, "recipient": {"id": PAGE}, "timestamp": millis(ago(seconds=30)),
                "postback": {"title": "Bắt đầu", "payload": "GET_STARTED", "mid": f"m_{started}_2", "referral": AD}}
    assert post_meta(client, channels.messenger, messenger_webhook(PAGE, event, postback)).status_code == 200
    settle(engine)
    assert names(agent, conversation_of(session, beside).id) == ["Facebook Ads"]
    assert names(agent, conversation_of(session, started).id) == ["Facebook Ads"]
    session.rollback()
    hints = session.scalars(select(Message.meta).where(Message.provider_message_id == f"m_{started}_2")).one()
    assert hints["thread_hints"]["referral"] == {"source": "ADS", "type": "OPEN_THREAD", "ref": "spring-sale",
                                                 "ad_id": "23851234567890123",
                                                 "ad_title": "Áo sơ mi linen giảm 30%"}


def test_a_click_to_whatsapp_ad_and_a_channel_rule_label_by_source(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser) -> None:
    ads = manager.request("POST", "/inbox/labels", json={"name": "Quảng cáo WhatsApp", "colour": "#25d366"}).json()
    sms_label = manager.request("POST", "/inbox/labels", json={"name": "SMS brandname"}).json()
    for kind, conditions, label in (("source", {"channel_kinds": ["whatsapp"], "referral": "ad"}, ads),
                                    ("source", {"channel_ids": [channels.sms]}, sms_label)):
        response = manager.request("POST", "/inbox/label-rules", json={"label_id": label["id"], "kind": kind,
                                                                        "conditions": conditions})
        assert response.status_code == 201, response.text
    customer_writes_on_whatsapp(client, channels, "84911111111", "Trần Mai", "Giá bao nhiêu ạ?", referral={
        "source_url": "https://fb.me/abc", "source_id": "120208", "source_type": "ad", "headline": "Váy hè"})
    customer_writes_on_whatsapp(client, channels, "84922222222", "Lê Hùng", "Chào shop")
    sms = {"type": "mo", "from": "0933333333", "to": "8077", "text": "Tin nhan SMS", "message_id": "mo-lbl-1",
           "timestamp": datetime.now(UTC).isoformat()}
    assert post_sms(client, channels.sms, sms).status_code == 200
    settle(engine)
    assert names(agent, conversation_of(session, "84911111111").id) == ["Quảng cáo WhatsApp"]
    assert names(agent, conversation_of(session, "84922222222").id) == []
    session.rollback()
    whatsapp_ids = {conversation_of(session, "84911111111").id, conversation_of(session, "84922222222").id}
    (sms_conversation,) = session.scalars(select(Conversation.id).where(Conversation.id.not_in(whatsapp_ids)))
    assert names(agent, sms_conversation) == ["SMS brandname"]


def test_keywords_label_what_customers_write_with_or_without_diacritics(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser) -> None:
    defaults(manager)
    accented = customer_writes(client, channels, "Em muốn ĐỔI TRẢ cái áo hôm qua mua")
    plain = customer_writes(client, channels, "shop cho em doi tra dc ko")
    later = customer_writes(client, channels, "Áo đẹp quá")
    near_miss = customer_writes(client, channels, "Chuyện đổi trảng là gì?")  # not the word "trả"
    settle(engine)
    assert names(agent, conversation_of(session, accented).id) == ["Đổi trả"]
    assert names(agent, conversation_of(session, plain).id) == ["Đổi trả"]
    assert names(agent, conversation_of(session, later).id) == []
    assert names(agent, conversation_of(session, near_miss).id) == []
    customer_writes(client, channels, "Nhưng giao hàng chậm quá, em muốn hoàn tiền", psid=later)
    settle(engine)  # a later message labels the conversation too
    assert names(agent, conversation_of(session, later).id) == ["Đổi trả", "Giao hàng"]


def test_turning_a_rule_off_stops_it_and_deleting_a_label_takes_it_off_everywhere(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser) -> None:
    labels = defaults(manager)
    rule = next(rule for rule in manager.request("GET", "/inbox/label-rules").json()
                if rule["label_id"] == labels["Đổi trả"])
    assert manager.request("PATCH", f"/inbox/label-rules/{rule['id']}", json={"enabled": False}).json()[
        "enabled"] is False
    off = customer_writes(client, channels, "đổi trả được không")
    settle(engine)
    assert names(agent, conversation_of(session, off).id) == []
    cid = conversation_of(session, off).id
    assert agent.request("POST", f"/conversations/{cid}/labels", json={"label_id": labels["Zalo OA"]}).json()[0][
        "name"] == "Zalo OA"
    assert manager.request("DELETE", f"/inbox/labels/{labels['Zalo OA']}").status_code == 204
    assert names(agent, cid) == []
    assert manager.request("DELETE", f"/inbox/label-rules/{rule['id']}").status_code == 204
    assert_problem(manager.request("DELETE", f"/inbox/label-rules/{rule['id']}"), 404, "label_rule_not_found")


def test_agents_add_and_remove_labels_and_filter_by_them(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser) -> None:
    vip = manager.request("POST", "/inbox/labels", json={"name": "VIP", "colour": "#FFD700"}).json()
    assert vip["colour"] == "#ffd700"
    urgent = manager.request("POST", "/inbox/labels", json={"name": "Gấp"}).json()
    psids = [customer_writes(client, channels, f"Khách {number}") for number in range(3)]
    settle(engine)
    ids = [conversation_of(session, psid).id for psid in psids]
    for cid in ids[:2]:
        assert agent.request("POST", f"/conversations/{cid}/labels", json={"label_id": vip["id"]}).status_code == 200
    again = agent.request("POST", f"/conversations/{ids[0]}/labels", json={"label_id": vip["id"]})
    assert [label["name"] for label in again.json()] == ["VIP"]  # adding twice changes nothing
    agent.request("POST", f"/conversations/{ids[1]}/labels", json={"label_id": urgent["id"]})
    session.rollback()
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "conversation.labelled")).all()
    assert len(audits) == 3

    def found(**params: Any) -> list[int]:
        response = agent.request("GET", "/conversations/search", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert sorted(found(label_id=vip["id"])) == sorted(ids[:2])
    assert found(label_id=[vip["id"], urgent["id"]]) == [ids[1]]  # every label given
    assert found(label_id=urgent["id"], q="Khách") == [ids[1]]
    removed = agent.request("DELETE", f"/conversations/{ids[1]}/labels/{vip['id']}")
    assert [label["name"] for label in removed.json()] == ["Gấp"]
    assert found(label_id=vip["id"]) == [ids[0]]
    assert_problem(agent.request("DELETE", f"/conversations/{ids[1]}/labels/{vip['id']}"), 404,
                   "conversation_label_not_found")
    assert_problem(agent.request("GET", "/conversations/search", params={"label_id": 999_999}), 404,
                   "label_not_found")
    assert_problem(agent.request("GET", "/conversations/search", params={"label_id": 0}), 422, "validation_failed")
    assert_problem(agent.request("GET", "/conversations/search", params={"label_id": "vip"}), 422,
                   "validation_failed")


def test_label_permissions_and_bad_input(client: TestClient, channels: Channels, engine: Engine, session: Session,
                                         manager: Browser, agent: Browser) -> None:
    assert_problem(agent.request("POST", "/inbox/labels", json={"name": "Của tôi"}), 403, "role_required")
    assert_problem(agent.request("POST", "/inbox/label-rules/defaults"), 403, "role_required")
    assert_problem(agent.request("GET", "/inbox/label-rules"), 403, "role_required")
    label = manager.request("POST", "/inbox/labels", json={"name": "Đổi trả"}).json()
    assert_problem(manager.request("POST", "/inbox/labels", json={"name": "doi  TRA"}), 409, "label_exists")
    assert_problem(manager.request("POST", "/inbox/labels", json={"name": "!!!"}), 422, "label_name_invalid")
    assert_problem(manager.request("POST", "/inbox/labels", json={"name": "x", "colour": "red"}), 422,
                   "validation_failed")
    assert_problem(manager.request("POST", "/inbox/labels", json={"name": "x" * 61}), 422, "validation_failed")
    assert_problem(manager.request("PATCH", "/inbox/labels/999999", json={"name": "y"}), 404, "label_not_found")
    assert manager.request("PATCH", f"/inbox/labels/{label['id']}", json={"name": "Đổi / trả hàng"}).json()[
        "name"] == "Đổi / trả hàng"
    assert_problem(manager.request("POST", "/inbox/label-rules", json={
        "label_id": label["id"], "kind": "keyword", "conditions": {"keywords": ["  ", "?!"]}}), 422,
        "label_rule_invalid")
    assert_problem(manager.request("POST", "/inbox/label-rules", json={
        "label_id": label["id"], "kind": "source", "conditions": {}}), 422, "label_rule_invalid")
    assert_problem(manager.request("POST", "/inbox/label-rules", json={
        "label_id": 999_999, "kind": "keyword", "conditions": {"keywords": ["a"]}}), 404, "label_not_found")
    assert_problem(manager.request("POST", "/inbox/label-rules", json={
        "label_id": label["id"], "kind": "magic", "conditions": {}}), 422, "validation_failed")
    assert_problem(manager.request("POST", "/inbox/label-rules", json={
        "label_id": label["id"], "kind": "keyword", "conditions": {"keywords": ["a" * 101]}}), 422,
        "validation_failed")
    psid = customer_writes(client, channels, "Chào")
    settle(engine)
    cid = conversation_of(session, psid).id
    assert_problem(agent.request("POST", f"/conversations/{cid}/labels", json={"label_id": 999_999}), 404,
                   "label_not_found")
    assert_problem(agent.request("POST", "/conversations/999999/labels", json={"label_id": label["id"]}), 404,
                   "conversation_not_found")
    assert_problem(agent.request("POST", f"/conversations/{cid}/labels", json={"label_id": "x"}), 422,
                   "validation_failed")
    assert client.get(f"/api/v1/conversations/{cid}/labels").status_code == 401


def test_keywords_match_whole_folded_words() -> None:
    conditions = {"keywords": ["đổi trả", "Hoàn tiền"]}
    assert keyword_matches(conditions, "em muon doi tra")
    assert keyword_matches(conditions, "hoan tien giup em")
    assert not keyword_matches(conditions, "doi trang")
    assert not keyword_matches({"keywords": []}, "doi tra")
    assert label_key("  Đổi   TRẢ ") == "doi tra"
