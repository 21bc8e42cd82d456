"""What Facebook Messenger and the WhatsApp Cloud API share: Meta's webhook subscription handshake, the
``X-Hub-Signature-256`` check over the raw body, reading a webhook's JSON, and the Graph API's error answers.

Meta signs every webhook with the app secret: ``X-Hub-Signature-256: sha256=<hex>`` is the HMAC-SHA256 of the
exact bytes sent (Meta escapes non-ASCII characters and slashes, so JSON parsed and dumped again no longer
matches). The subscription check is a GET with ``hub.mode=subscribe``, ``hub.verify_token`` and
``hub.challenge``; the challenge is echoed back only when the token is the one the channel was given.

A refused Graph API call answers ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``;
:func:`send_failed` turns it into a :class:`SendFailed` whose flags tell the inbox what to do next.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from xuyen.channels.base import (
    ChannelAdapter,
    FetchFailed,
    PayloadInvalid,
    SendFailed,
    SendResult,
    SignatureInvalid,
    WebhookAnswer,
    WebhookRequest,
)

DEFAULT_GRAPH_API_BASE = "https://graph.facebook.com"
DEFAULT_GRAPH_API_VERSION = "v21.0"
SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="

REPLY_WINDOW = timedelta(hours=24)

# Graph API error codes, as Meta documents them for the Send API and the WhatsApp Cloud API.
TOKEN_CODES = frozenset({190, 102})
# Subcodes of OAuthException that mean the token itself is dead (expired, password changed, app removed, …).
TOKEN_SUBCODES = frozenset({458, 459, 460, 463, 464, 467, 492})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131048, 131056})
TEMPORARY_CODES = frozenset({1, 2, 1200, 131000, 131016, 133004})
OUTSIDE_WINDOW_CODES = frozenset({10, 131047})
OUTSIDE_WINDOW_SUBCODES = frozenset({2018278})
UNAVAILABLE_CODES = frozenset({551})
UNDELIVERABLE_CODES = frozenset({131026})
# "Permission denied" codes: 10 and the #200-#299 range (a permission the token was not granted, such as
# leads_retrieval).
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# Code 100 with subcode 33: the object does not exist, or the token may not see it.
UNKNOWN_OBJECT_SUBCODES = frozenset({33})

_VERSION = re.compile(r"^v?(\d+\.\d+)$")

#: The settings every Meta channel has beside its own id (both optional: see ``MetaAdapter.optional_fields``).
GRAPH_API_SETTINGS: Mapping[str, str] = {
    "graph_api_base": "The Graph API's address; leave empty for https://graph.facebook.com.",
    "graph_api_version": "The Graph API version to call, such as v21.0; leave empty for v21.0.",
}
#: The secrets every Meta channel has beside its access token: the app's secret and the webhook's verify token.
META_SECRET_FIELDS: Mapping[str, str] = {
    "app_secret": "The Meta app's secret (App settings > Basic > App secret).",
    "verify_token": "Any phrase you choose; type the same one as the webhook's verify token in the Meta app.",
}


# Webhooks -----------------------------------------------------------------------------------------------


def handshake(request: WebhookRequest, verify_token: str) -> WebhookAnswer | None:
    """Answer Meta's subscription check: the challenge when the token matches, 403 when it does not."""
    if request.method.upper() != "GET" or "hub.mode" not in request.query:
        return None
    given = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if request.query.get("hub.mode") != "subscribe" or not challenge or not verify_token:
        return WebhookAnswer(403, b"Not a subscription request this channel accepts.")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return WebhookAnswer(403, b"The verify token does not match the channel's.")
    return WebhookAnswer(200, challenge.encode())


def signature(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(request: WebhookRequest, app_secret: str, label: str) -> None:
    """Raise ``SignatureInvalid`` unless the request carries Meta's HMAC-SHA256 of its raw body."""
    header = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not header:
        raise SignatureInvalid(f"The {label} webhook has no X-Hub-Signature-256 header, so it did not come from "
                               "Meta; it was refused.")
    if not header.lower().startswith(SIGNATURE_PREFIX):
        raise SignatureInvalid(f"The {label} webhook's X-Hub-Signature-256 is not a sha256 signature; it was "
                               "refused.")
    expected = signature(request.body, app_secret)
    given = SIGNATURE_PREFIX + header[len(SIGNATURE_PREFIX):].lower()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureInvalid(f"The {label} webhook's signature does not match: check that the channel's app "
                               "secret is the one shown under App settings > Basic in the Meta app.")


def load_payload(request: WebhookRequest, expected_object: str, label: str) -> dict[str, Any]:
    """The webhook's JSON object, checked to be of ``expected_object``; ``PayloadInvalid`` otherwise."""
    try:
        payload = json.loads(request.body)
    except (ValueError, RecursionError) as exc:
        raise PayloadInvalid(f"The {label} webhook's body is not JSON ({type(exc).__name__}).") from None
    if not isinstance(payload, dict):
        raise PayloadInvalid(f"The {label} webhook's body is not a JSON object.")
    kind = payload.get("object")
    if kind != expected_object:
        raise PayloadInvalid(f"The {label} webhook is about {str(kind)[:40]!r}, not {expected_object!r}: the Meta "
                             "app's webhook for that product points at this channel by mistake.")
    if not isinstance(payload.get("entry"), list):
        raise PayloadInvalid(f"The {label} webhook has no list of entries.")
    return payload


# Reading odd shapes without surprises --------------------------------------------------------------------


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in ``value`` when it is a list; anything else in it is left out."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text_of(value: Any) -> str | None:
    """``value`` as a non-empty string (numbers are written out), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return None


def number(value: Any) -> float | None:
    """``value`` as a finite number (numeric strings too), else None."""
    if isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if result == result and abs(result) != float("inf") else None


def moment(value: Any, *, milliseconds: bool, default: datetime) -> datetime:
    """A provider timestamp (seconds or milliseconds since the epoch) as an aware UTC datetime."""
    seconds = number(value)
    if seconds is None:
        return default
    if milliseconds:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return default


# Sending ------------------------------------------------------------------------------------------------


def graph_base(settings: Mapping[str, str]) -> str:
    """The Graph API's base URL with its version, from the channel's settings."""
    base = (settings.get("graph_api_base") or DEFAULT_GRAPH_API_BASE).rstrip("/")
    version = (settings.get("graph_api_version") or DEFAULT_GRAPH_API_VERSION).strip()
    found = _VERSION.match(version)
    return f"{base}/v{found.group(1)}" if found else f"{base}/{DEFAULT_GRAPH_API_VERSION}"


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """The ``appsecret_proof`` Graph API calls carry: HMAC-SHA256 of the token keyed with the app secret."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def split_text(text: str, limit: int) -> list[str]:
    """``text`` cut into parts of at most ``limit`` characters, at a paragraph, line or word end when one is near."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            found = window.rfind(separator)
            if found >= limit // 2:
                cut = found + len(separator)
                break
        if cut <= 0:
            cut = limit
        part = rest[:cut].rstrip()
        parts.append(part or rest[:cut])
        rest = rest[cut:].lstrip("\n ") if part else rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


def post_graph(http: httpx.Client, url: str, body: Mapping[str, Any], *, access_token: str, app_secret: str,
               label: str) -> dict[str, Any]:
    """POST ``body`` to a Graph API edge; the JSON answer, or ``SendFailed`` saying what to do next."""
    try:
        response = http.post(url, json=body, params={"appsecret_proof": appsecret_proof(access_token, app_secret)},
                             headers={"Authorization": f"Bearer {access_token}"})
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise SendFailed(f"The {label} channel's graph_api_base ({url.split('/v')[0]!r}) is not a web address; "
                         "leave it empty to use https://graph.facebook.com.", code="misconfigured") from None
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise SendFailed(f"Could not reach Meta's Graph API ({type(exc).__name__}); the {label} message will be "
                         "sent again later.", code="network", retryable=True) from None
    except httpx.HTTPError as exc:
        raise SendFailed(f"Meta's Graph API did not answer ({type(exc).__name__}), so it is not known whether the "
                         f"{label} message went out. Check the conversation in Meta's own inbox before sending it "
                         "again.", code="outcome_unknown") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success and isinstance(answer, dict) and "error" not in answer:
        return answer
    if response.is_success and not isinstance(answer, dict):
        raise SendFailed(f"Meta's Graph API answered the {label} message with something that is not JSON, so it is "
                         "not known whether it went out. Check the conversation in Meta's own inbox before sending "
                         "it again.", code="outcome_unknown")
    error = as_dict(answer.get("error")) if isinstance(answer, dict) else {}
    raise send_failed(error, status=response.status_code, label=label)


def send_failed(error: Mapping[str, Any], *, status: int, label: str) -> SendFailed:
    """A Graph API error object (``{"message", "type", "code", "error_subcode", …}``) as a ``SendFailed``."""
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    said = text_of(error.get("message")) or f"HTTP {status}"
    details = text_of(as_dict(error.get("error_data")).get("details"))
    if details and details not in said:
        said = f"{said} {details}"
    said = said[:300]
    provider_code = None if code is None else (str(code) if subcode is None else f"{code}/{subcode}")
    if code in TOKEN_CODES or (error.get("type") == "OAuthException" and subcode in TOKEN_SUBCODES):
        return SendFailed(f"Meta no longer accepts this {label} channel's access token ({said}). Create a new "
                          "token in the Meta app and paste it into the channel's settings, then send again.",
                          code="credentials_revoked", credentials_revoked=True, provider_code=provider_code)
    if code in RATE_LIMIT_CODES:
        return SendFailed(f"Meta is limiting how fast this {label} channel may send ({said}); the message will be "
                          "sent again shortly.", code="rate_limited", retryable=True, provider_code=provider_code)
    if code in OUTSIDE_WINDOW_CODES or subcode in OUTSIDE_WINDOW_SUBCODES:
        return SendFailed(f"{label} refused the message because the customer's reply window has closed ({said}). "
                          "Only what the reply rule allows may be sent until the customer writes again.",
                          code="outside_window", outside_window=True, provider_code=provider_code)
    if code in UNAVAILABLE_CODES:
        return SendFailed(f"This person cannot be messaged on {label} right now ({said}): they may have blocked the "
                          "Page or closed their account. Reach them on another channel.",
                          code="recipient_unavailable", outside_window=True, provider_code=provider_code)
    if code in UNDELIVERABLE_CODES:
        return SendFailed(f"{label} cannot deliver to this number ({said}): it may not use {label}, or has not "
                          "accepted its latest terms. Check the number or reach the customer on another channel.",
                          code="undeliverable", provider_code=provider_code)
    if code in TEMPORARY_CODES or status >= 500 or (code is None and status in (408, 429)):
        return SendFailed(f"Meta could not take the {label} message just now ({said}); it will be sent again "
                          "later.", code="provider_unavailable", retryable=True, provider_code=provider_code)
    return SendFailed(f"Meta refused the {label} message: {said}. Check the message and the channel's settings "
                      "before sending again.", code="rejected", provider_code=provider_code)


def get_graph(http: httpx.Client, url: str, params: Mapping[str, str], *, access_token: str, app_secret: str,
              label: str) -> dict[str, Any]:
    """GET a Graph API node; its JSON, or ``FetchFailed`` saying whether to try again."""
    try:
        response = http.get(url, params={**params, "appsecret_proof": appsecret_proof(access_token, app_secret)},
                            headers={"Authorization": f"Bearer {access_token}"})
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise FetchFailed(f"The {label} channel's graph_api_base ({url.split('/v')[0]!r}) is not a web address; "
                          "leave it empty to use https://graph.facebook.com.", code="misconfigured") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"Could not reach Meta's Graph API ({type(exc).__name__}); it will be asked again later.",
                          code="network", retryable=True) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success and isinstance(answer, dict) and "error" not in answer:
        return answer
    if response.is_success:
        raise FetchFailed("Meta's Graph API answered with something that is not a JSON object; it will be asked "
                          "again later.", code="provider_unavailable", retryable=True)
    error = as_dict(answer.get("error")) if isinstance(answer, dict) else {}
    raise fetch_failed(error, status=response.status_code, label=label)


def fetch_failed(error: Mapping[str, Any], *, status: int, label: str) -> FetchFailed:
    """A Graph API error object answering a read as a ``FetchFailed``."""
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    said = (text_of(error.get("message")) or f"HTTP {status}")[:300]
    provider_code = None if code is None else (str(code) if subcode is None else f"{code}/{subcode}")
    if code in TOKEN_CODES or (error.get("type") == "OAuthException" and subcode in TOKEN_SUBCODES):
        return FetchFailed(f"Meta no longer accepts this {label} channel's access token ({said}). Create a new "
                           "token in the Meta app and paste it into the channel's settings.",
                           code="credentials_revoked", credentials_revoked=True, provider_code=provider_code)
    if code in PERMISSION_CODES:
        return FetchFailed(f"The {label} channel's access token lacks a permission Meta asks for ({said}). Give the "
                           "app the leads_retrieval permission on the Page, make a new Page access token and paste "
                           "it into the channel's settings.", code="permission_missing", credentials_revoked=True,
                           provider_code=provider_code)
    if code in RATE_LIMIT_CODES:
        return FetchFailed(f"Meta is limiting how often this {label} channel may ask ({said}); it will ask again "
                           "later.", code="rate_limited", retryable=True, provider_code=provider_code)
    if code in TEMPORARY_CODES or status >= 500 or (code is None and status in (408, 429)):
        return FetchFailed(f"Meta could not answer just now ({said}); it will be asked again later.",
                           code="provider_unavailable", retryable=True, provider_code=provider_code)
    if code == 100 and subcode in UNKNOWN_OBJECT_SUBCODES:
        return FetchFailed(f"Meta does not know this object, or the {label} channel's token may not see it "
                           f"({said}).", code="not_found", provider_code=provider_code)
    return FetchFailed(f"Meta refused the request: {said}.", code="rejected", provider_code=provider_code)


def _int(value: Any) -> int | None:
    found = number(value)
    return int(found) if found is not None and found.is_integer() else None


# The shared adapter -------------------------------------------------------------------------------------


class MetaAdapter(ChannelAdapter):
    """What every Meta channel does alike: the handshake, the signature, settings with Graph API defaults."""

    webhook_object: ClassVar[str]
    credential_field: ClassVar[str]

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """The Graph API's address and version default to Meta's own."""
        return frozenset({"graph_api_base", "graph_api_version"})

    def value(self, name: str) -> str:
        """A setting or secret by name (secrets first), empty when unset."""
        return (self.secrets.get(name) or self.settings.get(name) or "").strip()

    @property
    def graph_url(self) -> str:
        """The Graph API's base URL with the configured version."""
        return graph_base(self.settings)

    def handshake(self, request: WebhookRequest) -> WebhookAnswer | None:
        """Answer Meta's ``hub.challenge`` when the verify token matches."""
        return handshake(request, self.value("verify_token"))

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Hub-Signature-256`` against the app secret, over the raw bytes."""
        verify_signature(request, self.value("app_secret"), self.label)

    def load(self, request: WebhookRequest) -> dict[str, Any]:
        """The webhook's JSON, checked to be about this product."""
        return load_payload(request, self.webhook_object, self.label)

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path`` under the versioned Graph API with this channel's token."""
        return post_graph(self.http, f"{self.graph_url}/{path}", body, access_token=self.value(self.credential_field),
                          app_secret=self.value("app_secret"), label=self.label)

    def get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """GET ``path`` under the versioned Graph API with this channel's token."""
        return get_graph(self.http, f"{self.graph_url}/{path}", params, access_token=self.value(self.credential_field),
                         app_secret=self.value("app_secret"), label=self.label)

    def send_parts(self, path: str, bodies: list[dict[str, Any]], *, message_id: Callable[[dict[str, Any]], Any],
                   where: str) -> SendResult:
        """POST each part of one reply in turn; the first part's id names the reply. A part refused after others
        went out fails the reply as ``partially_sent`` (never retried: what went out must not go out twice);
        an answer without an id fails it as ``outcome_unknown``. ``where`` says where staff can check."""
        first: str | None = None
        for sent, body in enumerate(bodies):
            try:
                answer = self.post(path, body)
            except SendFailed as exc:
                if first is None:
                    raise
                raise SendFailed(f"Only {sent} of the {len(bodies)} {self.label} messages this reply was split "
                                 f"into went out; the rest was not sent. {exc.message} Send the missing part "
                                 "again by hand if it is still needed.", code="partially_sent",
                                 credentials_revoked=exc.credentials_revoked, outside_window=exc.outside_window,
                                 provider_code=exc.provider_code) from None
            provider_id = text_of(message_id(answer))
            if provider_id is None:
                raise SendFailed(f"Meta accepted the {self.label} message but gave no message id, so its delivery "
                                 f"cannot be followed. {where}", code="outcome_unknown")
            first = first or provider_id
        if first is None:
            raise SendFailed(f"The {self.label} message is empty.", code="empty_message")
        return SendResult(provider_message_id=first, parts=len(bodies))
