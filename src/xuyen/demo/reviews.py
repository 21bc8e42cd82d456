"""The demo shop's reviews and shares: some customers come back to the website a few days after an order to rate
what they bought, and the happiest share it with friends on Zalo or Facebook from the app, so the customer-journey
funnel shows its use and advocacy stages."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.events.models import ChannelType, Event, EventType, Source
from xuyen.events.segment import ValidEvent
from xuyen.events.service import channel_call, identifier_of, internal_source_id, record_channel_calls

STEP = "đánh giá sản phẩm"
WEBSITE, APP = "Website luamay.vn", "Ứng dụng Lụa Mây"
REVIEW_SHARE = 0.2  # of orders, a review a few days later
SHARE_SHARE = 0.3  # of reviews of 4 or 5 stars, a share
RATINGS = (5, 5, 5, 5, 5, 4, 4, 4, 3, 2)
REVIEWS = {5: "Lụa đẹp, may khéo, rất hài lòng.", 4: "Chất vải tốt, giao hàng hơi chậm.", 3: "Tạm được.",
           2: "Màu không giống ảnh."}


def _source(session: Session, context: DemoContext, name: str, channel: ChannelType) -> int:
    known = context.sources.get(name)
    if known is not None:
        return known.id
    found = session.scalar(select(Source.id).where(Source.name == name).limit(1))
    return found if found is not None else internal_source_id(session, name=name, channel=channel)


def _product(properties: dict[str, Any]) -> dict[str, Any]:
    products = properties.get("products") or [{}]
    first = products[0] if isinstance(products[0], dict) else {}
    return {key: first[key] for key in ("product_id", "sku", "name") if first.get(key) is not None}


@demo_step(STEP, order=114)
def add_reviews(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Reviews a few days after some orders, and shares of the best-liked products."""
    now = utcnow()
    website, app = _source(session, context, WEBSITE, ChannelType.web), _source(session, context, APP, ChannelType.app)
    orders = session.execute(
        select(Event.id, Event.profile_id, Event.timestamp, Event.properties)
        .where(Event.type == EventType.track, Event.event == "Order Completed", Event.profile_id.is_not(None),
               Event.timestamp < now - timedelta(days=2))
        .order_by(Event.id)).all()
    calls: list[tuple[int, ValidEvent]] = []
    for row in orders:
        event_id, profile_id, placed, properties = row.id, row.profile_id, row.timestamp, row.properties
        if rng.random() >= REVIEW_SHARE:
            continue
        who = identifier_of(session, profile_id=profile_id)
        reviewed = placed + timedelta(days=rng.uniform(2, 6))
        if who is None or reviewed >= now:
            continue
        rating, product = rng.choice(RATINGS), _product(properties or {})
        calls.append((website, channel_call(
            event="Product Reviewed", message_id=f"demo:review:{event_id}", identifiers=[who], timestamp=reviewed,
            properties=product | {"rating": rating, "review_body": REVIEWS[rating]})))
        if rating >= 4 and rng.random() < SHARE_SHARE and reviewed + timedelta(hours=2) < now:
            calls.append((app, channel_call(
                event="Product Shared", message_id=f"demo:share:{event_id}", identifiers=[who],
                timestamp=reviewed + timedelta(minutes=rng.randint(5, 120)),
                properties=product | {"share_via": rng.choice(("zalo", "facebook"))})))
    record_channel_calls(session, calls=calls)
    context.extra[STEP] = len(calls)
