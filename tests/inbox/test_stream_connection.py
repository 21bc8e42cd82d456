"""The live stream gives its database connection back as soon as the caller is known: an agent keeping the inbox
open holds neither SQLite's write lock (webhooks would wait for it and fail) nor a PostgreSQL connection."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user
from tests.fakes.sms_gateway import signed_webhook
from tests.inbox.conftest import SMS_HOOK_SECRET, Channels
from tests.live_server import LiveServer
from xuyen.auth.models import Role
from xuyen.config import Settings
from xuyen.inbox.models import WebhookReceipt


@pytest.fixture
def live_url(settings: Settings, engine: Engine) -> Iterator[str]:
    server = LiveServer(settings, engine)
    server.start()
    yield server.url
    server.stop()


def _pool_idle(engine: Engine, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while engine.pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    return engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_webhooks_are_taken_while_an_agent_keeps_the_live_stream_open(live_url: str, engine: Engine,
                                                                      session: Session, channels: Channels) -> None:
    user = make_user(session, role=Role.agent)
    with httpx.Client(base_url=live_url, timeout=httpx.Timeout(10.0, read=None)) as browser:
        assert browser.post("/api/v1/auth/session", json={"email": user.email, "password": PASSWORD}).is_success
        with browser.stream("GET", "/api/v1/inbox/stream") as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:") and next(lines) == ": connected"
            assert _pool_idle(engine, within=2.0), "the open stream keeps a database connection"

            event = {"type": "mo", "from": "0912345678", "to": "8077", "text": "Shop ơi còn hàng không?",
                     "message_id": uuid.uuid4().hex}
            body, headers = signed_webhook(event, SMS_HOOK_SECRET)
            started = time.monotonic()
            answer = httpx.post(f"{live_url}/webhooks/{channels.sms}", content=body, headers=headers, timeout=10.0)
            assert answer.status_code == 200, answer.text
            assert time.monotonic() - started < 5.0
    session.rollback()
    assert session.scalar(select(WebhookReceipt.channel_id)) == channels.sms


def test_an_unauthenticated_stream_is_refused_and_holds_nothing(live_url: str, engine: Engine) -> None:
    answer = httpx.get(f"{live_url}/api/v1/inbox/stream", timeout=10.0)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert _pool_idle(engine, within=2.0)
