"""Event API answers: sources (never their write key or its hash), quarantined calls, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from xuyen.events.models import ChannelType, EventType, Source
from xuyen.events.segment import ECOMMERCE_EVENTS
from xuyen.events.service import WRITE_KEY_PREFIX


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SourceOut(_Out):
    """A source: one channel instance that sends events with its own write key."""

    id: int
    name: str
    channel: ChannelType
    store_id: int | None
    key_prefix: str = Field(description="The start of the write key (e.g. `wk_1a2b3c4d`), to tell keys apart.")
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        """The answer for ``source``: its public key prefix, never the key or its hash."""
        return cls(id=source.id, name=source.name, channel=source.channel, store_id=source.store_id,
                   key_prefix=f"{WRITE_KEY_PREFIX}_{source.write_key_prefix}", is_active=source.is_active,
                   created_at=source.created_at)


class QuarantinedOut(_Out):
    """A call of an accepted request that was not valid, kept for review with where it was and why."""

    id: int
    source_id: int
    request_id: str = Field(description="The X-Request-ID of the request that carried the call.")
    position: int = Field(description="The call's index in its batch (0 for a single call).")
    reason: str = Field(description="missing_id, missing_event, missing_group_id, bad_type, bad_timestamp or "
                                    "event_too_large.")
    detail: str
    payload: dict[str, Any] | None = Field(description="The call as sent (left out when it was too large).")
    received_at: datetime


class EventOut(_Out):
    """An event of the log, with Segment's four timestamps."""

    id: int
    source_id: int
    channel: str
    type: EventType
    event: str | None
    name: str | None
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    group_id: str | None
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    integrations: dict[str, Any]
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime

    profile_id: int | None = Field(default=None, description="The customer profile the event resolved to.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ecommerce(self) -> bool:
        """Whether the event is one of the Segment e-commerce spec's events (``Order Completed``, …)."""
        return self.event in ECOMMERCE_EVENTS
