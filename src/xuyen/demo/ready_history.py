"""What the ready-made journeys need of the demo customers' past that the shop's channels did not send yet: the
marketing consents given at sign-up, the birthdays customers entered in the app, the carrier's "shipped" and
"delivered" updates of online orders (sent by the website's order system), and the alterations the stores made to
the áo dài they sold (recorded at the till). Everything goes into the event log as those channels would send it.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.demo.customers import channel_sources
from xuyen.demo.journeys import VIETNAM
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.events.models import Event, EventType
from xuyen.events.profiles import CONSENT_EVENT
from xuyen.events.service import channel_call, record_channel_calls
from xuyen.identity.graph import resolve_profile_ids

CONSENT_SHARE = 0.55  # customers who ticked "send me offers" when they signed up
BIRTHDAY_SHARE = 0.4  # customers who entered their birthday in the app
BIRTHDAY_THIS_WEEK = 12  # every twelfth of them was born in the last days: the birthday journey has work
SHIPPED = "Order Shipped"
DELIVERED = "Order Delivered"
SERVICE = "Service Completed"
ALTERATION = "Sửa áo dài theo số đo"
ALTERED_CATEGORY = "Áo dài"
Call = tuple[int, Any]
SIGN_UP_STEP = "đồng ý nhận tin và sinh nhật"


@demo_step(SIGN_UP_STEP, order=45)
def add_sign_up_details(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The consents and birthdays customers gave in the app, before their profiles are built (order 50)."""
    people = [(index, person.phone) for index, person in enumerate(context.extra["khách hàng"]["people"])
              if person.phone and person.family_of is None]
    source_id, now = channel_sources(context)["app"].id, utcnow()
    calls: list[Call] = []
    counts = {"consents": _consents(rng, people, source_id, now, calls),
              "birthdays": _birthdays(rng, people, source_id, now, calls)}
    record_channel_calls(session, calls=calls)
    context.extra[SIGN_UP_STEP] = counts


def add_history(session: Session, rng: random.Random, context: DemoContext, *, now: datetime,
                since: datetime) -> dict[str, int]:
    """The shipping updates and store alterations of the orders since ``since``; how many of each."""
    sources = channel_sources(context)
    people = _customers(session)
    calls: list[Call] = []
    orders = _orders_since(session, since)
    phones = {profile_id: phone for profile_id, phone in people}
    counts = {"shipping": _shipping(rng, orders, phones, sources["web"].id, now, calls),
              "alterations": _alterations(rng, orders, phones, sources, now, calls)}
    record_channel_calls(session, calls=calls)
    return counts


def _customers(session: Session) -> list[tuple[int, str]]:
    """Every customer with a phone: (profile id, first phone), in id order."""
    rows: Any = session.execute(select(CustomerProfile.profile_id, CustomerProfile.phones)
                                .order_by(CustomerProfile.profile_id))
    return [(profile_id, phones[0]) for profile_id, phones in rows if phones]


def _call(source_id: int, *, event: str, key: str, phone: str, at: datetime, traits: dict[str, Any] | None = None,
          properties: dict[str, Any] | None = None) -> Call:
    return source_id, channel_call(event=event, message_id=f"demo:ready:{key}", identifiers=[("phone", phone, None)],
                                   timestamp=at, traits=traits, properties=properties)


def _consents(rng: random.Random, people: list[tuple[int, str]], source_id: int, now: datetime,
              calls: list[Call]) -> int:
    given = 0
    for profile_id, phone in people:
        if rng.random() < CONSENT_SHARE:
            calls.append(_call(source_id, event=CONSENT_EVENT, key=f"consent:{profile_id}", phone=phone,
                               at=now - timedelta(days=rng.randint(60, 400)),
                               properties={"channel": "any", "purpose": "marketing", "granted": True,
                                           "proof": "Đánh dấu ô nhận ưu đãi khi đăng ký thành viên trên ứng dụng"}))
            given += 1
    return given


def _birthdays(rng: random.Random, people: list[tuple[int, str]], source_id: int, now: datetime,
               calls: list[Call]) -> int:
    today = now.astimezone(VIETNAM).date()
    given = 0
    for profile_id, phone in people:
        if rng.random() >= BIRTHDAY_SHARE:
            continue
        year = rng.randint(1968, 2004)
        if given % BIRTHDAY_THIS_WEEK == 0:
            day = today - timedelta(days=rng.randint(0, 6))
        else:
            day = date(2001, 1, 1) + timedelta(days=rng.randrange(365))
        born = date(year, day.month, min(day.day, 28) if day.month == 2 else day.day)
        calls.append(_call(source_id, event="Application Opened", key=f"birthday:{profile_id}", phone=phone,
                           at=now - timedelta(days=rng.randint(30, 110)), traits={"birthday": born.isoformat()}))
        given += 1
    return given


def _orders_since(session: Session, since: datetime) -> list[tuple[int, datetime, dict[str, Any]]]:
    """The customers' completed orders since ``since``: (surviving profile id, when, properties)."""
    rows: Any = session.execute(select(Event.profile_id, Event.timestamp, Event.properties).where(
        Event.type == EventType.track, Event.event == "Order Completed", Event.profile_id.is_not(None),
        Event.timestamp >= since).order_by(Event.timestamp, Event.id)).all()
    roots = resolve_profile_ids(session, profile_ids={row[0] for row in rows})
    return [(roots[profile_id], at, dict(properties or {})) for profile_id, at, properties in rows]


def _working_hours(rng: random.Random, day: datetime, *, first: int = 9, last: int = 17) -> datetime:
    local = day.astimezone(VIETNAM).replace(hour=rng.randint(first, last), minute=rng.randrange(60), second=0,
                                            microsecond=0)
    return local


def _shipping(rng: random.Random, orders: list[tuple[int, datetime, dict[str, Any]]], phones: dict[int, str],
              source_id: int, now: datetime, calls: list[Call]) -> int:
    """Online orders (shipped, not bought at a till nor on a marketplace that ships itself): shipped the next day,
    delivered two to four days later, as far as the clock has come."""
    made = 0
    for profile_id, at, properties in orders:
        phone, order_id = phones.get(profile_id), properties.get("order_id")
        if phone is None or not order_id or properties.get("store_code") or properties.get("affiliation") \
                or properties.get("channel") in ("shopee", "lazada", "pos"):
            continue
        shipped = _working_hours(rng, at + timedelta(days=1))
        base = {key: properties[key] for key in ("order_id", "total", "currency") if key in properties}
        for event, moment, status in ((SHIPPED, shipped, "đang được giao"),
                                      (DELIVERED, _working_hours(rng, shipped + timedelta(days=rng.randint(2, 4))),
                                       "đã giao thành công")):
            if moment >= now:
                break
            calls.append(_call(source_id, event=event, key=f"{event}:{order_id}", phone=phone, at=moment,
                               properties=base | {"status": status, "carrier": "Giao Hàng Nhanh"}))
            made += 1
    return made


def _alterations(rng: random.Random, orders: list[tuple[int, datetime, dict[str, Any]]], phones: dict[int, str],
                 sources: dict[str, Any], now: datetime, calls: list[Call]) -> int:
    """Most áo dài bought at a till are fitted and altered in the store, ready two or three days later."""
    made = 0
    for profile_id, at, properties in orders:
        store, phone = properties.get("store_code"), phones.get(profile_id)
        products = properties.get("products") or []
        if not store or phone is None or f"pos:{store}" not in sources or rng.random() > 0.7 \
                or not any(item.get("category") == ALTERED_CATEGORY for item in products):
            continue
        done = _working_hours(rng, at + timedelta(days=rng.randint(2, 3)), first=10, last=19)
        if done >= now:
            continue
        calls.append(_call(sources[f"pos:{store}"].id, event=SERVICE, key=f"service:{properties.get('order_id')}",
                           phone=phone, at=done, properties={"service": ALTERATION, "store_code": store,
                                                             "order_id": properties.get("order_id")}))
        made += 1
    return made
