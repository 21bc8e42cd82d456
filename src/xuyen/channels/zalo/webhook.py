"""Zalo OA webhooks: the ``X-ZEvent-Signature`` check and the events, turned into the channel interface's values.

Zalo signs a delivery with ``X-ZEvent-Signature: mac=<hex>``, the plain SHA-256 (not an HMAC) of the app id, the
raw body, the body's ``timestamp`` field and the OA secret key, concatenated in that order. Ids and times arrive as
strings (times in milliseconds since the epoch); ids are kept as strings, never turned into numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers

from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    Contact,
    ContactEvent,
    ContactEventKind,
    ContactIdentifier,
    DeliveryState,
    Inbound,
    InboundMessage,
    LeadNotice,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
)

MAX_BODY_BYTES = 1_048_576
MAX_ATTACHMENTS = 20
MAX_RECEIPT_IDS = 500
SIGNATURE_HEADER = "x-zevent-signature"
SERVER_HEADER = "x-zevent-server"
SIGNATURE_PREFIX = "mac="
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

USER_MESSAGE_EVENTS = frozenset({
    "user_send_text", "user_send_image", "user_send_file", "user_send_sticker", "user_send_gif",
    "user_send_location", "user_send_link", "user_send_audio", "user_send_video", "user_send_business_card",
})
FOLLOW_EVENTS = {"follow": ContactEventKind.FOLLOW, "unfollow": ContactEventKind.UNFOLLOW}
RECEIPT_EVENTS = {"user_seen_message": DeliveryState.READ, "user_received_message": DeliveryState.DELIVERED}
SUBMIT_INFO_EVENT = "user_submit_info"
LEAD_SOURCE = "zalo_form"

_KINDS = {
    "image": AttachmentKind.IMAGE, "gif": AttachmentKind.IMAGE, "sticker": AttachmentKind.STICKER,
    "file": AttachmentKind.FILE, "audio": AttachmentKind.AUDIO, "voice": AttachmentKind.AUDIO,
    "video": AttachmentKind.VIDEO, "link": AttachmentKind.LINK, "location": AttachmentKind.LOCATION,
    "business_card": AttachmentKind.LINK,
}
_INFO_TRAITS = ("address", "city", "district", "ward")
_FULL_ADDRESS_TRAITS = {"user_address": "address", "user_city": "city", "user_district": "district",
                        "user_ward": "ward"}


# The signature -----------------------------------------------------------------------------------------


def load(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; ``PayloadInvalid`` when it is too large or not one."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadInvalid(f"The Zalo webhook body is {len(body)} bytes, more than the {MAX_BODY_BYTES} a Zalo "
                             "event takes; it was not read.")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PayloadInvalid("The Zalo webhook body is not JSON; Zalo sends every event as a JSON object.") from exc
    if not isinstance(data, dict):
        raise PayloadInvalid("The Zalo webhook body is JSON but not an object; Zalo sends every event as an object.")
    return data


def timestamp_text(data: Mapping[str, Any]) -> str | None:
    """The body's ``timestamp`` exactly as it is signed (digits), or None when there is none."""
    value = data.get("timestamp")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The hex SHA-256 of ``app_id + body + timestamp + oa_secret_key``, as Zalo computes it."""
    digest = hashlib.sha256()
    for part in (app_id.encode(), body, timestamp.encode(), oa_secret_key.encode()):
        digest.update(part)
    return digest.hexdigest()


def check_signature(*, header: str | None, body: bytes, app_id: str, oa_secret_key: str) -> None:
    """Raise SignatureInvalid unless ``header`` is ``mac=`` and the SHA-256 Zalo computes over ``body``."""
    if not header or not header.strip():
        raise SignatureInvalid("The request has no X-ZEvent-Signature header; Zalo signs every webhook it sends.")
    value = header.strip()
    if value[: len(SIGNATURE_PREFIX)].lower() != SIGNATURE_PREFIX:
        raise SignatureInvalid("The X-ZEvent-Signature header does not start with 'mac='; it is not Zalo's.")
    given = value[len(SIGNATURE_PREFIX):].strip().lower()
    timestamp = timestamp_text(load(body))
    if timestamp is None:
        raise SignatureInvalid("The webhook body has no timestamp to check its signature with; Zalo signs every "
                               "event together with its timestamp.")
    expected = signature(app_id, body, timestamp, oa_secret_key)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureInvalid("The X-ZEvent-Signature does not match this channel's app id and OA secret key; "
                               "check both in the channel's settings if Zalo's own events are refused.")


# Values ------------------------------------------------------------------------------------------------


def provider_id(value: Any) -> str | None:
    """An id as a string: Zalo sends strings; an integer is written out whole, anything else is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def millis(value: Any) -> datetime | None:
    """A Zalo time (milliseconds since the epoch, usually a string) as an aware UTC datetime, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return None
    try:
        return EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        return None


def e164(raw: Any) -> str | None:
    """A phone number as E.164 (Vietnamese numbers without a country code are read as Vietnamese), or None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    digits = raw.strip()
    if digits.isdigit() and digits.startswith("84") and len(digits) >= 11:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _size(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


# Events ------------------------------------------------------------------------------------------------


class EventReader:
    """Reads one Zalo event for one OA and app; cheap enough for Zalo's two-second answer limit."""

    def __init__(self, *, oa_id: str, app_id: str) -> None:
        self.oa_id = oa_id
        self.app_id = app_id

    def read(self, data: Mapping[str, Any], *, zns: bool = False) -> list[Inbound]:
        """The messages, statuses and contact events of one Zalo event; [] for events the channel leaves out."""
        name = data.get("event_name")
        if not isinstance(name, str) or not name:
            raise PayloadInvalid("The Zalo webhook has no event_name; every Zalo event names itself.")
        if name in USER_MESSAGE_EVENTS:
            return [self._message(data, echo=False)]
        if name.startswith("oa_send_") and "group" not in name and "anonymous" not in name:
            # An echo of the OA's own message without its ids tells the inbox nothing; leave it out rather than
            # refuse the delivery (Zalo disables a webhook that keeps failing).
            has_ids = self._party(data, "recipient") and provider_id(_object(data.get("message")).get("msg_id"))
            return [self._message(data, echo=True)] if has_ids else []
        if name in FOLLOW_EVENTS:
            return [self._follow(data, FOLLOW_EVENTS[name])]
        if name in RECEIPT_EVENTS:
            return self._receipts(data, RECEIPT_EVENTS[name], zns=zns)
        if name == SUBMIT_INFO_EVENT:
            message = self._submitted_info(data)
            return [message, self._lead_of(data, message)]
        return []

    # Parts -----------------------------------------------------------------------------------------

    def _at(self, data: Mapping[str, Any]) -> datetime:
        at = millis(data.get("timestamp"))
        if at is None:
            raise PayloadInvalid(f"The Zalo {data.get('event_name')} event has no valid timestamp (milliseconds "
                                 "since 1970 as a string).")
        return at

    def _party(self, data: Mapping[str, Any], key: str) -> str | None:
        return provider_id(_object(data.get(key)).get("id"))

    def _contact(self, user_id: str, data: Mapping[str, Any], *, extra: tuple[ContactIdentifier, ...] = (),
                 name: str | None = None, traits: Mapping[str, Any] | None = None) -> Contact:
        identifiers = [ContactIdentifier("zalo_id", user_id, scope=self.oa_id)]
        by_app = provider_id(data.get("user_id_by_app"))
        if by_app:
            identifiers.append(ContactIdentifier("zalo_app_user_id", by_app, scope=self.app_id))
        identifiers.extend(extra)
        return Contact(identifiers=tuple(identifiers), name=name, traits=dict(traits or {}))

    def _message(self, data: Mapping[str, Any], *, echo: bool) -> InboundMessage:
        name = data.get("event_name")
        user_id = self._party(data, "recipient" if echo else "sender")
        message = _object(data.get("message"))
        message_id = provider_id(message.get("msg_id"))
        if user_id is None or message_id is None:
            side = "recipient" if echo else "sender"
            raise PayloadInvalid(f"The Zalo {name} event lacks its {side}.id or message.msg_id.")
        text = message.get("text")
        return InboundMessage(provider_message_id=message_id, contact=self._contact(user_id, data),
                              sent_at=self._at(data), text=text if isinstance(text, str) else "",
                              attachments=attachments(message.get("attachments")), echo=echo)

    def _follow(self, data: Mapping[str, Any], kind: ContactEventKind) -> ContactEvent:
        user_id = self._party(data, "follower") or self._party(data, "sender")
        if user_id is None:
            raise PayloadInvalid(f"The Zalo {data.get('event_name')} event lacks its follower.id.")
        at = self._at(data)
        return ContactEvent(kind=kind, contact=self._contact(user_id, data), at=at,
                            provider_event_id=f"{data['event_name']}:{user_id}:{timestamp_text(data)}")

    def _user_of_receipt(self, data: Mapping[str, Any]) -> str | None:
        # The OA sent the message the user saw: Zalo names the OA as sender and the user as recipient. Take
        # whichever side is not this OA, so a swapped pair still finds the user.
        sender, recipient = self._party(data, "sender"), self._party(data, "recipient")
        if recipient is not None and recipient != self.oa_id:
            return recipient
        if sender is not None and sender != self.oa_id:
            return sender
        return recipient

    def _receipts(self, data: Mapping[str, Any], state: DeliveryState, *, zns: bool) -> list[Inbound]:
        message = _object(data.get("message"))
        zns = zns or "tracking_id" in message or "delivery_time" in message
        at = self._at(data)
        if zns:
            at = millis(message.get("delivery_time")) or at
        ids: list[str] = []
        raw_ids = message.get("msg_ids")
        for raw in [*(raw_ids if isinstance(raw_ids, list) else []), message.get("msg_id")][:MAX_RECEIPT_IDS]:
            found = provider_id(raw)
            if found is not None and found not in ids:
                ids.append(found)
        contact: Contact | None = None
        if zns:
            phone = e164(self._party(data, "recipient"))
            if phone is not None:
                contact = Contact(identifiers=(ContactIdentifier("phone", phone),))
        else:
            user_id = self._user_of_receipt(data)
            if user_id is not None:
                contact = self._contact(user_id, data)
        return [StatusUpdate(state=state, at=at, provider_message_id=found, contact=contact) for found in ids]

    def _submitted_info(self, data: Mapping[str, Any]) -> InboundMessage:
        user_id = self._party(data, "sender")
        if user_id is None:
            raise PayloadInvalid("The Zalo user_submit_info event lacks its sender.id.")
        info = _object(data.get("info"))
        name = _text(info.get("name"))
        phone = e164(info.get("phone"))
        traits: dict[str, Any] = {}
        if name:
            traits["name"] = name
        if phone:
            traits["phone"] = phone
        for key in _INFO_TRAITS:
            if _text(info.get(key)):
                traits[key] = info[key]
        for key, trait in _FULL_ADDRESS_TRAITS.items():
            value = _text(_object(info.get("full_address")).get(key))
            if value and trait not in traits:
                traits[trait] = value
        extra = (ContactIdentifier("phone", phone),) if phone else ()
        shared = [f"{label} {traits[key]}" for key, label in
                  (("name", "name"), ("phone", "phone"), ("address", "address"), ("ward", "ward"),
                   ("district", "district"), ("city", "city")) if key in traits]
        text = ("Shared their details with the OA: " + ", ".join(shared) + "." if shared
                else "Answered the OA's request for details without sharing any.")
        message_id = provider_id(_object(data.get("message")).get("msg_id"))
        return InboundMessage(
            provider_message_id=message_id or f"user_submit_info:{user_id}:{timestamp_text(data)}",
            contact=self._contact(user_id, data, extra=extra, name=name, traits=traits),
            sent_at=self._at(data), text=text)


    def _lead_of(self, data: Mapping[str, Any], message: InboundMessage) -> LeadNotice:
        """The details a user shared with the OA's information request, as a lead of the ``zalo_form`` source: the
        answers as given (the phone as typed), keyed by the user and the event's time."""
        user_id = message.contact.address.value
        info = _object(data.get("info"))
        fields: dict[str, str] = {}
        for key in ("name", "phone", *_INFO_TRAITS):
            value = info.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if _text(value):
                fields[key] = str(value).strip()[:500]
        for key, trait in _FULL_ADDRESS_TRAITS.items():
            value = _text(_object(info.get("full_address")).get(key))
            if value and trait not in fields:
                fields[trait] = value.strip()[:500]
        return LeadNotice(source=LEAD_SOURCE, provider_lead_id=f"{user_id}:{timestamp_text(data)}", complete=True,
                          at=message.sent_at, contact=message.contact, fields=fields,
                          detail={"oa_id": self.oa_id, "event": SUBMIT_INFO_EVENT})


def attachments(raw: Any) -> tuple[Attachment, ...]:
    """The attachments of a Zalo message (image, gif, sticker, file, audio, video, link, location)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PayloadInvalid("The Zalo message's attachments are not a list.")
    found: list[Attachment] = []
    for item in raw[:MAX_ATTACHMENTS]:
        item = _object(item)
        kind_name = item.get("type")
        kind = _KINDS.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            continue
        payload = _object(item.get("payload"))
        url = _text(payload.get("url"))
        meta: dict[str, Any] = {"zalo_type": kind_name}
        for key in ("thumbnail", "description", "id", "checksum", "title"):
            if _text(payload.get(key)):
                meta[key] = payload[key]
        mime_type: str | None = None
        name: str | None = None
        if kind_name == "gif":
            mime_type = "image/gif"
        elif kind_name == "file":
            name = _text(payload.get("name"))
            extension = _text(payload.get("type"))
            guess_from = name or (f"file.{extension}" if extension else "")
            mime_type = mimetypes.guess_type(guess_from)[0] if guess_from else None
        elif kind_name == "link":
            name = _text(payload.get("title"))
        elif kind_name == "location":
            coordinates = _object(payload.get("coordinates"))
            latitude = _number(coordinates.get("latitude", coordinates.get("lat")))
            longitude = _number(coordinates.get("longitude", coordinates.get("long")))
            if latitude is None or longitude is None:
                continue
            meta.update(latitude=latitude, longitude=longitude)
        if url is None and kind is not AttachmentKind.LOCATION:
            continue
        found.append(Attachment(kind=kind, url=url, name=name, mime_type=mime_type,
                                size_bytes=_size(payload.get("size")), meta=meta))
    return tuple(found)
