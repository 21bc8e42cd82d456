"""Consents: a customer's current yes or no for each channel and purpose, from their ``Consent Updated`` calls.

Pure functions. A call's properties say ``channel`` (``email``, ``sms``, ``zalo``, ``messenger``,
``whatsapp``, ``phone``, ``push``, or ``any`` for all of them), ``purpose`` (``marketing``,
``transactional``, ``care``), and ``granted`` (true or false; or ``status``: granted / withdrawn), with
``proof`` saying how it was given. The newest call for a channel and purpose decides; a call for ``any``
channel decides every channel it is newer than.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xuyen.events.profiles import ConsentEvent

CHANNELS = ("email", "sms", "zalo", "messenger", "whatsapp", "phone", "push")
ANY_CHANNEL = "any"
PURPOSES = ("marketing", "transactional", "care")
GRANTED, WITHDRAWN, BLOCKED_ERASED = "granted", "withdrawn", "blocked_erased"
MAX_PROOF_TEXT = 1000


class InvalidConsent(ValueError):
    """A consent call that does not say a known channel, purpose and yes or no."""


@dataclass(frozen=True)
class ConsentState:
    """The current consent for one channel and purpose, and what shows it."""

    channel: str
    purpose: str
    status: str
    source_id: int | None
    event_id: int | None
    recorded_at: datetime
    proof: dict[str, Any]
    imported: bool


def granted_of(properties: dict[str, Any]) -> bool:
    """Whether a consent call grants (True) or withdraws (False); InvalidConsent when it says neither."""
    granted = properties.get("granted")
    if isinstance(granted, bool):
        return granted
    status = str(properties.get("status", "")).strip().lower()
    if status in ("granted", "given", "opted_in", "subscribed", "yes"):
        return True
    if status in ("withdrawn", "denied", "revoked", "opted_out", "unsubscribed", "no"):
        return False
    raise InvalidConsent("say `granted: true|false` (or `status: granted|withdrawn`)")


def checked(properties: dict[str, Any]) -> tuple[list[str], str, bool]:
    """(the channels, the purpose, granted) a consent call is about; InvalidConsent when it is unclear."""
    channel = str(properties.get("channel", "")).strip().lower()
    purpose = str(properties.get("purpose", "")).strip().lower()
    if channel != ANY_CHANNEL and channel not in CHANNELS:
        raise InvalidConsent(f"`channel` must be one of {', '.join((*CHANNELS, ANY_CHANNEL))}")
    if purpose not in PURPOSES:
        raise InvalidConsent(f"`purpose` must be one of {', '.join(PURPOSES)}")
    return (list(CHANNELS) if channel == ANY_CHANNEL else [channel]), purpose, granted_of(properties)


def proof_of(call: ConsentEvent, source_name: str) -> dict[str, Any]:
    """What shows a consent was given: the call's own proof text and where, how and when it came."""
    context = call.context
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    proof = {
        "text": str(call.properties.get("proof", ""))[:MAX_PROOF_TEXT], "source": source_name,
        "message_id": call.message_id, "ip": context.get("ip"), "user_agent": context.get("userAgent"),
        "page": page.get("url") if page else None, "actor": context.get("actor"),
        "import": context.get("import"),
    }
    return {key: value for key, value in proof.items() if value not in (None, "")}


def current(calls: Iterable[ConsentEvent], *, source_names: dict[int, str]) -> list[ConsentState]:
    """The current consent per channel and purpose from calls given oldest first; unclear calls are skipped."""
    states: dict[tuple[str, str], ConsentState] = {}
    for call in calls:
        try:
            channels, purpose, granted = checked(call.properties)
        except InvalidConsent:
            continue
        proof = proof_of(call, source_names.get(call.source_id, ""))
        for channel in channels:
            states[(channel, purpose)] = ConsentState(
                channel=channel, purpose=purpose, status=GRANTED if granted else WITHDRAWN,
                source_id=call.source_id, event_id=call.event_id, recorded_at=call.timestamp, proof=proof,
                imported="import" in proof)
    return sorted(states.values(), key=lambda state: (state.channel, state.purpose))


def blocked_for_erased(states: Sequence[ConsentState]) -> list[ConsentState]:
    """The states with imported grants turned into ``blocked_erased`` (for a person who was erased before)."""
    return [ConsentState(channel=s.channel, purpose=s.purpose, status=BLOCKED_ERASED, source_id=s.source_id,
                         event_id=s.event_id, recorded_at=s.recorded_at, proof=s.proof, imported=s.imported)
            if s.imported and s.status == GRANTED and s.purpose == "marketing" else s
            for s in states]
