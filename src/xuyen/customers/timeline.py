"""The customer timeline: everything that happened with a customer, on every channel, newest first.

An extension point. Each domain that has something to show registers a provider for its kind of item
(``event`` here; later ``message``, ``order``, ``ticket``, ``loyalty``) with ``@timeline_provider(kind)``
in a ``timeline`` module of its own. A provider returns its items of the given profiles, newest first,
strictly before a position ``(at, seq)``; this module merges the providers' pages into one, and
pages through them with an opaque cursor. A provider whose items not every member of the staff may see registers
with ``@scoped_timeline_provider(kind)`` and is given the viewer too (``None`` when the platform itself reads).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xuyen.auth.service import Principal
from xuyen.errors import BadRequest

MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened: when, what kind, on which channel, a short title and its details.

    ``seq`` orders items of one kind that happened at the same moment (e.g. an event's id).
    """

    at: datetime
    kind: str
    seq: int
    channel: str | None
    title: str
    source: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Provider = Callable[[Session, Sequence[int], "tuple[datetime, int] | None", int], list[TimelineItem]]
ScopedProvider = Callable[[Session, Sequence[int], "tuple[datetime, int] | None", int, "Principal | None"],
                          list[TimelineItem]]

_providers: dict[str, ScopedProvider] = {}


def timeline_provider(kind: str) -> Callable[[Provider], Provider]:
    """Register the provider of one kind of timeline item (one per kind)."""
    def register(provider: Provider) -> Provider:
        _providers[kind] = lambda session, profile_ids, before, limit, _viewer: provider(session, profile_ids,
                                                                                          before, limit)
        return provider
    return register


def scoped_timeline_provider(kind: str) -> Callable[[ScopedProvider], ScopedProvider]:
    """Register the provider of one kind of timeline item that is also given the viewer, to show only what they
    may see (one per kind)."""
    def register(provider: ScopedProvider) -> ScopedProvider:
        _providers[kind] = provider
        return provider
    return register


def provider_kinds() -> list[str]:
    """The kinds of item the timeline can show, as registered."""
    return sorted(_providers)


@dataclass(frozen=True)
class TimelinePage:
    """One page of a timeline and the cursor of the next (None on the last page)."""

    items: list[TimelineItem]
    next_cursor: str | None


def encode_cursor(item: TimelineItem) -> str:
    """The opaque cursor that continues after ``item``."""
    raw = json.dumps([item.at.isoformat(), item.kind, item.seq]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str, int]:
    """The position a cursor stands for; BadRequest when it is not one this module made."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, kind, seq = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position = (datetime.fromisoformat(at), str(kind), int(seq))
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequest("The cursor is not valid; use the `next_cursor` of the previous page.",
                         code="invalid_cursor") from None
    if position[0].tzinfo is None:
        raise BadRequest("The cursor is not valid; use the `next_cursor` of the previous page.",
                         code="invalid_cursor")
    return position


def _bound_for(kind: str, position: tuple[datetime, str, int] | None) -> tuple[datetime, int] | None:
    """Where a provider of ``kind`` must stop so that its items come after ``position`` in timeline order
    (newest first; at one moment, kinds in alphabetical order, then by ``seq`` descending)."""
    if position is None:
        return None
    at, cursor_kind, seq = position
    if kind == cursor_kind:
        return at, seq
    return (at, MAX_SEQ) if kind > cursor_kind else (at, -1)


def _order(item: TimelineItem) -> tuple[datetime, str, int]:
    return item.at, item.kind, item.seq


def read_timeline(session: Session, *, profile_ids: Sequence[int], cursor: str | None, limit: int,
                  viewer: Principal | None = None) -> TimelinePage:
    """A page of the profiles' timeline from every provider, newest first, as ``viewer`` may see it (everything
    when no viewer is given; helper: reads only)."""
    position = decode_cursor(cursor) if cursor else None
    items: list[TimelineItem] = []
    for kind, provider in sorted(_providers.items()):
        items.extend(provider(session, profile_ids, _bound_for(kind, position), limit + 1, viewer))
    items.sort(key=lambda item: (item.at, _reverse_kind(item.kind), item.seq), reverse=True)
    page = items[:limit]
    more = len(items) > limit
    return TimelinePage(items=page, next_cursor=encode_cursor(page[-1]) if more and page else None)


def _reverse_kind(kind: str) -> tuple[int, ...]:
    """A sort key that, sorted in reverse, puts kinds in alphabetical order."""
    return (*(-ord(char) for char in kind), 1)
