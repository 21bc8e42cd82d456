"""The webhook endpoint every connected channel's provider calls: ``/webhooks/{channel_id}``.

GET answers the provider's subscription handshake; POST is verified over its raw bytes, kept whole, deduped
and queued before it is answered, so providers that give up after a couple of seconds (Zalo) are answered in
time. Bodies over ``XUYEN_WEBHOOK_MAX_BYTES`` are refused with 413 before they are read whole.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response
from sqlalchemy.orm import Session

from xuyen.channels.base import WebhookRequest
from xuyen.clock import utcnow
from xuyen.config import Settings
from xuyen.http import get_session
from xuyen.inbox import intake
from xuyen.routing import Router

router = Router(prefix="/webhooks", tags=["channel webhooks"])

ChannelId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The channel's id, shown on its page.")]


def body_limits(settings: Settings) -> dict[str, int]:
    """Webhook bodies have their own limit."""
    return {"/webhooks/": settings.webhook_max_bytes}


async def _webhook_request(request: Request) -> WebhookRequest:
    return WebhookRequest(method=request.method, headers={key.lower(): value for key, value in request.headers.items()},
                          query=dict(request.query_params), body=await request.body(), received_at=utcnow())


def webhook(channel_id: ChannelId, incoming: Annotated[WebhookRequest, Depends(_webhook_request)],
            session: Annotated[Session, Depends(get_session)]) -> Response:
    """What a channel provider sends: its verification challenge (GET) or its events (POST)."""
    answer = intake.receive_webhook(session, channel_id=channel_id, request=incoming)
    return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)


# One handler, two operations in the API description (one operation id each).
router.add_api_route("/{channel_id}", webhook, methods=["GET"], summary="A channel provider's verification challenge",
                     operation_id="channel_webhook_challenge")
router.add_api_route("/{channel_id}", webhook, methods=["POST"], summary="A channel provider's webhook",
                     operation_id="channel_webhook")
