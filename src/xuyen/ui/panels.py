"""Panels other domains add to the customer 360 page: each is a template and a function that gives its context
for the customer (or None to show nothing). Registered with ``@customer_panel`` from the UI module of the domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from xuyen.ui.deps import Viewer

PanelContext = Callable[[Session, int, Viewer], dict[str, Any] | None]


@dataclass(frozen=True)
class CustomerPanel:
    """One panel: its anchor id, the label of its link in the page's section list, its template and context."""

    anchor: str
    label: str
    template: str
    context: PanelContext
    order: int


@dataclass(frozen=True)
class ShownPanel:
    """A panel ready to render."""

    anchor: str
    label: str
    template: str
    context: dict[str, Any]


_panels: dict[str, CustomerPanel] = {}


def customer_panel(anchor: str, *, label: str, template: str,
                   order: int = 100) -> Callable[[PanelContext], PanelContext]:
    """Register a panel of the customer 360 page (``label`` marked for translation with ``N_``)."""
    def register(context: PanelContext) -> PanelContext:
        _panels[anchor] = CustomerPanel(anchor=anchor, label=label, template=template, context=context, order=order)
        return context
    return register


def panels_for(session: Session, *, profile_id: int, viewer: Viewer) -> list[ShownPanel]:
    """The panels to show for the customer, in their order."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda item: (item.order, item.anchor)):
        context = panel.context(session, profile_id, viewer)
        if context is not None:
            shown.append(ShownPanel(anchor=panel.anchor, label=panel.label, template=panel.template,
                                    context=context))
    return shown
