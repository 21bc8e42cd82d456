"""Finding channel adapters: providers register under the ``xuyen.channels`` entry point group, so the core
names none of them. A third-party package adds a channel by declaring an entry point of its own."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from xuyen.channels.base import ChannelAdapter, ChannelError

GROUP = "xuyen.channels"

log = logging.getLogger("xuyen.channels")


@cache
def adapters() -> dict[str, type[ChannelAdapter]]:
    """Every installed adapter class by its kind (``messenger``, ``zalo``, …)."""
    found: dict[str, type[ChannelAdapter]] = {}
    for point in entry_points(group=GROUP):
        try:
            adapter = point.load()
        except ImportError:  # one broken channel package must not take the others down
            log.exception("the channel adapter %r (%s) cannot be loaded; it is left out", point.name, point.value)
            continue
        if not (isinstance(adapter, type) and issubclass(adapter, ChannelAdapter)):
            raise TypeError(f"entry point {point.name!r} of {GROUP} is not a ChannelAdapter class")
        if adapter.kind != point.name:
            raise TypeError(f"entry point {point.name!r} names an adapter of kind {adapter.kind!r}")
        found[point.name] = adapter
    return dict(sorted(found.items()))


def adapter_class(kind: str) -> type[ChannelAdapter]:
    """The adapter of ``kind``; a ChannelError naming the installed ones when there is none."""
    known = adapters()
    if kind not in known:
        raise ChannelError(f"There is no {kind!r} channel; installed channels: {', '.join(known) or 'none'}.")
    return known[kind]
