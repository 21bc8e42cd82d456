"""HTTP plumbing shared by every router: the session dependency, request ids, problem+json errors."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xuyen.errors import PayloadTooLarge, XuyenError
from xuyen.logs import request_id_var

log = logging.getLogger("xuyen.http")

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

HtmlErrorRenderer = Callable[[Request, int, str, str], Response | None]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request; services inside commit, anything left over is rolled back.

    Opening a session touches no database, so it happens on the event loop; so does closing one that holds
    no connection (the work committed and nothing was read after). Only a session still holding a connection is
    closed on a worker thread, as its rollback is a round trip to the database.
    """
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def problem(status: int, *, code: str, title: str, detail: str, request: Request | None = None,
            extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """An RFC 9457 problem answer with our stable ``code`` and the request id."""
    body: dict[str, Any] = {
        "type": f"https://xuyen.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "message": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def wants_html(request: Request) -> bool:
    """Whether the client is a browser asking for a page rather than an API client."""
    path = request.url.path
    if path.startswith(("/api/", "/v1/", "/healthz", "/readyz")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _render(request: Request, status: int, code: str, title: str, detail: str,
            headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Response:
    renderer: HtmlErrorRenderer | None = getattr(request.app.state, "html_error_renderer", None)
    if renderer is not None and wants_html(request):
        page = renderer(request, status, code, detail)
        if page is not None:
            if headers:
                page.headers.update(headers)
            return page
    return problem(status, code=code, title=title, detail=detail, request=request, extra=extra, headers=headers)


async def handle_xuyen_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, XuyenError)
    headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
    return _render(request, exc.status, exc.code, exc.title, exc.message, headers=headers,
                   extra={"details": exc.details} if exc.details else None)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": [str(part) for part in error.get("loc", ())], "message": error.get("msg", ""),
         "type": error.get("type", "")}
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"location": [], "message": "invalid input"}
    where = ".".join(first["location"][1:] or first["location"])
    detail = f"The request is not valid: {where}: {first['message']}." if where else "The request is not valid."
    return problem(422, code="validation_failed", title="Validation failed", detail=detail, request=request,
                   extra={"errors": errors})


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}. Check the address; the API lives under /api/v1."
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return _render(request, exc.status_code, code, code.replace("_", " ").capitalize(), detail,
                   headers=dict(exc.headers) if exc.headers else None)


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return _render(request, 500, "internal_error", "Internal error",
                   "Something went wrong on our side. The error is logged with this request id; "
                   "try again, and if it keeps happening give the request id to your administrator.")


class RequestContext:
    """Give every request an id (the client's ``X-Request-ID`` if it is safe), log it, echo it back; an error
    that got past the exception handlers still gets an answer with the id.

    A plain ASGI middleware: the request runs in the same task, with no streams in between."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        answered: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if answered:  # the answer has begun: nothing more can be said on this connection
                    raise
                response = await handle_unexpected_error(Request(scope), exc)
                await response(scope, receive, send_with_id)
            log.info("request", extra={"method": scope["method"], "path": scope["path"],
                                       "status": answered[0] if answered else 500,
                                       "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
        finally:
            request_id_var.reset(token)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit:,} bytes, the most this endpoint accepts. "
                           "Send less at a time.", code="payload_too_large", details={"limit_bytes": limit})


class BodySizeLimit:
    """Refuse request bodies over a limit with 413, without reading more than the limit into memory.

    ``overrides`` maps a path prefix to its own limit (the longest matching prefix wins).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = sorted((overrides or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        """The body limit that applies to ``path``."""
        return next((limit for prefix, limit in self.overrides if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(limit, scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _too_large(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app made of the cut-off body, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if exceeded and not started:
            await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        error = _too_large(limit)
        response = problem(413, code=error.code, title=error.title, detail=error.message,
                           extra={"details": error.details})
        await response(scope, receive, send)
