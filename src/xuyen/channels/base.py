"""The channel adapter interface: what every provider package implements, and all the core knows of them.

An adapter turns one provider's wire protocol into these plain values and back:

- ``handshake(request)``: answer a provider's subscription check (Meta's ``hub.challenge``), or None;
- ``verify(request)``: check the signature over the raw bytes, before anything is parsed;
- ``parse(request)``: the inbound messages, delivery statuses and contact events a webhook carries;
- ``send(message)``: deliver one outbound message, return the provider's message id;
- ``poll(cursor)`` / ``parse_polled(item)``: for channels the inbox fetches from (IMAP) instead of webhooks;
- ``reply_rule(...)``: what may be sent now, given when the customer last wrote (the reply window);
- ``capabilities``: what the channel can carry at all.

Adapters hold no state of their own beyond their configuration and an HTTP client, never touch the
database and never import another part of Xuyên but the frame: the inbox stores, dedupes and queues.
Providers register under the ``xuyen.channels`` entry point group (see ``registry``).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from xuyen.tls import http_client

# Errors -----------------------------------------------------------------------------------------------


class ChannelError(Exception):
    """Base of what adapters raise; ``message`` says what went wrong and what to do next."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureInvalid(ChannelError):
    """The webhook's signature is missing or does not match: the request is refused whole."""


class PayloadInvalid(ChannelError):
    """The webhook's body cannot be understood at all (not JSON, not the provider's shape)."""


class SendFailed(ChannelError):
    """The provider refused a send.

    ``retryable`` sends are tried again later (rate limits, provider outages); ``credentials_revoked``
    means the channel's token no longer works, and the owner must reconnect it; ``outside_window`` means
    the reply window closed and only what ``reply_rule`` allows may be sent.
    """

    def __init__(self, message: str, *, code: str, retryable: bool = False, credentials_revoked: bool = False,
                 outside_window: bool = False, provider_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.credentials_revoked = credentials_revoked
        self.outside_window = outside_window
        self.provider_code = provider_code


class FetchFailed(ChannelError):
    """The provider would not give what was asked of it (a lead's answers).

    ``retryable`` fetches are tried again later (outages, rate limits); ``credentials_revoked`` means the
    channel's token no longer works or lacks a permission, and the owner must reconnect it (then the fetch is
    tried again); otherwise the thing asked for cannot be had (``code`` says why).
    """

    def __init__(self, message: str, *, code: str, retryable: bool = False, credentials_revoked: bool = False,
                 provider_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.credentials_revoked = credentials_revoked
        self.provider_code = provider_code


# What comes in ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    """An inbound HTTP request as the provider sent it: headers lower-cased, the body's raw bytes."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class WebhookAnswer:
    """What to answer the provider with (handshakes; anything else is answered ``200 OK`` by the inbox)."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class ContactIdentifier:
    """One way the provider names a person, as the identity graph types it (``facebook_psid`` scoped to the
    page, ``zalo_id`` to the OA, ``phone``, ``email``, ``whatsapp_id``, …)."""

    type: str
    value: str
    scope: str | None = None


@dataclass(frozen=True)
class Contact:
    """The person on the other side: their identifiers (the first is the channel's address for them) and
    what the provider tells of them."""

    identifiers: tuple[ContactIdentifier, ...]
    name: str | None = None
    traits: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> ContactIdentifier:
        """The identifier replies on this channel are sent to."""
        return self.identifiers[0]


class AttachmentKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"
    STICKER = "sticker"
    LOCATION = "location"
    LINK = "link"


@dataclass(frozen=True)
class Attachment:
    """A file or rich item in a message; ``url`` is where the provider serves it. An outbound file may carry its
    bytes in ``content`` instead (a report made on the spot); channels that cannot send bytes ignore it."""

    kind: AttachmentKind
    url: str | None = None
    name: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    content: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class InboundMessage:
    """A message the customer sent, or (``echo``) one the business sent from the provider's own app.

    ``thread_hints`` help the inbox find the conversation a message answers (e-mail: the reply token in the
    address it was sent to, ``In-Reply-To`` and ``References``); chat channels leave them empty.
    """

    provider_message_id: str
    contact: Contact
    sent_at: datetime
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    echo: bool = False
    subject: str | None = None
    thread_hints: Mapping[str, Any] = field(default_factory=dict)
    reply_to_provider_id: str | None = None


class DeliveryState(enum.StrEnum):
    """Where an outbound message got to; later states never go back to earlier ones."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


DELIVERY_ORDER: dict[DeliveryState, int] = {
    DeliveryState.QUEUED: 0, DeliveryState.SENT: 1, DeliveryState.DELIVERED: 2, DeliveryState.READ: 3,
    DeliveryState.FAILED: 4,
}


@dataclass(frozen=True)
class StatusUpdate:
    """The provider's news of an outbound message; ``up_to`` marks every earlier message of the contact too
    (Messenger's ``watermark``)."""

    state: DeliveryState
    at: datetime
    provider_message_id: str | None = None
    contact: Contact | None = None
    up_to: bool = False
    error: str | None = None


class ContactEventKind(enum.StrEnum):
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


@dataclass(frozen=True)
class ContactEvent:
    """Something a contact did that is not a message (followed or unfollowed the OA, opted in or out)."""

    kind: ContactEventKind
    contact: Contact
    at: datetime
    provider_event_id: str | None = None


@dataclass(frozen=True)
class LeadNotice:
    """A person left their details in a provider's own form: a Facebook Lead Ads form, a Zalo OA information request.

    ``source`` is the lead source it counts as (``facebook_lead_ads``, ``zalo_form``); ``provider_lead_id`` the
    provider's id of the submission (the capture's key). When the webhook carries the answers they are in
    ``fields`` (``complete``); otherwise (``complete=False``) they are fetched later with
    ``ChannelAdapter.fetch_lead``. ``detail`` holds the provider's ids of the form, ad, campaign and so on.
    """

    source: str
    provider_lead_id: str
    at: datetime
    complete: bool
    contact: Contact | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, str] = field(default_factory=dict)


Inbound = InboundMessage | StatusUpdate | ContactEvent | LeadNotice


# What goes out ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A message template the provider approved (WhatsApp templates, Zalo ZNS): its id, language, values."""

    name: str
    language: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundMessage:
    """One message to send. ``idempotency_key`` is stable across retries of the same message; adapters pass
    it to providers that take one and the inbox never sends a key twice. Channels without HTML ignore
    ``html`` and send ``text``."""

    idempotency_key: str
    to: ContactIdentifier
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    template: Template | None = None
    tag: str | None = None
    subject: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    reply_to_provider_id: str | None = None
    html: str | None = None  # an HTML version of ``text`` (e-mail sends both, the plain text first)


@dataclass(frozen=True)
class PolledItem:
    """One item a polling channel fetched (an e-mail's raw RFC 5322 bytes): kept raw, then parsed."""

    provider_id: str
    body: bytes


@dataclass(frozen=True)
class PollResult:
    """What one poll fetched, and the cursor to poll from next time (None: start again from the beginning)."""

    items: list[PolledItem]
    cursor: str | None


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message: its id there, and the state it is in."""

    provider_message_id: str
    state: DeliveryState = DeliveryState.SENT
    parts: int = 1


# Rules ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyRule:
    """What may be sent to a contact now.

    ``free_text`` says whether an ordinary reply may go out; ``until`` when that ends (None: no window);
    ``tag`` a message tag the reply must carry to be allowed (Messenger's ``HUMAN_AGENT``); ``templates``
    whether approved templates may go out instead; ``reason`` the sentence the agent is shown.
    """

    free_text: bool
    reason: str
    until: datetime | None = None
    tag: str | None = None
    templates: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What a channel can carry; the inbox offers only what the channel takes. ``address_types`` are the
    identifier types it can write to (empty: not declared)."""

    text: bool = True
    attachments: bool = False
    templates: bool = False
    subject: bool = False
    polled: bool = False
    max_text_length: int | None = None
    reply_window: timedelta | None = None
    address_types: tuple[str, ...] = ()
    html: bool = False  # sends ``OutboundMessage.html`` (e-mail)


# The adapter ------------------------------------------------------------------------------------------


class ChannelAdapter(ABC):
    """One provider's protocol. Built per connected channel from its settings and decrypted secrets."""

    kind: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # Settings and secrets a connection of this kind needs: name -> what to type there.
    settings_fields: ClassVar[Mapping[str, str]] = {}
    secret_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        missing = [name for name in (*self.settings_fields, *self.secret_fields)
                   if not (settings.get(name) or secrets.get(name)) and name not in self.optional_fields()]
        if missing:
            raise ChannelError(f"A {self.label} channel needs {', '.join(missing)}; add them in the channel's "
                               "settings.")
        self.settings = dict(settings)
        self.secrets = dict(secrets)
        self.http = http or http_client(timeout=httpx.Timeout(10.0, connect=5.0))

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """Settings a connection may leave empty."""
        return frozenset()

    def handshake(self, request: WebhookRequest) -> WebhookAnswer | None:
        """Answer the provider's subscription check, or None when ``request`` is not one."""
        return None

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Raise ``SignatureInvalid`` unless the request is signed by the provider with this channel's secret."""

    @abstractmethod
    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """What a verified webhook carries; ``PayloadInvalid`` when the body is not the provider's shape.

        Items the adapter does not handle are left out, never an error: a provider adding event types must
        not break the channel.
        """

    def ack(self, request: WebhookRequest) -> WebhookAnswer:
        """The answer to a webhook that was accepted."""
        return WebhookAnswer(200, b"ok")

    def webhook_id(self, request: WebhookRequest) -> str | None:
        """A provider id of the whole delivery, when it has one, to drop redelivered webhooks early."""
        return None

    @abstractmethod
    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver ``message``; ``SendFailed`` (with ``retryable``/``credentials_revoked``) when refused."""

    def fetch_lead(self, provider_lead_id: str) -> LeadNotice:
        """The answers of a lead the webhook only named (``LeadNotice.complete`` False); ``FetchFailed`` when
        the provider will not give them."""
        raise FetchFailed(f"A {self.label} channel has no leads to fetch.", code="unsupported")

    def poll(self, *, cursor: str | None) -> PollResult:
        """Fetch what arrived since ``cursor`` (channels that are polled, such as IMAP mailboxes)."""
        raise ChannelError(f"A {self.label} channel is not polled; its provider calls the webhook.")

    def parse_polled(self, item: PolledItem) -> list[Inbound]:
        """What one polled item carries; ``PayloadInvalid`` when it cannot be understood."""
        raise ChannelError(f"A {self.label} channel is not polled; its provider calls the webhook.")

    def reply_rule(self, *, last_inbound_at: datetime | None, now: datetime) -> ReplyRule:
        """What may be sent now, given when the contact last wrote; channels without a window allow it all."""
        return ReplyRule(free_text=True, reason="This channel has no reply window.",
                         templates=self.capabilities.templates)

    def close(self) -> None:
        """Release the HTTP client."""
        self.http.close()
