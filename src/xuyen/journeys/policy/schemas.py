"""Messaging policy API bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xuyen.journeys.policy.models import Suppression
from xuyen.journeys.policy.service import Decision
from xuyen.journeys.policy.settings import MAX_HOURS, MAX_LIMIT, Cap, PolicyConfig
from xuyen.journeys.policy.suppressions import is_erased

TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d$"


def clock_text(minute: int) -> str:
    """A minute of the day as ``HH:MM``."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minute_of(text: str) -> int:
    """``HH:MM`` as minutes after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class CapIn(BaseModel):
    """At most ``limit`` messages within any ``hours`` hours."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=0, le=MAX_LIMIT)
    hours: int = Field(ge=1, le=MAX_HOURS)


class SettingsIn(BaseModel):
    """The policy's settings, whole: sending hours (``HH:MM`` in ``timezone`` unless the customer has their own),
    the cap across channels and per channel (a channel left out has no cap of its own), the channel order, which
    purposes the caps count and which may go at night."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(min_length=1, max_length=64)
    sending_from: str = Field(pattern=TIME_OF_DAY)
    sending_until: str = Field(pattern=TIME_OF_DAY)
    total_cap: CapIn
    channel_caps: dict[str, CapIn] = Field(max_length=10)
    channel_order: list[str] = Field(max_length=10)
    capped_purposes: list[str] = Field(max_length=3)
    quiet_exempt: list[str] = Field(max_length=3)

    def config(self) -> PolicyConfig:
        """The settings as the service takes them."""
        return PolicyConfig(
            timezone=self.timezone, allowed_from=minute_of(self.sending_from),
            allowed_until=minute_of(self.sending_until), total=Cap(self.total_cap.limit, self.total_cap.hours),
            channel_caps={name: Cap(cap.limit, cap.hours) for name, cap in self.channel_caps.items()},
            channel_order=tuple(self.channel_order), capped_purposes=tuple(self.capped_purposes),
            quiet_exempt=tuple(self.quiet_exempt))


class SettingsOut(SettingsIn):
    """The settings in force."""

    @classmethod
    def of(cls, config: PolicyConfig) -> SettingsOut:
        """The answer for ``config``."""
        return cls(timezone=config.timezone, sending_from=clock_text(config.allowed_from),
                   sending_until=clock_text(config.allowed_until),
                   total_cap=CapIn(limit=config.total.limit, hours=config.total.hours),
                   channel_caps={name: CapIn(limit=cap.limit, hours=cap.hours)
                                 for name, cap in config.channel_caps.items()},
                   channel_order=list(config.channel_order), capped_purposes=list(config.capped_purposes),
                   quiet_exempt=list(config.quiet_exempt))


class SuppressionIn(BaseModel):
    """Suppress a ``profile`` (its id), ``phone`` or ``email``, saying why."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["profile", "phone", "email"]
    value: str = Field(min_length=1, max_length=320)
    reason: str = Field(min_length=1, max_length=500)
    source: Literal["manual", "bounce", "unsubscribe", "complaint"] = "manual"


class SuppressionOut(BaseModel):
    """An entry of the suppression list."""

    id: int
    kind: str
    value: str = Field(description="The profile id, phone (E.164) or e-mail; ``erased:<hash>`` for a phone or "
                                    "e-mail of a person erased since, kept so that it is never written to again.")
    erased: bool = Field(description="Whether ``value`` is the salted hash of an erased person's phone or e-mail.")
    reason: str
    source: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, entry: Suppression) -> SuppressionOut:
        """The answer for ``entry``."""
        return cls(id=entry.id, kind=entry.kind, value=entry.value, erased=is_erased(entry),
                   reason=entry.reason, source=entry.source, created_by=entry.created_by,
                   created_at=entry.created_at)


class DecisionIn(BaseModel):
    """Ask what the policy would do with a message now (or ``at``), without sending anything."""

    model_config = ConfigDict(extra="forbid")

    profile_id: int = Field(ge=1, le=2**62)
    purpose: str = Field(max_length=32)
    channel: str | None = Field(default=None, max_length=32)
    campaign_key: str | None = Field(default=None, max_length=200)
    at: datetime | None = None
    on_cap: Literal["skip", "defer"] = "defer"


class RouteOut(BaseModel):
    """A channel to send on and the customer's address there."""

    channel: str
    address_type: str
    address: str
    channel_id: int | None


class DecisionOut(BaseModel):
    """``send`` on ``channel`` (then ``fallbacks``), ``defer`` until ``until``, or ``skip`` (``code``, ``reason``)."""

    action: str
    channel: str | None
    fallbacks: list[str]
    routes: list[RouteOut]
    until: datetime | None
    code: str
    reason: str
    refused: dict[str, str]

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        """The answer for ``decision``."""
        return cls(action=decision.action, channel=decision.channel, fallbacks=list(decision.fallbacks),
                   routes=[RouteOut(channel=r.channel, address_type=r.address_type, address=r.address,
                                    channel_id=r.channel_id) for r in decision.routes],
                   until=decision.until, code=decision.code, reason=decision.reason, refused=dict(decision.refused))
