"""A local fake of Vietnamese brand-name SMS gateways' HTTP APIs, served for real by ``tests.fakes.server``.

Three send routes, each with its gateway's wire shapes:

- eSMS.vn: ``POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`` (JSON) and ``…_V4_post/`` (form);
  ApiKey and SecretKey in the body; answers HTTP 200 with ``{"CodeResult": "100", "SMSID": …}`` or an error code
  from its published table (101 wrong keys, 104 unknown brand name, 108 bad number format, 99 blocked number,
  124 duplicate RequestId, 146 customer-care template mismatch, 300 missing SmsType).
- SpeedSMS: ``POST /index.php/sms/send``; HTTP Basic with the access token as user name; a list of numbers in
  ``to``; answers ``{"status": "success", "code": "00", "data": {"tranId": …}}`` or ``{"status": "error",
  "code": "105", …}`` (its published codes); rate limiting answers HTTP 429 with its documented body and an
  ``X-Rate-Limit-Reset`` header.
- A generic gateway: ``POST /v1/sms``, JSON or form, the key as ``Authorization: Bearer`` or ``?api_key=``;
  answers ``{"message_id": …}`` or an HTTP 4xx with ``{"code": …, "message": …}``.

Switches simulate what goes wrong: ``down`` (HTTP 503 from a proxy), ``rate_limit`` (requests allowed before 429),
``delay`` (seconds before answering, for timeouts), ``blocked_numbers``. ``reply`` and ``report`` sign and post
customers' replies and delivery reports to ``webhook_url`` as the gateway's webhook relay would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

ESMS_JSON_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
ESMS_FORM_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post/"
SPEEDSMS_PATH = "/index.php/sms/send"
GENERIC_PATH = "/v1/sms"

# Vietnamese mobile numbers as gateways take them.
VN_MOBILE_0 = re.compile(r"0[35789][0-9]{8}")
VN_MOBILE_84 = re.compile(r"84[35789][0-9]{8}")
VN_MOBILE_E164 = re.compile(r"\+84[35789][0-9]{8}")
PHONE_PATTERNS = {"0": VN_MOBILE_0, "84": VN_MOBILE_84, "e164": VN_MOBILE_E164}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà\f^{}\\[~]|€"
)


@dataclass
class SentSms:
    """One message a route accepted, as it arrived."""

    route: str
    phone: str
    text: str
    brand_name: str
    message_id: str
    request_id: str = ""
    unicode: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSmsGateway:
    """The gateway's accounts, what it accepted, and the switches that make it fail."""

    api_key: str = "test-api-key"
    api_secret: str = "test-secret-key"
    brand_names: frozenset[str] = frozenset({"XUYEN"})
    generic_phone_format: str = "e164"
    templates: Sequence[str] = ()  # eSMS customer-care templates (regular expressions); empty: any text
    webhook_url: str | None = None
    webhook_secret: str = "test-webhook-secret"
    down: bool = False
    rate_limit: int | None = None
    delay: float = 0.0
    blocked_numbers: set[str] = field(default_factory=set)
    sent: list[SentSms] = field(default_factory=list)
    requests: int = 0
    _request_ids: dict[str, str] = field(default_factory=dict)
    _tran_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100001))

    def app(self) -> Starlette:
        """The ASGI app to serve."""
        return Starlette(routes=[
            Route(ESMS_JSON_PATH, self._esms_json, methods=["POST"]),
            Route(ESMS_FORM_PATH, self._esms_form, methods=["POST"]),
            Route(SPEEDSMS_PATH, self._speedsms, methods=["POST"]),
            Route(GENERIC_PATH, self._generic, methods=["POST"]),
        ])

    # What goes wrong before a route sees the request --------------------------------------------------

    async def _gate(self, request: Request) -> Response | None:
        """The outage, the slowness and the rate limit every route shares."""
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            return HTMLResponse("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", 503)
        if self.rate_limit is not None:
            if self.rate_limit <= 0:
                reset = "60"
                if request.url.path == SPEEDSMS_PATH:
                    return JSONResponse({"name": "Too Many Requests", "message": "Rate limit exceeded.", "code": 0,
                                         "status": 429}, 429, headers={"X-Rate-Limit-Reset": reset})
                return JSONResponse({"code": "rate_limited", "message": "Too many requests"}, 429,
                                    headers={"Retry-After": reset})
            self.rate_limit -= 1
        return None

    # eSMS.vn ----------------------------------------------------------------------------------------------

    async def _esms_json(self, request: Request) -> Response:
        """eSMS's JSON send."""
        if (blocked := await self._gate(request)) is not None:
            return blocked
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "Invalid request"}, 400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "Invalid request"}, 400)
        return self._esms(body, route="esms-json")

    async def _esms_form(self, request: Request) -> Response:
        """eSMS's x-www-form-urlencoded send."""
        if (blocked := await self._gate(request)) is not None:
            return blocked
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return JSONResponse({"error": "Invalid request"}, 400)
        form = await request.form()
        return self._esms({name: str(value) for name, value in form.items()}, route="esms-form")

    def _esms(self, body: dict[str, Any], *, route: str) -> Response:
        """eSMS's checks, in the order its error table suggests, and its answers."""
        def answer(code: str, message: str | None = None, **extra: Any) -> JSONResponse:
            payload: dict[str, Any] = {"CodeResult": code, "CountRegenerate": 0, **extra}
            if message:
                payload["ErrorMessage"] = message
            return JSONResponse(payload)

        if body.get("ApiKey") != self.api_key or body.get("SecretKey") != self.api_secret:
            return answer("101", "Authorize Failed")
        if not str(body.get("SmsType", "")).strip():
            return answer("300", "Missing message type")
        if str(body.get("Brandname", "")) not in self.brand_names:
            return answer("104", "Brand name code is not exist")
        phone = str(body.get("Phone", ""))
        if not (VN_MOBILE_0.fullmatch(phone) or VN_MOBILE_84.fullmatch(phone)):
            return answer("108", "Phone number is not in correct format")
        if phone in self.blocked_numbers:
            return answer("99", "The phone number is blocked in the system")
        request_id = str(body.get("RequestId", ""))
        if request_id and request_id in self._request_ids:
            return answer("124", "Request exist 1", SendStatus="5")
        content = str(body.get("Content", ""))
        sms_id = uuid.uuid4().hex
        if self.templates and not any(re.fullmatch(t, content) for t in self.templates):
            return answer("146", "Sai template Brandname CSKH", SMSID=sms_id)
        if request_id:
            self._request_ids[request_id] = sms_id
        self.sent.append(SentSms(route=route, phone=phone, text=content, brand_name=str(body["Brandname"]),
                                 message_id=sms_id, request_id=request_id, unicode=str(body.get("IsUnicode", "")),
                                 fields=dict(body)))
        return answer("100", SMSID=sms_id)

    # SpeedSMS ---------------------------------------------------------------------------------------------

    async def _speedsms(self, request: Request) -> Response:
        """SpeedSMS's send: HTTP Basic with the access token, JSON body."""
        if (blocked := await self._gate(request)) is not None:
            return blocked
        user = _basic_user(request.headers.get("authorization", ""))
        if user != self.api_key:
            return JSONResponse({"name": "Unauthorized", "message": "Your request was made with invalid credentials.",
                                 "code": 0, "status": 401}, 401, headers={"WWW-Authenticate": 'Basic realm="api"'})

        def error(code: str, message: str, invalid: Sequence[str] = ()) -> JSONResponse:
            return JSONResponse({"status": "error", "code": code, "message": message, "invalidPhone": list(invalid)})

        try:
            body = json.loads(await request.body())
        except ValueError:
            return error("101", "Invalid or missing parameters")
        if not isinstance(body, dict):
            return error("101", "Invalid or missing parameters")
        phones, content = body.get("to"), body.get("content")
        if not isinstance(phones, list) or not phones or not isinstance(content, str) or not content:
            return error("101", "Invalid or missing parameters")
        if body.get("sms_type") not in (2, 3, 4, 5, 6, "2", "3", "4", "5", "6"):
            return error("101", "Invalid or missing parameters")
        if str(body.get("sms_type")) == "3" and body.get("sender") not in self.brand_names:
            return error("101", "Invalid or missing parameters")
        invalid = [p for p in phones if not (isinstance(p, str) and VN_MOBILE_84.fullmatch(p))
                   or p in self.blocked_numbers]
        if invalid:
            return error("105", "Phone number invalid", invalid)
        if len(content) > 1000:
            return error("113", "Sms content too long")
        tran_id = next(self._tran_ids)
        for phone in phones:
            self.sent.append(SentSms(route="speedsms", phone=phone, text=content, brand_name=str(body.get("sender")),
                                     message_id=str(tran_id), fields=dict(body)))
        return JSONResponse({"status": "success", "code": "00",
                             "data": {"tranId": tran_id, "totalSMS": len(phones), "totalPrice": 250 * len(phones),
                                      "invalidPhone": []}})

    # The generic gateway ----------------------------------------------------------------------------------

    async def _generic(self, request: Request) -> Response:
        """A gateway of the shape the adapter takes by default: key by header or query, JSON or form."""
        if (blocked := await self._gate(request)) is not None:
            return blocked
        key = request.query_params.get("api_key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return JSONResponse({"code": "unauthorized", "message": "Invalid API key"}, 401)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = json.loads(await request.body())
            except ValueError:
                body = None
        elif content_type.startswith("application/x-www-form-urlencoded"):
            body = {name: str(value) for name, value in (await request.form()).items()}
        else:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"code": "bad_request", "message": "Send JSON or a form"}, 400)
        to, text, brand = str(body.get("to", "")), str(body.get("text", "")), str(body.get("brand_name", ""))
        if not PHONE_PATTERNS[self.generic_phone_format].fullmatch(to):
            return JSONResponse({"code": "invalid_number", "message": f"Invalid phone number {to}"}, 400)
        if to in self.blocked_numbers:
            return JSONResponse({"code": "invalid_number", "message": f"The number {to} opted out"}, 400)
        if brand not in self.brand_names:
            return JSONResponse({"code": "brand_not_registered", "message": f"Brand name {brand} not registered"},
                                400)
        unicode = str(body.get("unicode", ""))
        if unicode not in ("0", "1"):
            return JSONResponse({"code": "bad_request", "message": "unicode must be 0 or 1"}, 400)
        if unicode == "0" and not all(c in GSM7 for c in text):
            return JSONResponse({"code": "unicode_not_allowed", "message": "Text has non-GSM characters"}, 400)
        request_id = str(body.get("request_id", ""))
        if request_id in self._request_ids:
            return JSONResponse({"code": "duplicate_request", "message": "Request id already used",
                                 "message_id": self._request_ids[request_id]}, 409)
        message_id = f"gw-{uuid.uuid4().hex[:16]}"
        if request_id:
            self._request_ids[request_id] = message_id
        self.sent.append(SentSms(route="generic", phone=to, text=text, brand_name=brand, message_id=message_id,
                                 request_id=request_id, unicode=unicode, fields=dict(body)))
        return JSONResponse({"message_id": message_id, "status": "queued"})

    # Webhooks the gateway sends -------------------------------------------------------------------------

    def reply(self, phone: str, text: str, *, to: str = "8077", message_id: str | None = None,
              timestamp: str | None = None) -> httpx.Response:
        """Post a customer's reply (MO) to ``webhook_url``, signed."""
        event = {"type": "mo", "from": phone, "to": to, "text": text, "message_id": message_id or uuid.uuid4().hex,
                 "timestamp": timestamp or _now_iso()}
        return self._post_webhook(event)

    def report(self, message_id: str, status: str, *, phone: str | None = None,
               error: str | None = None) -> httpx.Response:
        """Post a delivery report (DLR) of an accepted message to ``webhook_url``, signed."""
        sent = next((s for s in self.sent if s.message_id == message_id), None)
        event: dict[str, Any] = {"type": "dlr", "message_id": message_id, "status": status,
                                 "to": phone or (sent.phone if sent else ""), "timestamp": _now_iso()}
        if error:
            event["error"] = error
        return self._post_webhook(event)

    def _post_webhook(self, event: dict[str, Any]) -> httpx.Response:
        """Sign and post one event."""
        if self.webhook_url is None:
            raise RuntimeError("the fake gateway has no webhook_url to post to")
        return post_webhook(self.webhook_url, event, self.webhook_secret)


def signed_webhook(events: Any, secret: str, *, timestamp: int | None = None, payload: str = "body",
                   signature_header: str = "X-Signature",
                   timestamp_header: str = "X-Timestamp") -> tuple[bytes, dict[str, str]]:
    """A webhook body and its headers, signed with HMAC-SHA256 (hex) over the body or ``timestamp.body``."""
    body = json.dumps(events, ensure_ascii=False).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = body if payload == "body" else stamp.encode() + b"." + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", signature_header: signature, timestamp_header: stamp}


def post_webhook(url: str, events: Any, secret: str, **options: Any) -> httpx.Response:
    """Sign ``events`` and POST them to ``url``, as a gateway's webhook sender does."""
    body, headers = signed_webhook(events, secret, **options)
    return httpx.post(url, content=body, headers=headers, timeout=10)


def _basic_user(header: str) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded).decode().partition(":")[0]
    except ValueError:
        return None


def _now_iso() -> str:
    """Now, as gateways write it in webhooks: local Vietnamese time with its offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+07:00", time.gmtime(time.time() + 7 * 3600))
