"""The web chat's public endpoints, under ``/chat``: the widget's script, visitors' sessions, their messages into
the inbox, their history and a live stream of the agents' replies.

Every answer but the script's is for the sites in the channel's allowed origins only: others are refused with
403 and get no CORS headers, so a browser on another site cannot read anything. Sessions and messages are
rate-limited per address and per visitor (429 with ``Retry-After``); bodies are limited to 32 KB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker

from xuyen.channels.base import ChannelError, WebhookRequest
from xuyen.channels.registry import adapter_class
from xuyen.clock import utcnow
from xuyen.config import Settings
from xuyen.db import session_factory
from xuyen.errors import NotFound, XuyenError
from xuyen.http import get_session, handle_validation_error, handle_xuyen_error
from xuyen.inbox import visitors
from xuyen.inbox.live import hub_for
from xuyen.ratelimit import app_limiter
from xuyen.routing import Router

MAX_BODY_BYTES = 32 * 1024
# (requests, seconds) per key: generous per address, since whole offices and mobile carriers share one.
LIMITS: dict[str, tuple[int, float]] = {
    "session": (30, 60.0),  # sessions per address
    "message_ip": (120, 60.0),  # messages per address
    "message_visitor": (20, 60.0),  # messages per visitor
    "read_ip": (240, 60.0),  # history reads and stream connections per address
}
SCRIPT_MAX_AGE = 3600


class _ChatRoute(APIRoute):
    """Routes whose answers, errors included, carry CORS headers for the allowed site that asked."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except XuyenError as exc:
                response = await handle_xuyen_error(request, exc)
            except RequestValidationError as exc:
                response = await handle_validation_error(request, exc)
            origin = getattr(request.state, "chat_origin", None)
            if origin:
                response.headers.update(_cors(origin))
            return response

        return handler


router = Router(prefix="/chat", tags=["web chat (public)"], route_class=_ChatRoute)

ChannelId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The web chat channel's id (data-channel).")]
Db = Annotated[Session, Depends(get_session)]
Token = Annotated[str | None, Query(max_length=4096, description="The visitor token from the session endpoint.")]


def body_limits(settings: Settings) -> dict[str, int]:
    """The chat's bodies are small: a session request or one message."""
    return {"/chat/": MAX_BODY_BYTES}


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": "Retry-After, X-Request-ID"}


CHAT_LIMITED = "Too many chat requests in a short time; wait {wait} seconds and try again."


def _limit(request: Request, name: str, key: str) -> None:
    limit, window = LIMITS[name]
    app_limiter(request, "webchat", code="chat_rate_limited", message=CHAT_LIMITED).check(
        f"{name}:{key}", limit=limit, window=window)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _chat(request: Request, session: Session, channel_id: int) -> visitors.WebChat:
    """The channel's adapter, once the request's site is one it serves (its answers then carry CORS headers)."""
    _channel, chat = visitors.chat_channel(session, channel_id=channel_id)
    request.state.chat_origin = visitors.check_origin(chat, request.headers.get("origin"))
    return chat


def _reads(request: Request) -> sessionmaker[Session]:
    """Sessions for the streams' reads, which never take SQLite's write lock."""
    found: sessionmaker[Session] | None = getattr(request.app.state, "webchat_reads", None)
    if found is None:
        engine = request.app.state.engine
        found = request.app.state.webchat_reads = session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
    return found


async def _incoming(request: Request) -> WebhookRequest:
    return WebhookRequest(method="POST", headers={key.lower(): value for key, value in request.headers.items()},
                          query={}, body=await request.body(), received_at=utcnow())


async def _body(request: Request) -> bytes:
    return await request.body()


# The script ----------------------------------------------------------------------------------------------


@cache
def _script() -> tuple[bytes, str]:
    try:
        adapter = adapter_class(visitors.KIND)
    except ChannelError:
        return b"", ""
    body: bytes = adapter.widget_script()  # type: ignore[attr-defined]
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@router.get("/widget.js", summary="The chat widget's script", response_class=Response)
def widget_script(if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The widget: one script tag with ``data-channel`` on the shop's site. Cached for an hour, revalidated by
    its ETag."""
    body, etag = _script()
    if not body:
        raise NotFound("The web chat channel is not installed on this server.", code="chat_not_installed")
    headers = {"Cache-Control": f"public, max-age={SCRIPT_MAX_AGE}", "ETag": etag,
               "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin",
               "X-Content-Type-Options": "nosniff"}
    if if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


# Visitors ------------------------------------------------------------------------------------------------


@router.options("/{channel_id}/{endpoint}", include_in_schema=False)
def preflight(channel_id: ChannelId, endpoint: str, request: Request, session: Db) -> Response:
    """Answer browsers' CORS preflight for the allowed sites only."""
    _chat(request, session, channel_id)
    return Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                                              "Access-Control-Allow-Headers": "Content-Type, Last-Event-ID",
                                              "Access-Control-Max-Age": "86400"})


@router.post("/{channel_id}/session", summary="Open a visitor's chat session")
def open_session(channel_id: ChannelId, request: Request, session: Db,
                 body: Annotated[bytes, Depends(_body)]) -> JSONResponse:
    """``{"anonymousId"?, "userId"?, "userHash"?, "email"?, "emailHash"?}`` → ``{"token", "anonymousId",
    "expiresAt", "identified", "title", "greeting", "colour"}``; a new anonymous id when none is sent."""
    chat = _chat(request, session, channel_id)
    _limit(request, "session", _address(request))
    answer = visitors.open_session(chat, origin=request.state.chat_origin, body=body)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/{channel_id}/messages", summary="Send a visitor's message to the inbox")
def post_message(channel_id: ChannelId, request: Request, session: Db,
                 incoming: Annotated[WebhookRequest, Depends(_incoming)]) -> Response:
    """The widget's message (``{"visitor", "anonymousId", "text", "clientMessageId", "page"}``), taken in exactly
    as ``POST /webhooks/{channel_id}`` takes it; a retry with the same client message id is taken once."""
    chat = _chat(request, session, channel_id)
    _limit(request, "message_ip", _address(request))
    post = visitors.read_message(chat, incoming.body)
    _limit(request, "message_visitor", f"{channel_id}:{post.anonymous_id}")
    answer = visitors.take_message(session, channel_id=channel_id, request=incoming)
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@router.get("/{channel_id}/messages", summary="The visitor's own conversation history")
def visitor_history(channel_id: ChannelId, request: Request, session: Db, token: Token = None) -> JSONResponse:
    """The visitor's messages on this chat and the agents' replies to them, oldest first (the latest 100)."""
    chat = _chat(request, session, channel_id)
    _limit(request, "read_ip", _address(request))
    visitor = visitors.read_visitor(chat, token)
    found = visitors.history(session, channel_id=channel_id, anonymous_id=visitor.anonymous_id)
    return JSONResponse({"anonymousId": visitor.anonymous_id, "messages": found},
                        headers={"Cache-Control": "no-store"})


@router.get("/{channel_id}/stream", summary="Agents' replies to the visitor, live (Server-Sent Events)",
            response_class=StreamingResponse)
def visitor_stream(channel_id: ChannelId, request: Request, session: Db, token: Token = None,
                   after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                   last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
    """Each new reply as ``event: message`` with the message as JSON ``data`` and its id as the event id;
    ``event: expired`` when the token runs out. Replies after ``after`` (or ``Last-Event-ID``) come first."""
    chat = _chat(request, session, channel_id)
    _limit(request, "read_ip", _address(request))
    visitor = visitors.read_visitor(chat, token)
    resume = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    feed = visitors.VisitorFeed(_reads(request), channel_id=channel_id, anonymous_id=visitor.anonymous_id,
                                after_id=max(after, resume))
    session.close()  # the stream reads with sessions of its own; this one must not stay open for hours
    events = visitors.visitor_events(hub_for(request.app.state), feed, until=visitor.expires_at,
                                     is_disconnected=request.is_disconnected)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
