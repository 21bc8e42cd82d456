"""SLA clocks: started by the customers' messages that arrive through the providers' webhooks, stopped by replies
and resolving, paused while the conversation waits on the customer, all in business time (lunch, nights, weekends
and Tết skipped); warnings and breaches recorded once by the minutely check; policies chosen by channel kind.

The steps that need a chosen moment call the SLA helpers with explicit times (as the event handlers do with the
events' times); the rest goes through the API and the workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.fakes.meta import GraphFake
from tests.inbox.conftest import PAGE, Channels, ago, work
from tests.inbox.sla_support import (
    at_local,
    clock,
    clocks,
    events,
    local,
    messenger_says,
    newest_conversation,
    on_monday,
    sms_says,
    whatsapp_says,
)
from xuyen.inbox.service import record_sent_reply
from xuyen.inbox.sla import service
from xuyen.inbox.sla.handlers import CHECK_JOB
from xuyen.inbox.sla.holidays import vietnam_calendar
from xuyen.inbox.sla.policies import SHOP_HOURS, ensure_default_policy
from xuyen.jobs import periodic_specs


def act(session: Session, step: Callable[..., Any], **arguments: Any) -> Any:
    """Run one SLA helper in a transaction of its own, as a worker would."""
    session.rollback()
    result = step(session, **arguments)
    session.commit()
    return result


# Starting, in business time ---------------------------------------------------------------------------


def test_clocks_start_at_the_customers_first_message_and_count_business_hours_only(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser) -> None:
    messenger_says(client, channels, "psid-start", "m_start", "Shop ơi, còn áo size M không?", on_monday(11, 30))
    cid = newest_conversation(agent, engine)
    found = clocks(agent, cid)
    assert [item["kind"] for item in found] == ["first_response", "resolution"]
    first, resolution = found
    assert at_local(first["started_at"]) == on_monday(11, 30) and first["policy"] == "Default"
    assert at_local(first["due_at"]) == on_monday(14, 0)  # 30 minutes before lunch, 30 after it
    assert at_local(first["warn_at"]) == on_monday(13, 48)  # 80 % of the hour
    assert at_local(resolution["due_at"]) == on_monday(11, 30, days=2)  # 16 business hours: Mon 4.5, Tue 8, Wed 3.5
    assert first["state"] == "running" and first["remaining_seconds"] == 3600
    assert first["stopped_at"] is None and first["breached_at"] is None


def test_tet_is_skipped(client: TestClient, channels: Channels, engine: Engine, agent: Browser,
                        manager: Browser) -> None:
    calendar = vietnam_calendar(hours=SHOP_HOURS, years=[2026]).to_dict()
    created = manager.request("POST", "/inbox/sla/policies", json={
        "name": "Tết 2026", "first_response": "PT1H", "resolution": "PT16H", "channel_kinds": ["messenger"],
        "calendar": calendar})
    assert created.status_code == 201, created.text
    messenger_says(client, channels, "psid-tet", "m_tet", "Chúc mừng năm mới! Shop có bán không?",
                   local(2026, 2, 19, 10, 0))  # the third day of Tết
    cid = newest_conversation(agent, engine)
    first = clock(agent, cid, "first_response")
    assert first["policy"] == "Tết 2026"
    assert at_local(first["due_at"]) == local(2026, 2, 21, 9, 0)  # Saturday morning after the holidays
    assert at_local(clock(agent, cid, "resolution")["due_at"]) == local(2026, 2, 24, 12, 0)
    messenger_says(client, channels, "psid-before-tet", "m_before", "Trước Tết giao kịp không ạ?",
                   local(2026, 2, 13, 16, 0))  # the Friday before
    cid = newest_conversation(agent, engine)
    assert at_local(clock(agent, cid, "first_response")["due_at"]) == local(2026, 2, 13, 17, 0)
    # Friday 1.5 h, Saturday 14th 4 h, 16-20 February off, Saturday 21st 4 h, Monday 23rd 6.5 h
    assert at_local(clock(agent, cid, "resolution")["due_at"]) == local(2026, 2, 23, 16, 0)


# Stopping, pausing, resuming --------------------------------------------------------------------------


def test_waiting_pauses_the_clocks_and_their_deadlines_move_by_the_business_time_paused(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, session: Session) -> None:
    messenger_says(client, channels, "psid-pause", "m_pause", "Cho em hỏi đơn hàng", on_monday(9, 0))
    cid = newest_conversation(agent, engine)
    assert at_local(clock(agent, cid, "first_response")["due_at"]) == on_monday(10, 0)

    act(session, service.note_status, conversation_id=cid, status="pending", previous="open", at=on_monday(9, 30))
    first = clock(agent, cid, "first_response")
    assert first["state"] == "paused" and at_local(first["paused_at"]) == on_monday(9, 30)
    assert first["remaining_seconds"] == 30 * 60  # frozen while paused
    assert clock(agent, cid, "resolution")["state"] == "paused"

    act(session, service.note_status, conversation_id=cid, status="open", previous="pending", at=on_monday(14, 0))
    first = clock(agent, cid, "first_response")
    assert first["state"] == "running" and first["paused_at"] is None
    assert first["paused_total_seconds"] == 3 * 3600  # 09:30-12:00 and 13:30-14:00; lunch does not count
    assert at_local(first["due_at"]) == on_monday(14, 30)

    act(session, service.note_status, conversation_id=cid, status="snoozed", previous="open", at=on_monday(14, 10))
    # the customer writes on Tuesday morning: the conversation is open again from their message
    act(session, service.note_inbound, conversation_id=cid, channel_kind="messenger", at=on_monday(8, 30, days=1))
    first = clock(agent, cid, "first_response")
    assert first["paused_total_seconds"] == 3 * 3600 + 3 * 3600 + 50 * 60  # + 14:10-17:30 and 08:00-08:30
    assert at_local(first["due_at"]) == on_monday(8, 50, days=1)
    assert at_local(clock(agent, cid, "resolution")["due_at"]) == on_monday(17, 20, days=2)
    assert len(clocks(agent, cid)) == 2  # the first response still runs: no second response clock

    act(session, service.note_reply, conversation_id=cid, at=on_monday(8, 45, days=1))
    assert clock(agent, cid, "first_response")["state"] == "met"
    act(session, service.note_inbound, conversation_id=cid, channel_kind="messenger", at=on_monday(9, 0, days=1))
    following = clock(agent, cid, "next_response")
    assert following["state"] == "running" and at_local(following["due_at"]) == on_monday(11, 0, days=1)

    act(session, service.note_reply, conversation_id=cid, at=on_monday(11, 30, days=1))  # half an hour late
    following = clock(agent, cid, "next_response")
    assert following["state"] == "breached" and following["breached_at"] == following["due_at"]
    assert [event["kind"] for event in events(session, "inbox.sla.breached")] == ["next_response"]

    act(session, service.note_status, conversation_id=cid, status="resolved", previous="open",
        at=on_monday(12, 0, days=1))
    assert [item["state"] for item in clocks(agent, cid)] == ["met", "met", "breached"]
    assert all(item["stopped_at"] and item["remaining_seconds"] is None for item in clocks(agent, cid))


def test_replies_pending_and_resolving_move_the_clocks_through_the_api(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    graph.customer_wrote(PAGE, "psid-flow", ago(minutes=1))
    messenger_says(client, channels, "psid-flow", "m_flow1", "Áo này còn màu đỏ không shop?", ago(minutes=1))
    cid = newest_conversation(agent, engine)
    assert agent.request("POST", f"/conversations/{cid}/replies", json={"text": "Dạ còn ạ"}).status_code == 202
    work(engine)
    assert clock(agent, cid, "first_response")["state"] == "met"
    assert clock(agent, cid, "resolution")["state"] == "running"

    assert agent.request("POST", f"/conversations/{cid}/status", json={"status": "pending"}).status_code == 200
    work(engine)
    assert clock(agent, cid, "resolution")["state"] == "paused"

    graph.customer_wrote(PAGE, "psid-flow", ago(seconds=1))
    messenger_says(client, channels, "psid-flow", "m_flow2", "Vậy em lấy 2 cái nhé", ago(seconds=1))
    work(engine)  # the customer's message reopens the conversation and starts the next response clock
    assert clock(agent, cid, "resolution")["state"] == "running"
    assert clock(agent, cid, "next_response")["state"] == "running"
    agent.request("POST", f"/conversations/{cid}/replies", json={"text": "Dạ shop lên đơn ngay ạ"})
    work(engine)
    assert clock(agent, cid, "next_response")["state"] == "met"

    assert agent.request("POST", f"/conversations/{cid}/status", json={"status": "resolved"}).status_code == 200
    work(engine)  # the survey goes out too, and changes no clock
    assert {item["state"] for item in clocks(agent, cid)} == {"met"}

    assert agent.request("POST", f"/conversations/{cid}/status", json={"status": "open"}).status_code == 200
    work(engine)
    resolutions = [item for item in clocks(agent, cid) if item["kind"] == "resolution"]
    assert [item["state"] for item in resolutions] == ["met", "running"]  # reopening restarts it
    assert len(clocks(agent, cid)) == 4


def test_resolving_before_the_replys_event_is_handled_stops_the_response_clock_at_the_reply(
        client: TestClient, channels: Channels, engine: Engine, session: Session, agent: Browser) -> None:
    messenger_says(client, channels, "psid-race", "m_race", "Shop ơi, váy này còn không?", on_monday(9, 0))
    cid = newest_conversation(agent, engine)
    session.rollback()
    record_sent_reply(session, conversation_id=cid, text="Dạ còn ạ", author_id=agent.user_id,
                      sent_at=on_monday(9, 20))
    session.commit()  # its event waits for a worker, while the resolving is handled first:
    act(session, service.note_status, conversation_id=cid, status="resolved", previous="open", at=on_monday(15, 0))
    first = clock(agent, cid, "first_response")
    assert first["state"] == "met" and at_local(first["stopped_at"]) == on_monday(9, 20)
    assert at_local(clock(agent, cid, "resolution")["stopped_at"]) == on_monday(15, 0)
    work(engine)  # the reply's own event changes nothing any more
    assert clock(agent, cid, "first_response")["state"] == "met"
    assert len(clocks(agent, cid)) == 2


# Warnings and breaches --------------------------------------------------------------------------------


def test_the_minutely_check_records_a_warning_and_a_breach_once_each(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser,
        session: Session) -> None:
    assert any(spec.name == CHECK_JOB and spec.every == timedelta(minutes=1) for spec in periodic_specs())
    messenger_says(client, channels, "psid-late", "m_late", "Shop ơi?", on_monday(9, 0))
    cid = newest_conversation(agent, engine)
    first = clock(agent, cid, "first_response")
    assert at_local(first["warn_at"]) == on_monday(9, 48) and at_local(first["due_at"]) == on_monday(10, 0)

    assert act(session, service.check_clocks, now=on_monday(9, 47)) == (0, 0)
    assert act(session, service.check_clocks, now=on_monday(9, 48)) == (0, 1)
    assert act(session, service.check_clocks, now=on_monday(9, 55)) == (0, 0)
    (warning,) = events(session, "inbox.sla.warning")
    assert warning["conversation_id"] == cid and warning["kind"] == "first_response"
    assert warning["policy"] == "Default" and warning["remaining_seconds"] == 12 * 60
    assert at_local(warning["due_at"]) == on_monday(10, 0)

    assert act(session, service.check_clocks, now=on_monday(10, 0)) == (1, 0)
    assert act(session, service.check_clocks, now=on_monday(10, 1)) == (0, 0)
    (breach,) = events(session, "inbox.sla.breached")
    assert breach["kind"] == "first_response" and breach["policy_id"] == first["policy_id"]
    assert at_local(breach["breached_at"]) == on_monday(10, 0)
    work(engine)  # the workers' own minutely check (now: long before these deadlines) adds nothing
    assert len(events(session, "inbox.sla.breached")) == 1

    act(session, service.note_reply, conversation_id=cid, at=on_monday(10, 20))  # late: breached already
    first = clock(agent, cid, "first_response")
    assert first["state"] == "breached" and first["warned_at"] and at_local(first["breached_at"]) == on_monday(10, 0)
    assert len(events(session, "inbox.sla.breached")) == 1
    act(session, service.note_status, conversation_id=cid, status="resolved", previous="open", at=on_monday(16, 0))
    assert clock(agent, cid, "resolution")["state"] == "met"

    report = manager.request("GET", "/inbox/sla/report", params={
        "since": on_monday(0, 0).isoformat(), "until": on_monday(0, 0, days=7).isoformat()})
    assert report.status_code == 200, report.text
    rows = {(row["policy"], row["kind"]): row for row in report.json()["rows"]}
    first_row = rows[("Default", "first_response")]
    assert (first_row["breached"], first_row["met"], first_row["breach_rate"]) == (1, 0, 1.0)
    assert rows[("Default", "resolution")]["met"] == 1 and rows[("Default", "resolution")]["breached"] == 0
    earlier = manager.request("GET", "/inbox/sla/report", params={
        "since": on_monday(0, 0, days=-30).isoformat(), "until": on_monday(0, 0).isoformat()})
    assert earlier.json()["rows"] == []


# Which policy -----------------------------------------------------------------------------------------


def test_policies_are_matched_by_the_channel_of_the_first_message_in_order(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser) -> None:
    sms_only = manager.request("POST", "/inbox/sla/policies", json={
        "name": "SMS", "first_response": "PT15M", "channel_kinds": ["sms"], "position": 1}).json()
    chat = manager.request("POST", "/inbox/sla/policies", json={
        "name": "Chat", "first_response": "PT30M", "resolution": "PT8H", "channel_kinds": ["messenger", "sms"],
        "position": 2}).json()
    messenger_says(client, channels, "psid-match", "m_match", "Alo", ago(minutes=1))
    cid = newest_conversation(agent, engine)
    assert {item["policy"] for item in clocks(agent, cid)} == {"Chat"}
    assert clock(agent, cid, "first_response")["target_seconds"] == 30 * 60

    sms_says(client, channels, "0912000111", "mo-match-1", "Con hang khong", ago(minutes=1))
    cid = newest_conversation(agent, engine)
    assert [(item["kind"], item["policy"]) for item in clocks(agent, cid)] == [("first_response", "SMS")]

    whatsapp_says(client, channels, "84988000111", "wamid.MATCH", "Hello", ago(minutes=1))
    cid = newest_conversation(agent, engine)
    assert {item["policy"] for item in clocks(agent, cid)} == {"Default"}

    moved = manager.request("PATCH", f"/inbox/sla/policies/{chat['id']}", json={"position": 0})
    assert moved.status_code == 200 and moved.json()["position"] == 0
    sms_says(client, channels, "0912000222", "mo-match-2", "Alo shop", ago(minutes=1))
    cid = newest_conversation(agent, engine)
    assert {item["policy"] for item in clocks(agent, cid)} == {"Chat"}

    listed = [policy["name"] for policy in manager.request("GET", "/inbox/sla/policies").json()]
    assert listed == ["Chat", "SMS", "Default"]
    assert manager.request("PATCH", f"/inbox/sla/policies/{sms_only['id']}",
                           json={"active": False}).json()["active"] is False


@pytest.mark.postgres_only
def test_two_workers_making_the_default_policy_at_once_share_one(engine: Engine) -> None:
    first = Session(engine)
    made = ensure_default_policy(first)  # written, not committed yet
    found: list[int] = []

    def second_worker() -> None:
        with Session(engine) as second:
            found.append(ensure_default_policy(second).id)  # waits on the first's row, then takes it

    thread = threading.Thread(target=second_worker)
    thread.start()
    time.sleep(0.5)
    first.commit()
    thread.join(timeout=30)
    assert found == [made.id]
    first.close()
