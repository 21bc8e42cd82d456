"""Routing new conversations: assignment rules in order (first match wins), round-robin among a team's online
agents under their capacity, the team's queue when nobody can take more, the queue offered to an agent who comes
online or frees a place, concurrency, and the API's permissions and bad input."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.inbox.conftest import Channels, post_sms
from tests.inbox.routing.conftest import (
    Staff,
    capacity,
    conversation_of,
    customer_writes,
    go,
    make_rule,
    make_team,
    settle,
)
from xuyen.auth.models import User
from xuyen.config import get_settings
from xuyen.db import session_factory
from xuyen.inbox.models import Conversation
from xuyen.inbox.routing import service
from xuyen.inbox.routing.models import ConversationRouting
from xuyen.outbox import OutboxEvent


def assignees(session: Session, psids: list[str]) -> list[int | None]:
    return [conversation_of(session, psid).assignee_id for psid in psids]


# Round-robin and capacity -------------------------------------------------------------------------------


def test_conversations_go_to_online_agents_in_turn(client: TestClient, channels: Channels, engine: Engine,
                                                   session: Session, staff: Staff) -> None:
    hoa, duc, an = staff.agents
    team = make_team(staff.manager, "Bán hàng online", staff.ids())
    make_rule(staff.manager, team, channel_kinds=["messenger"])
    go(hoa, "online")
    go(duc, "online")  # An stays offline
    given = []
    for number in range(4):
        psid = customer_writes(client, channels, f"Shop ơi, mẫu số {number} còn không?")
        settle(engine)
        given.append(conversation_of(session, psid).assignee_id)
    assert given == [hoa.user_id, duc.user_id, hoa.user_id, duc.user_id]  # An is offline: never given one
    assert an.user_id not in given
    routing = staff.manager.request("GET", f"/conversations/{conversation_of(session, psid).id}/routing").json()
    assert routing["team_id"] == team and routing["rule_id"] is not None and routing["assignee_id"] == duc.user_id


def test_capacity_is_respected_and_the_rest_wait_in_the_queue_until_an_agent_comes_online(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff) -> None:
    hoa, duc, an = staff.agents
    team = make_team(staff.manager, "Chăm sóc khách", staff.ids())
    make_rule(staff.manager, team)
    for agent in (hoa, duc):
        go(agent, "online")
        capacity(staff.manager, agent.user_id, 2)
    go(an, "busy")  # busy agents take nothing new
    psids = [customer_writes(client, channels, f"Hỏi đơn {number}") for number in range(6)]
    settle(engine)
    assert Counter(assignees(session, psids)) == {hoa.user_id: 2, duc.user_id: 2, None: 2}
    queue = staff.manager.request("GET", f"/inbox/teams/{team}/queue").json()
    assert len(queue) == 2 and all(item["team_id"] == team for item in queue)
    load = {agent["user_id"]: agent for agent in hoa.request("GET", "/inbox/agents").json()}
    assert load[hoa.user_id]["open_conversations"] == 2 and load[hoa.user_id]["capacity"] == 2
    assert load[an.user_id]["availability"] == "busy" and load[an.user_id]["capacity"] == get_settings(
    ).inbox_agent_capacity

    go(an, "online")  # coming online offers the team's queue
    settle(engine)
    assert Counter(assignees(session, psids)) == {hoa.user_id: 2, duc.user_id: 2, an.user_id: 2}
    assert staff.manager.request("GET", f"/inbox/teams/{team}/queue").json() == []


def test_nobody_online_leaves_conversations_queued_and_a_freed_place_takes_the_next(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff) -> None:
    hoa = staff.agents[0]
    team = make_team(staff.manager, "Đổi trả", [hoa.user_id])
    make_rule(staff.manager, team)
    first, second = customer_writes(client, channels, "Alo"), customer_writes(client, channels, "Shop ơi")
    settle(engine)
    assert assignees(session, [first, second]) == [None, None]  # nobody online: both wait
    capacity(staff.manager, hoa.user_id, 1)
    go(hoa, "online")
    settle(engine)
    held = [psid for psid in (first, second) if conversation_of(session, psid).assignee_id == hoa.user_id]
    assert held == [first]  # the one waiting longest, and no more than her capacity
    conversation = conversation_of(session, first)
    response = hoa.request("POST", f"/conversations/{conversation.id}/status", json={"status": "resolved"})
    assert response.status_code == 200
    settle(engine)  # resolving frees her place: the queue is offered again
    assert conversation_of(session, second).assignee_id == hoa.user_id


def test_offline_and_deactivated_agents_are_skipped(client: TestClient, channels: Channels, engine: Engine,
                                                   session: Session, staff: Staff) -> None:
    hoa, duc, an = staff.agents
    team = make_team(staff.manager, "Ca tối", staff.ids())
    make_rule(staff.manager, team)
    for agent in staff.agents:
        go(agent, "online")
    go(duc, "offline")
    user = session.get(User, an.user_id)
    assert user is not None
    user.is_active = False
    session.commit()
    psids = [customer_writes(client, channels, f"Tin {number}") for number in range(3)]
    settle(engine)
    assert assignees(session, psids) == [hoa.user_id] * 3


# Rules ---------------------------------------------------------------------------------------------------


def test_rules_are_tried_in_order_and_the_first_match_wins(client: TestClient, channels: Channels, engine: Engine,
                                                           session: Session, staff: Staff) -> None:
    hoa, duc, an = staff.agents
    sms_team = make_team(staff.manager, "SMS", [hoa.user_id])
    chat_team = make_team(staff.manager, "Chat", [duc.user_id])
    everyone = make_team(staff.manager, "Mọi người", [an.user_id])
    for agent in staff.agents:
        go(agent, "online")
    by_channel = make_rule(staff.manager, sms_team, channel_ids=[channels.sms])
    by_kind = make_rule(staff.manager, chat_team, channel_kinds=["messenger", "zalo"])
    catch_all = make_rule(staff.manager, everyone)
    off = make_rule(staff.manager, everyone, channel_kinds=["messenger"])
    assert staff.manager.request("PATCH", f"/inbox/assignment-rules/{off['id']}",
                                 json={"enabled": False}).json()["enabled"] is False

    chat = customer_writes(client, channels, "Chat đây")
    sms = {"type": "mo", "from": "0987000111", "to": "8077", "text": "Tin nhắn SMS", "message_id": "mo-route-1",
           "timestamp": datetime.now(UTC).isoformat()}
    assert post_sms(client, channels.sms, sms).status_code == 200
    settle(engine)
    assert conversation_of(session, chat).assignee_id == duc.user_id
    sms_conversation = session.scalar(select(Conversation).where(Conversation.id != conversation_of(session, chat).id))
    assert sms_conversation is not None and sms_conversation.assignee_id == hoa.user_id

    order = [off["id"], catch_all["id"], by_channel["id"], by_kind["id"]]
    listed = staff.manager.request("PUT", "/inbox/assignment-rules/order", json={"rule_ids": order}).json()
    assert [rule["id"] for rule in listed] == order
    later = customer_writes(client, channels, "Chat nữa")
    settle(engine)
    assert conversation_of(session, later).assignee_id == an.user_id  # the disabled rule is passed over


def test_rules_can_ask_for_labels_put_by_source_and_keywords_and_for_the_customers_labels(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_INBOX_REOPEN_DAYS", "0")  # a customer writing again starts a new conversation
    get_settings.cache_clear()
    hoa, duc, an = staff.agents
    for agent in staff.agents:
        go(agent, "online")
    returns = make_team(staff.manager, "Đổi trả", [hoa.user_id])
    vip = make_team(staff.manager, "Khách VIP", [duc.user_id])
    rest = make_team(staff.manager, "Còn lại", [an.user_id])
    labels = {label["name"]: label["id"] for label in
              staff.manager.request("POST", "/inbox/label-rules/defaults").json()}
    vip_label = staff.manager.request("POST", "/inbox/labels", json={"name": "VIP", "colour": "#ffd700"}).json()["id"]
    make_rule(staff.manager, returns, labels=[labels["Đổi trả"]])
    make_rule(staff.manager, vip, customer_labels=[vip_label])
    make_rule(staff.manager, rest)

    wants_return = customer_writes(client, channels, "Em muốn doi tra cái áo hôm qua")  # no diacritics
    regular = customer_writes(client, channels, "Cho em hỏi giờ mở cửa")
    settle(engine)
    assert conversation_of(session, wants_return).assignee_id == hoa.user_id
    first = conversation_of(session, regular)
    assert first.assignee_id == an.user_id
    assert an.request("POST", f"/conversations/{first.id}/labels", json={"label_id": vip_label}).status_code == 200
    assert an.request("POST", f"/conversations/{first.id}/status", json={"status": "resolved"}).status_code == 200

    customer_writes(client, channels, "Em lại là khách cũ đây", psid=regular)
    settle(engine)
    session.rollback()
    newest = session.scalar(select(Conversation).where(Conversation.profile_id == first.profile_id)
                            .order_by(Conversation.id.desc()).limit(1))
    assert newest is not None and newest.id != first.id and newest.assignee_id == duc.user_id


def test_a_conversation_is_routed_once_and_moved_between_teams_by_hand(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff) -> None:
    hoa, duc, _an = staff.agents
    sales = make_team(staff.manager, "Bán hàng", [hoa.user_id])
    care = make_team(staff.manager, "Chăm sóc", [duc.user_id])
    make_rule(staff.manager, sales)
    go(hoa, "online")
    psid = customer_writes(client, channels, "Chào shop")
    settle(engine)
    customer_writes(client, channels, "Shop ơi trả lời em với", psid=psid)
    settle(engine)  # the second message changes nothing
    conversation = conversation_of(session, psid)
    assert conversation.assignee_id == hoa.user_id
    assigned = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "inbox.conversation.assigned")).all()
    assert [event.payload["assignee_id"] for event in assigned] == [hoa.user_id]

    moved = hoa.request("PUT", f"/conversations/{conversation.id}/team", json={"team_id": care})
    assert moved.status_code == 200 and moved.json()["assignee_id"] is None  # Đức is offline: it waits
    go(duc, "online")
    settle(engine)
    assert conversation_of(session, psid).assignee_id == duc.user_id
    assert_problem(hoa.request("PUT", f"/conversations/{conversation.id}/team", json={"team_id": 999_999}), 404,
                   "team_not_found")
    assert_problem(hoa.request("PUT", "/conversations/999999/team", json={"team_id": care}), 404,
                   "conversation_not_found")


# Concurrency --------------------------------------------------------------------------------------------


def _route_at_once(engine: Engine, conversation_ids: list[int]) -> list[BaseException]:
    """Route each conversation in a thread of its own with its own session, all starting together."""
    start = threading.Barrier(len(conversation_ids))
    failures: list[BaseException] = []

    def route(conversation_id: int) -> None:
        session = session_factory(engine)()
        try:
            start.wait(timeout=10)
            service.route_conversation(session, conversation_id=conversation_id)
            session.commit()
        except BaseException as exc:  # reported to the test
            failures.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=route, args=(conversation_id,)) for conversation_id in conversation_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return failures


def test_conversations_routed_at_the_same_time_never_take_an_agent_past_capacity(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff) -> None:
    hoa, duc, _an = staff.agents
    psids = [customer_writes(client, channels, f"Cùng lúc {number}") for number in range(6)]
    settle(engine)  # no rule yet: they were routed to no team
    ids = [conversation_of(session, psid).id for psid in psids]
    session.execute(delete(ConversationRouting))  # as if they had just opened
    session.commit()
    team = make_team(staff.manager, "Cao điểm", [hoa.user_id, duc.user_id])
    make_rule(staff.manager, team)
    for agent in (hoa, duc):
        go(agent, "online")
        capacity(staff.manager, agent.user_id, 2)
    settle(engine)

    assert _route_at_once(engine, ids) == []
    held = Counter(assignees(session, psids))
    assert held == {hoa.user_id: 2, duc.user_id: 2, None: 2}
    session.rollback()
    assert len(session.scalars(select(ConversationRouting)).all()) == 6


def test_one_conversation_routed_twice_at_once_is_routed_once(
        client: TestClient, channels: Channels, engine: Engine, session: Session, staff: Staff) -> None:
    hoa = staff.agents[0]
    psid = customer_writes(client, channels, "Hai worker cùng nhận")
    settle(engine)
    conversation_id = conversation_of(session, psid).id
    session.execute(delete(ConversationRouting))
    session.commit()
    team = make_team(staff.manager, "Một người", [hoa.user_id])
    make_rule(staff.manager, team)
    go(hoa, "online")
    settle(engine)
    assert _route_at_once(engine, [conversation_id, conversation_id]) == []
    session.rollback()
    assert conversation_of(session, psid).assignee_id == hoa.user_id
    assigned = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "inbox.conversation.assigned")).all()
    assert len(assigned) == 1


# Permissions and bad input -----------------------------------------------------------------------------


def test_only_managers_change_teams_rules_and_capacities(staff: Staff, agent: Browser, client: TestClient) -> None:
    hoa = staff.agents[0]
    team = make_team(staff.manager, "Kho", [hoa.user_id])
    assert_problem(agent.request("POST", "/inbox/teams", json={"name": "Của tôi"}), 403, "role_required")
    assert_problem(agent.request("POST", f"/inbox/teams/{team}/members", json={"user_id": agent.user_id}), 403,
                   "role_required")
    assert_problem(agent.request("DELETE", f"/inbox/teams/{team}"), 403, "role_required")
    assert_problem(agent.request("GET", "/inbox/assignment-rules"), 403, "role_required")
    assert_problem(agent.request("POST", "/inbox/assignment-rules", json={"name": "x", "team_id": team}), 403,
                   "role_required")
    assert_problem(agent.request("PUT", f"/inbox/agents/{hoa.user_id}/capacity", json={"capacity": 9}), 403,
                   "role_required")
    assert_problem(agent.request("PUT", f"/inbox/agents/{hoa.user_id}/availability",
                                 json={"availability": "offline"}), 403, "role_required")
    assert agent.request("GET", "/inbox/teams").status_code == 200  # agents see the teams
    assert client.get("/api/v1/inbox/teams").status_code == 401
    no_csrf = hoa.client.put("/api/v1/inbox/agents/me/availability", json={"availability": "online"})
    assert_problem(no_csrf, 403, "csrf_failed")


def test_bad_team_and_rule_input_is_refused(staff: Staff) -> None:
    manager, hoa = staff.manager, staff.agents[0]
    team = make_team(manager, "Bán lẻ", [hoa.user_id])
    assert_problem(manager.request("POST", "/inbox/teams", json={"name": "BÁN LẺ"}), 409, "team_exists")
    assert_problem(manager.request("POST", "/inbox/teams", json={"name": ""}), 422, "validation_failed")
    assert_problem(manager.request("POST", "/inbox/teams", json={"name": "   "}), 422, "team_name_required")
    assert_problem(manager.request("POST", "/inbox/teams", json={"name": "x" * 101}), 422, "validation_failed")
    assert_problem(manager.request("POST", "/inbox/teams", json={"name": "Ma", "user_ids": [999_999]}), 422,
                   "user_not_found")
    assert_problem(manager.request("POST", "/inbox/teams", json={"name": "Y", "extra": 1}), 422, "validation_failed")
    assert_problem(manager.request("GET", "/inbox/teams/999999"), 404, "team_not_found")
    assert_problem(manager.request("GET", "/inbox/teams/0"), 422, "validation_failed")
    assert_problem(manager.request("DELETE", f"/inbox/teams/{team}/members/999999"), 404, "team_member_not_found")
    assert_problem(manager.request("POST", "/inbox/assignment-rules", json={"name": "x", "team_id": 999_999}), 422,
                   "team_not_found")
    assert_problem(manager.request("POST", "/inbox/assignment-rules", json={
        "name": "x", "team_id": team, "conditions": {"channel_ids": [424242]}}), 422, "channel_not_found")
    assert_problem(manager.request("POST", "/inbox/assignment-rules", json={
        "name": "x", "team_id": team, "conditions": {"channel_kinds": ["Not A Kind!"]}}), 422, "validation_failed")
    assert_problem(manager.request("POST", "/inbox/assignment-rules", json={
        "name": "x", "team_id": team, "conditions": {"labels": [77]}}), 422, "label_not_found")
    assert_problem(manager.request("POST", "/inbox/assignment-rules", json={
        "name": "x", "team_id": team, "conditions": {"channel_kinds": ["zalo"] * 21}}), 422, "validation_failed")
    rule = make_rule(manager, team)
    assert_problem(manager.request("PUT", "/inbox/assignment-rules/order", json={"rule_ids": [rule["id"], 5]}), 422,
                   "rule_order_invalid")
    assert_problem(manager.request("PATCH", "/inbox/assignment-rules/999999", json={"enabled": False}), 404,
                   "assignment_rule_not_found")
    assert_problem(manager.request("PUT", f"/inbox/agents/{hoa.user_id}/capacity", json={"capacity": 0}), 422,
                   "validation_failed")
    assert_problem(manager.request("PUT", "/inbox/agents/999999/capacity", json={"capacity": 3}), 422,
                   "user_not_found")
    assert_problem(hoa.request("PUT", "/inbox/agents/me/availability", json={"availability": "asleep"}), 422,
                   "validation_failed")
    assert manager.request("DELETE", f"/inbox/assignment-rules/{rule['id']}").status_code == 204
    assert manager.request("DELETE", f"/inbox/teams/{team}").status_code == 204
    assert manager.request("GET", "/inbox/teams").json() == []
