"""Inbox tables: connected channels, the raw webhooks they receive, where each customer can be reached,
conversations (one thread per customer across channels) and their messages."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members])


class ChannelStatus(enum.StrEnum):
    active = "active"
    needs_attention = "needs_attention"  # the provider refused our credentials: the owner must reconnect
    disabled = "disabled"


class Channel(Base):
    """A connected channel: one Zalo OA, one Facebook page, one mailbox, … with its adapter kind, settings and
    sealed secrets, and the event source its messages are logged under."""

    __tablename__ = "inbox_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sealed_secrets: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"))
    status: Mapped[ChannelStatus] = mapped_column(_enum(ChannelStatus), default=ChannelStatus.active)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    poll_cursor: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReceiptStatus(enum.StrEnum):
    queued = "queued"
    processed = "processed"
    failed = "failed"


class WebhookReceipt(Base):
    """A webhook delivery exactly as the provider sent it (or one polled item), kept before it is parsed.

    ``dedupe_key`` is the provider's delivery id where it has one, else the digest of the body: a
    redelivered webhook is acknowledged and dropped.
    """

    __tablename__ = "inbox_webhook_receipts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("inbox_channels.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[ReceiptStatus] = mapped_column(_enum(ReceiptStatus), default=ReceiptStatus.queued)
    error: Mapped[str | None] = mapped_column(Text)
    items: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("channel_id", "dedupe_key"),
                      Index("ix_inbox_webhook_receipts_status", "status", "received_at"))


class ContactPoint(Base):
    """Where a customer can be reached on one channel (their PSID on the page, their Zalo id on the OA, their
    e-mail address at the shop's mailbox), and when they last wrote there (the channel's reply window)."""

    __tablename__ = "inbox_contact_points"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("inbox_channels.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("channel_id", "value", "type", "scope"),)


class ConversationStatus(enum.StrEnum):
    open = "open"
    pending = "pending"  # waiting on the customer
    snoozed = "snoozed"
    resolved = "resolved"


class Conversation(Base):
    """One thread with one customer, whatever channels they write on."""

    __tablename__ = "inbox_conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    status: Mapped[ConversationStatus] = mapped_column(_enum(ConversationStatus), default=ConversationStatus.open)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(300))
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_channel_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_channels.id", ondelete="SET NULL"))
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a merge of the customer's profiles combined this conversation into another: it is then an empty,
    # resolved shell whose links lead to that one. (No foreign key: SQLite would have to copy the table to add
    # one, and conversations are never deleted on their own.)
    merged_into_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    __table_args__ = (Index("ix_inbox_conversations_profile", "profile_id", "status"),
                      Index("ix_inbox_conversations_queue", "status", "last_message_at"))


class Direction(enum.StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    note = "note"  # private, never sent


class MessageState(enum.StrEnum):
    received = "received"
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class Message(Base):
    """One message of a conversation: from the customer, to the customer, or a private note between agents."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_channels.id", ondelete="SET NULL"))
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_contact_points.id", ondelete="SET NULL"))
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    state: Mapped[MessageState] = mapped_column(_enum(MessageState))
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(300))
    # An e-mail's HTML version of ``text``, as it was sent (tracked links and open pixel included).
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_webhook_receipts.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("channel_id", "provider_message_id"),
                      Index("ix_inbox_messages_conversation", "conversation_id", "sent_at"))


class MessageTracking(Base):
    """Open and click tracking of one outbound e-mail: the links its HTML pointed to (a tracked link names its
    place in ``links``), when it was first opened and first clicked, and how many times."""

    __tablename__ = "inbox_message_tracking"

    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbox_messages.id", ondelete="CASCADE"),
                                            primary_key=True)
    links: Mapped[list[str]] = mapped_column(JSONType, default=list)
    opens: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProfileMergeMoves(Base):
    """What the inbox moved when it followed one merge of profiles (``merge_id``, the identity graph's merge):
    contact points and conversations handed to the survivor, and the messages of a conversation combined into
    the survivor's. Kept so that the merge is followed once, and its undoing knows what to give back."""

    __tablename__ = "inbox_profile_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merge_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    contact_point_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    conversation_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    combined: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # from, into, message_ids, status
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
