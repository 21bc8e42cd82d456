"""The policy's settings: Vietnamese defaults (Decree 91/2020 on spam: at most 3 advertising messages or e-mails
per recipient in 24 hours, advertising only between 07:00 and 22:00), kept in one row that managers change,
every change audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.errors import ValidationFailed
from xuyen.journeys.policy.models import PolicySettings

CHANNELS = ("zalo", "messenger", "whatsapp", "sms", "email")
PURPOSES = ("marketing", "transactional", "care")
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
MAX_LIMIT = 1000
MAX_HOURS = 24 * 31
MINUTES_A_DAY = 24 * 60


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` counted messages within any ``hours`` hours."""

    limit: int
    hours: int


@dataclass(frozen=True)
class PolicyConfig:
    """The settings the policy decides by (see ``PolicySettings`` for what each means)."""

    timezone: str = DEFAULT_TIMEZONE
    allowed_from: int = 7 * 60
    allowed_until: int = 22 * 60
    total: Cap = Cap(3, 24)
    channel_caps: dict[str, Cap] = field(default_factory=lambda: {channel: Cap(3, 24) for channel in CHANNELS})
    channel_order: tuple[str, ...] = CHANNELS
    capped_purposes: tuple[str, ...] = ("marketing",)
    quiet_exempt: tuple[str, ...] = ("transactional",)

    def as_json(self) -> dict[str, Any]:
        """The settings as plain JSON (the API's answer and the audit's detail)."""
        values = asdict(self)
        values["channel_order"], values["capped_purposes"] = list(self.channel_order), list(self.capped_purposes)
        values["quiet_exempt"] = list(self.quiet_exempt)
        return values


def _bad(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def _checked_cap(cap: Cap, what: str) -> Cap:
    if not 0 <= cap.limit <= MAX_LIMIT or not 1 <= cap.hours <= MAX_HOURS:
        raise _bad(f"{what}: at most 0 to {MAX_LIMIT} messages within 1 to {MAX_HOURS} hours.", "invalid_cap")
    return cap


def _checked_purposes(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = [value for value in values if value not in PURPOSES]
    if unknown:
        raise _bad(f"{what}: purposes are {', '.join(PURPOSES)}.", "invalid_purpose")
    return tuple(dict.fromkeys(values))


def validated(config: PolicyConfig) -> PolicyConfig:
    """``config`` when every value is sensible; ValidationFailed (with a code) naming the first that is not."""
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad("The time zone is an IANA name such as Asia/Ho_Chi_Minh.", "invalid_timezone") from None
    for minute in (config.allowed_from, config.allowed_until):
        if not 0 <= minute < MINUTES_A_DAY:
            raise _bad("Sending hours are times of day between 00:00 and 23:59.", "invalid_hours")
    if config.allowed_from == config.allowed_until:
        raise _bad("Sending hours must start and end at different times.", "invalid_hours")
    _checked_cap(config.total, "Across channels")
    for channel, cap in config.channel_caps.items():
        if channel not in CHANNELS:
            raise _bad(f"Channels are {', '.join(CHANNELS)}.", "invalid_channel")
        _checked_cap(cap, channel)
    if sorted(config.channel_order) != sorted(CHANNELS):
        raise _bad(f"The channel order lists each of {', '.join(CHANNELS)} once.", "invalid_channel_order")
    _checked_purposes(config.capped_purposes, "Capped purposes")
    _checked_purposes(config.quiet_exempt, "Purposes allowed at night")
    return config


def _of_row(row: PolicySettings) -> PolicyConfig:
    return PolicyConfig(
        timezone=row.timezone, allowed_from=row.allowed_from, allowed_until=row.allowed_until,
        total=Cap(row.total_limit, row.total_hours),
        channel_caps={channel: Cap(int(cap["limit"]), int(cap["hours"])) for channel, cap in row.channel_caps.items()},
        channel_order=tuple(row.channel_order), capped_purposes=tuple(row.capped_purposes),
        quiet_exempt=tuple(row.quiet_exempt))


def current(session: Session) -> PolicyConfig:
    """The settings in force: the stored row, else the defaults."""
    row = session.get(PolicySettings, 1)
    return _of_row(row) if row is not None else PolicyConfig()


def change(session: Session, *, config: PolicyConfig, actor: str) -> PolicyConfig:
    """Store new settings after checking them, audit the change (before and after), and commit."""
    validated(config)
    before = current(session)
    row = session.get(PolicySettings, 1) or PolicySettings(id=1)
    row.timezone, row.allowed_from, row.allowed_until = config.timezone, config.allowed_from, config.allowed_until
    row.total_limit, row.total_hours = config.total.limit, config.total.hours
    row.channel_caps = {channel: asdict(cap) for channel, cap in sorted(config.channel_caps.items())}
    row.channel_order, row.capped_purposes = list(config.channel_order), list(config.capped_purposes)
    row.quiet_exempt, row.updated_at, row.updated_by = list(config.quiet_exempt), utcnow(), actor
    session.add(row)
    audit.record(session, actor=actor, action="messaging_policy.settings_changed", subject_type="messaging_policy",
                 subject_id=1, detail={"before": before.as_json(), "after": config.as_json()})
    session.commit()
    return config
