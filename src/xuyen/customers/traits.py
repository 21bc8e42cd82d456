"""Traits: which value of each trait a customer has, given every value their channels sent.

Pure functions. Each identify call is an observation (trait, value, channel, time); for each trait the winner
is the observation from the best-ranked channel in the trait's precedence list, the newest among equals. A
``null`` value is an observation too: a source that clears a trait clears it, if it wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from xuyen.identity.names import fold_name, split_vietnamese_name

MAX_TRAIT_NAME = 100


@dataclass(frozen=True)
class Observation:
    """One value of one trait, as one call sent it."""

    name: str
    value: Any
    source_id: int
    channel: str
    at: datetime
    event_id: int


@dataclass(frozen=True)
class TraitSent:
    """The traits one call sent, with where and when."""

    source_id: int
    channel: str
    at: datetime
    event_id: int
    traits: dict[str, Any]


def observations(calls: Iterable[TraitSent]) -> list[Observation]:
    """Every (trait, value) of the calls, in call order."""
    return [Observation(name=name[:MAX_TRAIT_NAME], value=value, source_id=call.source_id, channel=call.channel,
                        at=call.at, event_id=call.event_id)
            for call in calls for name, value in call.traits.items()]


def _rank(precedence: dict[str, list[str]], name: str, channel: str) -> int:
    ranked = precedence.get(name, [])
    return ranked.index(channel) if channel in ranked else len(ranked)


def winners(found: Iterable[Observation], *, precedence: dict[str, list[str]]) -> dict[str, Observation]:
    """The winning observation of each trait: best-ranked channel first, then the newest."""
    best: dict[str, Observation] = {}
    for observation in found:
        current = best.get(observation.name)
        if current is None or _beats(observation, current, precedence):
            best[observation.name] = observation
    return {name: observation for name, observation in best.items() if observation.value not in (None, "")}


def _beats(new: Observation, old: Observation, precedence: dict[str, list[str]]) -> bool:
    new_rank, old_rank = _rank(precedence, new.name, new.channel), _rank(precedence, old.name, old.channel)
    if new_rank != old_rank:
        return new_rank < old_rank
    return (new.at, new.event_id) >= (old.at, old.event_id)


def latest_per_source(found: Iterable[Observation]) -> dict[str, list[Observation]]:
    """For each trait, the newest value each source sent, newest first (what the customer 360 lists)."""
    latest: dict[tuple[str, int], Observation] = {}
    for observation in found:
        key = (observation.name, observation.source_id)
        if key not in latest or (observation.at, observation.event_id) >= (latest[key].at, latest[key].event_id):
            latest[key] = observation
    grouped: dict[str, list[Observation]] = {}
    for (name, _), observation in latest.items():
        grouped.setdefault(name, []).append(observation)
    return {name: sorted(items, key=lambda o: (o.at, o.event_id), reverse=True) for name, items in grouped.items()}


# Reading well-known traits ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def display_name(traits: dict[str, Any]) -> str:
    """The customer's name: ``name``, else family then given name (Vietnamese order), else ``username``."""
    name = _text(traits.get("name"))
    if name:
        return " ".join(name.split())
    family = _text(traits.get("lastName")) or _text(traits.get("last_name"))
    given = _text(traits.get("firstName")) or _text(traits.get("first_name"))
    joined = " ".join(part for part in (family, given) if part)
    return joined or _text(traits.get("username"))


def name_parts(name: str) -> tuple[str, str]:
    """(family name, given name) of a name written family name first."""
    family, _middle, given = split_vietnamese_name(name)
    return family, given


def folded(name: str) -> str:
    """The name for search and matching: no diacritics, lower-case."""
    return fold_name(name)


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


def birth_date(value: Any) -> date | None:
    """A birthday trait as a date: ISO 8601 (with or without a time), or day/month/year as Vietnamese write it."""
    text = _text(value)
    if not text:
        return None
    for candidate in (text[:10], text):
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(candidate, pattern).date()
            except ValueError:
                continue
            return parsed if date(1900, 1, 1) <= parsed <= date.today() else None
    return None


_GENDERS = {"male": "male", "m": "male", "nam": "male", "female": "female", "f": "female", "nu": "female",
            "nữ": "female", "other": "other", "khac": "other", "khác": "other"}


def gender(value: Any) -> str:
    """``male``, ``female``, ``other`` or empty, from English or Vietnamese words."""
    return _GENDERS.get(_text(value).lower(), "")


_ADDRESS_PARTS = ("street", "address1", "address2", "ward", "district", "city", "state", "province",
                  "postalCode", "country")


def address_text(value: Any) -> str:
    """An address trait as one line of text: a string as it is, Segment's address object joined by commas."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        parts = [_text(value.get(key)) for key in _ADDRESS_PARTS]
        return ", ".join(part for part in parts if part)
    return ""
