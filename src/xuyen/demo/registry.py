"""The demo loader steps: an ordered registry that each domain's demo data joins.

A step is ``func(session, rng, context)``. It adds rows with the domains' ``add_*`` helpers (it never
commits: ``load_demo`` commits once after the last step), draws every random choice from ``rng`` and
leaves what later steps need in ``context``. Each step gets its own generator seeded from the demo
seed and the step's name, so adding a step never changes the data of the others.

To add demo data for a domain, write a module in ``xuyen.demo`` with::

    @demo_step("sản phẩm", order=40)
    def add_products(session: Session, rng: random.Random, context: DemoContext) -> None:
        ...

and list the module in ``xuyen.demo.service.STEP_MODULES``. Orders 10-30 are the shop itself
(stores, sources, staff); leave gaps of 10.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.demo.shop import Shop
from xuyen.events.models import Source
from xuyen.stores.models import Store


@dataclass
class DemoContext:
    """What the steps built so far, for the steps after them."""

    seed: int
    shop: Shop
    stores: dict[str, Store] = field(default_factory=dict)  # by code
    sources: dict[str, Source] = field(default_factory=dict)  # by name
    write_keys: dict[str, str] = field(default_factory=dict)  # source name -> write key (shown nowhere else)
    users: dict[str, User] = field(default_factory=dict)  # by e-mail
    extra: dict[str, Any] = field(default_factory=dict)  # later steps' own results, keyed by step name


StepFunc = Callable[[Session, random.Random, DemoContext], None]


@dataclass(frozen=True)
class DemoStep:
    """One loader step: ``name`` is what the progress line shows, ``order`` where it runs."""

    name: str
    order: int
    func: StepFunc

    def rng(self, seed: int) -> random.Random:
        """This step's own generator for ``seed``."""
        return random.Random(f"{seed}:{self.name}")


_steps: dict[str, DemoStep] = {}


def demo_step(name: str, *, order: int) -> Callable[[StepFunc], StepFunc]:
    """Register ``func(session, rng, context)`` as the demo step ``name``, run in ``order``."""

    def register(func: StepFunc) -> StepFunc:
        existing = _steps.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"demo step {name!r} is already registered by {existing.func.__module__}")
        _steps[name] = DemoStep(name=name, order=order, func=func)
        return func

    return register


def registered_steps() -> list[DemoStep]:
    """Every registered step, in the order they run."""
    return sorted(_steps.values(), key=lambda step: (step.order, step.name))
