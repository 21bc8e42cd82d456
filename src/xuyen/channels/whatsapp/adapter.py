"""The WhatsApp channel: one business phone number on Meta's WhatsApp Cloud API.

Messages go to ``POST /{version}/{phone_number_id}/messages``. Within 24 hours of the customer's last message
any reply may go out (text without link previews, media by URL); outside it only templates WhatsApp approved
may. Texts longer than 4,096 characters are split into several messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from xuyen.channels.base import (
    AttachmentKind,
    Capabilities,
    Inbound,
    OutboundMessage,
    ReplyRule,
    SendFailed,
    SendResult,
    Template,
    WebhookRequest,
)
from xuyen.channels.meta import (
    GRAPH_API_SETTINGS,
    META_SECRET_FIELDS,
    REPLY_WINDOW,
    MetaAdapter,
    dicts,
    number,
    split_text,
    text_of,
)
from xuyen.channels.whatsapp.inbound import BSUID, PHONE, WHATSAPP_ID, parse_entries

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 512
_MEDIA = {
    AttachmentKind.IMAGE: "image",
    AttachmentKind.VIDEO: "video",
    AttachmentKind.AUDIO: "audio",
    AttachmentKind.FILE: "document",
    AttachmentKind.STICKER: "sticker",
}


class WhatsAppAdapter(MetaAdapter):
    """WhatsApp: one business number on the Cloud API, its webhooks, texts, media and approved templates."""

    kind: ClassVar[str] = "whatsapp"
    label: ClassVar[str] = "WhatsApp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True, attachments=True, templates=True, max_text_length=MAX_TEXT, reply_window=REPLY_WINDOW,
        address_types=(WHATSAPP_ID, PHONE, BSUID))
    settings_fields: ClassVar[dict[str, str]] = {
        "phone_number_id": "The business number's Phone number ID (Meta app > WhatsApp > API Setup), not the "
                           "phone number itself.",
        **GRAPH_API_SETTINGS,
    }
    secret_fields: ClassVar[dict[str, str]] = {
        "app_secret": META_SECRET_FIELDS["app_secret"],
        "access_token": "A system user's permanent access token with whatsapp_business_messaging "
                        "(Business settings > Users > System users > Generate new token).",
        "verify_token": META_SECRET_FIELDS["verify_token"],
    }
    webhook_object: ClassVar[str] = "whatsapp_business_account"
    credential_field: ClassVar[str] = "access_token"

    @property
    def phone_number_id(self) -> str:
        """The business number this channel answers for."""
        return self.value("phone_number_id")

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """The messages and statuses the webhook carries for this business number."""
        return parse_entries(self.load(request), self.phone_number_id, request.received_at)

    def send(self, message: OutboundMessage) -> SendResult:
        """Send a template, or the text (split past 4,096 characters) then each attachment."""
        return self.send_parts(f"{self.phone_number_id}/messages", self._bodies(message),
                               message_id=lambda answer: next(iter(dicts(answer.get("messages"))), {}).get("id"),
                               where="Check the chat in WhatsApp Manager.")

    def _bodies(self, message: OutboundMessage) -> list[dict[str, Any]]:
        envelope: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                    **_recipient(message.to.type, message.to.value)}
        if message.idempotency_key and len(message.idempotency_key) <= MAX_CALLBACK_DATA:
            envelope["biz_opaque_callback_data"] = message.idempotency_key
        if message.template is not None:
            # A template is sent alone: any text beside it is the inbox's preview of what it says.
            return [{**envelope, "type": "template", "template": _template(message.template)}]
        contents: list[dict[str, Any]] = []
        if message.text.strip():
            contents.extend({"type": "text", "text": {"preview_url": False, "body": part}}
                            for part in split_text(message.text, MAX_TEXT))
        for attachment in message.attachments:
            if attachment.kind is AttachmentKind.LOCATION:
                latitude, longitude = number(attachment.meta.get("latitude")), number(attachment.meta.get("longitude"))
                if latitude is None or longitude is None:
                    raise SendFailed("A WhatsApp location needs a latitude and a longitude.", code="invalid_message")
                place: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
                if attachment.name:
                    place["name"] = attachment.name
                if text_of(attachment.meta.get("address")):
                    place["address"] = attachment.meta["address"]
                contents.append({"type": "location", "location": place})
                continue
            kind = _MEDIA.get(attachment.kind)
            if kind is None:
                raise SendFailed(f"WhatsApp cannot send a {attachment.kind.value} attachment; send images, videos, "
                                 "audio, documents, stickers or a location.", code="unsupported")
            if not attachment.url or not attachment.url.startswith(("https://", "http://")):
                raise SendFailed("WhatsApp fetches media from a public web address, and this attachment has none. "
                                 "Upload the file somewhere reachable and send it again.", code="invalid_message")
            media: dict[str, Any] = {"link": attachment.url}
            if kind == "document" and attachment.name:
                media["filename"] = attachment.name
            contents.append({"type": kind, kind: media})
        if not contents:
            raise SendFailed("The WhatsApp message is empty; write a text, add an attachment or pick a template.",
                             code="invalid_message")
        if message.reply_to_provider_id:
            contents[0]["context"] = {"message_id": message.reply_to_provider_id}
        return [{**envelope, **content} for content in contents]

    def reply_rule(self, *, last_inbound_at: datetime | None, now: datetime) -> ReplyRule:
        """Any reply within 24 hours of the customer's last message; approved templates only outside it."""
        if last_inbound_at is None:
            return ReplyRule(free_text=False, templates=True, reason="The customer has not written on WhatsApp yet: "
                             "only a template WhatsApp approved may start the conversation.")
        window_end = last_inbound_at + REPLY_WINDOW
        if now < window_end:
            return ReplyRule(free_text=True, templates=True, until=window_end, reason="The customer wrote within the "
                             "last 24 hours, so any reply may go out on WhatsApp.")
        return ReplyRule(free_text=False, templates=True, reason="More than 24 hours have passed since the customer's "
                         "last WhatsApp message: only a template WhatsApp approved may be sent until they write again.")


def _recipient(kind: str, value: str) -> dict[str, str]:
    if kind == WHATSAPP_ID:
        return {"to": value}
    if kind == PHONE:
        digits = "".join(ch for ch in value if ch.isdigit())
        if digits:
            return {"to": digits}
    if kind == BSUID:
        return {"recipient": value}
    raise SendFailed("This contact has no WhatsApp number or WhatsApp user id to send to.", code="invalid_recipient")


def _template(template: Template) -> dict[str, Any]:
    if not template.language:
        raise SendFailed(f"The WhatsApp template {template.name!r} needs its language code (such as en_US or vi), "
                         "exactly as it was approved.", code="invalid_message")
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    values = dict(template.parameters)
    if values:
        if all(key.isdigit() for key in values):
            parameters = [{"type": "text", "text": values[key]} for key in sorted(values, key=int)]
        else:
            parameters = [{"type": "text", "parameter_name": key, "text": text} for key, text in values.items()]
        body["components"] = [{"type": "body", "parameters": parameters}]
    return body

