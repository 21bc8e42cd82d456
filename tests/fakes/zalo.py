"""A local fake of Zalo's wire protocol: the OA Open API v3, the OAuth v4 token endpoint, ZNS, and signed webhooks.

What it keeps of the real protocol:

- every API answer is HTTP 200 with ``{"error": <code>, "message": ..., "data": ...}``; 0 is success;
- the access token travels in a bare ``access_token`` header; an unknown token answers -216 (OA) / -124 (ZNS), an
  expired one -220 (OA) / -124 (ZNS);
- ``POST /v4/oa/access_token`` takes a form (``refresh_token``, ``app_id``, ``grant_type=refresh_token``) with the
  app secret in a ``secret_key`` header, and answers a new access token, a new refresh token and ``expires_in`` as
  a string; a refresh token works once. Zalo does not publish the numbers of its ``-14xxx`` OAuth errors beyond
  -14002 and -14003; a refused refresh here answers ``error`` -14014 with ``error_name``/``error_reason``/
  ``error_description``, and no access token, which is the part clients can rely on;
- consultation messages reach only users who interacted with the OA in the past 7 days (-230 after that);
- ZNS takes ``84xxxxxxxxx`` phone numbers, an approved template with all its parameters and a ``tracking_id`` of at
  most 48 characters, and answers ``msg_id``, ``sent_time`` (milliseconds, a string) and the day's quota;
- webhooks carry ``X-ZEvent-Signature: mac=<sha256(app_id + body + timestamp + OA secret key)>``, ids and the
  millisecond timestamp as strings; ZNS events add ``X-ZEvent-Server: ZNS``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DAY_MS = 86_400_000
CS_WINDOW_MS = 7 * DAY_MS
MAX_TEXT = 2000
MAX_FILE_BYTES = 5 * 1024 * 1024
FILE_TYPES = ("pdf", "doc", "docx", "csv")
ZNS_PHONE = re.compile(r"\+?84\d{9,10}")


def sign(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The ``X-ZEvent-Signature`` value Zalo sends for ``body``."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


def encode(payload: Mapping[str, Any]) -> bytes:
    """A webhook body as Zalo writes it: compact JSON, UTF-8, non-ASCII text left as is."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def new_message_id() -> str:
    """A Zalo-looking message id (20 hex characters)."""
    return secrets.token_hex(10)


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message})


def _oauth_error(code: int, name: str, reason: str) -> JSONResponse:
    return JSONResponse({"error_name": name, "error_reason": reason, "error_description": reason,
                         "ref_doc": "https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen"
                                    "-cho-ung-dung-new", "error": code})


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@dataclass
class FakeTemplate:
    """A ZNS template the OA registered: its status (ENABLE, PENDING_REVIEW, REJECT, DISABLE) and parameters."""

    template_id: str
    params: tuple[str, ...] = ()
    status: str = "ENABLE"


@dataclass
class ZaloFake:
    """One Zalo app linked to one OA, with its tokens, followers, templates and what was sent."""

    app_id: str = "3608465248940903967"
    oa_id: str = "388613280879880645"
    app_secret: str = "app-secret-key-0123"
    oa_secret_key: str = "oa-secret-key-4567"
    access_token: str = "access-token-initial"
    refresh_token: str = "refresh-token-initial"
    clock: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    access_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    interactions: dict[str, int] = field(default_factory=dict)
    templates: dict[str, FakeTemplate] = field(default_factory=dict)
    phones_on_zalo: set[str] = field(default_factory=set)
    zns_daily_quota: int = 500
    zns_sent_today: int = 0
    cs_quota_left: int | None = None
    rate_limited: bool = False
    uploads: dict[str, bytes] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.access_tokens.add(self.access_token)
        self.refresh_tokens.add(self.refresh_token)
        self.app = Starlette(routes=[
            Route("/v3.0/oa/message/cs", self._cs, methods=["POST"]),
            Route("/v3.0/oa/message/template", self._uid_template, methods=["POST"]),
            Route("/v2.0/oa/upload/file", self._upload_file, methods=["POST"]),
            Route("/v4/oa/access_token", self._oauth, methods=["POST"]),
            Route("/message/template", self._zns, methods=["POST"]),
        ])

    # Knobs ---------------------------------------------------------------------------------------------

    def interact(self, user_id: str, at_ms: int | None = None) -> None:
        """The user messaged or followed the OA at ``at_ms`` (now by default)."""
        self.interactions[user_id] = self.clock() if at_ms is None else at_ms

    def expire_access_tokens(self) -> None:
        """Every access token issued so far runs out (Zalo's last about 25 hours)."""
        self.expired_tokens |= self.access_tokens
        self.access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        """The OA admin took the grant back: no refresh token works any more."""
        self.refresh_tokens.clear()

    def add_template(self, template_id: str, *params: str, status: str = "ENABLE") -> FakeTemplate:
        """Register a ZNS template with its parameter names."""
        template = FakeTemplate(template_id, tuple(params), status)
        self.templates[template_id] = template
        return template

    # Webhooks ------------------------------------------------------------------------------------------

    def signed(self, payload: Mapping[str, Any] | bytes, *, zns: bool = False,
               timestamp: str | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a webhook delivery of ``payload``, signed as Zalo signs it."""
        body = payload if isinstance(payload, bytes) else encode(payload)
        if timestamp is None:
            timestamp = str(json.loads(body)["timestamp"])
        headers = {"content-type": "application/json",
                   "x-zevent-signature": sign(self.app_id, body, timestamp, self.oa_secret_key)}
        if zns:
            headers["x-zevent-server"] = "ZNS"
        return body, headers

    def deliver(self, url: str, payload: Mapping[str, Any] | bytes, *, zns: bool = False,
                headers: Mapping[str, str] | None = None, retry: int = 0) -> httpx.Response:
        """POST a signed webhook to ``url`` as Zalo does (``headers`` replace the signed ones)."""
        body, signed_headers = self.signed(payload, zns=zns) if headers is None else (
            payload if isinstance(payload, bytes) else encode(payload), dict(headers))
        if retry:
            signed_headers["num_retry"] = str(retry)
        if isinstance(payload, Mapping) and str(payload.get("event_name", "")).startswith(("user_send_", "follow")):
            user = (payload.get("sender") or payload.get("follower") or {}).get("id")
            if user:
                self.interact(str(user), int(payload["timestamp"]))
        return httpx.post(url, content=body, headers=signed_headers, timeout=5.0)

    def user_message(self, user_id: str, *, event_name: str = "user_send_text", text: str | None = None,
                     attachments: Sequence[Mapping[str, Any]] = (), msg_id: str | None = None,
                     timestamp_ms: int | None = None, user_id_by_app: str | None = "552177279717587730",
                     ) -> dict[str, Any]:
        """A ``user_send_*`` event: the user wrote to the OA."""
        message: dict[str, Any] = {"msg_id": msg_id or new_message_id()}
        if text is not None:
            message["text"] = text
        if attachments:
            message["attachments"] = [dict(item) for item in attachments]
        event: dict[str, Any] = {"app_id": self.app_id, "sender": {"id": user_id},
                                 "recipient": {"id": self.oa_id}, "event_name": event_name, "message": message,
                                 "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms)}
        if user_id_by_app:
            event["user_id_by_app"] = user_id_by_app
        return event

    def oa_echo(self, user_id: str, *, text: str, msg_id: str | None = None, event_name: str = "oa_send_text",
                timestamp_ms: int | None = None) -> dict[str, Any]:
        """An ``oa_send_*`` event: the OA (an admin in the Zalo OA manager, or the API) wrote to the user."""
        return {"app_id": self.app_id, "sender": {"admin_id": "7331104839212711201", "id": self.oa_id},
                "recipient": {"id": user_id}, "event_name": event_name,
                "message": {"text": text, "msg_id": msg_id or new_message_id()},
                "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms),
                "user_id_by_app": "552177279717587730"}

    def follow(self, user_id: str, *, event_name: str = "follow", timestamp_ms: int | None = None,
               user_id_by_app: str | None = "552172779717587730") -> dict[str, Any]:
        """A ``follow`` / ``unfollow`` event: ``follower`` in place of sender, the OA as a flat ``oa_id``."""
        event: dict[str, Any] = {"oa_id": self.oa_id, "follower": {"id": user_id}, "event_name": event_name,
                                 "source": "oa_profile", "app_id": self.app_id,
                                 "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms)}
        if user_id_by_app:
            event["user_id_by_app"] = user_id_by_app
        return event

    def seen(self, user_id: str, msg_ids: Sequence[str], *, timestamp_ms: int | None = None) -> dict[str, Any]:
        """A ``user_seen_message`` event: the OA's messages the user read (the OA is the sender)."""
        return {"app_id": self.app_id, "sender": {"id": self.oa_id}, "user_id_by_app": "552177279717587730",
                "recipient": {"id": user_id}, "event_name": "user_seen_message",
                "message": {"msg_ids": list(msg_ids)},
                "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms)}

    def received(self, user_id: str, msg_id: str, *, timestamp_ms: int | None = None) -> dict[str, Any]:
        """A ``user_received_message`` event for a consultation message."""
        return {"app_id": self.app_id, "sender": {"id": self.oa_id}, "recipient": {"id": user_id},
                "user_id_by_app": "552177279717587730", "event_name": "user_received_message",
                "message": {"msg_id": msg_id},
                "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms)}

    def zns_received(self, phone: str, msg_id: str, tracking_id: str, *, delivery_ms: int,
                     timestamp_ms: int | None = None) -> dict[str, Any]:
        """ZNS's ``user_received_message``: the recipient is the phone number, the time is ``delivery_time``."""
        return {"sender": {"id": self.oa_id}, "recipient": {"id": phone}, "event_name": "user_received_message",
                "message": {"delivery_time": str(delivery_ms), "msg_id": msg_id, "tracking_id": tracking_id},
                "app_id": self.app_id, "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms)}

    def submit_info(self, user_id: str, info: Mapping[str, Any], *, timestamp_ms: int | None = None,
                    ) -> dict[str, Any]:
        """A ``user_submit_info`` event: the user answered the OA's request for their details."""
        return {"sender": {"id": user_id}, "recipient": {"id": self.oa_id}, "event_name": "user_submit_info",
                "app_id": self.app_id, "timestamp": str(self.clock() if timestamp_ms is None else timestamp_ms),
                "user_id_by_app": "552177279717587730", "info": dict(info)}

    # The API -------------------------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        self.calls.append((request.url.path, dict(request.headers)))

    def _token_error(self, request: Request, *, zns: bool) -> JSONResponse | None:
        token = request.headers.get("access_token")
        if token in self.access_tokens:
            return None
        if zns:
            return _error(-124, "Access token is invalid")
        if token in self.expired_tokens:
            return _error(-220, "access_token is expired or removed")
        return _error(-216, "Access token is invalid")

    async def _cs(self, request: Request) -> JSONResponse:
        self._record(request)
        if (refused := self._token_error(request, zns=False)) is not None:
            return refused
        if self.rate_limited:
            return _error(-32, "Your OA reached limit call api")
        body = await _json_body(request)
        if body is None:
            return _error(-201, "body is invalid!")
        user_id = (body.get("recipient") or {}).get("user_id")
        message = body.get("message")
        if not isinstance(user_id, str) or not user_id.isdigit():
            return _error(-201, "user_id is invalid!")
        if not isinstance(message, dict):
            return _error(-201, "message is invalid!")
        last = self.interactions.get(user_id)
        if last is None or self.clock() - last > CS_WINDOW_MS:
            return _error(-230, "User has not interacted with the OA in the past 7 days")
        if self.cs_quota_left == 0:
            return _error(-211, "Out of quota")
        text = message.get("text")
        if text is not None and (not isinstance(text, str) or not text or len(text) > MAX_TEXT):
            return _error(-201, "text is invalid!")
        attachment = message.get("attachment")
        if attachment is not None and (refused := self._check_attachment(attachment)) is not None:
            return refused
        if text is None and attachment is None:
            return _error(-201, "message is invalid!")
        message_id = new_message_id()
        self.sent.append({"endpoint": "cs", "message_id": message_id, "user_id": user_id, "message": message})
        if self.cs_quota_left is not None:
            self.cs_quota_left -= 1
        return JSONResponse({"data": {"message_id": message_id, "user_id": user_id}, "error": 0,
                             "message": "Success"})

    def _check_attachment(self, attachment: Any) -> JSONResponse | None:
        if not isinstance(attachment, dict):
            return _error(-201, "attachment is invalid!")
        payload = attachment.get("payload") or {}
        if attachment.get("type") == "file":
            return None if payload.get("token") in self.uploads else _error(-201, "token is invalid!")
        if attachment.get("type") == "template" and payload.get("template_type") == "media":
            elements = payload.get("elements") or []
            if len(elements) != 1:
                return _error(-201, "elements is invalid!")
            element = elements[0]
            if element.get("media_type") not in ("image", "gif"):
                return _error(-201, "media_type is invalid!")
            if bool(element.get("url")) == bool(element.get("attachment_id")):
                return _error(-201, "url is invalid!")
            return None
        return _error(-233, "message type is invalid or not support")

    async def _uid_template(self, request: Request) -> JSONResponse:
        self._record(request)
        if (refused := self._token_error(request, zns=False)) is not None:
            return refused
        body = await _json_body(request) or {}
        user_id = body.get("user_id")
        template = self.templates.get(str(body.get("template_id")))
        if not isinstance(user_id, str) or not user_id.isdigit():
            return _error(-201, "user_id is invalid!")
        if template is None:
            return _error(-201, "template_id is invalid!")
        message_id = new_message_id()
        self.sent.append({"endpoint": "template", "message_id": message_id, **body})
        return JSONResponse({"error": 0, "message": "Success", "data": {
            "message_id": message_id, "user_id": user_id, "sent_time": str(self.clock()),
            "quota": {"quota_type": "purchase_quota", "remain": 4821}}})

    async def _upload_file(self, request: Request) -> JSONResponse:
        self._record(request)
        if (refused := self._token_error(request, zns=False)) is not None:
            return refused
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _error(-201, "file is invalid!")
        content = await upload.read()
        if (upload.filename or "").rsplit(".", 1)[-1].lower() not in FILE_TYPES:
            return _error(-201, "file is invalid!")
        if len(content) > MAX_FILE_BYTES:
            return _error(-210, "Parameter exceeds allowable limit")
        token = secrets.token_urlsafe(24)
        self.uploads[token] = content
        return JSONResponse({"data": {"token": token}, "error": 0, "message": "Success"})

    async def _oauth(self, request: Request) -> JSONResponse:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        self.token_requests.append({**fields, "secret_key": request.headers.get("secret_key", "")})
        if fields.get("app_id") != self.app_id:
            return _oauth_error(-14002, "Invalid appId", "App id is invalid")
        if request.headers.get("secret_key") != self.app_secret:
            return _oauth_error(-14014, "Invalid parameter", "Secret key is invalid")
        if fields.get("grant_type") != "refresh_token":
            return _oauth_error(-14014, "Invalid parameter", "grant_type is invalid")
        refresh = fields.get("refresh_token", "")
        if refresh not in self.refresh_tokens:
            return _oauth_error(-14014, "Invalid refresh token", "Refresh token is invalid or expired")
        self.refresh_tokens.discard(refresh)  # single use
        self.access_token = "access-" + secrets.token_urlsafe(16)
        self.refresh_token = "refresh-" + secrets.token_urlsafe(16)
        self.access_tokens.add(self.access_token)
        self.refresh_tokens.add(self.refresh_token)
        return JSONResponse({"access_token": self.access_token, "refresh_token": self.refresh_token,
                             "expires_in": "90000"})

    async def _zns(self, request: Request) -> JSONResponse:
        self._record(request)
        if (refused := self._token_error(request, zns=True)) is not None:
            return refused
        body = await _json_body(request)
        if body is None:
            return _error(-122, "Body request is not valid JSON")
        phone, template_id = body.get("phone"), body.get("template_id")
        data, tracking = body.get("template_data"), body.get("tracking_id")
        if not isinstance(phone, str) or not ZNS_PHONE.fullmatch(phone):
            return _error(-108, "Phone number is invalid")
        template = self.templates.get(str(template_id))
        if template is None:
            return _error(-109, "Template ID is invalid")
        if template.status != "ENABLE":
            return _error(-131, "ZNS template is not approved")
        if not isinstance(data, dict) or not data:
            return _error(-111, "Template data is empty")
        if any(name not in data for name in template.params):
            return _error(-1122, "Missing template parameter")
        if not isinstance(tracking, str) or not 0 < len(tracking) <= 48:
            return _error(-132, "tracking_id is invalid")
        if phone.lstrip("+") not in self.phones_on_zalo:
            return _error(-118, "Zalo account does not exist or is deactivated")
        if self.zns_sent_today >= self.zns_daily_quota:
            return _error(-144, "OA exceeded daily ZNS sending limit")
        self.zns_sent_today += 1
        msg_id = new_message_id()
        self.sent.append({"endpoint": "zns", "msg_id": msg_id, **body})
        return JSONResponse({"error": 0, "message": "Success", "data": {
            "msg_id": msg_id, "sent_time": str(self.clock()), "sending_mode": "1",
            "quota": {"dailyQuota": str(self.zns_daily_quota),
                      "remainingQuota": str(self.zns_daily_quota - self.zns_sent_today)}}})
