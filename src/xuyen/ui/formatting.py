"""How the pages show times, money, numbers and the names of roles, channels and job states."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfoNotFoundError

from babel.numbers import format_currency, format_decimal

from xuyen.auth.models import Role
from xuyen.clock import to_local
from xuyen.i18n import DEFAULT_TIMEZONE, N_, current_locale, current_timezone, gettext
from xuyen.jobs import JobStatus

TIME_FORMAT = "%d/%m/%Y %H:%M"
EMPTY = "—"

ROLE_LABELS: dict[str, str] = {
    Role.owner: N_("Owner"),
    Role.manager: N_("Manager"),
    Role.agent: N_("Agent"),
}

JOB_STATUS_LABELS: dict[str, str] = {
    JobStatus.queued: N_("Queued"),
    JobStatus.running: N_("Running"),
    JobStatus.done: N_("Done"),
    JobStatus.dead: N_("Failed"),
}


QUARANTINE_REASON_LABELS: dict[str, str] = {
    "missing_id": N_("No user id or anonymous id"),
    "missing_event": N_("Track call without an event name"),
    "missing_group_id": N_("Group call without a group id"),
    "bad_type": N_("Unknown call type or a field of the wrong type"),
    "bad_timestamp": N_("Unreadable time"),
    "event_too_large": N_("Call too large"),
}


def format_local_time(moment: datetime | None, timezone: str) -> str:
    """``moment`` in ``timezone`` as dd/mm/yyyy HH:MM (a dash when there is none)."""
    if moment is None:
        return EMPTY
    try:
        local = to_local(moment, timezone)
    except (ZoneInfoNotFoundError, ValueError):
        local = to_local(moment, DEFAULT_TIMEZONE)
    return local.strftime(TIME_FORMAT)


def format_money(amount: int | float | Decimal | None, locale: str, currency: str = "VND") -> str:
    """An amount of money the way ``locale`` writes it: ``1.250.000 ₫`` in vi, ``₫1,250,000`` in en."""
    if amount is None:
        return EMPTY
    return format_currency(amount, currency, locale=locale)


def format_number(value: int | float | Decimal | None, locale: str) -> str:
    """A number with the thousands separators of ``locale``."""
    if value is None:
        return EMPTY
    return format_decimal(value, locale=locale)


def local_time(moment: datetime | None) -> str:
    """Jinja filter: ``moment`` in the time zone of the person looking at the page."""
    return format_local_time(moment, current_timezone.get())


def money(amount: int | float | Decimal | None, currency: str = "VND") -> str:
    """Jinja filter: an amount of money in the language of the page."""
    return format_money(amount, current_locale.get(), currency)


def number(value: int | float | Decimal | None) -> str:
    """Jinja filter: a number in the language of the page."""
    return format_number(value, current_locale.get())


def _translated(labels: dict[str, str], code: str) -> str:
    """The translated label of ``code``, or the code itself when it has none."""
    label = labels.get(code)
    return gettext(label) if label else str(code)


def role_label(role: str) -> str:
    """The human name of a role, translated."""
    return _translated(ROLE_LABELS, role)


def job_status_label(status: str) -> str:
    """The human name of a job state, translated."""
    return _translated(JOB_STATUS_LABELS, status)


def quarantine_reason_label(reason: str) -> str:
    """Why a call was quarantined, in words, translated (the code itself when it is not a known one)."""
    return _translated(QUARANTINE_REASON_LABELS, reason)
