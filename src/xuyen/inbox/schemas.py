"""Inbox API bodies and answers: channels, conversations, messages, replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.inbox.models import Channel, ConversationStatus, Message
from xuyen.inbox.service import ReplyOption


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelIn(_In):
    """A channel to connect: its kind, a name staff recognise, its settings and its secrets."""

    kind: str = Field(max_length=32, examples=["zalo"])
    name: str = Field(min_length=1, max_length=200, examples=["Zalo OA Thời trang Xuyên"])
    settings: dict[str, str] = Field(default_factory=dict, max_length=50)
    secrets: dict[str, str] = Field(default_factory=dict, max_length=50)
    source_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                  description="The event source already tracking this account (default: a new one).")


class SecretsIn(_In):
    """New secrets for a channel (after reconnecting it at the provider)."""

    secrets: dict[str, str] = Field(min_length=1, max_length=50)


class ChannelOut(BaseModel):
    """A connected channel; its secrets are never shown."""

    id: int
    kind: str
    name: str
    settings: dict[str, Any]
    status: str
    status_reason: str | None
    source_id: int
    webhook_path: str
    created_at: datetime

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        return cls(id=channel.id, kind=channel.kind, name=channel.name, settings=channel.settings,
                   status=channel.status.value, status_reason=channel.status_reason,
                   source_id=channel.source_id, webhook_path=f"/webhooks/{channel.id}", created_at=channel.created_at)


class ReplyIn(_In):
    """An agent's reply; without ``channel_id`` it goes where the customer last wrote."""

    text: str = Field(min_length=1, max_length=20_000)
    channel_id: int | None = Field(default=None, ge=1)


class TemplateIn(_In):
    """An approved template to send (a WhatsApp template, a Zalo ZNS template) with its values."""

    channel_id: int = Field(ge=1, le=2**31 - 1)
    name: str = Field(min_length=1, max_length=200, examples=["xac_nhan_don_hang"])
    language: str | None = Field(default=None, max_length=20, examples=["vi"])
    parameters: dict[str, str] = Field(default_factory=dict, max_length=50)


class NoteIn(_In):
    text: str = Field(min_length=1, max_length=20_000)


class StatusIn(_In):
    status: ConversationStatus
    snoozed_until: datetime | None = None


class AssigneeIn(_In):
    user_id: int | None = Field(default=None, ge=1)


class MessageOut(BaseModel):
    """One message of a conversation, with its channel and delivery state."""

    id: int
    direction: str
    state: str
    channel_id: int | None
    author_id: int | None
    text: str
    subject: str | None
    attachments: list[dict[str, Any]]
    error: str | None
    sent_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(id=message.id, direction=message.direction.value, state=message.state.value,
                   channel_id=message.channel_id, author_id=message.author_id, text=message.text,
                   subject=message.subject, attachments=message.attachments, error=message.error,
                   sent_at=message.sent_at)


class ReplyOptionOut(BaseModel):
    """A channel the customer can be reached on, and what it allows now."""

    channel_id: int
    channel_name: str
    kind: str
    free_text: bool
    reason: str
    until: datetime | None
    tag: str | None
    templates: bool

    @classmethod
    def of(cls, option: ReplyOption) -> ReplyOptionOut:
        return cls(channel_id=option.channel.id, channel_name=option.channel.name, kind=option.channel.kind,
                   free_text=option.rule.free_text, reason=option.rule.reason, until=option.rule.until,
                   tag=option.rule.tag, templates=option.rule.templates)


class ConversationOut(BaseModel):
    """A conversation in the list."""

    id: int
    customer_id: int
    status: str
    assignee_id: int | None
    subject: str | None
    last_message_at: datetime
    last_inbound_at: datetime | None
    last_inbound_channel_id: int | None
    created_at: datetime
    merged_into_id: int | None = Field(
        None, description="Set when a merge of the customer's profiles combined this conversation into that one.")


class ConversationDetailOut(ConversationOut):
    """A conversation with its messages and where a reply can go."""

    messages: list[MessageOut]
    reply_options: list[ReplyOptionOut]
