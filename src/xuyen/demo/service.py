"""Loading the demo shop: every registered step in one transaction, into an empty database only."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen.auth.models import Role, User
from xuyen.db import Base
from xuyen.demo.registry import DemoContext, DemoStep, registered_steps
from xuyen.demo.shop import DEMO_EMAIL_DOMAIN, DEMO_OWNER_EMAIL, DEMO_PASSWORD, SHOP, Shop
from xuyen.errors import Conflict
from xuyen.events.models import Event, Source
from xuyen.identity.models import Profile
from xuyen.stores.models import Store

# Modules whose ``@demo_step`` functions make up the demo; a domain adding demo data appends its module.
STEP_MODULES: tuple[str, ...] = ("xuyen.demo.steps", "xuyen.demo.customers", "xuyen.demo.inbox",
                                 "xuyen.demo.catalogue", "xuyen.demo.stock", "xuyen.demo.loyalty",
                                 "xuyen.demo.pricing", "xuyen.demo.orders", "xuyen.demo.marketplaces",
                                 "xuyen.demo.fields", "xuyen.demo.tasks", "xuyen.demo.leads",
                                 "xuyen.demo.deals", "xuyen.demo.scoring", "xuyen.demo.message_templates",
                                 "xuyen.demo.segments", "xuyen.demo.ready_history",
                                 "xuyen.demo.ready_journeys", "xuyen.demo.analytics_reports",
                                 "xuyen.demo.customer_value",
                                 "xuyen.demo.reviews",
                                 "xuyen.demo.sales_rollups",
                                 "xuyen.demo.sales_history")

# Tables that count as "the database has data"; the demo is only loaded when all are empty.
COUNTED_TABLES: dict[str, type[Base]] = {"stores": Store, "sources": Source, "users": User, "events": Event,
                                         "profiles": Profile}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` built."""

    brand: str
    seed: int
    owner_email: str
    password: str
    steps: tuple[str, ...]
    counts: dict[str, int]


def load_steps() -> list[DemoStep]:
    """Import every step module and return the steps in the order they run."""
    for module in STEP_MODULES:
        importlib.import_module(module)
    return registered_steps()


def data_counts(session: Session) -> dict[str, int]:
    """How many rows each counted table holds."""
    return {name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in COUNTED_TABLES.items()}


def is_empty(session: Session) -> bool:
    """Whether the database has no stores, sources or users yet (the demo can be loaded)."""
    return not any(data_counts(session).values())


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items() if count)


def load_demo(session: Session, *, seed: int, shop: Shop = SHOP, progress: Progress | None = None,
              steps: Sequence[DemoStep] | None = None) -> DemoSummary:
    """Build the demo shop from ``seed`` with every step, and commit once; only into an empty database."""
    counts = data_counts(session)
    if any(counts.values()):
        session.rollback()
        raise Conflict(
            f"The database already has data ({_describe(counts)}); the demo shop is only loaded into an "
            "empty database. Point XUYEN_DATABASE_URL at a new database to try the demo.",
            code="demo_database_not_empty", details={"counts": counts},
        )
    context = DemoContext(seed=seed, shop=shop)
    chosen = list(steps) if steps is not None else load_steps()
    try:
        for step in chosen:
            step.func(session, step.rng(seed), context)
            session.flush()
            if progress is not None:
                progress(step.name)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("Someone else wrote data while the demo shop was loading; nothing was loaded.",
                       code="demo_database_not_empty") from exc
    except BaseException:
        session.rollback()
        raise
    return DemoSummary(brand=shop.brand, seed=seed, owner_email=DEMO_OWNER_EMAIL, password=DEMO_PASSWORD,
                       steps=tuple(step.name for step in chosen), counts=data_counts(session))


def demo_staff(session: Session) -> list[User]:
    """The demo staff accounts present in the database, owner first, then managers, then agents."""
    users = session.scalars(select(User).where(User.email.like(f"%@{DEMO_EMAIL_DOMAIN}")))
    return sorted(users, key=lambda user: (-Role(user.role).rank, user.email))
