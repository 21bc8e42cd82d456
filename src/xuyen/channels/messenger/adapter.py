"""The Facebook Messenger channel: a Facebook Page's inbox, through Meta's webhooks and the Send API.

Replies go to ``POST /{version}/{page_id}/messages``. Inside 24 hours of the customer's last message they go
out as ``messaging_type=RESPONSE``; from 24 hours to 7 days only a person may answer, with the ``HUMAN_AGENT``
tag (``messaging_type=MESSAGE_TAG``); after 7 days the Page may not write until the customer does.
Texts longer than 2,000 characters are split into several messages; attachments are sent by URL, one per
message, after the text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from xuyen.channels.base import (
    AttachmentKind,
    Capabilities,
    FetchFailed,
    Inbound,
    LeadNotice,
    OutboundMessage,
    ReplyRule,
    SendFailed,
    SendResult,
    WebhookRequest,
)
from xuyen.channels.messenger.inbound import PSID, parse_entries
from xuyen.channels.messenger.leadgen import LEAD_FIELDS, lead_from_graph, parse_leadgen
from xuyen.channels.meta import (
    GRAPH_API_SETTINGS,
    META_SECRET_FIELDS,
    REPLY_WINDOW,
    MetaAdapter,
    split_text,
)

MAX_TEXT = 2000
HUMAN_AGENT = "HUMAN_AGENT"
HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_METADATA = 1000
_SENDABLE = {
    AttachmentKind.IMAGE: "image",
    AttachmentKind.VIDEO: "video",
    AttachmentKind.AUDIO: "audio",
    AttachmentKind.FILE: "file",
}


class MessengerAdapter(MetaAdapter):
    """Facebook Messenger: one Facebook Page, its webhooks and the Send API."""

    kind: ClassVar[str] = "messenger"
    label: ClassVar[str] = "Messenger"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True, attachments=True, templates=False, max_text_length=MAX_TEXT, reply_window=REPLY_WINDOW,
        address_types=(PSID,))
    settings_fields: ClassVar[dict[str, str]] = {
        "page_id": "The Facebook Page's id (Meta app > Messenger > Messenger API Settings, next to the Page's name).",
        **GRAPH_API_SETTINGS,
    }
    secret_fields: ClassVar[dict[str, str]] = {
        "app_secret": META_SECRET_FIELDS["app_secret"],
        "page_access_token": "The Page access token generated for this Page in Messenger API Settings.",
        "verify_token": META_SECRET_FIELDS["verify_token"],
    }
    webhook_object: ClassVar[str] = "page"
    credential_field: ClassVar[str] = "page_access_token"

    @property
    def page_id(self) -> str:
        """The Page this channel answers for."""
        return self.value("page_id")

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """The messages, echoes, receipts and postbacks the webhook carries for this Page, and the Lead Ads leads
        it names (``leadgen`` changes)."""
        payload = self.load(request)
        found: list[Inbound] = list(parse_entries(payload, self.page_id, request.received_at))
        found.extend(parse_leadgen(payload, self.page_id, request.received_at))
        return found

    def fetch_lead(self, provider_lead_id: str) -> LeadNotice:
        """A Lead Ads lead's answers, ad, ad set, campaign and form, read with the Page access token."""
        if not provider_lead_id.isdigit():
            raise FetchFailed(f"{provider_lead_id[:40]!r} is not a Lead Ads lead id.", code="not_found")
        answer = self.get(provider_lead_id, {"fields": LEAD_FIELDS})
        return lead_from_graph(provider_lead_id, answer, datetime.now(UTC))

    def send(self, message: OutboundMessage) -> SendResult:
        """Send the text (split past 2,000 characters) then each attachment, as one Send API call each."""
        return self.send_parts(f"{self.page_id}/messages", self._bodies(message),
                               message_id=lambda answer: answer.get("message_id"),
                               where="Check the conversation in the Page's inbox.")

    def _bodies(self, message: OutboundMessage) -> list[dict[str, Any]]:
        if message.template is not None:
            raise SendFailed("Messenger has no message templates; send the text instead.", code="unsupported")
        if message.to.type != PSID or (message.to.scope not in (None, "", self.page_id)):
            raise SendFailed("This contact cannot be reached from this Facebook Page: Messenger replies go to the "
                             "page-scoped id (PSID) the person has with this very Page.", code="invalid_recipient")
        if not message.text.strip() and not message.attachments:
            raise SendFailed("The Messenger message is empty; write a text or add an attachment.",
                             code="invalid_message")
        envelope: dict[str, Any] = {"recipient": {"id": message.to.value}}
        if message.tag:
            envelope.update(messaging_type="MESSAGE_TAG", tag=message.tag)
        else:
            envelope["messaging_type"] = "RESPONSE"
        contents: list[dict[str, Any]] = []
        if message.text.strip():
            contents.extend({"text": part} for part in split_text(message.text, MAX_TEXT))
        for attachment in message.attachments:
            kind = _SENDABLE.get(attachment.kind)
            if kind is None:
                raise SendFailed(f"Messenger cannot send a {attachment.kind.value} attachment; send images, "
                                 "videos, audio or files.", code="unsupported")
            if not attachment.url or not attachment.url.startswith(("https://", "http://")):
                raise SendFailed("Messenger fetches attachments from a public web address, and this attachment "
                                 "has none. Upload the file somewhere reachable and send it again.",
                                 code="invalid_message")
            contents.append({"attachment": {"type": kind, "payload": {"url": attachment.url, "is_reusable": True}}})
        if message.idempotency_key and len(message.idempotency_key) <= MAX_METADATA:
            for content in contents:
                content["metadata"] = message.idempotency_key
        return [{**envelope, "message": content} for content in contents]

    def reply_rule(self, *, last_inbound_at: datetime | None, now: datetime) -> ReplyRule:
        """Free replies for 24 hours, then a person's reply with the HUMAN_AGENT tag up to 7 days, then none."""
        if last_inbound_at is None:
            return ReplyRule(free_text=False, reason="This person has not written to the Page yet, and Messenger "
                             "lets a Page answer only people who wrote first.")
        window_end = last_inbound_at + REPLY_WINDOW
        if now < window_end:
            return ReplyRule(free_text=True, until=window_end, reason="The customer wrote within the last 24 hours, "
                             "so any reply may go out on Messenger.")
        agent_end = last_inbound_at + HUMAN_AGENT_WINDOW
        if now < agent_end:
            return ReplyRule(free_text=True, until=agent_end, tag=HUMAN_AGENT, reason="More than 24 hours have "
                             "passed since the customer's last message: a person may still answer for up to 7 days "
                             "after it (Messenger's human agent tag), but no automated message may go out.")
        return ReplyRule(free_text=False, reason="The customer last wrote more than 7 days ago, so Messenger no longer "
                         "lets the Page message them. The conversation can go on when they write again.")
