"""The website lead forms' public endpoints, under ``/forms``: the script that renders or enhances a form on any
site, a form's token, and the submissions (form-encoded or JSON), with CORS for the form's allowed sites only.

Answers: 201 captured; 403 a site not allowed (no CORS headers); 404 no such form; 409 a token used before;
413 a body over 16 KB; 415 a body neither form-encoded nor JSON; 422 honeypot filled, token missing, invalid,
too fresh or expired, or no phone and no e-mail; 429 too many from one address (with ``Retry-After``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from xuyen.config import Settings, get_settings
from xuyen.errors import BadRequest, PermissionDenied, XuyenError
from xuyen.http import get_session, handle_xuyen_error
from xuyen.ratelimit import app_limiter
from xuyen.routing import Router
from xuyen.sales.leads import forms
from xuyen.sales.leads.models import LeadForm

MAX_BODY_BYTES = 16 * 1024
SCRIPT_MAX_AGE = 3600


class _FormRoute(APIRoute):
    """Routes whose answers, errors included, carry CORS headers for the allowed site that asked."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except XuyenError as exc:
                response = await handle_xuyen_error(request, exc)
            origin = getattr(request.state, "form_origin", None)
            if origin:
                response.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                                         "Access-Control-Expose-Headers": "Retry-After"})
            return response

        return handler


router = Router(prefix="/forms", tags=["lead forms (public)"], route_class=_FormRoute)
Db = Annotated[Session, Depends(get_session)]
FormKey = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def body_limits(settings: Settings) -> dict[str, int]:
    """A form's submission is small."""
    return {"/forms/": MAX_BODY_BYTES}


@cache
def _script() -> tuple[bytes, str]:
    body = resources.files("xuyen.sales.leads").joinpath("static/lead.js").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@router.get("/lead.js", summary="The lead form script: renders or enhances a form on any site",
            response_class=Response)
def lead_script(if_none_match: Annotated[str | None, Header()] = None) -> Response:
    body, etag = _script()
    headers = {"Cache-Control": f"public, max-age={SCRIPT_MAX_AGE}", "ETag": etag,
               "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


FORMS_LIMITED = "Too many forms sent from this address; wait {wait} seconds and try again."


def _guard(request: Request, session: Session, form_key: str, *, kind: str) -> LeadForm:
    """The form, once the site is known to be allowed and the request counted against the address's limit."""
    form = forms.active_form(session, form_key=form_key)
    origin = request.headers.get("origin")
    if not forms.allows_origin(form, origin):
        raise PermissionDenied("This site may not send this form; add it to the form's allowed sites.",
                               code="origin_not_allowed")
    request.state.form_origin = origin
    address = request.client.host if request.client else "unknown"
    app_limiter(request, "lead_forms", code="form_rate_limited", message=FORMS_LIMITED).check(
        f"{kind}:{address}", limit=get_settings().leads_form_rate_per_minute)
    return form


@router.options("/leads/{form_key}", include_in_schema=False)
@router.options("/leads/{form_key}/token", include_in_schema=False)
def preflight(form_key: FormKey, request: Request, session: Db) -> Response:
    form = forms.active_form(session, form_key=form_key)
    origin = request.headers.get("origin")
    if not forms.allows_origin(form, origin):
        raise PermissionDenied("This site may not send this form.", code="origin_not_allowed")
    request.state.form_origin = origin
    return Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                                              "Access-Control-Allow-Headers": "Content-Type",
                                              "Access-Control-Max-Age": "86400"})


@router.get("/leads/{form_key}/token", summary="A token for one display of the form")
def form_token(form_key: FormKey, request: Request, session: Db) -> JSONResponse:
    _guard(request, session, form_key, kind="token")
    return JSONResponse({"token": forms.issue_token(form_key=form_key), "honeypot": forms.HONEYPOT},
                        headers={"Cache-Control": "no-store"})


class UnsupportedMediaType(XuyenError):
    """A body that is neither form-encoded nor JSON."""

    status, default_code, title = 415, "unsupported_media_type", "Unsupported media type"


async def _data(request: Request) -> dict[str, Any]:
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise BadRequest("The body is not JSON.", code="invalid_json") from exc
        if not isinstance(data, dict):
            raise BadRequest("Send the fields as a JSON object.", code="invalid_json")
        return data
    if kind in ("application/x-www-form-urlencoded", "text/plain", ""):
        return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    raise UnsupportedMediaType("Send the form form-encoded or as JSON.")


def _back_to(data: dict[str, Any], origin_allowed: Callable[[str], bool]) -> str | None:
    target = str(data.get("_redirect") or "")
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and origin_allowed(f"{parts.scheme}://{parts.netloc}".lower()):
        return target
    return None


# The body is read before the endpoint runs (an async dependency), and the endpoint is a plain function run in the
# thread pool: no database work waits on the network, and none blocks the event loop.
FormFields = Annotated[dict[str, Any], Depends(_data)]


@router.post("/leads/{form_key}", status_code=201, summary="Send a lead form (form-encoded or JSON)")
def submit_form(form_key: FormKey, request: Request, session: Db, data: FormFields) -> Response:
    form = _guard(request, session, form_key, kind="submit")
    allowed_origins = list(form.allowed_origins or [])
    forms.submit(session, form=form, data=data)
    back = _back_to(data, lambda origin: origin in allowed_origins)
    if back is not None and "application/json" not in request.headers.get("accept", ""):
        return RedirectResponse(back, status_code=303)
    return JSONResponse({"ok": True, "message": "Cảm ơn bạn! Chúng tôi sẽ liên hệ sớm."}, status_code=201)
