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

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from xuyen.config import Settings
from xuyen.errors import BadRequest, PayloadTooLarge
from xuyen.events import service
from xuyen.http import get_session
from xuyen.logs import request_id_var

router = APIRouter(prefix="/v1", tags=["tracking API (Segment-compatible)"])

SINGLE_CALLS = ("identify", "track", "page", "screen", "group", "alias")
SUCCESS = {"success": True}


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
                           "Send smaller batches.", code="payload_too_large", details={"limit_bytes": limit})


def _limit_for(request: Request) -> int:
    settings: Settings = request.app.state.settings
    is_batch = request.url.path.rstrip("/").endswith(("/batch", "/import"))
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


def _take(request: Request, session: Session, tracked: TrackingRequest, call: str | None) -> dict[str, bool]:
    settings: Settings = request.app.state.settings
    service.track(session, write_key=tracked.write_key, body=tracked.body, call=call,
                  request_id=request_id_var.get() or "", max_event_bytes=settings.ingest_max_event_bytes,
                  max_batch_events=settings.ingest_max_batch_events)
    return SUCCESS


@router.post("/batch", summary="Send many calls at once (Segment batch)")
def batch(request: Request, session: DbSession, tracked: Tracked) -> dict[str, bool]:
    """Store a batch's valid calls and quarantine the invalid ones."""
    return _take(request, session, tracked, None)


@router.post("/import", summary="Alias of /v1/batch (Segment import)")
def import_batch(request: Request, session: DbSession, tracked: Tracked) -> dict[str, bool]:
    """Store a batch's valid calls and quarantine the invalid ones."""
    return _take(request, session, tracked, None)


def _single_call_route(call: str) -> None:
    def endpoint(request: Request, session: DbSession, tracked: Tracked) -> dict[str, bool]:
        return _take(request, session, tracked, call)

    endpoint.__name__ = call
    endpoint.__doc__ = f"Store one {call} call (or quarantine it when invalid)."
    router.add_api_route(f"/{call}", endpoint, methods=["POST"], summary=f"Send one {call} call")


for _call in SINGLE_CALLS:
    _single_call_route(_call)
