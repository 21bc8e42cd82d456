"""SMS through a Vietnamese brand-name gateway's HTTP API (eSMS.vn, SpeedSMS, or any configured field by field)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from xuyen.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelError,
    Inbound,
    OutboundMessage,
    ReplyRule,
    SendFailed,
    SendResult,
    WebhookRequest,
)
from xuyen.channels.sms import webhooks
from xuyen.channels.sms.config import SECRET_FIELDS, SETTINGS_FIELDS, GatewayConfig, read_config
from xuyen.channels.sms.encoding import GSM7_PART, SegmentInfo, segments
from xuyen.channels.sms.phones import PhoneInvalid, for_gateway, to_e164

DEFAULT_MAX_SEGMENTS = 5


class SmsAdapter(ChannelAdapter):
    """SMS sent through a brand-name gateway's HTTP API; replies and delivery reports come in by signed webhook."""

    kind = "sms"
    label = "SMS"
    # The longest text at the default 5 segments in GSM-7; Vietnamese with diacritics (UCS-2) fits 335. The inbox's
    # live counter asks ``segment_info`` for the exact figure of each text.
    capabilities: ClassVar[Capabilities] = Capabilities(text=True, attachments=False, templates=False,
                                                        max_text_length=GSM7_PART * DEFAULT_MAX_SEGMENTS,
                                                        address_types=("phone",))
    settings_fields: ClassVar[Mapping[str, str]] = SETTINGS_FIELDS
    secret_fields: ClassVar[Mapping[str, str]] = SECRET_FIELDS

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """Everything but the brand name: presets and defaults fill the rest, and ``__init__`` checks the keys."""
        return frozenset(SETTINGS_FIELDS) - {"brand_name"} | frozenset(SECRET_FIELDS)

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        super().__init__(settings=settings, secrets=secrets, http=http)
        self.config: GatewayConfig = read_config(self.settings, self.label)
        needed: tuple[str, ...] = () if self.config.auth_style == "basic" else ("api_key",)
        if self.config.auth_style == "body" and self.config.field_api_secret:
            needed = ("api_key", "api_secret")
        if self.config.auth_style == "basic":  # a user and password, or an access token as user ("x" as password)
            needed = ("username", "password") if self.secrets.get("username") or not self.secrets.get("api_key") \
                else ()
        missing = [name for name in needed if not self.secrets.get(name)]
        if missing:
            raise ChannelError(f"An SMS channel with auth_style {self.config.auth_style} needs {', '.join(missing)}; "
                               "copy them from the gateway's console into the channel's secrets.")

    # Sending ----------------------------------------------------------------------------------------------

    def segment_info(self, text: str) -> SegmentInfo:
        """How ``text`` would go out on this channel: encoding, segments, units left (the inbox's live counter)."""
        return segments(text, unicode_allowed=self.config.unicode_allowed)

    def send(self, message: OutboundMessage) -> SendResult:
        """Send one SMS; refused before any request when it is too long, empty, or not to a phone number."""
        config = self.config
        if message.attachments or message.template is not None:
            raise SendFailed("SMS carries text only; send the text alone, or use a channel that takes files or "
                             "templates.", code="unsupported")
        if message.to.type != "phone":
            raise SendFailed(f"SMS goes to phone numbers, not to a {message.to.type}; pick the customer's phone.",
                             code="unsupported_address")
        if not message.text.strip():
            raise SendFailed("The message is empty; write something to send.", code="empty")
        try:
            number = for_gateway(to_e164(message.to.value, region=config.default_region), config.phone_format)
        except PhoneInvalid as exc:
            raise SendFailed(f"{exc} Correct the customer's phone number.", code="invalid_number") from exc
        info = self.segment_info(message.text)
        if info.unsupported:
            shown = " ".join(info.unsupported[:10])
            raise SendFailed(f"This gateway route takes no Unicode, and the text has characters it cannot send: "
                             f"{shown}. Remove them (emoji, symbols, other scripts) and send again.",
                             code="unsupported_characters")
        if info.segments > config.max_segments:
            unit = "septets" if info.encoding == "gsm7" else "UCS-2 characters"
            hint = (" Vietnamese with diacritics is sent as UCS-2, 67 characters a segment; shorten the text."
                    if info.encoding == "ucs2" else " Shorten the text.")
            raise SendFailed(f"The text takes {info.segments} SMS segments ({info.units} {unit}), more than this "
                             f"channel's limit of {config.max_segments}.{hint}", code="too_long")
        response = self._post(self._body(number, info, message.idempotency_key))
        return self._result(response, info, number, message.idempotency_key)

    def _body(self, number: str, info: SegmentInfo, request_id: str) -> dict[str, Any]:
        """The request's fields, named as the gateway names them."""
        config = self.config
        body: dict[str, Any] = dict(config.extra_fields)
        body[config.field_to] = [number] if config.to_as_list else number
        body[config.field_text] = info.text
        if config.field_brand_name:
            body[config.field_brand_name] = config.brand_name
        if config.field_request_id:
            body[config.field_request_id] = request_id
        if config.field_unicode:
            body[config.field_unicode] = "1" if info.encoding == "ucs2" else "0"
        if config.auth_style == "body":
            body[config.field_api_key] = self.secrets["api_key"]
            if config.field_api_secret:
                body[config.field_api_secret] = self.secrets["api_secret"]
        return body

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST the body with the gateway's authentication; network failures become retryable SendFailed."""
        config = self.config
        headers: dict[str, str] = {"Accept": "application/json"}
        params: dict[str, str] = {}
        extra: dict[str, Any] = {}
        if config.auth_style == "header":
            key = self.secrets["api_key"]
            headers[config.auth_header] = f"{config.auth_scheme} {key}" if config.auth_scheme else key
        elif config.auth_style == "query":
            params[config.auth_query_param] = self.secrets["api_key"]
        elif config.auth_style == "basic":
            user = self.secrets.get("username") or self.secrets["api_key"]
            extra["auth"] = httpx.BasicAuth(user, self.secrets.get("password") or "x")
        if config.method_format == "json":
            extra["json"] = body
        else:
            extra["data"] = {name: [str(v) for v in value] if isinstance(value, list) else str(value)
                             for name, value in body.items()}
        try:
            return self.http.post(config.send_url, headers=headers, params=params, **extra)
        except httpx.TimeoutException as exc:
            raise SendFailed("The SMS gateway did not answer in time; the message will be tried again (the gateway "
                             "drops the repeat when it has the request id).", code="timeout", retryable=True) from exc
        except httpx.TransportError as exc:
            raise SendFailed(f"The SMS gateway could not be reached ({type(exc).__name__}); the message will be tried "
                             "again.", code="unreachable", retryable=True) from exc

    def _result(self, response: httpx.Response, info: SegmentInfo, number: str, request_id: str) -> SendResult:
        """The gateway's answer as a SendResult, or the SendFailed it means."""
        config = self.config
        status = response.status_code
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        code = _path_text(data, config.error_code_path)
        said = _path_text(data, config.error_message_path) or _short(response.text)
        if status in (401, 403):
            raise SendFailed(f"The SMS gateway refused the API key (HTTP {status}{_detail(code, said)}); copy a "
                             "current key from the gateway's console into the channel's secrets.", code="unauthorized",
                             credentials_revoked=True, provider_code=code or str(status))
        if status == 429:
            wait = response.headers.get("retry-after") or response.headers.get("x-rate-limit-reset")
            after = f" for {wait} s" if wait else ""
            raise SendFailed(f"The SMS gateway is rate limiting this account{after}; the message will be tried again.",
                             code="rate_limited", retryable=True, provider_code=code or "429")
        if status >= 500:
            raise SendFailed(f"The SMS gateway is failing (HTTP {status}); the message will be tried again.",
                             code="gateway_error", retryable=True, provider_code=code or str(status))
        if 300 <= status < 400 or status < 200:
            where = response.headers.get("location")
            raise SendFailed(f"The SMS gateway answered HTTP {status}{f' (to {where})' if where else ''} instead of "
                             "taking the message; check send_url in the channel's settings.", code="bad_url",
                             provider_code=str(status))
        if status >= 400:
            return self._refused(code, said, number, info, request_id, data, http_status=status)
        if not isinstance(data, dict):
            if config.success_path:
                raise SendFailed(f"The SMS gateway answered something that is not its JSON ({_short(response.text)!r});"
                                 " the message may or may not have gone out: check the gateway's console before "
                                 "sending it again.", code="unknown_answer", provider_code=str(status))
            return SendResult(provider_message_id=request_id, parts=info.segments)
        if config.success_path:
            verdict = _path_text(data, config.success_path)
            if verdict not in config.success_values:
                return self._refused(code or verdict, said, number, info, request_id, data, http_status=status)
        return SendResult(provider_message_id=_path_text(data, config.message_id_path) or request_id,
                          parts=info.segments)

    def _refused(self, code: str, said: str, number: str, info: SegmentInfo, request_id: str, data: Any, *,
                 http_status: int) -> SendResult:
        """Map a gateway's refusal to SendFailed; a duplicate request id means the first send went through."""
        config = self.config
        detail = _detail(code, said)
        if code in config.duplicate_codes:
            return SendResult(provider_message_id=_path_text(data, config.message_id_path) or request_id,
                              parts=info.segments)
        if code in config.auth_error_codes:
            raise SendFailed(f"The SMS gateway refused the account's keys{detail}; copy current keys from the "
                             "gateway's console into the channel's secrets.", code="unauthorized",
                             credentials_revoked=True, provider_code=code)
        if code in config.retry_error_codes:
            raise SendFailed(f"The SMS gateway could not take the message now{detail}; it will be tried again.",
                             code="gateway_error", retryable=True, provider_code=code)
        if code in config.invalid_number_codes:
            raise SendFailed(f"The SMS gateway refused the number {number}{detail}; check the customer's phone "
                             "number.", code="invalid_number", provider_code=code)
        if code in config.brand_error_codes:
            raise SendFailed(f"The SMS gateway does not know the brand name {config.brand_name!r}{detail}; register "
                             "it with the gateway, or correct brand_name in the channel's settings.",
                             code="brand_not_registered", provider_code=code)
        if code in config.template_error_codes:
            raise SendFailed(f"The text matches no template registered for the brand name{detail}; customer-care "
                             "brand-name SMS must follow a registered template: register it with the gateway or "
                             "reword the text.", code="template_mismatch", provider_code=code)
        raise SendFailed(f"The SMS gateway refused the message (HTTP {http_status}{detail}).", code="rejected",
                         provider_code=code or str(http_status))

    # Webhooks ---------------------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check the HMAC-SHA256 signature and the 5-minute replay window."""
        webhooks.verify(self.config, self.secrets.get("webhook_secret"), request)

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """Customers' replies (and their opt-outs) and delivery reports."""
        return webhooks.parse(self.config, request)

    def reply_rule(self, *, last_inbound_at: datetime | None, now: datetime) -> ReplyRule:
        """SMS has no reply window: any text may go out at any time, each segment charged."""
        return ReplyRule(free_text=True, reason="SMS has no reply window; each message is charged per segment.")


def _path_text(data: Any, path: str) -> str:
    """The value at a dotted path of a JSON answer (``data.tranId``, ``items.0.id``) as text, ``""`` when absent."""
    if not path:
        return ""
    value: Any = data
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return ""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _detail(code: str, said: str) -> str:
    """``: message (code X)`` for an error sentence."""
    text = f": {said}" if said else ""
    return f"{text} (code {code})" if code else text


def _short(text: str, limit: int = 200) -> str:
    """The start of a body, for an error message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
