"""Customers test fixtures: sources on four channels, and sending calls through the real tracking API."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.api_client import Browser, agent, manager, owner  # noqa: F401  (role browsers for every test here)
from xuyen.auth.models import User
from xuyen.events.models import ChannelType
from xuyen.events.service import create_source
from xuyen.worker import Worker

_message_ids = itertools.count(1)


@dataclass(frozen=True)
class Channels:
    """A write key per channel."""

    web: str
    pos: str
    shopee: str
    zalo: str


@pytest.fixture
def keys(session: Session) -> Channels:
    return Channels(*(create_source(session, name=name, channel=channel)[1] for name, channel in (
        ("Website", ChannelType.web), ("Cửa hàng Hà Nội", ChannelType.pos), ("Shopee", ChannelType.shopee),
        ("Zalo OA", ChannelType.zalo))))


Send = Callable[..., None]


@pytest.fixture
def send(client: TestClient, engine: Engine) -> Send:
    """Send calls as one batch with a source's write key, then let a worker do what follows."""
    def _send(key: str, *calls: dict[str, Any]) -> None:
        batch = [{"messageId": f"m-{next(_message_ids)}", **call} for call in calls]
        auth = base64.b64encode(f"{key}:".encode()).decode()
        response = client.post("/v1/batch", json={"batch": batch}, headers={"Authorization": f"Basic {auth}"})
        assert response.status_code == 200, response.text
        Worker(engine=engine).run_until_idle()
    return _send


BrowserFor = Callable[[User], Browser]




