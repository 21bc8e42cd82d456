"""A local fake of Meta's Graph API for Messenger's Send API and the WhatsApp Cloud API, and builders of the
webhooks Meta sends, signed the way Meta signs them.

The fake serves ``POST /{version}/{page_id or me}/messages`` (Messenger), ``POST /{version}/{phone_number_id}/
messages`` (WhatsApp) and ``GET /{version}/{leadgen_id}`` (a Lead Ads lead, read with its Page's token; see
:meth:`GraphFake.add_lead`) over real HTTP. It checks the access token (``Authorization: Bearer`` or the
``access_token`` parameter) and ``appsecret_proof`` when given, the request's shape, and the reply windows
from the inbound messages a test declares with :meth:`GraphFake.customer_wrote`; it answers Meta's success
bodies and Meta's error bodies (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``),
and records every request it received.

WhatsApp, like the real Cloud API, accepts a free-form message outside the 24-hour window and reports the
failure later in a ``failed`` status (131047); set ``window_errors_in_answer`` to have it refused at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from xuyen.channels.base import WebhookRequest

MESSENGER_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
WHATSAPP_WINDOW = timedelta(hours=24)
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
# Tags Messenger still takes outside the 24-hour window, and how long after the last inbound message.
MESSAGE_TAGS: dict[str, timedelta | None] = {
    "HUMAN_AGENT": HUMAN_AGENT_WINDOW, "ACCOUNT_UPDATE": None, "CONFIRMED_EVENT_UPDATE": None,
    "POST_PURCHASE_UPDATE": None, "CUSTOMER_FEEDBACK": HUMAN_AGENT_WINDOW,
}
MESSENGER_ATTACHMENTS = {"image", "video", "audio", "file"}
WHATSAPP_MEDIA = {"image", "video", "audio", "document", "sticker"}
_VERSION = re.compile(r"^v\d+\.\d+$")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass
class Account:
    """A Facebook Page or a WhatsApp business number the fake knows, with its token and app secret."""

    id: str
    product: str
    token: str
    app_secret: str
    display_phone: str = ""


@dataclass
class Received:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass
class Sent:
    """A message the fake accepted."""

    account: str
    to: str
    message_id: str
    body: dict[str, Any]
    at: datetime


@dataclass
class Lead:
    """A lead someone left in a Page's Lead Ads form, as the Graph API keeps it."""

    id: str
    page_id: str
    created_time: datetime
    field_data: list[dict[str, Any]]
    ad: dict[str, Any]


LEAD_NODE_FIELDS = {"id", "created_time", "field_data", "ad_id", "ad_name", "adset_id", "adset_name", "campaign_id",
                    "campaign_name", "form_id", "platform", "is_organic", "custom_disclaimer_responses", "home_listing",
                    "partner_name", "post", "retailer_item_id", "vehicle"}


@dataclass
class GraphFake:
    """The fake Graph API's state; ``app`` is its ASGI application."""

    version: str = "v21.0"
    clock: Callable[[], datetime] = utcnow
    accounts: dict[str, Account] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    throttled: set[str] = field(default_factory=set)
    budgets: dict[str, int] = field(default_factory=dict)
    blocked: set[tuple[str, str]] = field(default_factory=set)
    not_on_whatsapp: set[str] = field(default_factory=set)
    bsuids: dict[str, str] = field(default_factory=dict)
    templates: dict[tuple[str, str], int] = field(default_factory=dict)
    last_inbound: dict[tuple[str, str], datetime] = field(default_factory=dict)
    window_errors_in_answer: bool = False
    require_appsecret_proof: bool = False
    requests: list[Received] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    pending_statuses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    leads: dict[str, Lead] = field(default_factory=dict)
    without_leads_permission: set[str] = field(default_factory=set)
    lead_outages: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route("/{version}/{node}/messages", self._messages, methods=["POST"]),
            Route("/{version}/{node}", self._node, methods=["GET"]),
            Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE"]),
        ])

    # What a test declares ------------------------------------------------------------------------------

    def add_page(self, page_id: str, *, token: str, app_secret: str) -> Account:
        """A Facebook Page whose Page access token is ``token``."""
        self.accounts[page_id] = Account(page_id, "messenger", token, app_secret)
        return self.accounts[page_id]

    def add_number(self, phone_number_id: str, *, token: str, app_secret: str,
                   display_phone: str = "15550001111") -> Account:
        """A WhatsApp business number whose access token is ``token``."""
        self.accounts[phone_number_id] = Account(phone_number_id, "whatsapp", token, app_secret, display_phone)
        return self.accounts[phone_number_id]

    def customer_wrote(self, account_id: str, user: str, at: datetime) -> None:
        """The customer ``user`` (PSID or wa_id) last wrote to ``account_id`` at ``at``: their window opens."""
        self.last_inbound[(account_id, user)] = at

    def approve_template(self, name: str, language: str, parameters: int = 0) -> None:
        """A WhatsApp template approved in ``language`` with ``parameters`` body variables."""
        self.templates[(name, language)] = parameters

    def add_lead(self, page_id: str, leadgen_id: str, answers: Mapping[str, str | list[str]], *,
                 created_time: datetime | None = None, form_id: str = "1250743692438731",
                 ad_id: str = "120208876543210", ad_name: str = "Quảng cáo áo dài Tết",
                 adset_id: str = "120208876500001", adset_name: str = "Nữ 25-45 TP.HCM",
                 campaign_id: str = "120208876400001", campaign_name: str = "Tết 2027 - Áo dài",
                 platform: str = "fb", is_organic: bool = False) -> Lead:
        """A lead left in a Page's form: ``answers`` by question name (a list for several values)."""
        field_data = [{"name": name, "values": value if isinstance(value, list) else [value]}
                      for name, value in answers.items()]
        ad: dict[str, Any] = {"form_id": form_id, "platform": platform, "is_organic": is_organic}
        if not is_organic:
            ad.update(ad_id=ad_id, ad_name=ad_name, adset_id=adset_id, adset_name=adset_name,
                      campaign_id=campaign_id, campaign_name=campaign_name)
        self.leads[leadgen_id] = Lead(leadgen_id, page_id, created_time or self.clock(), field_data, ad)
        return self.leads[leadgen_id]

    def revoke(self, token: str) -> None:
        """The token stops working, as when the user who made it changed their password."""
        self.revoked.add(token)

    def throttle(self, account_id: str, *, after: int = 0) -> None:
        """Every send from ``account_id`` hits the rate limit (once ``after`` more were accepted)."""
        if after:
            self.budgets[account_id] = after
        else:
            self.throttled.add(account_id)

    def _over_limit(self, account_id: str) -> bool:
        if account_id in self.throttled:
            return True
        if account_id in self.budgets:
            self.budgets[account_id] -= 1
            if self.budgets[account_id] <= 0:
                del self.budgets[account_id]
                self.throttled.add(account_id)
        return False

    def reset(self) -> None:
        """Forget everything declared and received."""
        fresh = GraphFake(version=self.version)
        for name in ("accounts", "revoked", "throttled", "budgets", "blocked", "not_on_whatsapp", "bsuids", "templates",
                     "last_inbound", "requests", "sent", "pending_statuses", "leads", "without_leads_permission"):
            setattr(self, name, getattr(fresh, name))
        self.lead_outages = 0
        self.clock = utcnow
        self.window_errors_in_answer = False
        self.require_appsecret_proof = False

    def status_webhook(self, phone_number_id: str, *, waba_id: str = "102290129340398") -> dict[str, Any]:
        """The statuses waiting for ``phone_number_id`` as one webhook payload (then forgotten)."""
        with self._lock:
            mine = [status for number, status in self.pending_statuses if number == phone_number_id]
            self.pending_statuses = [item for item in self.pending_statuses if item[0] != phone_number_id]
        account = self.accounts[phone_number_id]
        return whatsapp_webhook(waba_id, phone_number_id, account.display_phone, statuses=mine)

    # Serving ------------------------------------------------------------------------------------------

    async def _unknown(self, request: Request) -> JSONResponse:
        return graph_error(2500, f"Unknown path components: /{request.path_params['path']}", status=400)

    async def _messages(self, request: Request) -> JSONResponse:
        raw = await request.body()
        body = _decode(raw, request.headers.get("content-type", ""))
        query = dict(request.query_params)
        with self._lock:
            self.requests.append(Received(request.method, request.url.path, dict(request.headers), query, body))
        if not _VERSION.match(request.path_params["version"]):
            return graph_error(2500, f"Unknown path components: /{request.path_params['version']}")
        token = _token(request.headers.get("authorization", ""), query, body)
        if not token:
            return graph_error(104, "An access token is required to request this resource.")
        if token in self.revoked:
            return graph_error(190, "Error validating access token: The session has been invalidated because the "
                               "user changed their password or Facebook has changed the session for security "
                               "reasons.", subcode=460, status=401 if self._product(token) == "whatsapp" else 400)
        account = next((item for item in self.accounts.values() if hmac.compare_digest(item.token, token)), None)
        if account is None:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        proof = query.get("appsecret_proof") or (body.get("appsecret_proof") if isinstance(body, dict) else None)
        if proof is not None:
            expected = hmac.new(account.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(str(proof), expected):
                return graph_error(100, "Invalid appsecret_proof provided in the API argument",
                                   kind="GraphMethodException")
        elif self.require_appsecret_proof:
            return graph_error(100, "API calls from the server require an appsecret_proof argument",
                               kind="GraphMethodException")
        node = request.path_params["node"]
        if node != account.id and not (node == "me" and account.product == "messenger"):
            return graph_error(100, f"Unsupported post request. Object with ID '{node}' does not exist, cannot be "
                               "loaded due to missing permissions, or does not support this operation.",
                               subcode=33, kind="GraphMethodException")
        if not isinstance(body, dict):
            return graph_error(100, "(#100) The request body must be a JSON object or form fields.")
        if account.product == "messenger":
            return self._messenger(account, body)
        return self._whatsapp(account, body)

    async def _node(self, request: Request) -> JSONResponse:
        """``GET /{version}/{id}``: a Lead Ads lead, read with the access token of the Page it was left on."""
        query = dict(request.query_params)
        with self._lock:
            self.requests.append(Received(request.method, request.url.path, dict(request.headers), query, None))
        if not _VERSION.match(request.path_params["version"]):
            return graph_error(2500, f"Unknown path components: /{request.path_params['version']}")
        token = _token(request.headers.get("authorization", ""), query, None)
        if not token:
            return graph_error(104, "An access token is required to request this resource.")
        if token in self.revoked:
            return graph_error(190, "Error validating access token: Session has expired on Sunday, 06-Dec-26 "
                               "09:00:00 PST. The current time is Sunday, 06-Dec-26 10:12:44 PST.", subcode=463)
        account = next((item for item in self.accounts.values() if hmac.compare_digest(item.token, token)), None)
        if account is None:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        proof = query.get("appsecret_proof")
        if proof is not None:
            expected = hmac.new(account.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof, expected):
                return graph_error(100, "Invalid appsecret_proof provided in the API argument",
                                   kind="GraphMethodException")
        elif self.require_appsecret_proof:
            return graph_error(100, "API calls from the server require an appsecret_proof argument",
                               kind="GraphMethodException")
        if self.lead_outages > 0:
            self.lead_outages -= 1
            return graph_error(2, "An unexpected error has occurred. Please retry your request later.",
                               status=500)
        node = request.path_params["node"]
        lead = self.leads.get(node)
        if lead is None or lead.page_id != account.id:
            return graph_error(100, f"Unsupported get request. Object with ID '{node}' does not exist, cannot be "
                               "loaded due to missing permissions, or does not support this operation. Please read "
                               "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                               subcode=33, kind="GraphMethodException")
        if account.id in self.without_leads_permission:
            return graph_error(200, "(#200) Requires leads_retrieval permission to manage the object")
        asked = [name.strip() for name in query.get("fields", "").split(",") if name.strip()]
        unknown = [name for name in asked if name not in LEAD_NODE_FIELDS]
        if unknown:
            return graph_error(100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                               "(LeadgenLead)")
        whole: dict[str, Any] = {"id": lead.id, "created_time": lead.created_time.astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%S+0000"),
                                 "field_data": lead.field_data, **lead.ad}
        shown = {name: whole[name] for name in asked or ("created_time", "id", "field_data") if name in whole}
        shown["id"] = lead.id
        return JSONResponse(shown)

    def _product(self, token: str) -> str:
        return next((item.product for item in self.accounts.values() if item.token == token), "messenger")

    def _messenger(self, page: Account, body: dict[str, Any]) -> JSONResponse:
        recipient = _object(body.get("recipient"))
        psid = recipient.get("id") if isinstance(recipient, dict) else None
        if not isinstance(psid, str) or not psid:
            return graph_error(100, "(#100) param recipient must be non-empty.")
        messaging_type = body.get("messaging_type")
        if messaging_type not in MESSAGING_TYPES:
            return graph_error(100, "(#100) param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        tag = body.get("tag")
        if messaging_type == "MESSAGE_TAG" and tag not in MESSAGE_TAGS:
            return graph_error(100, f"(#100) Param tag must be one of {{{', '.join(MESSAGE_TAGS)}}}")
        message = _object(body.get("message"))
        if not isinstance(message, dict) or ("text" in message) == ("attachment" in message):
            return graph_error(100, "(#100) Exactly one of message[text] or message[attachment] must be set")
        if "text" in message:
            text = message["text"]
            if not isinstance(text, str) or not text:
                return graph_error(100, "(#100) param message[text] must be a non-empty UTF-8 encoded string")
            if len(text) > 2000:
                return graph_error(100, "(#100) Length of param message[text] must be less than or equal to 2000")
        else:
            attachment = message["attachment"] if isinstance(message["attachment"], dict) else {}
            payload = attachment.get("payload")
            url = payload.get("url") if isinstance(payload, dict) else None
            if attachment.get("type") not in MESSENGER_ATTACHMENTS or not isinstance(payload, dict):
                return graph_error(100, "(#100) Param message[attachment][type] must be one of {image, audio, video, "
                                   "file, template}")
            has_url = isinstance(url, str) and url.startswith(("http://", "https://"))
            if not has_url and "attachment_id" not in payload:
                return graph_error(100, "(#100) Incorrect attachment payload: a url or an attachment_id is needed",
                                   subcode=2018047)
        metadata = message.get("metadata")
        if metadata is not None and (not isinstance(metadata, str) or len(metadata) > 1000):
            return graph_error(100, "(#100) param message[metadata] must be a UTF-8 string of at most 1000 characters")
        if self._over_limit(page.id):
            return graph_error(613, "(#613) Calls to this api have exceeded the rate limit.")
        last = self.last_inbound.get((page.id, psid))
        if last is None:
            return graph_error(100, "(#100) No matching user found", subcode=2018001)
        if (page.id, psid) in self.blocked:
            return graph_error(551, "(#551) This person isn't available right now.", subcode=1545041)
        elapsed = self.clock() - last
        allowed = MESSENGER_WINDOW if messaging_type != "MESSAGE_TAG" else MESSAGE_TAGS[str(tag)]
        if allowed is not None and elapsed >= allowed:
            return graph_error(10, "(#10) This message is sent outside of allowed window. Learn more about the new "
                               "policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
                               subcode=2018278)
        mid = "m_" + urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")
        self._record(Sent(page.id, psid, mid, body, self.clock()))
        return JSONResponse({"recipient_id": psid, "message_id": mid})

    def _whatsapp(self, number: Account, body: dict[str, Any]) -> JSONResponse:
        if body.get("messaging_product") != "whatsapp":
            return graph_error(100, "(#100) The parameter messaging_product is required.")
        if body.get("recipient_type", "individual") != "individual":
            return graph_error(100, "(#100) Param recipient_type must be one of {individual, group}")
        to, bsuid = body.get("to"), body.get("recipient")
        if isinstance(to, str) and to.strip():
            wa_id = re.sub(r"[^0-9]", "", to)
            given = to
        elif isinstance(bsuid, str) and bsuid:
            wa_id = next((key for key, value in self.bsuids.items() if value == bsuid), "")
            given = bsuid
            if not wa_id:
                return graph_error(100, "(#100) Invalid parameter", error_data="The recipient user id is not valid.")
        else:
            return graph_error(100, "(#100) The parameter to is required.")
        kind = body.get("type", "text")
        problem = _whatsapp_content(kind, body, self.templates)
        if problem is not None:
            return problem
        if self._over_limit(number.id):
            return graph_error(130429, "(#130429) Rate limit hit",
                               error_data="Cloud API message throughput has been reached.")
        failure = None
        if wa_id in self.not_on_whatsapp:
            failure = (131026, "Message undeliverable", "Message Undeliverable.")
        elif kind != "template":
            last = self.last_inbound.get((number.id, wa_id))
            if last is None or self.clock() - last >= WHATSAPP_WINDOW:
                failure = (131047, "Re-engagement message", "Message failed to send because more than 24 hours have "
                           "passed since the customer last replied to this number.")
        if failure is not None and self.window_errors_in_answer:
            return graph_error(failure[0], f"(#{failure[0]}) {failure[1]}", error_data=failure[2])
        wamid = "wamid." + urlsafe_b64encode(b"HBgL" + secrets.token_bytes(30)).decode().rstrip("=")
        now = self.clock()
        self._record(Sent(number.id, wa_id, wamid, body, now))
        status = {"id": wamid, "status": "failed" if failure else "sent", "timestamp": str(int(now.timestamp())),
                  "recipient_id": wa_id}
        if failure is not None:
            status["errors"] = [{"code": failure[0], "title": failure[1], "message": failure[1],
                                 "error_data": {"details": failure[2]},
                                 "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
        with self._lock:
            self.pending_statuses.append((number.id, status))
        sent: dict[str, Any] = {"id": wamid}
        if kind == "template":
            sent["message_status"] = "accepted"
        return JSONResponse({"messaging_product": "whatsapp", "contacts": [{"input": given, "wa_id": wa_id}],
                             "messages": [sent]})

    def _record(self, sent: Sent) -> None:
        with self._lock:
            self.sent.append(sent)


def _whatsapp_content(kind: Any, body: dict[str, Any], templates: Mapping[tuple[str, str], int]) -> JSONResponse | None:
    content = body.get(kind) if isinstance(kind, str) else None
    if kind == "text":
        text = content.get("body") if isinstance(content, dict) else None
        if not isinstance(text, str) or not text.strip():
            return graph_error(100, "(#100) The parameter text['body'] is required.")
        if len(text) > 4096:
            return graph_error(100, "(#100) Param text['body'] must be at most 4096 characters long.")
        if not isinstance(content.get("preview_url", False), bool):
            return graph_error(100, "(#100) Param text['preview_url'] must be a boolean.")
        return None
    if kind == "template":
        if not isinstance(content, dict) or not isinstance(content.get("name"), str):
            return graph_error(100, "(#100) The parameter template['name'] is required.")
        language = content.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(code, str):
            return graph_error(100, "(#100) The parameter template['language']['code'] is required.")
        expected = templates.get((content["name"], code))
        if expected is None:
            return graph_error(132001, "(#132001) Template name does not exist in the translation",
                               error_data=f"template name ({content['name']}) does not exist in {code}")
        given = sum(len(component.get("parameters", [])) for component in content.get("components", [])
                    if isinstance(component, dict) and component.get("type") == "body")
        if given != expected:
            return graph_error(132000, "(#132000) Number of parameters does not match the expected number of params",
                               error_data=f"body: number of localizable_params ({given}) does not match the "
                               f"expected number of params ({expected})")
        return None
    if kind in WHATSAPP_MEDIA:
        link = content.get("link") if isinstance(content, dict) else None
        if not (isinstance(link, str) and link.startswith(("http://", "https://"))) and not (
                isinstance(content, dict) and "id" in content):
            return graph_error(100, f"(#100) Param {kind}['link'] is not a valid URI.")
        return None
    if kind == "location":
        if not isinstance(content, dict) or not all(isinstance(content.get(key), int | float)
                                                    for key in ("latitude", "longitude")):
            return graph_error(100, "(#100) The parameters location['latitude'] and ['longitude'] are required.")
        return None
    return graph_error(100, f"(#100) Param type must be one of {{text, template, image, video, audio, document, "
                       f"sticker, location, …}}; got {kind!r}")


def graph_error(code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException",
                status: int = 400, error_data: str | None = None) -> JSONResponse:
    """A Graph API error answer, shaped as Meta shapes it."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if error_data is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": error_data}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("=")
    return JSONResponse({"error": error}, status_code=status, headers={"www-authenticate": "OAuth \"Facebook "
                        f"Platform\" \"invalid_request\" \"{message[:60]}\""} if status == 401 else None)


def _decode(raw: bytes, content_type: str) -> Any:
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def _object(value: Any) -> Any:
    """Form-encoded Send API calls carry JSON in their fields."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _token(authorization: str, query: Mapping[str, str], body: Any) -> str:
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    if query.get("access_token"):
        return query["access_token"]
    if isinstance(body, dict) and isinstance(body.get("access_token"), str):
        return str(body["access_token"])
    return ""


# Webhooks as Meta sends them ------------------------------------------------------------------------------


def meta_json(payload: Any) -> bytes:
    """``payload`` serialised as Meta serialises webhooks: compact, non-ASCII and slashes escaped."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` header Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(body: bytes | Any, app_secret: str | None, *, signature: str | None = None,
            received_at: datetime | None = None) -> WebhookRequest:
    """A webhook POST as the inbox hands it to the adapter: the raw bytes, signed with ``app_secret``."""
    raw = body if isinstance(body, bytes) else meta_json(body)
    headers = {"content-type": "application/json", "user-agent": "facebookexternalua"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    elif app_secret is not None:
        headers["x-hub-signature-256"] = sign(raw, app_secret)
    return WebhookRequest(method="POST", headers=headers, query={}, body=raw, received_at=received_at or utcnow())


def subscription_check(verify_token: str, challenge: str = "1158201444", mode: str = "subscribe") -> WebhookRequest:
    """The GET Meta sends when a webhook is set up in the app dashboard."""
    return WebhookRequest(method="GET", headers={}, query={"hub.mode": mode, "hub.verify_token": verify_token,
                                                           "hub.challenge": challenge}, body=b"", received_at=utcnow())


def millis(at: datetime) -> int:
    """``at`` in milliseconds since the epoch, as Messenger writes times."""
    return int(at.timestamp() * 1000)


def messenger_webhook(page_id: str, *events: dict[str, Any], at: datetime | None = None,
                      standby: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """An ``object=page`` webhook with one entry for ``page_id`` carrying ``events``."""
    entry: dict[str, Any] = {"id": page_id, "time": millis(at or utcnow()), "messaging": list(events)}
    if standby:
        entry["standby"] = list(standby)
    return {"object": "page", "entry": [entry]}


def messenger_message(page_id: str, psid: str, mid: str, at: datetime, *, text: str | None = None,
                      attachments: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A ``messages`` event: the person ``psid`` wrote to the Page."""
    message: dict[str, Any] = {"mid": mid}
    if text is not None:
        message["text"] = text
    if attachments is not None:
        message["attachments"] = attachments
    message.update(extra)
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": millis(at), "message": message}


def messenger_echo(page_id: str, psid: str, mid: str, at: datetime, text: str, *, app_id: str = "1517776481860111",
                   metadata: str | None = None) -> dict[str, Any]:
    """A ``message_echoes`` event: the Page wrote to ``psid`` (from Meta Business Suite or an app)."""
    message: dict[str, Any] = {"is_echo": True, "app_id": int(app_id), "mid": mid, "text": text}
    if metadata is not None:
        message["metadata"] = metadata
    return {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": millis(at), "message": message}


def messenger_delivery(page_id: str, psid: str, watermark: datetime, mids: list[str] | None = None) -> dict[str, Any]:
    """A ``message_deliveries`` event: everything sent to ``psid`` before ``watermark`` was delivered."""
    delivery: dict[str, Any] = {"watermark": millis(watermark)}
    if mids is not None:
        delivery["mids"] = mids
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "delivery": delivery}


def messenger_read(page_id: str, psid: str, watermark: datetime, at: datetime) -> dict[str, Any]:
    """A ``message_reads`` event: ``psid`` read everything sent before ``watermark``."""
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": millis(at),
            "read": {"watermark": millis(watermark)}}


def messenger_postback(page_id: str, psid: str, at: datetime, title: str, payload: str,
                       mid: str | None = None) -> dict[str, Any]:
    """A ``messaging_postbacks`` event: ``psid`` tapped a button whose payload is ``payload``."""
    postback: dict[str, Any] = {"title": title, "payload": payload}
    if mid is not None:
        postback["mid"] = mid
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": millis(at), "postback": postback}


def leadgen_webhook(page_id: str, leadgen_id: str, *, form_id: str = "1250743692438731",
                    ad_id: str | None = "120208876543210", adgroup_id: str | None = "120208876543210",
                    created_time: datetime | None = None) -> dict[str, Any]:
    """An ``object=page`` webhook with one ``leadgen`` change: someone left a lead in the Page's form."""
    at = created_time or utcnow()
    value: dict[str, Any] = {"created_time": int(at.timestamp()), "page_id": page_id, "form_id": form_id,
                             "leadgen_id": leadgen_id}
    if ad_id is not None:
        value["ad_id"] = ad_id
    if adgroup_id is not None:
        value["adgroup_id"] = adgroup_id
    return {"object": "page", "entry": [{"id": page_id, "time": int(at.timestamp()),
                                         "changes": [{"field": "leadgen", "value": value}]}]}


def whatsapp_webhook(waba_id: str, phone_number_id: str, display_phone: str, *,
                     contacts: list[dict[str, Any]] | None = None, messages: list[dict[str, Any]] | None = None,
                     statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An ``object=whatsapp_business_account`` webhook with one ``messages`` change for ``phone_number_id``."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": display_phone, "phone_number_id": phone_number_id}}
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}]}


def whatsapp_contact(wa_id: str | None, name: str, *, user_id: str | None = None) -> dict[str, Any]:
    """One of a webhook's ``contacts[]``."""
    contact: dict[str, Any] = {"profile": {"name": name}}
    if wa_id is not None:
        contact["wa_id"] = wa_id
    if user_id is not None:
        contact["user_id"] = user_id
    return contact


def whatsapp_message(wa_id: str | None, wamid: str, at: datetime, kind: str, content: dict[str, Any] | None = None,
                     *, user_id: str | None = None, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """One of a webhook's ``messages[]``; its timestamp in seconds, written as a string."""
    message: dict[str, Any] = {"id": wamid, "timestamp": str(int(at.timestamp())), "type": kind}
    if wa_id is not None:
        message["from"] = wa_id
    if user_id is not None:
        message["from_user_id"] = user_id
    if context is not None:
        message["context"] = context
    if content is not None:
        message[kind] = content
    return message


def whatsapp_status(wamid: str, status: str, recipient: str, at: datetime, *,
                    errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One of a webhook's ``statuses[]``."""
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(int(at.timestamp())),
                            "recipient_id": recipient}
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if errors is not None:
        item["errors"] = errors
    return item
