"""The endpoint the marketplaces push to: ``/webhooks/marketplaces/{channel}/{app_id}``.

Shopee's console takes one callback URL per app (``.../shopee/<partner_id>``), Lazada's one per app
(``.../lazada/<app_key>``); the push names the shop. The push is verified over its raw bytes, kept, deduplicated
and queued before it is answered. Shopee signs the callback URL too: behind a proxy, set ``XUYEN_PUBLIC_URL`` to
the address the platform calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response
from sqlalchemy.orm import Session

from xuyen.channels.marketplace import WebhookRequest
from xuyen.clock import utcnow
from xuyen.commerce.marketplaces import intake
from xuyen.config import Settings
from xuyen.http import get_session
from xuyen.routing import Router

router = Router(prefix="/webhooks/marketplaces", tags=["marketplace pushes"])

Channel = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def body_limits(settings: Settings) -> dict[str, int]:
    """Pushes have the webhooks' body limit."""
    return {"/webhooks/marketplaces/": settings.webhook_max_bytes}


async def _push_request(request: Request) -> WebhookRequest:
    return WebhookRequest(method=request.method, headers={key.lower(): value for key, value in request.headers.items()},
                          query=dict(request.query_params), body=await request.body(), received_at=utcnow())


def callback_url(request: Request) -> str:
    """The URL the platform called, as its console has it (``XUYEN_PUBLIC_URL`` first, for servers behind a
    proxy)."""
    settings: Settings = request.app.state.settings
    public = settings.public_url.rstrip("/")
    if public:
        return public + request.url.path
    return str(request.url.replace(query=""))


@router.post("/{channel}/{app_id}", summary="A marketplace's push")
def push(channel: Channel, app_id: AppId, request: Request,
         incoming: Annotated[WebhookRequest, Depends(_push_request)],
         session: Annotated[Session, Depends(get_session)]) -> Response:
    answer = intake.receive_push(session, channel=channel, app_id=app_id, request=incoming,
                                 callback_url=callback_url(request))
    return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)
