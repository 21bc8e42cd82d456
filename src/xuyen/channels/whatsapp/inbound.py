"""Reading WhatsApp Cloud API webhooks: ``object=whatsapp_business_account``, ``entry[].changes[].value``.

A value names the business number it is about (``metadata.phone_number_id``), the people who wrote
(``contacts[]``: ``wa_id``, ``profile.name`` and, since 2026, the business-scoped ``user_id``), their
``messages[]`` and the ``statuses[]`` of what the business sent. Statuses may arrive out of order: each one
carries its own state and time and the inbox keeps the furthest. Reactions, system notices, orders, shared
contact cards, group chats and other numbers' events are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    Contact,
    ContactIdentifier,
    DeliveryState,
    Inbound,
    InboundMessage,
    StatusUpdate,
)
from xuyen.channels.meta import as_dict, dicts, moment, number, text_of

WHATSAPP_ID = "whatsapp_id"
PHONE = "phone"
BSUID = "whatsapp_bsuid"

_STATES = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "failed": DeliveryState.FAILED,
}
_MEDIA = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "document": AttachmentKind.FILE,
    "sticker": AttachmentKind.STICKER,
}


@dataclass(frozen=True)
class _Profile:
    wa_id: str | None
    user_id: str | None
    name: str | None
    username: str | None


def make_contact(wa_id: str | None, user_id: str | None, name: str | None = None,
                 username: str | None = None) -> Contact | None:
    """The person by their WhatsApp id, its E.164 phone and the business-scoped user id, whichever are known."""
    identifiers: list[ContactIdentifier] = []
    if wa_id:
        identifiers.append(ContactIdentifier(WHATSAPP_ID, wa_id))
        if wa_id.isdigit() and 6 <= len(wa_id) <= 15:
            identifiers.append(ContactIdentifier(PHONE, f"+{wa_id}"))
    if user_id:
        identifiers.append(ContactIdentifier(BSUID, user_id))
    if not identifiers:
        return None
    traits = {"whatsapp_username": username} if username else {}
    return Contact(identifiers=tuple(identifiers), name=name, traits=traits)


def parse_entries(payload: dict[str, Any], phone_number_id: str, received_at: datetime) -> list[Inbound]:
    """Every message and status for this business number in a webhook's entries, in order."""
    found: list[Inbound] = []
    for entry in dicts(payload.get("entry")):
        for change in dicts(entry.get("changes")):
            if change.get("field", "messages") != "messages":
                continue
            value = as_dict(change.get("value"))
            number_id = text_of(as_dict(value.get("metadata")).get("phone_number_id"))
            if number_id is not None and number_id != phone_number_id:
                continue
            profiles = _profiles(value.get("contacts"))
            for message in dicts(value.get("messages")):
                parsed = _message(message, profiles, received_at)
                if parsed:
                    found.append(parsed)
            for status in dicts(value.get("statuses")):
                update = _status(status, received_at)
                if update:
                    found.append(update)
    return found


def _profiles(contacts: Any) -> list[_Profile]:
    return [
        _Profile(wa_id=text_of(item.get("wa_id")), user_id=text_of(item.get("user_id")),
                 name=text_of(as_dict(item.get("profile")).get("name")),
                 username=text_of(as_dict(item.get("profile")).get("username")) or text_of(item.get("username")))
        for item in dicts(contacts)
    ]


def _sender(message: dict[str, Any], profiles: list[_Profile]) -> Contact | None:
    wa_id, user_id = text_of(message.get("from")), text_of(message.get("from_user_id"))
    match = next((item for item in profiles
                  if (wa_id and item.wa_id == wa_id) or (user_id and item.user_id == user_id)), None)
    if match is not None:
        return make_contact(wa_id or match.wa_id, user_id or match.user_id, match.name, match.username)
    return make_contact(wa_id, user_id)


def _message(message: dict[str, Any], profiles: list[_Profile], received_at: datetime) -> InboundMessage | None:
    mid = text_of(message.get("id"))
    contact = _sender(message, profiles)
    kind = text_of(message.get("type")) or ""
    if mid is None or contact is None or "group_id" in message:
        return None
    body = as_dict(message.get(kind)) if kind else {}
    text = ""
    attachments: tuple[Attachment, ...] = ()
    hints: dict[str, Any] = {}
    if kind == "text":
        text = text_of(body.get("body")) or ""
    elif kind in _MEDIA:
        text = text_of(body.get("caption")) or ""
        meta = {key: body[key] for key in ("id", "sha256", "voice", "animated") if key in body}
        if "id" in meta:
            meta["media_id"] = meta.pop("id")
        attachments = (Attachment(kind=_MEDIA[kind], name=text_of(body.get("filename")),
                                  mime_type=text_of(body.get("mime_type")), meta=meta),)
    elif kind == "location":
        latitude, longitude = number(body.get("latitude")), number(body.get("longitude"))
        meta = {"latitude": latitude, "longitude": longitude} if latitude is not None and longitude is not None else {}
        address = text_of(body.get("address"))
        if address:
            meta["address"] = address
        attachments = (Attachment(kind=AttachmentKind.LOCATION, url=text_of(body.get("url")),
                                  name=text_of(body.get("name")), meta=meta),)
    elif kind == "interactive":
        reply_kind = text_of(body.get("type")) or ""
        reply = as_dict(body.get(reply_kind))
        text = text_of(reply.get("title")) or ""
        if not reply:
            return None
        hints["interactive"] = {"type": reply_kind, "id": text_of(reply.get("id")), "title": text}
    elif kind == "button":
        text = text_of(body.get("text")) or ""
        hints["button"] = {"payload": text_of(body.get("payload")), "text": text}
    else:
        return None
    referral = _referral(message.get("referral"))
    if referral:
        hints["referral"] = referral
    return InboundMessage(
        provider_message_id=mid, contact=contact, text=text, attachments=attachments, thread_hints=hints,
        sent_at=moment(message.get("timestamp"), milliseconds=False, default=received_at),
        reply_to_provider_id=text_of(as_dict(message.get("context")).get("id")),
    )


def _referral(referral: Any) -> dict[str, str] | None:
    """Where a Click-to-WhatsApp customer came from, as the inbox reads referrals: ``source`` (``ADS`` for an ad,
    ``POST`` for a post), ``ad_id``, the ad's headline as ``ad_title`` and its address as ``ref``."""
    if not isinstance(referral, dict):
        return None
    kind = (text_of(referral.get("source_type")) or "").lower()
    found = {"source": "ADS" if kind == "ad" else kind.upper(), "ad_id": text_of(referral.get("source_id")) or "",
             "ad_title": text_of(referral.get("headline")) or "", "ref": text_of(referral.get("source_url")) or ""}
    if kind != "ad":
        found.pop("ad_id")
    return {key: value for key, value in found.items() if value} or None


def _status(status: dict[str, Any], received_at: datetime) -> StatusUpdate | None:
    state = _STATES.get(text_of(status.get("status")) or "")
    if state is None:
        return None
    errors = []
    for error in dicts(status.get("errors")):
        said = text_of(error.get("message")) or text_of(error.get("title")) or "unknown error"
        details = text_of(as_dict(error.get("error_data")).get("details"))
        code = text_of(error.get("code"))
        errors.append(" ".join(part for part in (f"({code})" if code else None, said, details) if part))
    return StatusUpdate(
        state=state, at=moment(status.get("timestamp"), milliseconds=False, default=received_at),
        provider_message_id=text_of(status.get("id")),
        contact=make_contact(text_of(status.get("recipient_id")), text_of(status.get("recipient_user_id"))),
        error="; ".join(errors)[:1000] or ("WhatsApp did not deliver the message." if state is DeliveryState.FAILED
                                           else None),
    )
