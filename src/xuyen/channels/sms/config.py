"""The gateway's shape, read from the channel's settings: where and how to send, where the answer says what,
and what the webhooks look like. Presets fill in the shape of gateways whose public API is known."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Literal, cast

from xuyen.channels.base import ChannelError, DeliveryState
from xuyen.channels.sms.encoding import keyword_form
from xuyen.channels.sms.phones import PHONE_FORMATS, PhoneFormat

MethodFormat = Literal["json", "form"]
AuthStyle = Literal["header", "basic", "query", "body"]
SignaturePayload = Literal["body", "timestamp.body"]

# Settings: name -> what to type there. Every one but brand_name may be left empty: the preset or the default
# fills it. "-" says "none" where the default is not wanted (no request id field, no word before the key).
SETTINGS_FIELDS: dict[str, str] = {
    "preset": "Gateway preset: esms, speedsms, or empty for a gateway configured field by field below",
    "brand_name": "Brand name (sender id) registered with the carriers through the gateway, e.g. XUYEN",
    "send_url": "The gateway's send URL (filled by the preset)",
    "method_format": "How the request body is sent: json or form",
    "auth_style": "How the API key is sent: header, basic, query or body",
    "auth_header": "Header that carries the API key (auth_style header; default Authorization)",
    "auth_scheme": "Word before the key in that header (default Bearer; - for the bare key)",
    "auth_query_param": "Query parameter that carries the API key (auth_style query; default api_key)",
    "field_api_key": "Body field of the API key (auth_style body; default api_key)",
    "field_api_secret": "Body field of the API secret (auth_style body; - or empty when there is none)",
    "field_to": "Body field of the phone number (default to)",
    "field_text": "Body field of the text (default text)",
    "field_brand_name": "Body field of the brand name (default brand_name)",
    "field_request_id": "Body field of the request id the gateway dedupes on (default request_id; - for none)",
    "field_unicode": "Body field of the Unicode flag, 1 or 0 (default unicode; - for none)",
    "to_as_list": "true when the gateway takes a list of numbers in the phone field",
    "extra_fields": "Fixed fields added to every request, as a JSON object, e.g. {\"SmsType\": \"2\"}",
    "phone_format": "How the gateway writes numbers: e164 (+8491…), 84 (8491…) or 0 (091…)",
    "success_path": "Where the answer says success, e.g. CodeResult (empty: any HTTP 2xx is success)",
    "success_values": "Values at success_path that mean success, comma-separated, e.g. 100",
    "message_id_path": "Where the answer gives the message id, e.g. SMSID or data.tranId",
    "error_code_path": "Where the answer gives the error code (default: success_path, else code)",
    "error_message_path": "Where the answer gives the error message (default message)",
    "auth_error_codes": "Error codes that mean the API key is wrong or revoked, comma-separated",
    "retry_error_codes": "Error codes that mean try again later, comma-separated",
    "invalid_number_codes": "Error codes that mean the phone number is invalid or blocked, comma-separated",
    "brand_error_codes": "Error codes that mean the brand name is not registered, comma-separated",
    "template_error_codes": "Error codes that mean the text matches no template registered for the brand name",
    "duplicate_codes": "Error codes that mean the gateway already has this request id (sent before)",
    "unicode_allowed": "true when the route accepts Unicode (Vietnamese with diacritics); false folds the text",
    "max_segments": "Longest message, in SMS segments (default 5)",
    "default_region": "Region of numbers written without a country code (default VN)",
    "signature_header": "Webhook header with the HMAC-SHA256 signature (default X-Signature)",
    "timestamp_header": "Webhook header with the Unix time it was sent (default X-Timestamp)",
    "signature_payload": "What the webhook signature covers: body, or timestamp.body (the timestamp, a dot, the body)",
    "webhook_type_field": "Webhook field of the event type (default type)",
    "webhook_mo_values": "Type values of a customer's message, comma-separated (default mo)",
    "webhook_dlr_values": "Type values of a delivery report, comma-separated (default dlr)",
    "webhook_from_field": "Webhook field of the sender's number (default from)",
    "webhook_to_field": "Webhook field of the recipient's number (default to)",
    "webhook_text_field": "Webhook field of the text (default text)",
    "webhook_message_id_field": "Webhook field of the message id (default message_id)",
    "webhook_status_field": "Webhook field of the delivery status (default status)",
    "webhook_error_field": "Webhook field of the delivery error (default error)",
    "webhook_timestamp_field": "Webhook field of the event time (default timestamp)",
    "webhook_utc_offset": "UTC offset of webhook times written without one (default +07:00)",
    "dlr_status_map": "Delivery statuses as a JSON object of gateway value -> queued/sent/delivered/failed",
    "opt_out_keywords": "Replies that opt the customer out, comma-separated (default STOP,HUY,TU CHOI)",
}

SECRET_FIELDS: dict[str, str] = {
    "api_key": "API key (or access token) from the gateway's console",
    "api_secret": "API secret, for gateways that pair it with the key (eSMS's SecretKey)",
    "username": "User name, for gateways with HTTP Basic authentication",
    "password": "Password, for gateways with HTTP Basic authentication",
    "webhook_secret": "Secret the gateway (or its relay) signs webhooks with",
}

GENERIC: dict[str, str] = {
    "method_format": "json",
    "auth_style": "header",
    "auth_header": "Authorization",
    "auth_scheme": "Bearer",
    "auth_query_param": "api_key",
    "field_api_key": "api_key",
    "field_api_secret": "",
    "field_to": "to",
    "field_text": "text",
    "field_brand_name": "brand_name",
    "field_request_id": "request_id",
    "field_unicode": "unicode",
    "to_as_list": "false",
    "extra_fields": "",
    "phone_format": "e164",
    "success_path": "",
    "success_values": "",
    "message_id_path": "message_id",
    "error_code_path": "",
    "error_message_path": "message",
    "auth_error_codes": "",
    "retry_error_codes": "",
    "invalid_number_codes": "",
    "brand_error_codes": "",
    "template_error_codes": "",
    "duplicate_codes": "",
    "unicode_allowed": "true",
    "max_segments": "5",
    "default_region": "VN",
    "signature_header": "X-Signature",
    "timestamp_header": "X-Timestamp",
    "signature_payload": "body",
    "webhook_type_field": "type",
    "webhook_mo_values": "mo",
    "webhook_dlr_values": "dlr",
    "webhook_from_field": "from",
    "webhook_to_field": "to",
    "webhook_text_field": "text",
    "webhook_message_id_field": "message_id",
    "webhook_status_field": "status",
    "webhook_error_field": "error",
    "webhook_timestamp_field": "timestamp",
    "webhook_utc_offset": "+07:00",
    "dlr_status_map": "",
    "opt_out_keywords": "STOP,HUY,TU CHOI",
}

# From the gateways' public API documents. eSMS.vn: keys in the body, CodeResult "100" is accepted, SMSID the id,
# 101 wrong keys, 104 brand name unknown, 108 bad number format, 99 number blocked, 146 customer-care template
# mismatch, 124 duplicate RequestId. SpeedSMS: HTTP Basic with the access token as user name and "x" as password,
# a list of numbers in "to", status "success", data.tranId the id, 007/008/009 IP or account locked, 105 bad
# number, 500 internal error (try again); its rate limit answers HTTP 429.
PRESETS: dict[str, dict[str, str]] = {
    "esms": {
        "send_url": "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/",
        "method_format": "json",
        "auth_style": "body",
        "field_api_key": "ApiKey",
        "field_api_secret": "SecretKey",
        "field_to": "Phone",
        "field_text": "Content",
        "field_brand_name": "Brandname",
        "field_request_id": "RequestId",
        "field_unicode": "IsUnicode",
        "extra_fields": '{"SmsType": "2"}',
        "phone_format": "0",
        "success_path": "CodeResult",
        "success_values": "100",
        "message_id_path": "SMSID",
        "error_code_path": "CodeResult",
        "error_message_path": "ErrorMessage",
        "auth_error_codes": "101",
        "invalid_number_codes": "99,108",
        "brand_error_codes": "104",
        "template_error_codes": "146",
        "duplicate_codes": "124",
    },
    "speedsms": {
        "send_url": "https://api.speedsms.vn/index.php/sms/send",
        "method_format": "json",
        "auth_style": "basic",
        "field_to": "to",
        "field_text": "content",
        "field_brand_name": "sender",
        "field_request_id": "",
        "field_unicode": "",
        "to_as_list": "true",
        "extra_fields": '{"sms_type": 3}',
        "phone_format": "84",
        "success_path": "status",
        "success_values": "success",
        "message_id_path": "data.tranId",
        "error_code_path": "code",
        "error_message_path": "message",
        "auth_error_codes": "007,008,009",
        "retry_error_codes": "500",
        "invalid_number_codes": "105",
    },
}

DEFAULT_DLR_STATUSES: dict[str, DeliveryState] = {
    "queued": DeliveryState.QUEUED, "pending": DeliveryState.QUEUED, "accepted": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT, "submitted": DeliveryState.SENT, "enroute": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED, "delivrd": DeliveryState.DELIVERED, "success": DeliveryState.DELIVERED,
    "failed": DeliveryState.FAILED, "undelivered": DeliveryState.FAILED, "undeliv": DeliveryState.FAILED,
    "rejected": DeliveryState.FAILED, "rejectd": DeliveryState.FAILED, "expired": DeliveryState.FAILED,
    "error": DeliveryState.FAILED,
}  # fmt: skip

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
MAX_SEGMENTS_CEILING = 10


def _codes(value: str) -> frozenset[str]:
    """A comma-separated list as a set of trimmed values."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the adapter needs to know about one gateway, checked once when the channel is built."""

    send_url: str
    brand_name: str
    method_format: MethodFormat
    auth_style: AuthStyle
    auth_header: str
    auth_scheme: str
    auth_query_param: str
    field_api_key: str
    field_api_secret: str
    field_to: str
    field_text: str
    field_brand_name: str
    field_request_id: str
    field_unicode: str
    to_as_list: bool
    extra_fields: Mapping[str, Any]
    phone_format: PhoneFormat
    success_path: str
    success_values: frozenset[str]
    message_id_path: str
    error_code_path: str
    error_message_path: str
    auth_error_codes: frozenset[str]
    retry_error_codes: frozenset[str]
    invalid_number_codes: frozenset[str]
    brand_error_codes: frozenset[str]
    template_error_codes: frozenset[str]
    duplicate_codes: frozenset[str]
    unicode_allowed: bool
    max_segments: int
    default_region: str
    signature_header: str
    timestamp_header: str
    signature_payload: SignaturePayload
    webhook_type_field: str
    webhook_mo_values: frozenset[str]
    webhook_dlr_values: frozenset[str]
    webhook_from_field: str
    webhook_to_field: str
    webhook_text_field: str
    webhook_message_id_field: str
    webhook_status_field: str
    webhook_error_field: str
    webhook_timestamp_field: str
    webhook_timezone: timezone
    dlr_statuses: Mapping[str, DeliveryState]
    opt_out_keywords: tuple[str, ...]


def read_config(settings: Mapping[str, str], label: str) -> GatewayConfig:
    """The gateway's shape: the settings given, else the preset's, else the generic defaults; ChannelError
    naming the setting when a value cannot be used."""
    preset_name = (settings.get("preset") or "").strip().lower()
    if preset_name and preset_name not in PRESETS:
        raise ChannelError(f"The {label} preset {preset_name!r} is unknown; use one of {', '.join(PRESETS)}, or leave "
                           "it empty and fill in the gateway's fields.")
    merged = {**GENERIC, **PRESETS.get(preset_name, {})}
    merged.update({name: str(value).strip() for name, value in settings.items() if value is not None
                   and str(value).strip() != ""})
    # "-" means "none" (the gateway has no such field, the header no scheme): an empty value takes the default.
    for name, value in merged.items():
        if value == "-":
            merged[name] = ""

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        value = merged[name].lower()
        if value not in allowed:
            raise ChannelError(f"The {label} setting {name} is {merged[name]!r}; use one of {', '.join(allowed)}.")
        return value

    def flag(name: str) -> bool:
        value = merged[name].lower()
        if value not in _TRUE | _FALSE:
            raise ChannelError(f"The {label} setting {name} is {merged[name]!r}; use true or false.")
        return value in _TRUE

    send_url = merged.get("send_url", "")
    if not send_url.startswith(("http://", "https://")):
        raise ChannelError(f"A {label} channel needs send_url, the gateway's send address (https://…), or a preset.")
    brand_name = merged.get("brand_name", "")
    if not brand_name:
        raise ChannelError(f"A {label} channel needs brand_name, the sender name registered through the gateway.")
    try:
        max_segments = int(merged["max_segments"])
    except ValueError:
        max_segments = 0
    if not 1 <= max_segments <= MAX_SEGMENTS_CEILING:
        raise ChannelError(f"The {label} setting max_segments is {merged['max_segments']!r}; use a whole number "
                           f"from 1 to {MAX_SEGMENTS_CEILING}.")
    extra = _json_object(merged["extra_fields"], "extra_fields", label)
    status_map = dict(DEFAULT_DLR_STATUSES)
    for value, state in _json_object(merged["dlr_status_map"], "dlr_status_map", label).items():
        try:
            status_map[str(value).strip().lower()] = DeliveryState(str(state).strip().lower())
        except ValueError as exc:
            raise ChannelError(f"The {label} setting dlr_status_map maps {value!r} to {state!r}; use queued, sent, "
                               "delivered or failed.") from exc
    return GatewayConfig(
        send_url=send_url,
        brand_name=brand_name,
        method_format=cast(MethodFormat, choice("method_format", ("json", "form"))),
        auth_style=cast(AuthStyle, choice("auth_style", ("header", "basic", "query", "body"))),
        auth_header=merged["auth_header"],
        auth_scheme=merged["auth_scheme"],
        auth_query_param=merged["auth_query_param"],
        field_api_key=merged["field_api_key"],
        field_api_secret=merged["field_api_secret"],
        field_to=merged["field_to"] or "to",
        field_text=merged["field_text"] or "text",
        field_brand_name=merged["field_brand_name"],
        field_request_id=merged["field_request_id"],
        field_unicode=merged["field_unicode"],
        to_as_list=flag("to_as_list"),
        extra_fields=extra,
        phone_format=cast(PhoneFormat, choice("phone_format", PHONE_FORMATS)),
        success_path=merged["success_path"],
        success_values=_codes(merged["success_values"]),
        message_id_path=merged["message_id_path"],
        error_code_path=merged["error_code_path"] or merged["success_path"] or "code",
        error_message_path=merged["error_message_path"],
        auth_error_codes=_codes(merged["auth_error_codes"]),
        retry_error_codes=_codes(merged["retry_error_codes"]),
        invalid_number_codes=_codes(merged["invalid_number_codes"]),
        brand_error_codes=_codes(merged["brand_error_codes"]),
        template_error_codes=_codes(merged["template_error_codes"]),
        duplicate_codes=_codes(merged["duplicate_codes"]),
        unicode_allowed=flag("unicode_allowed"),
        max_segments=max_segments,
        default_region=merged["default_region"].upper(),
        signature_header=merged["signature_header"].lower(),
        timestamp_header=merged["timestamp_header"].lower(),
        signature_payload=cast(SignaturePayload, choice("signature_payload", ("body", "timestamp.body"))),
        webhook_type_field=merged["webhook_type_field"],
        webhook_mo_values=frozenset(v.lower() for v in _codes(merged["webhook_mo_values"])),
        webhook_dlr_values=frozenset(v.lower() for v in _codes(merged["webhook_dlr_values"])),
        webhook_from_field=merged["webhook_from_field"],
        webhook_to_field=merged["webhook_to_field"],
        webhook_text_field=merged["webhook_text_field"],
        webhook_message_id_field=merged["webhook_message_id_field"],
        webhook_status_field=merged["webhook_status_field"],
        webhook_error_field=merged["webhook_error_field"],
        webhook_timestamp_field=merged["webhook_timestamp_field"],
        webhook_timezone=_utc_offset(merged["webhook_utc_offset"], label),
        dlr_statuses=status_map,
        opt_out_keywords=tuple(dict.fromkeys(k for k in map(keyword_form, merged["opt_out_keywords"].split(",")) if k)),
    )


def _json_object(text: str, name: str, label: str) -> dict[str, Any]:
    """A setting holding a JSON object; empty is an empty object."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ChannelError(f"The {label} setting {name} must be a JSON object such as {{\"SmsType\": \"2\"}}.")
    return value


def _utc_offset(text: str, label: str) -> timezone:
    """``+07:00`` as a timezone."""
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    try:
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    except ValueError:
        offset = timedelta(days=1)
    if offset >= timedelta(hours=15):
        raise ChannelError(f"The {label} setting webhook_utc_offset is {text!r}; write it like +07:00.")
    return timezone(sign * offset)
