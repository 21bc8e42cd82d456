"""The composition root: the list of domains, and where their routers, models and handlers live.

The frame (config, db, outbox, jobs, worker) never imports a domain; the app, the CLI and the
migrations find them through this list. Adding a domain means adding its package name here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

DOMAINS: tuple[str, ...] = (
    "xuyen.stores",
    "xuyen.auth",
    "xuyen.identity",
    "xuyen.events",
    "xuyen.customers",
    "xuyen.customers.importing",
    "xuyen.customers.duplicates",
    "xuyen.fields",
    "xuyen.inbox.routing",  # before the inbox: its /conversations/search must win over /conversations/{id}
    "xuyen.inbox",
    "xuyen.inbox.sla",
    "xuyen.inbox.csat",
    "xuyen.commerce.catalogue",
    "xuyen.commerce.stock",
    "xuyen.commerce.pricing",
    "xuyen.loyalty",
    "xuyen.commerce.orders",
    "xuyen.commerce.marketplaces",
    "xuyen.sales.scoring",  # before the leads: its /leads/scoring must win over /leads/{lead_id}
    "xuyen.sales.leads",
    "xuyen.sales.deals",
    "xuyen.sales.tasks",
    "xuyen.segments",
    "xuyen.journeys.templates",
    "xuyen.journeys.policy",
    "xuyen.journeys.flows",
    "xuyen.analytics",
    "xuyen.ui",
    "xuyen.demo",
)


def _optional_modules(suffix: str) -> Iterator[ModuleType]:
    for package in DOMAINS:
        name = f"{package}.{suffix}"
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def load_models() -> None:
    """Import every domain's ``models`` so that ``Base.metadata`` knows every table."""
    import xuyen.audit
    import xuyen.jobs
    import xuyen.outbox  # noqa: F401

    for _ in _optional_modules("models"):
        pass


def load_handlers() -> None:
    """Import every domain's ``handlers``, ``timeline`` and ``export`` modules, so that their jobs, event
    subscriptions, customer-timeline providers and person-export sections are registered."""
    load_models()
    for suffix in ("handlers", "timeline", "export"):
        for _ in _optional_modules(suffix):
            pass


def api_modules() -> list[ModuleType]:
    """Every domain's ``api`` module (each exposes a ``router``)."""
    return list(_optional_modules("api"))


def public_api_modules() -> list[ModuleType]:
    """Every domain's ``tracking``, ``webhooks``, ``webchat``, ``webforms`` and ``beacons`` modules: public APIs with
    fixed paths of their own (Segment's ``/v1``, the channels' ``/webhooks``, the web chat widget's ``/chat``, the
    website lead forms' ``/forms``, the e-mail open pixels and tracked links' ``/t``)."""
    return [*_optional_modules("tracking"), *_optional_modules("webhooks"), *_optional_modules("webchat"),
            *_optional_modules("webforms"), *_optional_modules("beacons")]


def page_modules() -> list[ModuleType]:
    """Every domain's ``pages`` module (server-rendered pages; each exposes a ``router`` mounted at the root)."""
    return list(_optional_modules("pages"))


def cli_modules() -> list[ModuleType]:
    """Every domain's ``cli`` module (each exposes ``register(app)`` to add its commands)."""
    return list(_optional_modules("cli"))
