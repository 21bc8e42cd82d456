"""The inbox follows profile merges: when staff merge two profiles of one customer, their conversations in progress
become one (messages in time order, notes, labels, the assignee, SLA clocks, search), the emptied one leads to the
other, contact points follow, a redelivered event changes nothing, and undoing the merge gives everything back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.inbox.conftest import PAGE, Channels, ago, work
from tests.inbox.sla_support import clocks, messenger_says, whatsapp_says
from xuyen.inbox.models import ContactPoint, Conversation, ProfileMergeMoves
from xuyen.jobs import add_job
from xuyen.outbox import OutboxEvent

PSID, WA_ID = "6024829371642213", "84912345678"


def conversation(browser: Browser, cid: int) -> dict[str, Any]:
    response = browser.request("GET", f"/conversations/{cid}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def in_progress(browser: Browser) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = browser.request("GET", "/conversations", params={"status": "open"}).json()
    return found


def lan_on_two_channels(client: TestClient, channels: Channels, engine: Engine, agent: Browser) -> tuple[int, int]:
    """Chị Lan writes on Messenger, then on WhatsApp: nothing links the two yet, so two customers, two
    conversations; the ids of the Messenger one and the WhatsApp one."""
    messenger_says(client, channels, PSID, "m_lan_1", "Shop ơi, váy hoa còn size S không?", ago(minutes=30))
    work(engine)
    (messenger,) = in_progress(agent)
    whatsapp_says(client, channels, WA_ID, "wamid.LAN1", "Em hỏi lại bên WhatsApp: váy hoa size S", ago(minutes=20))
    work(engine)
    whatsapp = next(item for item in in_progress(agent) if item["id"] != messenger["id"])
    assert whatsapp["customer_id"] != messenger["customer_id"]
    return int(messenger["id"]), int(whatsapp["id"])


def merge(manager: Browser, *, survivor: int, absorbed: int) -> int:
    response = manager.request("POST", "/identity/merges", json={
        "survivor_id": survivor, "absorbed_id": absorbed, "reason": "Cùng một khách, đã gọi điện xác nhận"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def deliver_again(session: Session, engine: Engine, topic: str) -> None:
    """Hand the inbox's handler the newest ``topic`` event once more, as an at-least-once delivery may."""
    session.rollback()
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)
                            .order_by(OutboxEvent.id.desc())).first()
    assert event is not None
    add_job(session, name="inbox.follow_profile_merges", payload={
        "event_id": event.id, "topic": event.topic, "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id, "payload": event.payload, "created_at": event.created_at.isoformat()})
    session.commit()
    work(engine)


def test_merging_two_customers_makes_their_open_conversations_one(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser,
        session: Session) -> None:
    kept, joining = lan_on_two_channels(client, channels, engine, agent)
    survivor, absorbed = conversation(agent, kept)["customer_id"], conversation(agent, joining)["customer_id"]
    assert agent.request("POST", f"/conversations/{joining}/notes", json={"text": "Khách hỏi váy hoa"}).status_code \
        == 201
    label = manager.request("POST", "/inbox/labels", json={"name": "Váy", "colour": "#aa3366"}).json()
    assert agent.request("POST", f"/conversations/{joining}/labels", json={"label_id": label["id"]}).status_code == 200
    assert agent.request("POST", f"/conversations/{kept}/assignee", json={"user_id": None}).status_code == 200
    assert agent.request("POST", f"/conversations/{joining}/assignee",
                         json={"user_id": agent.user_id}).status_code == 200
    assert len([c for c in clocks(agent, kept) if c["kind"] == "first_response"]) == 1

    merge(manager, survivor=survivor, absorbed=absorbed)
    work(engine)

    (only,) = in_progress(agent)
    assert only["id"] == kept and only["customer_id"] == survivor
    detail = conversation(agent, kept)
    assert [(m["direction"], m["text"]) for m in detail["messages"]][:3] == [
        ("inbound", "Shop ơi, váy hoa còn size S không?"),
        ("inbound", "Em hỏi lại bên WhatsApp: váy hoa size S"),
        ("note", "Khách hỏi váy hoa")]
    assert detail["messages"][-1]["direction"] == "note" and f"#{joining}" in detail["messages"][-1]["text"]
    assert detail["assignee_id"] == agent.user_id  # the kept one had nobody: it takes the other's agent
    assert detail["last_inbound_channel_id"] == channels.whatsapp
    assert {option["channel_id"] for option in detail["reply_options"]} == {channels.messenger, channels.whatsapp}
    assert [item["name"] for item in agent.request("GET", f"/conversations/{kept}/labels").json()] == ["Váy"]

    emptied = conversation(agent, joining)
    assert (emptied["status"], emptied["merged_into_id"], emptied["messages"]) == ("resolved", kept, [])
    assert_problem(agent.request("POST", f"/conversations/{joining}/replies", json={"text": "Dạ còn ạ"}), 409,
                   "conversation_merged")
    assert_problem(agent.request("POST", f"/conversations/{joining}/status", json={"status": "open"}), 409,
                   "conversation_merged")
    page = agent.client.get(f"/inbox/{joining}", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/inbox/{kept}"
    shown = agent.client.get(f"/inbox/{kept}", headers={"Accept": "text/html", "Accept-Language": "vi"})
    assert f"Cuộc hội thoại #{joining} đã được gộp vào đây" in shown.text
    part = agent.client.get(f"/inbox/{joining}/messages-part", headers={"Accept": "text/html"})
    assert "đã được gộp vào một cuộc khác" in part.text and f'href="/inbox/{kept}"' in part.text

    running = [c for c in clocks(agent, kept) if c["stopped_at"] is None]
    assert sorted(c["kind"] for c in running) == ["first_response", "resolution"]  # one wait, measured once
    first = next(c for c in running if c["kind"] == "first_response")
    assert datetime.fromisoformat(first["started_at"]) < ago(minutes=29)  # since the earlier message
    found = agent.request("GET", "/conversations/search", params={"q": "ben whatsapp"}).json()
    assert [hit["id"] for hit in found["items"]] == [kept]

    whatsapp_says(client, channels, WA_ID, "wamid.LAN2", "Shop trả lời em với", ago(minutes=1))
    work(engine)
    assert [item["id"] for item in in_progress(agent)] == [kept]  # her next message threads there


def test_a_conversation_waiting_on_the_customer_combined_with_an_open_one_is_open(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser) -> None:
    kept, joining = lan_on_two_channels(client, channels, engine, agent)
    survivor, absorbed = conversation(agent, kept)["customer_id"], conversation(agent, joining)["customer_id"]
    assert agent.request("POST", f"/conversations/{kept}/status", json={"status": "pending"}).status_code == 200
    work(engine)
    assert {c["state"] for c in clocks(agent, kept) if c["stopped_at"] is None} == {"paused"}

    merge(manager, survivor=survivor, absorbed=absorbed)
    work(engine)

    assert conversation(agent, kept)["status"] == "open"
    running = [c for c in clocks(agent, kept) if c["stopped_at"] is None]
    assert sorted(c["kind"] for c in running) == ["first_response", "resolution"]
    assert {c["state"] for c in running} <= {"running", "warning", "breached"}


def test_only_the_absorbed_customer_had_a_conversation(client: TestClient, channels: Channels, engine: Engine,
                                                       agent: Browser, manager: Browser, session: Session) -> None:
    kept, joining = lan_on_two_channels(client, channels, engine, agent)
    survivor = conversation(agent, kept)["customer_id"]
    absorbed = conversation(agent, joining)["customer_id"]
    assert agent.request("POST", f"/conversations/{kept}/status", json={"status": "resolved"}).status_code == 200
    session.execute(Conversation.__table__.update().where(Conversation.id == kept)  # long ago: not reopened
                    .values(resolved_at=datetime.now(UTC) - timedelta(days=30)))
    session.commit()
    work(engine)

    merge(manager, survivor=survivor, absorbed=absorbed)
    work(engine)

    moved = conversation(agent, joining)
    assert (moved["customer_id"], moved["status"], moved["merged_into_id"]) == (survivor, "open", None)
    assert [m["text"] for m in moved["messages"]] == ["Em hỏi lại bên WhatsApp: váy hoa size S"]
    assert conversation(agent, kept)["status"] == "resolved"
    listed = agent.request("GET", "/conversations", params={"customer_id": survivor}).json()
    assert {item["id"] for item in listed} == {kept, joining}
    session.rollback()
    assert set(session.scalars(select(ContactPoint.profile_id))) == {survivor}
    messenger_says(client, channels, PSID, "m_lan_2", "Em nhắn lại từ Facebook", ago(minutes=1))
    work(engine)
    assert [item["id"] for item in in_progress(agent)] == [joining]


def test_the_merge_delivered_twice_is_followed_once(client: TestClient, channels: Channels, engine: Engine,
                                                    agent: Browser, manager: Browser, session: Session) -> None:
    kept, joining = lan_on_two_channels(client, channels, engine, agent)
    survivor, absorbed = conversation(agent, kept)["customer_id"], conversation(agent, joining)["customer_id"]
    merge(manager, survivor=survivor, absorbed=absorbed)
    work(engine)
    before = conversation(agent, kept)

    deliver_again(session, engine, "profile.merged")

    after = conversation(agent, kept)
    assert [m["id"] for m in after["messages"]] == [m["id"] for m in before["messages"]]  # no second note
    assert len(session.scalars(select(ProfileMergeMoves)).all()) == 1
    assert [item["id"] for item in in_progress(agent)] == [kept]


def test_undoing_the_merge_gives_each_customer_back_their_conversation(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser,
        session: Session) -> None:
    kept, joining = lan_on_two_channels(client, channels, engine, agent)
    survivor, absorbed = conversation(agent, kept)["customer_id"], conversation(agent, joining)["customer_id"]
    merge_id = merge(manager, survivor=survivor, absorbed=absorbed)
    work(engine)
    assert len(in_progress(agent)) == 1

    undone = manager.request("POST", f"/identity/merges/{merge_id}/undo")
    assert undone.status_code == 200, undone.text
    work(engine)
    deliver_again(session, engine, "profile.unmerged")  # a second delivery changes nothing more

    restored = conversation(agent, joining)
    assert (restored["customer_id"], restored["status"], restored["merged_into_id"]) == (absorbed, "open", None)
    texts = [(m["direction"], m["text"]) for m in restored["messages"]]
    assert texts[0] == ("inbound", "Em hỏi lại bên WhatsApp: váy hoa size S") and texts[-1][0] == "note"
    assert len(texts) == 2
    own = conversation(agent, kept)
    assert [m["text"] for m in own["messages"] if m["direction"] == "inbound"] == [
        "Shop ơi, váy hoa còn size S không?"]
    assert [m["channel_id"] for m in own["reply_options"]] == [channels.messenger]
    assert [m["channel_id"] for m in restored["reply_options"]] == [channels.whatsapp]
    assert sorted(c["kind"] for c in clocks(agent, joining) if c["stopped_at"] is None) == [
        "first_response", "resolution"]
    session.rollback()
    points = {point.channel_id: point.profile_id for point in session.scalars(select(ContactPoint))}
    assert points == {channels.messenger: survivor, channels.whatsapp: absorbed}

    whatsapp_says(client, channels, WA_ID, "wamid.LAN3", "Em là Lan bên WhatsApp", ago(minutes=1))
    work(engine)
    assert "Em là Lan bên WhatsApp" in [m["text"] for m in conversation(agent, joining)["messages"]]
    assert {item["id"] for item in in_progress(agent)} == {kept, joining}


def test_a_merge_undone_before_the_inbox_followed_it_moves_nothing(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser,
        session: Session) -> None:
    kept, joining = lan_on_two_channels(client, channels, engine, agent)
    survivor, absorbed = conversation(agent, kept)["customer_id"], conversation(agent, joining)["customer_id"]
    merge_id = merge(manager, survivor=survivor, absorbed=absorbed)
    assert manager.request("POST", f"/identity/merges/{merge_id}/undo").status_code == 200
    work(engine)  # both events reach the inbox in the order they happened
    assert {item["id"] for item in in_progress(agent)} == {kept, joining}
    assert conversation(agent, joining)["customer_id"] == absorbed
    session.rollback()
    assert session.scalars(select(ProfileMergeMoves)).all() == []


# The person export -------------------------------------------------------------------------------------------


def test_the_export_holds_the_persons_conversations_messages_and_survey_answers(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser, graph: Any,
        monkeypatch: Any) -> None:
    from xuyen.config import get_settings

    monkeypatch.setenv("XUYEN_PUBLIC_URL", "https://cskh.xuyen.example/")
    get_settings.cache_clear()
    graph.customer_wrote(PAGE, PSID, ago(minutes=5))
    messenger_says(client, channels, PSID, "m_export_1", "Đơn của em giao chưa ạ?", ago(minutes=5))
    work(engine)
    (found,) = in_progress(agent)
    cid, customer = found["id"], found["customer_id"]
    assert agent.request("POST", f"/conversations/{cid}/replies", json={"text": "Dạ đơn giao sáng nay ạ"}).status_code \
        == 202
    assert agent.request("POST", f"/conversations/{cid}/notes", json={"text": "Khách hay hỏi đơn"}).status_code == 201
    assert agent.request("POST", f"/conversations/{cid}/status", json={"status": "resolved"}).status_code == 200
    work(engine)
    graph.customer_wrote(PAGE, PSID, ago(seconds=2))
    messenger_says(client, channels, PSID, "m_export_2", "5", ago(seconds=2))
    work(engine)

    assert_problem(agent.request("GET", f"/customers/{customer}/export"), 403, "role_required")
    exported = manager.request("GET", f"/customers/{customer}/export")
    assert exported.status_code == 200, exported.text
    data = exported.json()
    (address,) = data["channel_addresses"]
    assert (address["channel"], address["type"], address["value"]) == ("messenger", "facebook_psid", PSID)
    (thread,) = data["conversations"]
    assert thread["id"] == cid
    by_text = {m["text"]: m for m in thread["messages"]}
    asked = by_text["Đơn của em giao chưa ạ?"]
    assert (asked["direction"], asked["channel"], asked["state"]) == ("inbound", "messenger", "received")
    answer = by_text["Dạ đơn giao sáng nay ạ"]
    assert (answer["direction"], answer["channel"], answer["state"]) == ("outbound", "messenger", "sent")
    assert answer["state_changed_at"] is not None
    note = by_text["Khách hay hỏi đơn"]
    assert (note["direction"], note["channel"], note["state"]) == ("internal_note", None, None)
    assert all("author_id" not in m and "meta" not in m for m in thread["messages"])
    times = [m["sent_at"] for m in thread["messages"]]
    assert times == sorted(times)
    (survey,) = data["satisfaction_surveys"]
    assert (survey["conversation_id"], survey["rating"], survey["answered_via"]) == (cid, 5, "reply")


def test_the_export_of_a_person_who_never_wrote_has_empty_inbox_sections(
        client: TestClient, engine: Engine, manager: Browser, owner: Browser, session: Session) -> None:
    from xuyen.identity.graph import CallIdentity, RawIdentifier, resolve_calls

    (profile_id,) = resolve_calls(session, calls=[CallIdentity(raw=[RawIdentifier("email", "hoa@example.vn")],
                                                               seen_at=datetime.now(UTC), message_id=None)])
    session.commit()
    data = manager.request("GET", f"/customers/{profile_id}/export").json()
    assert data["profile_id"] == profile_id
    assert (data["channel_addresses"], data["conversations"], data["satisfaction_surveys"]) == ([], [], [])
    assert_problem(manager.request("GET", "/customers/999999/export"), 404, "profile_not_found")
