"""Inbox fixtures: the fake Graph API (Messenger, WhatsApp) and a fake SMS gateway served over real HTTP,
channels connected to them through the API, and webhooks posted to the app the way the providers send them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api_client import Browser, agent, manager, owner  # noqa: F401  (role browsers for every test here)
from tests.fakes.meta import GraphFake, meta_json, sign
from tests.fakes.server import serving
from tests.fakes.sms_gateway import GENERIC_PATH, FakeSmsGateway, signed_webhook
from xuyen.worker import Worker

PAGE, PAGE_TOKEN, APP_SECRET, VERIFY = "104729384756102", "EAAG-page-token", "meta-app-secret", "verify-me"
NUMBER, WA_TOKEN = "109876543210987", "EAAG-wa-token"
SMS_KEY, SMS_HOOK_SECRET = "test-api-key", "test-webhook-secret"


@pytest.fixture(scope="session")
def graph_server() -> Iterator[tuple[GraphFake, str]]:
    fake = GraphFake()
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture
def graph(graph_server: tuple[GraphFake, str]) -> GraphFake:
    fake = graph_server[0]
    fake.reset()
    fake.add_page(PAGE, token=PAGE_TOKEN, app_secret=APP_SECRET)
    fake.add_number(NUMBER, token=WA_TOKEN, app_secret=APP_SECRET)
    return fake


@pytest.fixture(scope="session")
def sms_server() -> Iterator[tuple[FakeSmsGateway, str]]:
    fake = FakeSmsGateway(api_key=SMS_KEY, webhook_secret=SMS_HOOK_SECRET)
    with serving(fake.app()) as url:
        yield fake, url


@pytest.fixture
def sms_gateway(sms_server: tuple[FakeSmsGateway, str]) -> FakeSmsGateway:
    fake = sms_server[0]
    fake.sent.clear()
    fake.down, fake.rate_limit = False, None
    return fake


@dataclass
class Channels:
    """The ids of the channels connected for a test."""

    messenger: int
    whatsapp: int
    sms: int


def connect(owner_browser: Browser, kind: str, name: str, settings: dict[str, str],
            secrets: dict[str, str]) -> dict[str, Any]:
    """Connect a channel through the API, as an owner does."""
    response = owner_browser.request("POST", "/inbox/channels", json={"kind": kind, "name": name,
                                                                      "settings": settings, "secrets": secrets})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def channels(owner: Browser, graph: GraphFake, graph_server: tuple[GraphFake, str],  # noqa: F811
             sms_server: tuple[FakeSmsGateway, str], sms_gateway: FakeSmsGateway) -> Channels:
    graph_url, sms_url = graph_server[1], sms_server[1]
    messenger = connect(owner, "messenger", "Facebook Thời trang Xuyên",
                        {"page_id": PAGE, "graph_api_base": graph_url},
                        {"app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN, "verify_token": VERIFY})
    whatsapp = connect(owner, "whatsapp", "WhatsApp Xuyên", {"phone_number_id": NUMBER, "graph_api_base": graph_url},
                       {"app_secret": APP_SECRET, "access_token": WA_TOKEN, "verify_token": VERIFY})
    sms = connect(owner, "sms", "SMS brandname", {"brand_name": "XUYEN", "send_url": sms_url + GENERIC_PATH,
                                                  "unicode_allowed": "false"},
                  {"api_key": SMS_KEY, "webhook_secret": SMS_HOOK_SECRET})
    return Channels(messenger=messenger["id"], whatsapp=whatsapp["id"], sms=sms["id"])


def post_meta(client: TestClient, channel_id: int, payload: Any, *, secret: str = APP_SECRET) -> httpx.Response:
    """POST a Meta webhook to the app, signed as Meta signs it."""
    body = meta_json(payload)
    return client.post(f"/webhooks/{channel_id}", content=body,
                       headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)})


def post_sms(client: TestClient, channel_id: int, event: dict[str, Any]) -> httpx.Response:
    """POST a gateway's signed webhook (an inbound SMS or a delivery report) to the app."""
    body, headers = signed_webhook(event, SMS_HOOK_SECRET)
    return client.post(f"/webhooks/{channel_id}", content=body, headers=headers)


def work(engine: Engine) -> None:
    """Run the workers until nothing is due: webhooks parsed, replies sent, customers built."""
    Worker(engine=engine).run_until_idle()


def ago(**delta: float) -> datetime:
    from datetime import timedelta

    return datetime.now(UTC) - timedelta(**delta)
