"""CSAT end to end: resolving a conversation sends the survey through the channel's fake provider, with a signed
link to the public rating page; the page takes one answer; a one-digit reply on a chat channel counts too; no
channel open means no survey, with the reason kept; the report's figures; the settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.fakes.meta import GraphFake
from tests.inbox.conftest import PAGE, Channels, ago, work
from tests.inbox.sla_support import messenger_says, newest_conversation, whatsapp_says
from xuyen.config import get_settings
from xuyen.inbox.csat.models import Response
from xuyen.inbox.csat.service import digit_rating
from xuyen.inbox.models import Message

LINK = re.compile(r"(https?://\S+)/csat/([0-9]+\.[A-Za-z0-9_-]{22})")


@pytest.fixture(autouse=True)
def public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The address customers reach the rating page at."""
    monkeypatch.setenv("XUYEN_PUBLIC_URL", "https://cskh.xuyen.example/")
    get_settings.cache_clear()


def served(client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake, psid: str,
           *, reply: bool = True) -> int:
    """A customer writes on Messenger, an agent answers and resolves; the workers send the survey."""
    graph.customer_wrote(PAGE, psid, ago(minutes=2))
    messenger_says(client, channels, psid, f"m_{psid}", "Shop ơi, đơn của em giao chưa?", ago(minutes=2))
    cid = newest_conversation(agent, engine)
    if reply:
        assert agent.request("POST", f"/conversations/{cid}/replies",
                             json={"text": "Dạ đơn đã giao sáng nay ạ"}).status_code == 202
    assert agent.request("POST", f"/conversations/{cid}/status", json={"status": "resolved"}).status_code == 200
    work(engine)
    return cid


def surveys(browser: Browser, cid: int) -> list[dict[str, object]]:
    response = browser.request("GET", f"/conversations/{cid}/csat")
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()
    return found


def token_sent(graph: GraphFake) -> str:
    found = LINK.search(graph.sent[-1].body["message"]["text"])
    assert found is not None, graph.sent[-1].body
    return found.group(2)


def page(client: TestClient, path: str, **options: object):  # type: ignore[no-untyped-def]
    return client.request(options.pop("method", "GET"), path,  # type: ignore[arg-type]
                          headers={"Accept": "text/html", **options.pop("headers", {})},  # type: ignore[dict-item]
                          follow_redirects=False, **options)  # type: ignore[arg-type]


# Sending --------------------------------------------------------------------------------------------


def test_resolving_sends_the_survey_with_a_signed_link_on_the_customers_channel(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake,
        session: Session) -> None:
    cid = served(client, channels, engine, agent, graph, "psid-survey")
    survey_text = graph.sent[-1].body["message"]["text"]
    assert survey_text.startswith("Cảm ơn anh/chị đã liên hệ với shop! Anh/chị chấm điểm cuộc trò chuyện giúp shop")
    found = LINK.search(survey_text)
    assert found is not None and found.group(1) == "https://cskh.xuyen.example"
    (survey,) = surveys(agent, cid)
    assert survey["status"] == "sent" and survey["channel_id"] == channels.messenger
    assert survey["channel_kind"] == "messenger" and survey["agent_id"] == agent.user_id
    sent_at = datetime.fromisoformat(str(survey["sent_at"]))
    assert datetime.fromisoformat(str(survey["expires_at"])) - sent_at == timedelta(days=7)
    assert datetime.fromisoformat(str(survey["reply_until"])) - sent_at == timedelta(hours=24)
    session.rollback()
    message = session.scalar(select(Message).where(Message.conversation_id == cid, Message.author_id.is_(None),
                                                   Message.direction == "outbound"))
    assert message is not None and message.meta["system"] == "csat" and message.state.value == "sent"
    assert agent.request("GET", f"/conversations/{cid}").json()["status"] == "resolved"
    work(engine)  # delivered again or not, one resolution sends one survey
    assert len(graph.sent) == 2 and len(surveys(agent, cid)) == 1


def test_no_open_channel_means_no_survey_and_the_reason_is_kept(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    whatsapp_says(client, channels, "84977000111", "wamid.OLD", "Chào shop", ago(days=8))
    cid = newest_conversation(agent, engine)
    agent.request("POST", f"/conversations/{cid}/status", json={"status": "resolved"})
    work(engine)
    (survey,) = surveys(agent, cid)
    assert survey["status"] == "not_sent" and survey["sent_at"] is None and survey["channel_id"] is None
    assert "WhatsApp Xuyên" in str(survey["not_sent_reason"])
    assert graph.sent == []


def test_surveys_can_be_turned_off_and_their_text_changed(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser,
        graph: GraphFake) -> None:
    defaults = manager.request("GET", "/inbox/csat/settings").json()
    assert defaults["enabled"] and defaults["expiry_days"] == 7 and "{link}" in defaults["survey_text"]
    changed = manager.request("PATCH", "/inbox/csat/settings",
                              json={"survey_text": "Rate us: {link} — thanks!", "expiry_days": 3})
    assert changed.status_code == 200, changed.text
    cid = served(client, channels, engine, agent, graph, "psid-text")
    assert graph.sent[-1].body["message"]["text"].startswith("Rate us: https://cskh.xuyen.example/csat/")
    (survey,) = surveys(agent, cid)
    assert datetime.fromisoformat(str(survey["expires_at"])) - datetime.fromisoformat(str(survey["sent_at"])) == \
        timedelta(days=3)
    assert manager.request("PATCH", "/inbox/csat/settings", json={"enabled": False}).json()["enabled"] is False
    cid = served(client, channels, engine, agent, graph, "psid-off")
    assert surveys(agent, cid) == [] and len(graph.sent) == 3  # the two replies, and the first survey


def test_bad_settings_are_refused_and_only_managers_change_them(manager: Browser, agent: Browser) -> None:
    body = assert_problem(manager.request("PATCH", "/inbox/csat/settings",
                                          json={"survey_text": "Cảm ơn!", "expiry_days": 0, "reply_hours": 500}),
                          422, "invalid_csat_settings")
    assert len(body["details"]["problems"]) == 3 and "{link}" in body["detail"]
    assert_problem(manager.request("PATCH", "/inbox/csat/settings", json={"enabled": None}), 422,
                   "invalid_csat_settings")
    assert_problem(manager.request("PATCH", "/inbox/csat/settings", json={"survey_text": "x" * 1001}), 422,
                   "validation_failed")
    assert_problem(manager.request("PATCH", "/inbox/csat/settings", json={"color": "red"}), 422, "validation_failed")
    assert_problem(agent.request("PATCH", "/inbox/csat/settings", json={"enabled": False}), 403, "role_required")
    assert_problem(agent.request("GET", "/inbox/csat/settings"), 403, "role_required")
    assert_problem(agent.request("GET", "/inbox/csat/report"), 403, "role_required")
    assert_problem(agent.request("GET", "/conversations/999999/csat"), 404, "conversation_not_found")
    assert manager.request("GET", "/inbox/csat/settings").json()["expiry_days"] == 7


# The rating page -------------------------------------------------------------------------------------


def test_the_rating_page_takes_one_answer_without_signing_in(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    cid = served(client, channels, engine, agent, graph, "psid-page")
    token = token_sent(graph)
    anonymous = TestClient(client.app, base_url="http://testserver")
    form = page(anonymous, f"/csat/{token}")
    assert form.status_code == 200 and 'name="rating"' in form.text and 'lang="vi"' in form.text
    assert form.headers["x-robots-tag"] == "noindex, nofollow"
    english = page(anonymous, f"/csat/{token}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "How did we do?" in english.text
    refused = page(anonymous, f"/csat/{token}", method="POST", data={"rating": "9", "comment": ""})
    assert refused.status_code == 422 and 'name="rating"' in refused.text
    done = page(anonymous, f"/csat/{token}", method="POST", data={"rating": "4", "comment": "Giao nhanh, nhiệt tình"})
    assert done.status_code == 303 and done.headers["location"] == f"/csat/{token}"
    thanks = page(anonymous, f"/csat/{token}")
    assert thanks.status_code == 200 and 'name="rating"' not in thanks.text
    again = page(anonymous, f"/csat/{token}", method="POST", data={"rating": "1"})
    assert again.status_code == 409 and 'name="rating"' not in again.text
    (survey,) = surveys(agent, cid)
    assert (survey["status"], survey["rating"], survey["comment"], survey["answered_via"]) == (
        "answered", 4, "Giao nhanh, nhiệt tình", "page")
    shown = agent.client.get(f"/inbox/{cid}")
    assert shown.status_code == 200 and "Giao nhanh, nhiệt tình" in shown.text and "★★★★☆" in shown.text


def test_wrong_forged_and_expired_links_are_refused(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake,
        session: Session) -> None:
    served(client, channels, engine, agent, graph, "psid-links")
    token = token_sent(graph)
    survey_id, signature = token.split(".")
    forged = f"{survey_id}.{'A' * 22}" if signature != "A" * 22 else f"{survey_id}.{'B' * 22}"
    for wrong in ("nonsense", forged, f"{int(survey_id) + 1}.{signature}", f"{survey_id}.{signature}x",
                  "9" * 60 + "." + signature):
        assert page(client, f"/csat/{wrong}").status_code == 404, wrong
        assert page(client, f"/csat/{wrong}", method="POST", data={"rating": "5"}).status_code == 404
    assert page(client, "/csat/" + "x" * 200).status_code in (404, 422)
    session.execute(update(Response).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    session.commit()
    assert page(client, f"/csat/{token}").status_code == 410
    assert page(client, f"/csat/{token}", method="POST", data={"rating": "5"}).status_code == 410
    assert surveys(agent, int(session.scalar(select(Response.conversation_id)) or 0))[0]["status"] == "expired"


# A digit reply --------------------------------------------------------------------------------------


def test_a_one_digit_reply_is_the_rating_and_the_conversation_stays_resolved(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    cid = served(client, channels, engine, agent, graph, "psid-digit")
    graph.customer_wrote(PAGE, "psid-digit", ago(seconds=1))
    messenger_says(client, channels, "psid-digit", "m_digit", " ５ ", ago(seconds=1))
    work(engine)
    (survey,) = surveys(agent, cid)
    assert (survey["status"], survey["rating"], survey["answered_via"]) == ("answered", 5, "reply")
    detail = agent.request("GET", f"/conversations/{cid}").json()
    assert detail["status"] == "resolved" and "５" in [message["text"].strip() for message in detail["messages"]]
    assert len(surveys(agent, cid)) == 1  # resolving again after the answer sends no new survey
    sla = agent.request("GET", f"/conversations/{cid}/sla").json()["clocks"]
    assert all(item["stopped_at"] for item in sla)

    messenger_says(client, channels, "psid-digit", "m_digit2", "4", ago(seconds=0))  # answered already
    work(engine)
    assert surveys(agent, cid)[0]["rating"] == 5
    assert agent.request("GET", f"/conversations/{cid}").json()["status"] == "open"


def test_a_reply_that_is_not_one_digit_is_an_ordinary_message(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, graph: GraphFake) -> None:
    cid = served(client, channels, engine, agent, graph, "psid-words")
    graph.customer_wrote(PAGE, "psid-words", ago(seconds=1))
    messenger_says(client, channels, "psid-words", "m_words", "5 sao nhé, cảm ơn shop", ago(seconds=1))
    work(engine)
    assert surveys(agent, cid)[0]["status"] == "sent"
    assert agent.request("GET", f"/conversations/{cid}").json()["status"] == "open"
    assert [digit_rating(text) for text in ("1", "5.", "５", "0", "6", "10", "", "5 sao")] == [
        1, 5, 5, None, None, None, None, None]


# The report -----------------------------------------------------------------------------------------


def test_the_report_gives_average_count_and_distribution_per_channel_and_agent(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser, manager: Browser,
        graph: GraphFake) -> None:
    served(client, channels, engine, agent, graph, "psid-r1")
    page(client, f"/csat/{token_sent(graph)}", method="POST", data={"rating": "4"})
    served(client, channels, engine, agent, graph, "psid-r2")
    page(client, f"/csat/{token_sent(graph)}", method="POST", data={"rating": "5"})
    served(client, channels, engine, agent, graph, "psid-r3")  # sent, never answered
    whatsapp_says(client, channels, "84977000222", "wamid.R4", "Chào shop", ago(days=8))
    cid = newest_conversation(agent, engine)
    agent.request("POST", f"/conversations/{cid}/status", json={"status": "resolved"})
    work(engine)  # not sent: the window is closed

    report = manager.request("GET", "/inbox/csat/report")
    assert report.status_code == 200, report.text
    body = report.json()
    overall = body["overall"]
    assert (overall["surveys"], overall["sent"], overall["answered"], overall["average"]) == (4, 3, 2, 4.5)
    assert overall["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert overall["response_rate"] == round(2 / 3, 4)
    by_channel = {row["kind"]: row for row in body["channels"]}
    assert by_channel["messenger"]["channel"] == "Facebook Thời trang Xuyên"
    assert (by_channel["messenger"]["sent"], by_channel["messenger"]["average"]) == (3, 4.5)
    assert by_channel[None]["sent"] == 0 and by_channel[None]["surveys"] == 1
    by_agent = {row["agent_id"]: row for row in body["agents"]}
    assert by_agent[agent.user_id]["answered"] == 2 and by_agent[agent.user_id]["average"] == 4.5
    assert by_agent[None]["surveys"] == 1
    later = manager.request("GET", "/inbox/csat/report", params={
        "since": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "until": (datetime.now(UTC) + timedelta(days=2)).isoformat()}).json()
    assert later["overall"]["surveys"] == 0 and later["overall"]["average"] is None
    assert_problem(manager.request("GET", "/inbox/csat/report", params={"since": "2026-01-01T00:00:00"}), 422,
                   "invalid_period")
