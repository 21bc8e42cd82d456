"""The person export is an extension point: a domain that holds something about a person adds its section.

Each domain registers a contributor for its section in an ``export`` module of its own, the way it reacts to
``customer.erased`` to erase what it holds:

    @export_section("conversations")
    def conversations(session, profile_ids):
        '''The person's conversations and messages, JSON-ready.'''

A contributor receives the ids of every profile the person is made of (the survivor and those merged into it)
and returns JSON-ready data; the export carries it under the section's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

Contributor = Callable[[Session, Sequence[int]], Any]

_contributors: dict[str, Contributor] = {}


def export_section(name: str) -> Callable[[Contributor], Contributor]:
    """Register the contributor of one section of the person export (one per name)."""
    def register(contributor: Contributor) -> Contributor:
        existing = _contributors.get(name)
        if existing is not None and existing is not contributor:
            raise ValueError(f"export section {name!r} is already contributed by {existing.__module__}")
        _contributors[name] = contributor
        return contributor
    return register


def section_names() -> list[str]:
    """The sections other domains add to the export, as registered."""
    return sorted(_contributors)


def contributed_sections(session: Session, *, profile_ids: Sequence[int]) -> dict[str, Any]:
    """Every registered section for the person made of ``profile_ids``, by name (helper: reads only)."""
    return {name: contributor(session, profile_ids) for name, contributor in sorted(_contributors.items())}
