"""The demo shop's segments: Hà Nội's big spenders, the carts left in the last week, and the customers living near
the Hàng Gai store (the shop's app knows where some of its Hà Nội users are), each with its members."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.customers.service import refresh_customers
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.events.models import ChannelType, Source
from xuyen.events.service import channel_call, internal_source_id, record_channel_calls
from xuyen.segments.service import add_segment

STEP = "phân khúc"
APP = "Ứng dụng Lụa Mây"
STORE = "HN01"
SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Khách VIP Hà Nội", "Khách ở Hà Nội đã chi từ 1,5 triệu đồng trong năm qua hoặc đang ở hạng Bạc trở lên.",
     {"all": [{"province": "Hà Nội"},
              {"any": [{"orders": "total", "op": "gte", "value": 1_500_000, "days": 365},
                       {"tier": ["silver", "gold", "diamond"]}]}]}),
    ("Đã bỏ giỏ hàng 7 ngày qua", "Đã thêm sản phẩm vào giỏ nhưng chưa mua trong 7 ngày qua.",
     {"all": [{"did": "Product Added", "days": 7}, {"did_not": "Order Completed", "days": 7}]}),
    ("Khách gần cửa hàng Hàng Gai 3 km", "Theo vị trí khách chia sẻ trên ứng dụng.",
     {"all": [{"near_store": STORE, "km": 3}]}),
    ("Khách Sài Gòn mua từ 2 lần trong 90 ngày", "Khách ở TP. Hồ Chí Minh có ít nhất 2 đơn hàng trong 90 ngày qua.",
     {"all": [{"province": "Sài Gòn"}, {"orders": "count", "op": "gte", "value": 2, "days": 90}]}),
)


def _app_id(session: Session) -> int:
    found = session.scalar(select(Source.id).where(Source.name == APP).limit(1))
    return found if found is not None else internal_source_id(session, name=APP, channel=ChannelType.app)


def _share_locations(session: Session, rng: random.Random, context: DemoContext) -> list[int]:
    """Some Hà Nội customers open the app and share where they are: within about 8 km of the Hàng Gai store."""
    store = context.stores.get(STORE)
    if store is None or store.latitude is None or store.longitude is None:
        return []
    rows = session.execute(select(CustomerProfile.profile_id, CustomerProfile.phones)
                           .where(CustomerProfile.province_code == "01").order_by(CustomerProfile.profile_id)).all()
    source_id, now, calls, touched = _app_id(session), utcnow(), [], []
    for profile_id, phones in rows:
        if not phones or rng.random() < 0.5:
            continue
        distance, bearing = rng.uniform(0.2, 8.0), rng.uniform(0, 2 * math.pi)
        latitude = store.latitude + distance * math.cos(bearing) / 111.32
        longitude = store.longitude + distance * math.sin(bearing) / (111.32 * math.cos(math.radians(store.latitude)))
        calls.append((source_id, channel_call(
            event="Application Opened", message_id=f"demo:segments:{profile_id}",
            identifiers=[("phone", phones[0], None)], timestamp=now - timedelta(hours=rng.randint(1, 72)),
            traits={"latitude": round(latitude, 5), "longitude": round(longitude, 5)})))
        touched.append(profile_id)
    record_channel_calls(session, calls=calls)
    return touched


@demo_step(STEP, order=99)
def add_segments(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Locations shared in the app, then the shop's segments with their members."""
    touched = _share_locations(session, rng, context)
    refresh_customers(session, profile_ids=touched)
    counts = {}
    for name, description, definition in SEGMENTS:
        segment = add_segment(session, name=name, description=description, definition=definition,
                              actor="demo")
        counts[name] = segment.member_count
    context.extra[STEP] = counts
