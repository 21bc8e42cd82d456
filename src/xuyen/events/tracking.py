"""The tracking API, compatible with Segment's HTTP Tracking API (``/v1/track``, ``/v1/batch``, …).

Mounted at the root so the Segment and RudderStack SDKs work unchanged when pointed at Xuyên. Both
SDKs drop a whole batch on any 4xx, so a request with valid JSON and a valid key is answered 200 and
its invalid calls are quarantined; only a bad key (401), unreadable JSON or an empty batch (400) and an
oversized request (413) are refused whole.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from xuyen.config import Settings
from xuyen.errors import BadRequest, PayloadTooLarge
from xuyen.events import service
from xuyen.http import get_session
from xuyen.logs import request_id_var
from xuyen.routing import Router

router = Router(prefix="/v1", tags=["tracking API (Segment-compatible)"])

SINGLE_CALLS = ("identify", "track", "page", "screen", "group", "alias")
# analytics.js (Segment's browser library) posts to one-letter paths, as text/plain to avoid a preflight.
SHORT_PATHS = {"t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias", "b": None}
SUCCESS = {"success": True}
# Write keys are not cookies: any site may send to the tracking API from a browser.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-Write-Key",
    "Access-Control-Max-Age": "86400",
}


@dataclass(frozen=True)
class TrackingRequest:
    """A tracking request's decoded JSON body and the write key found on it, if any."""

    body: Any
    write_key: str | None


def body_limits(settings: Settings) -> dict[str, int]:
    """Request body limits for the tracking API (a batch may be far larger than the API's default)."""
    return {"/v1/": settings.ingest_max_batch_bytes}


def _basic_user(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, _, _password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None


def _gunzip(data: bytes, *, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise BadRequest("The body says it is gzip (Content-Encoding: gzip) but cannot be decompressed.",
                         code="invalid_gzip") from None
    if len(inflated) > limit:
        raise _too_large(limit)
    return inflated


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request is larger than {limit:,} bytes, the most this endpoint accepts. "
                           "Send less per request (smaller batches, smaller properties).", code="payload_too_large",
                           details={"limit_bytes": limit})


def _limit_for(request: Request) -> int:
    settings: Settings = request.app.state.settings
    is_batch = request.url.path.rstrip("/").endswith(("/batch", "/import", "/b"))
    return settings.ingest_max_batch_bytes if is_batch else settings.ingest_max_event_bytes


async def tracking_request(request: Request) -> TrackingRequest:
    """Read the body (gunzipped when sent with ``Content-Encoding: gzip``) and find the write key."""
    limit = _limit_for(request)
    data = await request.body()
    if "gzip" in request.headers.get("content-encoding", "").lower():
        data = _gunzip(data, limit=limit)
    if len(data) > limit:
        raise _too_large(limit)
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.", code="invalid_json") from None
    key = (_basic_user(request.headers.get("authorization", "")) or request.headers.get("x-write-key")
           or request.query_params.get("writeKey"))
    if not key and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        key = body["writeKey"]
    return TrackingRequest(body=body, write_key=key or None)


Tracked = Annotated[TrackingRequest, Depends(tracking_request)]
DbSession = Annotated[Session, Depends(get_session)]


def _take(request: Request, session: Session, tracked: TrackingRequest, call: str | None,
          response: Response) -> dict[str, bool]:
    settings: Settings = request.app.state.settings
    response.headers.update(CORS_HEADERS)
    service.track(session, write_key=tracked.write_key, body=tracked.body, call=call,
                  request_id=request_id_var.get() or "", max_event_bytes=settings.ingest_max_event_bytes,
                  max_batch_events=settings.ingest_max_batch_events)
    return SUCCESS


@router.options("/{path:path}", include_in_schema=False)
def preflight(path: str) -> Response:
    """Answer browsers' CORS preflight for every tracking path."""
    return Response(status_code=204, headers=CORS_HEADERS)


def _add_route(path: str, call: str | None, *, in_schema: bool = True) -> None:
    def endpoint(request: Request, session: DbSession, tracked: Tracked, response: Response) -> dict[str, bool]:
        return _take(request, session, tracked, call, response)

    what = f"one {call} call" if call else "a batch of calls"
    endpoint.__name__ = f"{call or 'batch'}_{path.strip('/')}"
    endpoint.__doc__ = f"Store {what} (invalid calls are quarantined)."
    router.add_api_route(path, endpoint, methods=["POST"], summary=f"Send {what}", include_in_schema=in_schema)


_add_route("/batch", None)
_add_route("/import", None)  # Segment's alias of /v1/batch
for _call in SINGLE_CALLS:
    _add_route(f"/{_call}", _call)
for _short, _long in SHORT_PATHS.items():
    _add_route(f"/{_short}", _long, in_schema=False)
