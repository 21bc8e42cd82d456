"""What the Zalo channel tests share: the fake served for real, the adapter pointed at it, and a stand-in for the
inbox's webhook endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.server import serving
from tests.fakes.zalo import ZaloFake
from xuyen.channels.base import (
    Attachment,
    ContactIdentifier,
    Inbound,
    OutboundMessage,
    PayloadInvalid,
    SignatureInvalid,
    WebhookRequest,
)
from xuyen.channels.zalo import ZaloAdapter

USER = "2468458835296117922"  # a Zalo user id: digits, far above 2**53
HUGE_USER = "184467440737095516170"  # above 2**64: only a string holds it
T0 = 1_718_000_000_123  # milliseconds
T0_AT = datetime(2024, 6, 10, 6, 13, 20, 123_000, tzinfo=UTC)


# Fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> ZaloFake:
    """Zalo: one app linked to one OA."""
    return ZaloFake()


@pytest.fixture
def zalo_url(fake: ZaloFake) -> Iterator[str]:
    """The fake's address, serving the OA API, OAuth and ZNS."""
    with serving(fake.app) as url:
        yield url


def make_adapter(fake: ZaloFake, url: str, **secrets: str) -> ZaloAdapter:
    """A Zalo channel connected to ``fake``."""
    return ZaloAdapter(
        settings={"oa_id": fake.oa_id, "app_id": fake.app_id, "api_base": url, "oauth_base": url,
                  "business_api_base": url},
        secrets={"oa_secret_key": fake.oa_secret_key, "app_secret": fake.app_secret,
                 "access_token": fake.access_token, "refresh_token": fake.refresh_token, **secrets})


@pytest.fixture
def adapter(fake: ZaloFake, zalo_url: str) -> Iterator[ZaloAdapter]:
    """The adapter under test, its API addresses pointed at the fake."""
    channel = make_adapter(fake, zalo_url)
    yield channel
    channel.close()


@dataclass
class Inbox:
    """A stand-in for the inbox's webhook endpoint: verify, parse, answer; it keeps what it saw."""

    adapter: ZaloAdapter
    url: str = ""
    received: list[list[Inbound]] = field(default_factory=list)
    refused: list[Exception] = field(default_factory=list)
    webhook_ids: list[str | None] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        """Handle one delivery the way the inbox does."""
        hook = WebhookRequest(method=request.method, headers={k.lower(): v for k, v in request.headers.items()},
                              query=dict(request.query_params), body=await request.body(),
                              received_at=datetime.now(UTC))
        try:
            self.adapter.verify(hook)
            items = self.adapter.parse(hook)
        except SignatureInvalid as exc:
            self.refused.append(exc)
            return PlainTextResponse(exc.message, status_code=401)
        except PayloadInvalid as exc:
            self.refused.append(exc)
            return PlainTextResponse(exc.message, status_code=400)
        self.received.append(items)
        self.webhook_ids.append(self.adapter.webhook_id(hook))
        answer = self.adapter.ack(hook)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@pytest.fixture
def inbox(adapter: ZaloAdapter) -> Iterator[Inbox]:
    """The inbox's webhook URL, served for real."""
    box = Inbox(adapter)
    with serving(Starlette(routes=[Route("/webhooks/7", box.endpoint, methods=["POST"])])) as url:
        box.url = f"{url}/webhooks/7"
        yield box


def deliver(fake: ZaloFake, inbox: Inbox, payload: dict[str, Any], **kwargs: Any) -> list[Inbound]:
    """Zalo delivers ``payload``; the inbox must accept it within Zalo's two seconds."""
    response = fake.deliver(inbox.url, payload, **kwargs)
    assert response.status_code == 200, response.text
    assert response.text == "ok"
    assert response.elapsed < timedelta(seconds=2)
    return inbox.received[-1]


def hook(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    """A webhook request built directly, for bodies no HTTP client would send as is."""
    return WebhookRequest(method="POST", headers=headers or {}, query={}, body=body, received_at=datetime.now(UTC))


def only(items: list[Inbound]) -> Inbound:
    """The one item a webhook carried."""
    assert len(items) == 1, items
    return items[0]


def reply(text: str = "", *attachments: Attachment, to: str = USER, key: str = "reply-1") -> OutboundMessage:
    """A reply to a Zalo user."""
    return OutboundMessage(idempotency_key=key, to=ContactIdentifier("zalo_id", to, scope="388613280879880645"),
                           text=text, attachments=attachments)

