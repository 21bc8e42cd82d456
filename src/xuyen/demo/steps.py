"""The shop itself: its stores, its channels and its staff."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from xuyen.auth.service import add_user
from xuyen.demo.names import distinct_names
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.demo.shop import DEMO_PASSWORD
from xuyen.events.service import add_source
from xuyen.stores import service as stores


@demo_step("cửa hàng", order=10)
def add_stores(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The brand's three stores."""
    for spec in context.shop.stores:
        context.stores[spec.code] = stores.add(
            session, code=spec.code, name=spec.name, province=spec.province, address=spec.address,
            phone=spec.phone, latitude=spec.latitude, longitude=spec.longitude,
        )


@demo_step("nguồn", order=20)
def add_sources(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The website, the app, one POS per store, the Shopee shop, the Zalo OA and the Facebook page."""
    for spec in context.shop.sources:
        store_id = context.stores[spec.store_code].id if spec.store_code else None
        source, key = add_source(session, name=spec.name, channel=spec.channel, store_id=store_id)
        context.sources[spec.name] = source
        context.write_keys[spec.name] = key


@demo_step("nhân viên", order=30)
def add_staff(session: Session, rng: random.Random, context: DemoContext) -> None:
    """One person per staff position, named from the seed; all share the demo password."""
    names = distinct_names(rng, len(context.shop.staff))
    for spec, name in zip(context.shop.staff, names, strict=True):
        store_id = context.stores[spec.store_code].id if spec.store_code else None
        context.users[spec.email] = add_user(
            session, email=spec.email, name=name.full, password=DEMO_PASSWORD, role=spec.role,
            store_id=store_id, locale="vi",
        )
