"""The Zalo Official Account channel: OA API v3 consultation messages, ZNS templates by phone, OA webhooks."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import phonenumbers

from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    Capabilities,
    ChannelAdapter,
    ContactIdentifier,
    Inbound,
    OutboundMessage,
    ReplyRule,
    SendFailed,
    SendResult,
    Template,
    WebhookAnswer,
    WebhookRequest,
)
from xuyen.channels.zalo import webhook
from xuyen.channels.zalo.errors import OA_TOKEN_EXPIRED, ZNS_TOKEN_EXPIRED, classify

DEFAULT_API_BASE = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE = "https://oauth.zaloapp.com"
DEFAULT_BUSINESS_API_BASE = "https://business.openapi.zalo.me"

MAX_TEXT = 2000
CONSULTATION_WINDOW = timedelta(days=7)
FREE_WINDOW = timedelta(hours=48)
MAX_FILE_BYTES = 5 * 1024 * 1024
TRACKING_ID = re.compile(r"[A-Za-z0-9_-]{1,48}")


class ZaloAdapter(ChannelAdapter):
    """A Zalo Official Account connected through the OA Open API v3, with ZNS template messages by phone.

    Replies go out as consultation messages (``/v3.0/oa/message/cs``); an approved template goes to a phone number
    through ZNS (``business.openapi.zalo.me/message/template``) or to a Zalo user id through
    ``/v3.0/oa/message/template``.

    Token rotation: Zalo access tokens last about 25 hours and refresh tokens are single-use. When Zalo answers a
    send with an expired-token error, the adapter refreshes once and retries. A refresh rotates BOTH tokens, and the
    old refresh token is dead from then on, so the new pair is put in the ``rotated_secrets`` attribute
    (``{"access_token": ..., "refresh_token": ...}``; empty until a refresh happens) and in ``self.secrets``.
    The inbox reads ``rotated_secrets`` after every ``send``, whether it returned or raised, and stores the
    tokens encrypted in place of the old ones. Two sends of one channel must not refresh at the same time (the
    loser's refresh token is already used): the inbox sends one message of a Zalo channel at a time.
    """

    kind: ClassVar[str] = "zalo"
    label: ClassVar[str] = "Zalo OA"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True, attachments=True, templates=True, max_text_length=MAX_TEXT, reply_window=CONSULTATION_WINDOW,
        address_types=("zalo_id", "phone"))
    settings_fields: ClassVar[Mapping[str, str]] = {
        "oa_id": "Official Account id (oa.zalo.me, or the oa_id Zalo returns when the OA grants the app)",
        "app_id": "Application id (developers.zalo.me, the app's overview page)",
        "api_base": f"OA API address (leave empty for {DEFAULT_API_BASE})",
        "oauth_base": f"OAuth address (leave empty for {DEFAULT_OAUTH_BASE})",
        "business_api_base": f"ZNS API address (leave empty for {DEFAULT_BUSINESS_API_BASE})",
    }
    secret_fields: ClassVar[Mapping[str, str]] = {
        "oa_secret_key": "OA secret key (developers.zalo.me, the app's Webhook page): checks webhook signatures",
        "app_secret": "Application secret key (developers.zalo.me, the app's overview page): renews tokens",
        "access_token": "OA access token (from the OA's grant, or API Explorer)",
        "refresh_token": "OA refresh token (given with the access token)",
    }

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """The provider addresses default to Zalo's own."""
        return frozenset({"api_base", "oauth_base", "business_api_base"})

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        super().__init__(settings=settings, secrets=secrets, http=http)
        self.oa_id = self.settings["oa_id"].strip()
        self.app_id = self.settings["app_id"].strip()
        self.api_base = (self.settings.get("api_base") or DEFAULT_API_BASE).strip().rstrip("/")
        self.oauth_base = (self.settings.get("oauth_base") or DEFAULT_OAUTH_BASE).strip().rstrip("/")
        self.business_api_base = (self.settings.get("business_api_base")
                                  or DEFAULT_BUSINESS_API_BASE).strip().rstrip("/")
        self.rotated_secrets: dict[str, str] = {}
        self._events = webhook.EventReader(oa_id=self.oa_id, app_id=self.app_id)

    # Inbound -------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookAnswer | None:
        """Answer a plain GET or HEAD (a reachability check of the URL) with 200; Zalo's events come as POST."""
        if request.method.upper() in ("GET", "HEAD"):
            return WebhookAnswer(200, b"ok")
        return None

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-ZEvent-Signature`` (``mac=`` SHA-256 of app id, raw body, body timestamp, OA secret key)."""
        webhook.check_signature(header=request.headers.get(webhook.SIGNATURE_HEADER), body=request.body,
                                app_id=self.app_id, oa_secret_key=self.secrets["oa_secret_key"])

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """The messages, echoes, read/delivered statuses, follows and shared details one Zalo event carries."""
        data = webhook.load(request.body)
        zns = request.headers.get(webhook.SERVER_HEADER, "").strip().upper() == "ZNS"
        return self._events.read(data, zns=zns)

    def webhook_id(self, request: WebhookRequest) -> str | None:
        """Zalo sends no delivery id; a redelivery carries the same bytes, so their digest names the delivery."""
        return "sha256:" + hashlib.sha256(request.body).hexdigest()

    # Rules ---------------------------------------------------------------------------------------------

    def reply_rule(self, *, last_inbound_at: datetime | None, now: datetime) -> ReplyRule:
        """Consultation messages for 7 days after the customer's last interaction; templates (ZNS) any time."""
        if last_inbound_at is None:
            return ReplyRule(free_text=False, templates=True, reason=(
                "This customer has not interacted with the Official Account, so Zalo takes only approved template "
                "(ZNS) messages; replies open for 7 days once they message or follow the OA."))
        last = _aware(last_inbound_at)
        now = _aware(now)
        until = last + CONSULTATION_WINDOW
        if now >= until:
            return ReplyRule(free_text=False, templates=True, reason=(
                "The customer last interacted with the Official Account more than 7 days ago, so Zalo refuses "
                "replies: send an approved template (ZNS) to their phone number, or wait for them to write."))
        reason = ("Zalo takes replies for 7 days after the customer's last interaction with the Official Account.")
        if now >= last + FREE_WINDOW:
            reason += " Replies after the first 48 hours count against the OA's paid message quota."
        return ReplyRule(free_text=True, until=until, templates=True, reason=reason)

    # Outbound ------------------------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> SendResult:
        """Send a reply (text, image or file), or an approved template to a phone number or a Zalo user."""
        if message.template is not None:
            if message.to.type == "phone":
                return self._send_zns(message.to, message.template, message.idempotency_key)
            if message.to.type == "zalo_id":
                return self._send_uid_template(message.to, message.template)
            raise SendFailed(f"A Zalo template goes to a phone number or a Zalo user id, not to a {message.to.type}.",
                             code="invalid_recipient")
        if message.to.type != "zalo_id":
            raise SendFailed("Zalo reaches a phone number only through an approved ZNS template; pick a template "
                             "to send, or reply to the customer's Zalo conversation instead.", code="template_required")
        return self._send_consultation(message)

    def _send_consultation(self, message: OutboundMessage) -> SendResult:
        text = unicodedata.normalize("NFC", message.text or "")
        if len(text) > MAX_TEXT:
            raise SendFailed(f"The reply has {len(text)} characters; Zalo takes at most {MAX_TEXT}. Shorten it or "
                             "split it into two messages.", code="text_too_long")
        if len(message.attachments) > 1:
            raise SendFailed("Zalo takes one attachment per message; send the attachments one at a time.",
                             code="too_many_attachments")
        recipient = {"user_id": message.to.value}
        url = f"{self.api_base}/v3.0/oa/message/cs"
        bodies: list[dict[str, Any]] = []
        if message.attachments:
            attachment = message.attachments[0]
            if attachment.kind is AttachmentKind.IMAGE:
                payload: dict[str, Any] = {"attachment": self._media(attachment)}
                if text:
                    payload["text"] = text
                bodies.append({"recipient": recipient, "message": payload})
            elif attachment.kind is AttachmentKind.FILE:
                if text:
                    bodies.append({"recipient": recipient, "message": {"text": text}})
                token = self._file_token(attachment)
                bodies.append({"recipient": recipient,
                               "message": {"attachment": {"type": "file", "payload": {"token": token}}}})
            else:
                raise SendFailed(f"Xuyên sends images and files on Zalo, not a {attachment.kind.value}; send it as "
                                 "a file or a link in the text.", code="unsupported_attachment")
        elif text:
            bodies.append({"recipient": recipient, "message": {"text": text}})
        else:
            raise SendFailed("The reply has neither text nor an attachment; write something to send.",
                             code="empty_message")
        message_ids = [self._message_id(self._call(url, json_body=body, zns=False), "message_id") for body in bodies]
        return SendResult(provider_message_id=message_ids[0], parts=len(message_ids))

    def _media(self, attachment: Attachment) -> dict[str, Any]:
        element: dict[str, Any] = {"media_type": "image"}
        width, height = attachment.meta.get("width"), attachment.meta.get("height")
        if attachment.mime_type == "image/gif" and width and height:
            element.update(media_type="gif", width=width, height=height)
        attachment_id = attachment.meta.get("attachment_id")
        if isinstance(attachment_id, str) and attachment_id:
            element["attachment_id"] = attachment_id
        elif attachment.url:
            element["url"] = attachment.url
        else:
            raise SendFailed("The image has neither a URL nor a Zalo attachment id; attach it again.",
                             code="invalid_attachment")
        return {"type": "template", "payload": {"template_type": "media", "elements": [element]}}

    def _file_token(self, attachment: Attachment) -> str:
        token = attachment.meta.get("token")
        if isinstance(token, str) and token:
            return token
        if not attachment.url:
            raise SendFailed("The file has neither a URL nor a Zalo file token; attach it again.",
                             code="invalid_attachment")
        try:
            response = self.http.get(attachment.url)
        except httpx.HTTPError as exc:
            raise SendFailed(f"The file could not be fetched from {attachment.url} to upload it to Zalo ({exc}); "
                             "it is tried again later.", code="attachment_unavailable", retryable=True) from exc
        if response.status_code != 200:
            raise SendFailed(f"The file could not be fetched from {attachment.url} to upload it to Zalo (HTTP "
                             f"{response.status_code}); attach it again.", code="attachment_unavailable",
                             retryable=response.status_code >= 500)
        content = response.content
        if len(content) > MAX_FILE_BYTES:
            raise SendFailed(f"The file is {len(content)} bytes; Zalo takes files up to 5 MB (PDF, DOC, DOCX). "
                             "Send a smaller file or a link to it.", code="attachment_too_large")
        name = attachment.name or attachment.url.rsplit("/", 1)[-1] or "file"
        files = {"file": (name, content, attachment.mime_type or "application/octet-stream")}
        answer = self._call(f"{self.api_base}/v2.0/oa/upload/file", files=files, zns=False)
        return self._message_id(answer, "token")

    def _send_uid_template(self, to: ContactIdentifier, template: Template) -> SendResult:
        body = {"user_id": to.value, "template_id": template.name, "template_data": dict(template.parameters)}
        answer = self._call(f"{self.api_base}/v3.0/oa/message/template", json_body=body, zns=False)
        return SendResult(provider_message_id=self._message_id(answer, "message_id"))

    def _send_zns(self, to: ContactIdentifier, template: Template, idempotency_key: str) -> SendResult:
        body = {"phone": zns_phone(to.value), "template_id": template.name,
                "template_data": dict(template.parameters), "tracking_id": tracking_id(idempotency_key)}
        answer = self._call(f"{self.business_api_base}/message/template", json_body=body, zns=True)
        return SendResult(provider_message_id=self._message_id(answer, "msg_id"))

    # HTTP ----------------------------------------------------------------------------------------------

    def _call(self, url: str, *, json_body: Mapping[str, Any] | None = None,
              files: Mapping[str, Any] | None = None, zns: bool) -> Mapping[str, Any]:
        """POST with the access token; on an expired token refresh once and retry; raise SendFailed on an error."""
        expired = ZNS_TOKEN_EXPIRED if zns else OA_TOKEN_EXPIRED
        answer = self._post(url, json_body=json_body, files=files)
        error = _error_code(answer)
        if error in expired:
            self._refresh()
            answer = self._post(url, json_body=json_body, files=files)
            error = _error_code(answer)
        if error != 0:
            raise classify(error, _said(answer), zns=zns)
        return answer

    def _post(self, url: str, *, json_body: Mapping[str, Any] | None,
              files: Mapping[str, Any] | None) -> Mapping[str, Any]:
        headers = {"access_token": self.secrets["access_token"]}
        try:
            if files is not None:
                response = self.http.post(url, files=files, headers=headers)
            else:
                response = self.http.post(url, json=json_body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendFailed(f"Zalo could not be reached ({exc}); the message is tried again later.",
                             code="network", retryable=True) from exc
        return _answer(response, "Zalo")

    def _refresh(self) -> None:
        """Trade the refresh token for a new access and refresh token; they land in ``rotated_secrets``."""
        form = {"refresh_token": self.secrets["refresh_token"], "app_id": self.app_id, "grant_type": "refresh_token"}
        try:
            response = self.http.post(f"{self.oauth_base}/v4/oa/access_token", data=form,
                                      headers={"secret_key": self.secrets["app_secret"]})
        except httpx.HTTPError as exc:
            raise SendFailed(f"Zalo's token service could not be reached ({exc}); the message is tried again later.",
                             code="network", retryable=True) from exc
        answer = _answer(response, "Zalo's token service")
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not (isinstance(access, str) and access):
            error = answer.get("error")
            said = answer.get("error_name") or answer.get("error_description") or answer.get("message")
            told = ": ".join(str(part) for part in (error, said) if part not in (None, ""))
            raise SendFailed(
                f"Zalo refused to renew the channel's access token ({told or 'no reason given'}). The refresh "
                "token is used up, expired (they last 3 months) or revoked: reconnect the Zalo channel so the OA "
                "admin grants the app again.", code="refresh_token_invalid", credentials_revoked=True,
                provider_code=str(error) if error is not None else None)
        self.secrets["access_token"] = access
        if isinstance(refresh, str) and refresh:
            self.secrets["refresh_token"] = refresh
        self.rotated_secrets = {"access_token": access, "refresh_token": self.secrets["refresh_token"]}

    @staticmethod
    def _message_id(answer: Mapping[str, Any], key: str) -> str:
        data = answer.get("data")
        found = webhook.provider_id(data.get(key)) if isinstance(data, Mapping) else None
        if found is None:
            raise SendFailed(f"Zalo accepted the request but its answer has no data.{key}; check the message in the "
                             "Zalo OA manager before sending it again.", code="provider_answer_invalid")
        return found


def zns_phone(value: str) -> str:
    """A phone number the way ZNS takes it: country code first, no plus (``84912345678``)."""
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException as exc:
        raise SendFailed(f"{value!r} is not a phone number ZNS can send to; check the customer's number.",
                         code="invalid_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise SendFailed(f"{value!r} is not a phone number ZNS can send to; check the customer's number.",
                         code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def tracking_id(idempotency_key: str) -> str:
    """The ZNS ``tracking_id`` for a send: the key itself when ZNS takes it (<= 48 plain characters), else a digest."""
    if TRACKING_ID.fullmatch(idempotency_key):
        return idempotency_key
    return "k" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:47]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _answer(response: httpx.Response, service: str) -> Mapping[str, Any]:
    if response.status_code == 429 or response.status_code >= 500:
        raise SendFailed(f"{service} answered HTTP {response.status_code}; the message is tried again later.",
                         code="provider_unavailable", retryable=True, provider_code=str(response.status_code))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, Mapping):
        raise SendFailed(f"{service} answered HTTP {response.status_code} without its JSON answer; the message is "
                         "tried again later.", code="provider_answer_invalid", retryable=True,
                         provider_code=str(response.status_code))
    return answer


def _error_code(answer: Mapping[str, Any]) -> int:
    error = answer.get("error")
    if isinstance(error, bool):
        return -1
    if isinstance(error, int):
        return error
    if isinstance(error, str):
        try:
            return int(error)
        except ValueError:
            return -1
    return 0 if isinstance(answer.get("data"), Mapping) else -1


def _said(answer: Mapping[str, Any]) -> str:
    said = answer.get("message")
    return said if isinstance(said, str) else ""
