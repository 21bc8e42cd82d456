"""The visitor's live stream against a real server (uvicorn on a free local port), read with httpx as a browser's
EventSource reads it: an agent's reply reaches the visitor it answers within a second or two, never another
visitor; a reconnecting stream resumes after the last reply it had; an expiring token ends the stream."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.factories import make_user
from tests.inbox.webchat_support import OTHER_SITE, SITE, WIDGET_SECRET, say, visitor
from tests.live_server import LiveServer
from xuyen.auth.models import Role
from xuyen.channels.webchat import Visitor
from xuyen.channels.webchat.tokens import issue
from xuyen.config import Settings
from xuyen.inbox import connections, visitors
from xuyen.worker import Worker

Event = dict[str, Any]


class Stream(threading.Thread):
    """One visitor's EventSource: the events it reads go to ``events`` (``event``, ``data``, ``id``)."""

    def __init__(self, base_url: str, channel_id: int, token: str, *, after: int = 0,
                 last_event_id: str | None = None, origin: str = SITE) -> None:
        super().__init__(daemon=True)
        self.url = f"{base_url}/chat/{channel_id}/stream"
        self.params = {"token": token, "after": str(after)}
        self.headers = {"Origin": origin, "Accept": "text/event-stream"} | (
            {"Last-Event-ID": last_event_id} if last_event_id else {})
        self.events: queue.Queue[Event] = queue.Queue()
        self.opened = threading.Event()
        self.stopping = threading.Event()
        self.response: httpx.Response | None = None

    def run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(10.0)) as http, \
                http.stream("GET", self.url, params=self.params, headers=self.headers) as response:
            self.response = response
            self.opened.set()
            if response.status_code != 200:
                return
            event: Event = {}
            for line in response.iter_lines():
                if self.stopping.is_set():
                    return
                if not line:
                    if event.get("event"):
                        self.events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    event[name] = value

    def next(self, timeout: float = 5.0) -> Event:
        """The next event; fails the test if none comes in time."""
        return self.events.get(timeout=timeout)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


@pytest.fixture
def server(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setattr(visitors, "HEARTBEAT_SECONDS", 0.5)  # readers notice they should stop quickly
    live = LiveServer(settings, engine)
    live.start()
    yield live
    live.stop()


@pytest.fixture
def chat_id(session: Session) -> int:
    channel = connections.add_channel(session, kind="webchat", name="Chat trên website",
                                      settings={"allowed_origins": SITE}, secrets={"widget_secret": WIDGET_SECRET},
                                      actor="test")
    return channel.id


def open_stream(*args: Any, **kwargs: Any) -> Stream:
    stream = Stream(*args, **kwargs)
    stream.start()
    assert stream.opened.wait(5)
    return stream


def test_an_agents_reply_reaches_the_visitor_live_and_no_other(server: LiveServer, chat_id: int, engine: Engine,
                                                               session: Session) -> None:
    http = httpx.Client(base_url=server.url, timeout=10.0)
    lan, binh = visitor(http, chat_id), visitor(http, chat_id)
    assert say(http, chat_id, lan, "Áo sơ mi trắng còn size M không ạ?").status_code == 200
    assert say(http, chat_id, binh, "Shop mở cửa mấy giờ?").status_code == 200
    Worker(engine=engine).run_until_idle()

    lan_stream, binh_stream = open_stream(server.url, chat_id, lan["token"]), open_stream(server.url, chat_id,
                                                                                           binh["token"])
    assert lan_stream.response is not None and lan_stream.response.status_code == 200
    assert lan_stream.response.headers["content-type"].startswith("text/event-stream")
    assert lan_stream.response.headers["access-control-allow-origin"] == SITE

    agent = make_user(session, role=Role.agent)
    staff = httpx.Client(base_url=server.url, timeout=10.0)
    signed_in = staff.post("/api/v1/auth/session", json={"email": agent.email, "password": "mật khẩu đủ dài 2026"})
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    conversations = staff.get("/api/v1/conversations", params={"status": "open"}).json()
    lans = next(item for item in conversations if staff.get(f"/api/v1/conversations/{item['id']}").json()[
        "messages"][0]["text"].startswith("Áo"))
    started = time.monotonic()
    reply = staff.post(f"/api/v1/conversations/{lans['id']}/replies", json={"text": "Dạ còn ạ!"}, headers=csrf)
    assert reply.status_code == 202, reply.text

    event = lan_stream.next()
    assert time.monotonic() - started < 3.0
    assert event["event"] == "message" and event["id"] == str(reply.json()["id"])
    assert '"text": "Dạ còn ạ!"' in event["data"] and '"from": "agent"' in event["data"]
    time.sleep(1.0)
    assert binh_stream.events.empty()  # the other visitor's stream never sees it
    lan_stream.stop()
    binh_stream.stop()

    resumed = open_stream(server.url, chat_id, lan["token"], last_event_id=event["id"])
    replayed = open_stream(server.url, chat_id, lan["token"], after=0)
    assert replayed.next()["id"] == event["id"]  # what a reconnecting widget missed comes first
    time.sleep(0.5)
    assert resumed.events.empty()  # resuming after the last reply repeats nothing
    resumed.stop()
    replayed.stop()


def test_a_stream_needs_a_valid_token_and_an_allowed_site_and_ends_with_the_token(server: LiveServer,
                                                                                  chat_id: int) -> None:
    http = httpx.Client(base_url=server.url, timeout=10.0)
    guest = visitor(http, chat_id)
    bad = http.get(f"/chat/{chat_id}/stream", params={"token": guest["token"][:-4] + "AAAA"},
                   headers={"Origin": SITE})
    assert bad.status_code == 401 and bad.json()["code"] == "visitor_token_invalid"
    assert bad.headers["access-control-allow-origin"] == SITE  # the widget can tell it must renew the session
    elsewhere = http.get(f"/chat/{chat_id}/stream", params={"token": guest["token"]}, headers={"Origin": OTHER_SITE})
    assert elsewhere.status_code == 403 and "access-control-allow-origin" not in elsewhere.headers

    short = issue(WIDGET_SECRET, Visitor(anonymous_id=guest["anonymousId"], origin=SITE,
                                         expires_at=datetime.now(UTC) + timedelta(seconds=2)))
    stream = open_stream(server.url, chat_id, short)
    assert stream.next(timeout=6)["event"] == "expired"
    stream.stop()
