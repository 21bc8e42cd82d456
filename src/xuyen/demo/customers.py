"""The shop's customers: their calls from every channel, ingested the way the tracking API ingests them.

Each day's calls go source by source through ``parse_item`` and the event log's ``add_events``, so the
identity graph resolves them as it would live: cookies join profiles when their visitor signs in, the
phones clerks typed in old formats find their owners, and family phones are held back by the identity
rules.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.customers.models import CustomerProfile
from xuyen.customers.service import refresh_customers
from xuyen.demo.journeys import DAYS, VIETNAM, Call, journey
from xuyen.demo.people import SHOWCASE_CHANNELS, make_customers
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.events.models import Source
from xuyen.events.segment import InvalidItem, ValidEvent, parse_item
from xuyen.events.service import add_events
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.models import Profile, ProfileIdentifier

STEP = "khách hàng"
# How many customers the demo shop has; tests lower it to stay fast.
CUSTOMER_COUNT = 2000


@demo_step(STEP, order=40)
def add_customers(session: Session, rng: random.Random, context: DemoContext) -> None:
    """About ``CUSTOMER_COUNT`` customers and their last ``DAYS`` days on every channel, through ingestion."""
    start = period_start(utcnow())
    customers = make_customers(rng, CUSTOMER_COUNT)
    calls = [call for customer in customers for call in journey(rng, customer, start=start)]
    sources = channel_sources(context)
    stored = 0
    for day, channel, batch in daily_batches(calls, start):
        stored += _ingest(session, sources[channel], batch, request_id=f"demo-{day:03d}-{channel}")
    context.extra[STEP] = {"customers": len(customers), "events": stored, "people": customers}


def period_start(now: datetime) -> datetime:
    """Midnight, Vietnam time, ``DAYS`` days before today: the journeys end yesterday."""
    today = now.astimezone(VIETNAM).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=DAYS)


def channel_sources(context: DemoContext) -> dict[str, Source]:
    """The demo's sources by the journeys' channel names ("web", "pos:HN01", …)."""
    found: dict[str, Source] = {}
    for spec in context.shop.sources:
        key = f"{spec.channel.value}:{spec.store_code}" if spec.store_code else spec.channel.value
        found[key] = context.sources[spec.name]
    return found


def daily_batches(calls: list[Call], start: datetime) -> list[tuple[int, str, list[Call]]]:
    """The calls as each source would have sent them: one batch a day per channel, in the order they happened."""
    batches: dict[tuple[int, str], list[Call]] = defaultdict(list)
    for call in sorted(calls, key=lambda call: call.at):
        batches[((call.at - start).days, call.channel)].append(call)
    return [(day, channel, batch) for (day, channel), batch in batches.items()]


def _ingest(session: Session, source: Source, batch: list[Call], *, request_id: str) -> int:
    """Parse and store one batch as the tracking API would; a demo call that does not parse is a bug."""
    max_bytes = get_settings().ingest_max_event_bytes
    items: list[ValidEvent | InvalidItem] = [
        parse_item(call.payload, position=index, call=None, received_at=call.received_at, max_bytes=max_bytes)
        for index, call in enumerate(batch)]
    invalid = [item for item in items if isinstance(item, InvalidItem)]
    if invalid:
        raise ValueError(f"demo call {invalid[0].position} of {request_id} is invalid: {invalid[0].detail}")
    result = add_events(session, source=source, items=items, request_id=request_id,
                        received_at=batch[-1].received_at)
    return result.stored


PROFILES_STEP = "hồ sơ khách hàng"


@demo_step(PROFILES_STEP, order=50)
def build_customer_profiles(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Build every customer's traits, computed traits and consents now, so the shop opens complete."""
    session.flush()
    roots = list(session.scalars(select(Profile.id).where(Profile.merged_into_id.is_(None)).order_by(Profile.id)))
    built = sum(refresh_customers(session, profile_ids=roots[start:start + 500])
                for start in range(0, len(roots), 500))
    context.extra[PROFILES_STEP] = {"customers": built, "showcase": showcase_customer(session)}


SHOWCASE_USER_ID = "LM-000001"  # the account of the first customer made, the showcase


def showcase_customer(session: Session) -> int | None:
    """The customer to open first: the showcase customer (seen on the website, in a store, on Shopee and on Zalo,
    and in the inbox), found by their account; else, of those seen on those channels, one with a known address,
    then the busiest."""
    holder = session.scalar(select(ProfileIdentifier.profile_id).where(
        ProfileIdentifier.type == "user_id", ProfileIdentifier.value == SHOWCASE_USER_ID))
    if holder is not None:
        return resolve_profile_id(session, profile_id=holder)
    best: tuple[bool, int, int] | None = None
    for row in session.scalars(select(CustomerProfile).where(CustomerProfile.display_name != "")):
        channels = {item["channel"] for item in row.computed.get("channels", [])}
        if set(SHOWCASE_CHANNELS) <= channels:
            candidate = (bool(row.address), int(row.computed.get("events", 0)), row.profile_id)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None
