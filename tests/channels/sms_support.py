"""Shared by the SMS channel tests: the served fake gateway, adapters pointed at it, and an inbox endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.server import serving
from tests.fakes.sms_gateway import (
    ESMS_JSON_PATH,
    GENERIC_PATH,
    SPEEDSMS_PATH,
    FakeSmsGateway,
    signed_webhook,
)
from xuyen.channels.base import (
    ContactIdentifier,
    Inbound,
    OutboundMessage,
    PayloadInvalid,
    SignatureInvalid,
    WebhookRequest,
)
from xuyen.channels.sms import SmsAdapter

KEY, SECRET, HOOK_SECRET = "test-api-key", "test-secret-key", "test-webhook-secret"
CUSTOMER = "+84912345678"


@pytest.fixture(name="gateway")
def served_gateway() -> Iterator[tuple[FakeSmsGateway, str]]:
    """A fake gateway served on a local port, with its base URL."""
    fake = FakeSmsGateway(api_key=KEY, api_secret=SECRET, webhook_secret=HOOK_SECRET)
    with serving(fake.app()) as url:
        yield fake, url


def esms(url: str, **settings: str) -> SmsAdapter:
    """An adapter on the eSMS preset, pointed at the fake."""
    return SmsAdapter(settings={"preset": "esms", "brand_name": "XUYEN", "send_url": url + ESMS_JSON_PATH,
                                **settings},
                      secrets={"api_key": KEY, "api_secret": SECRET, "webhook_secret": HOOK_SECRET})


def speedsms(url: str, token: str = KEY, **settings: str) -> SmsAdapter:
    """An adapter on the SpeedSMS preset, pointed at the fake."""
    return SmsAdapter(settings={"preset": "speedsms", "brand_name": "XUYEN", "send_url": url + SPEEDSMS_PATH,
                                **settings},
                      secrets={"api_key": token, "webhook_secret": HOOK_SECRET})


def generic(url: str, *, secrets: dict[str, str] | None = None, **settings: str) -> SmsAdapter:
    """An adapter on the generic settings, pointed at the fake's generic gateway."""
    return SmsAdapter(settings={"brand_name": "XUYEN", "send_url": url + GENERIC_PATH,
                                "duplicate_codes": "duplicate_request", "invalid_number_codes": "invalid_number",
                                "brand_error_codes": "brand_not_registered", **settings},
                      secrets=secrets or {"api_key": KEY, "webhook_secret": HOOK_SECRET})


def message(text: str, *, to: str = CUSTOMER, key: str = "msg-1", **extra: Any) -> OutboundMessage:
    """An outbound SMS."""
    return OutboundMessage(idempotency_key=key, to=ContactIdentifier("phone", to), text=text, **extra)


@dataclass
class Inbox:
    """The inbox's side of the webhook, as far as the adapter goes: verify, parse, answer."""

    adapter: SmsAdapter
    received: list[Inbound] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def webhook(self, request: Request) -> Response:
        """Verify and parse one delivery from the raw bytes."""
        delivery = WebhookRequest(method=request.method, headers={k.lower(): v for k, v in request.headers.items()},
                                  query=dict(request.query_params), body=await request.body(),
                                  received_at=datetime.now(UTC))
        try:
            self.adapter.verify(delivery)
            self.received.extend(self.adapter.parse(delivery))
        except SignatureInvalid as exc:
            self.refused.append(exc.message)
            return PlainTextResponse("bad signature", 401)
        except PayloadInvalid as exc:
            self.refused.append(exc.message)
            return PlainTextResponse("bad payload", 400)
        answer = self.adapter.ack(delivery)
        return Response(answer.body, answer.status, media_type=answer.content_type)


@pytest.fixture(name="inbox")
def served_inbox(gateway: tuple[FakeSmsGateway, str]) -> Iterator[Inbox]:
    """A served webhook endpoint for the generic adapter; the fake gateway posts to it."""
    fake, url = gateway
    box = Inbox(generic(url))
    with serving(Starlette(routes=[Route("/webhooks/1", box.webhook, methods=["POST"])])) as base:
        fake.webhook_url = base + "/webhooks/1"
        yield box


def request_for(events: Any, *, secret: str = HOOK_SECRET, age: float = 0.0, **options: Any) -> WebhookRequest:
    """A signed webhook as the adapter sees it, signed ``age`` seconds before it is received."""
    now = datetime.now(UTC)
    body, headers = signed_webhook(events, secret, timestamp=int(now.timestamp() - age), **options)
    return WebhookRequest(method="POST", headers={k.lower(): v for k, v in headers.items()}, query={}, body=body,
                          received_at=now)
