"""Reading Messenger webhooks: ``object=page``, ``entry[].messaging[]`` events turned into inbox values.

Handled: ``message`` (text, attachments, quick replies, replies to a message), ``message.is_echo`` (what the
Page sent from elsewhere), ``delivery`` and ``read`` (watermarks, plus the ``mids`` a delivery names) and
``postback`` (a button tapped). A referral carried by a message or a postback (the person came from an ad or a
link) is kept in the message's thread hints. Everything else (``standby``, reactions, referrals on their own,
opt-ins, events of other Pages) is left out, so a new event type never breaks the channel.
"""

from __future__ import annotations

import hashlib
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

PSID = "facebook_psid"

_MEDIA_KINDS = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "file": AttachmentKind.FILE,
    "sticker": AttachmentKind.STICKER,
    "reel": AttachmentKind.VIDEO,
    "ig_reel": AttachmentKind.VIDEO,
}


def contact_for(psid: str, page_id: str) -> Contact:
    """The person behind a page-scoped id."""
    return Contact(identifiers=(ContactIdentifier(PSID, psid, scope=page_id),))


def parse_entries(payload: dict[str, Any], page_id: str, received_at: datetime) -> list[Inbound]:
    """Every message, echo, delivery, read and postback of this Page in a webhook's entries, in order."""
    found: list[Inbound] = []
    for entry in dicts(payload.get("entry")):
        entry_page = text_of(entry.get("id"))
        if entry_page is not None and entry_page != page_id:
            continue
        default = moment(entry.get("time"), milliseconds=True, default=received_at)
        for event in dicts(entry.get("messaging")):
            found.extend(_event(event, page_id, default))
    return found


def _event(event: dict[str, Any], page_id: str, default: datetime) -> list[Inbound]:
    sender = text_of(as_dict(event.get("sender")).get("id"))
    recipient = text_of(as_dict(event.get("recipient")).get("id"))
    at = moment(event.get("timestamp"), milliseconds=True, default=default)
    message = event.get("message")
    if isinstance(message, dict):
        echo = message.get("is_echo") is True
        person = recipient if echo else sender
        if person is None or (person == page_id and not echo):
            return []
        parsed = _message(message, contact_for(person, page_id), at, echo=echo, referral=event.get("referral"))
        return [parsed] if parsed else []
    if sender is None or sender == page_id:
        return []
    contact = contact_for(sender, page_id)
    if isinstance(event.get("postback"), dict):
        return [_postback(event["postback"], contact, at, event.get("timestamp"))]
    if isinstance(event.get("delivery"), dict):
        return _receipts(event["delivery"], contact, DeliveryState.DELIVERED, at)
    if isinstance(event.get("read"), dict):
        return _receipts(event["read"], contact, DeliveryState.READ, at)
    return []


def _message(message: dict[str, Any], contact: Contact, at: datetime, *, echo: bool,
             referral: Any = None) -> InboundMessage | None:
    mid = text_of(message.get("mid"))
    if mid is None:
        return None
    attachments = tuple(found for item in dicts(message.get("attachments")) if (found := _attachment(item)))
    hints: dict[str, Any] = {}
    quick_reply = text_of(as_dict(message.get("quick_reply")).get("payload"))
    if quick_reply:
        hints["quick_reply"] = {"payload": quick_reply}
    if echo:
        for key in ("app_id", "metadata"):
            value = text_of(message.get(key))
            if value:
                hints[key] = value
    found_referral = _referral(message.get("referral")) or _referral(referral)
    if found_referral and not echo:
        hints["referral"] = found_referral
    sticker = text_of(message.get("sticker_id"))
    if sticker and not any(item.kind is AttachmentKind.STICKER for item in attachments):
        attachments += (Attachment(kind=AttachmentKind.STICKER, meta={"sticker_id": sticker}),)
    return InboundMessage(
        provider_message_id=mid, contact=contact, sent_at=at, text=text_of(message.get("text")) or "",
        attachments=attachments, echo=echo, thread_hints=hints,
        reply_to_provider_id=text_of(as_dict(message.get("reply_to")).get("mid")),
    )


def _attachment(item: dict[str, Any]) -> Attachment | None:
    kind = text_of(item.get("type")) or ""
    payload = as_dict(item.get("payload"))
    url = text_of(payload.get("url")) or text_of(item.get("url"))
    title = text_of(payload.get("title")) or text_of(item.get("title"))
    if kind == "location":
        coordinates = as_dict(payload.get("coordinates"))
        latitude, longitude = number(coordinates.get("lat")), number(coordinates.get("long"))
        meta = {"latitude": latitude, "longitude": longitude} if latitude is not None and longitude is not None else {}
        return Attachment(kind=AttachmentKind.LOCATION, url=url, name=title, meta=meta)
    if kind in _MEDIA_KINDS:
        sticker = text_of(payload.get("sticker_id"))
        if sticker:
            return Attachment(kind=AttachmentKind.STICKER, url=url, meta={"sticker_id": sticker})
        return Attachment(kind=_MEDIA_KINDS[kind], url=url, name=title, meta={"type": kind} if kind != "file" else {})
    if kind == "fallback" or url:
        return Attachment(kind=AttachmentKind.LINK, url=url, name=title, meta={"type": kind})
    if kind == "template" and payload:
        return Attachment(kind=AttachmentKind.LINK, name=title, meta={"type": kind, "payload": payload})
    return None


def _postback(postback: dict[str, Any], contact: Contact, at: datetime, timestamp: Any) -> InboundMessage:
    title = text_of(postback.get("title")) or ""
    payload = text_of(postback.get("payload")) or ""
    mid = text_of(postback.get("mid"))
    if mid is None:
        # Older postbacks carry no mid: one made of what Meta resends unchanged keeps redeliveries equal.
        digest = hashlib.sha256(f"{title}\n{payload}".encode()).hexdigest()[:16]
        mid = f"postback:{contact.address.value}:{text_of(timestamp) or at.isoformat()}:{digest}"
    hints: dict[str, Any] = {"postback": {"title": title, "payload": payload}}
    found_referral = _referral(postback.get("referral"))
    if found_referral:
        hints["referral"] = found_referral
    return InboundMessage(provider_message_id=mid, contact=contact, sent_at=at, text=title, thread_hints=hints)


def _referral(referral: Any) -> dict[str, str] | None:
    """Where the person came from (an ad, an m.me link, the chat plugin), as the inbox reads it: ``source``
    (``ADS``, ``SHORTLINK``, …), ``type``, ``ref``, ``ad_id`` and the ad's title."""
    if not isinstance(referral, dict):
        return None
    found = {key: value for key in ("source", "type", "ref", "ad_id", "referer_uri")
             if (value := text_of(referral.get(key)))}
    title = text_of(as_dict(referral.get("ads_context_data")).get("ad_title"))
    if title:
        found["ad_title"] = title
    return found or None


def _receipts(receipt: dict[str, Any], contact: Contact, state: DeliveryState, at: datetime) -> list[Inbound]:
    watermark = receipt.get("watermark")
    when = moment(watermark, milliseconds=True, default=at)
    mids = receipt.get("mids")
    if not isinstance(mids, list):
        mids = []
    updates: list[Inbound] = [
        StatusUpdate(state=state, at=when, provider_message_id=mid, contact=contact)
        for mid in (text_of(item) for item in mids) if mid
    ]
    if number(watermark) is not None:
        updates.append(StatusUpdate(state=state, at=when, contact=contact, up_to=True))
    return updates
