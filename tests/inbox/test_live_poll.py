"""The live stream's look at the inbox tables (how SQLite installations learn of new messages): it reports each new
message once, however many arrive and whenever they commit, and its reads never wait for the database's writers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.inbox.conftest import Channels, post_sms, work
from xuyen.inbox import live


def say(client: TestClient, channels: Channels, number: int) -> None:
    event = {"type": "mo", "from": f"09123456{number:02d}", "to": "8077", "text": f"Tin nhắn số {number}",
             "message_id": uuid.uuid4().hex}
    assert post_sms(client, channels.sms, event).status_code == 200


def reported(news: list[dict[str, Any]]) -> list[int]:
    return [item["message_id"] for item in news if item["kind"] == "message"]


def test_each_new_message_is_reported_once(client: TestClient, channels: Channels, engine: Engine) -> None:
    hub = live.Hub(engine)
    marks = hub._marks()
    say(client, channels, 1)
    work(engine)
    look_at_tables = hub._marks

    def a_message_commits_meanwhile() -> tuple[int, Any, Any]:
        found = look_at_tables()
        say(client, channels, 2)  # stored after the marks were read, before the new messages are listed
        work(engine)
        return found

    hub._marks = a_message_commits_meanwhile  # type: ignore[method-assign]
    first, marks = hub._changes_since(marks)
    hub._marks = look_at_tables  # type: ignore[method-assign]
    second, marks = hub._changes_since(marks)
    third, _ = hub._changes_since(marks)
    assert len(reported(first)) == 1 and len(reported(second)) == 1 and reported(third) == []
    assert reported(first) != reported(second)


def test_more_new_messages_than_one_look_reports_come_the_next_time(client: TestClient, channels: Channels,
                                                                   engine: Engine,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "POLL_BATCH", 2)
    hub = live.Hub(engine)
    marks = hub._marks()
    for number in range(5):
        say(client, channels, number)
    work(engine)
    seen: list[int] = []
    for _ in range(4):
        news, marks = hub._changes_since(marks)
        seen += reported(news)
    assert len(seen) == 5 and len(set(seen)) == 5 and seen == sorted(seen)


def test_looking_never_waits_for_a_writer(engine: Engine) -> None:
    hub = live.Hub(engine)
    with engine.connect() as writer:  # a worker in the middle of a transaction (on SQLite: holding the write lock)
        writer.execute(text("UPDATE inbox_channels SET name = name"))
        done = threading.Event()
        looker = threading.Thread(target=lambda: (hub._changes_since((0, None, None)), done.set()), daemon=True)
        looker.start()
        assert done.wait(5.0), "the live stream's read waited for the writer"
        writer.rollback()
