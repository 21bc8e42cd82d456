"""Conversation search: words from messages with or without diacritics, customers by name and phone, label names,
newest first and paginated; the folded copies rebuilt for older messages; PostgreSQL's trigram index; bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.api_client import Browser, assert_problem
from tests.inbox.conftest import Channels, post_sms
from tests.inbox.routing.conftest import conversation_of, customer_writes, customer_writes_on_whatsapp, settle
from xuyen import cli
from xuyen.inbox.routing import search
from xuyen.inbox.routing.cli import register
from xuyen.inbox.routing.models import MessageSearch


def found(browser: Browser, **params: Any) -> dict[str, Any]:
    response = browser.request("GET", "/conversations/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_words_are_found_with_or_without_diacritics_in_any_case(
        client: TestClient, channels: Channels, engine: Engine, session: Session, agent: Browser) -> None:
    shirt = customer_writes(client, channels, "Áo sơ mi trắng còn size M không ạ?")
    other = customer_writes(client, channels, "Quần jean đen giá bao nhiêu")
    settle(engine)
    shirt_id = conversation_of(session, shirt).id
    for query in ("ao so mi", "ÁO SƠ MI", "sơ mi TRẮNG", "so-mi", "size m", "trang ao", "kho"):
        assert ids(found(agent, q=query)) == [shirt_id], query
    hit = found(agent, q="ao so mi")["items"][0]
    assert hit["matched"] == ["message"] and hit["snippet"] == "Áo sơ mi trắng còn size M không ạ?"
    assert ids(found(agent, q="quan jean")) == [conversation_of(session, other).id]
    assert found(agent, q="váy") == {"items": [], "total": 0, "limit": 20, "offset": 0}
    note = agent.request("POST", f"/conversations/{shirt_id}/notes", json={"text": "Đã gọi lại cho khách"})
    assert note.status_code == 201
    settle(engine)
    assert ids(found(agent, q="da goi lai")) == [shirt_id]  # notes are searched too


def test_customers_are_found_by_name_and_phone_and_conversations_by_label(
        client: TestClient, channels: Channels, engine: Engine, session: Session, agent: Browser,
        manager: Browser) -> None:
    customer_writes_on_whatsapp(client, channels, "84912345678", "Nguyễn Thị Lan", "Chào shop")
    sms = {"type": "mo", "from": "0987654321", "to": "8077", "text": "Tin nhắn", "message_id": "mo-search-1",
           "timestamp": datetime.now(UTC).isoformat()}
    assert post_sms(client, channels.sms, sms).status_code == 200
    manager.request("POST", "/inbox/label-rules/defaults")
    returns = customer_writes(client, channels, "Cho em đổi trả với")
    settle(engine)
    lan = conversation_of(session, "84912345678").id
    by_name = found(agent, q="nguyen thi lan")
    assert ids(by_name) == [lan] and by_name["items"][0]["matched"] == ["customer"]
    assert ids(found(agent, q="0912 345 678")) == [lan]  # the phone in another format
    by_phone = found(agent, q="+84987654321")
    assert len(by_phone["items"]) == 1 and by_phone["items"][0]["id"] not in (lan,)
    by_label = found(agent, q="DOI TRA")
    assert ids(by_label) == [conversation_of(session, returns).id]
    assert by_label["items"][0]["matched"] == ["message", "label"]
    assert [label["name"] for label in by_label["items"][0]["labels"]] == ["Đổi trả"]


def test_results_are_newest_first_and_paginated(client: TestClient, channels: Channels, engine: Engine,
                                                session: Session, agent: Browser) -> None:
    psids = []
    for number in range(5):
        psids.append(customer_writes(client, channels, f"Hỏi về khuyến mãi số {number}"))
        settle(engine)
    newest_first = [conversation_of(session, psid).id for psid in reversed(psids)]
    pages = [found(agent, q="khuyen mai", limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [ids(page) for page in pages] == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    assert all(page["total"] == 5 for page in pages)
    assert found(agent, q="khuyen mai", status="resolved")["total"] == 0
    assert found(agent, q="khuyen mai", status="open")["total"] == 5


def test_older_messages_are_folded_by_the_rebuild(client: TestClient, channels: Channels, engine: Engine,
                                                  session: Session, agent: Browser) -> None:
    psid = customer_writes(client, channels, "Tôi cần hóa đơn đỏ")
    settle(engine)
    session.execute(delete(MessageSearch))  # as before search existed
    session.commit()
    assert found(agent, q="hoa don do")["total"] == 0
    assert search.rebuild_index(session, batch=1) == 1
    assert search.rebuild_index(session) == 0
    assert ids(found(agent, q="hoa don do")) == [conversation_of(session, psid).id]


def test_bad_searches_are_refused(client: TestClient, agent: Browser) -> None:
    assert_problem(agent.request("GET", "/conversations/search"), 422, "search_query_missing")
    assert_problem(agent.request("GET", "/conversations/search", params={"q": "   "}), 422, "search_query_missing")
    assert_problem(agent.request("GET", "/conversations/search", params={"q": "?!…"}), 422, "search_query_invalid")
    assert_problem(agent.request("GET", "/conversations/search", params={"q": "a" * 201}), 422, "validation_failed")
    assert_problem(agent.request("GET", "/conversations/search", params={"q": "a", "limit": 0}), 422,
                   "validation_failed")
    assert_problem(agent.request("GET", "/conversations/search", params={"q": "a", "offset": -1}), 422,
                   "validation_failed")
    assert_problem(agent.request("GET", "/conversations/search", params={"q": "a", "status": "lost"}), 422,
                   "validation_failed")
    assert client.get("/api/v1/conversations/search", params={"q": "a"}).status_code == 401
    assert found(agent, q="%_%' OR 1=1 --") == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_folding_matches_customer_search() -> None:
    assert search.fold_text("Đổi TRẢ, hàng!", None) == "doi tra hang"
    assert search.fold_text(None, "Áo") == "ao"


@pytest.mark.postgres_only
def test_postgresql_serves_the_search_from_a_trigram_index(engine: Engine) -> None:
    with engine.begin() as connection:
        assert search.ensure_trigram_index(connection) is True  # made by the migration
        connection.execute(text(f"DROP INDEX {search.TRIGRAM_INDEX}"))
        assert search.ensure_trigram_index(connection) is True  # made again
        definition = connection.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                        {"name": search.TRIGRAM_INDEX}).scalar_one()
    assert "gin" in definition and "gin_trgm_ops" in definition
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(MessageSearch)).scalar_one()
    assert count == 0


def test_the_cli_folds_older_messages_and_adds_the_default_labels(
        client: TestClient, channels: Channels, engine: Engine, session: Session, agent: Browser) -> None:
    register(cli.app)
    psid = customer_writes(client, channels, "Giao hàng tận nơi không?")
    settle(engine)
    session.execute(delete(MessageSearch))
    session.commit()
    runner = CliRunner()
    result = runner.invoke(cli.app, ["routing", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 messages folded for search." in result.output
    assert ids(found(agent, q="giao hang tan noi")) == [conversation_of(session, psid).id]
    result = runner.invoke(cli.app, ["routing", "default-labels"])
    assert result.exit_code == 0 and "Facebook Ads" in result.output
    assert "Every default label is there." in runner.invoke(cli.app, ["routing", "default-labels"]).output


def test_an_erased_customers_words_leave_the_search(client: TestClient, channels: Channels, engine: Engine,
                                                    session: Session, agent: Browser, owner: Browser) -> None:
    erased = customer_writes(client, channels, "Địa chỉ của em là 12 Hàng Bạc")
    kept = customer_writes(client, channels, "Em ở 12 Hàng Bạc luôn")
    settle(engine)
    assert found(agent, q="hang bac")["total"] == 2
    customer_id = agent.request("GET", f"/conversations/{conversation_of(session, erased).id}").json()["customer_id"]
    answer = owner.request("POST", f"/customers/{customer_id}/erase", json={"reason": "Yêu cầu của khách",
                                                                           "confirm": True})
    assert answer.status_code == 201, answer.text
    settle(engine)
    assert ids(found(agent, q="hang bac")) == [conversation_of(session, kept).id]
    session.rollback()
    gone = conversation_of(session, erased).id
    assert session.scalars(select(MessageSearch).where(MessageSearch.conversation_id == gone)).all() == []
    assert search.rebuild_index(session) == 1  # folded again from the blanked message, not the words
    assert ids(found(agent, q="hang bac")) == [conversation_of(session, kept).id]
