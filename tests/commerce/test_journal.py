"""Commerce changes land in the event log as Segment e-commerce events on the customer's profile."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.commerce import journal
from xuyen.commerce.channels import SalesChannel
from xuyen.events.models import Event, Source

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def _order_completed(session: Session, *, message_id: str, phone: str) -> int | None:
    return journal.record(session, channel=SalesChannel.shopee, event=journal.ORDER_COMPLETED, message_id=message_id,
                          identifiers=[("phone", phone, None)], properties={"order_id": "SO-1", "total": 350000,
                                                                            "currency": "VND"}, timestamp=WHEN)


def test_an_order_event_is_stored_once_on_the_customer(session: Session) -> None:
    first = _order_completed(session, message_id="order:1:completed", phone="0912 345 678")
    again = _order_completed(session, message_id="order:1:completed", phone="+84912345678")
    session.commit()
    assert first is not None and again == first
    events = session.scalars(select(Event)).all()
    assert [(e.event, e.profile_id, e.properties["total"]) for e in events] == [("Order Completed", first, 350000)]
    source = session.get(Source, events[0].source_id)
    assert source is not None and source.channel == "shopee" and source.name == "Bán hàng · Shopee"


def test_each_channel_writes_through_one_source_of_its_own(session: Session) -> None:
    _order_completed(session, message_id="a", phone="0912345678")
    journal.record(session, channel=SalesChannel.pos, event=journal.ORDER_COMPLETED, message_id="b",
                   identifiers=[("phone", "0912345678", None)], properties={}, timestamp=WHEN)
    _order_completed(session, message_id="c", phone="0912345678")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Source)) == 2
    assert len(set(session.scalars(select(Event.profile_id)))) == 1


def test_a_walk_in_sale_is_kept_without_a_profile(session: Session) -> None:
    profile = journal.record(session, channel=SalesChannel.pos, event=journal.ORDER_COMPLETED, message_id="walk-in",
                             identifiers=[], properties={"total": 120000}, timestamp=WHEN)
    session.commit()
    assert profile is None
    assert session.scalar(select(Event.profile_id).where(Event.message_id == "walk-in")) is None
