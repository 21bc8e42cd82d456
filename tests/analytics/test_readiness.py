"""The omnichannel readiness report on a small known data set, every figure and score by hand; the page and its
downloads, and who may see them.

Orders, conversations and messages are written as rows: the report reads only their stored shape (channel,
status, customer, lines' SKUs and prices; messages' channel, direction and text)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from tests import api_client
from tests.analytics.journey_data import MARCH, Shop, at
from tests.api_client import Browser
from xuyen.analytics import readiness
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderLine, OrderStatus
from xuyen.events.models import ChannelType
from xuyen.events.service import add_source
from xuyen.inbox.models import Channel, Conversation, Direction, Message, MessageState

agent, manager = api_client.agent, api_client.manager


def _order(session: Session, channel: SalesChannel, profile: int | None, lines: list[tuple[str, int, int]],
           *, day: int, status: OrderStatus = OrderStatus.completed) -> None:
    order = Order(channel=channel, status=status, profile_id=profile, created_at=at(day), updated_at=at(day),
                  total=sum(price * quantity for _, price, quantity in lines))
    session.add(order)
    session.flush()
    for sku, price, quantity in lines:
        session.add(OrderLine(order_id=order.id, sku=sku, name=sku, quantity=quantity, unit_price=price,
                              list_price=price, total=price * quantity))


def _inbox_channel(session: Session, kind: str) -> int:
    source = add_source(session, name=f"Hộp thư {kind}", channel=ChannelType(kind))[0]
    channel = Channel(kind=kind, name=kind, settings={}, sealed_secrets="", source_id=source.id)
    session.add(channel)
    session.flush()
    return channel.id


def _message(session: Session, conversation: int, channel: int | None, direction: Direction, sent: datetime,
             text: str = "Chào shop") -> None:
    session.add(Message(conversation_id=conversation, channel_id=channel, direction=direction,
                        state=MessageState.received, text=text, sent_at=sent))


@pytest.fixture
def business(session: Session) -> dict[str, int]:
    """P1 (phone): web page and an order at the till (2/3, 3/3). P2 (phone): a Zalo message (5/3). P3 (only a
    Zalo id): a Zalo message (5/3). P4 (e-mail): a web page (6/3). Two conversations: P1's on Zalo and Messenger
    (10/3, 11/3) after P1's order; P2's on Zalo with a private note and a question about a lower price on Shopee.
    Orders: SKU A1 at 100,000 at the till and 90,000 (×2) on Shopee (no customer); SKU B2 at 50,000 on the web and at
    the till, and 40,000 on a cancelled till order."""
    shop = Shop(session)
    p1 = shop.page("web", at(2), phone="0903000001")
    shop.record("pos", at(3), "Order Completed", phone="0903000001", total=100_000)
    p2 = shop.record("zalo", at(5), "Message Received", phone="0903000002")
    shop.record("zalo", at(5), "Message Received", ids=[("zalo_id", "5550001", "oa-1")])
    p4 = shop.page("web", at(6), email="p4@luamay.vn")
    zalo, messenger = _inbox_channel(session, "zalo"), _inbox_channel(session, "messenger")
    first = Conversation(profile_id=p1, last_message_at=at(11))
    second = Conversation(profile_id=p2, last_message_at=at(6))
    session.add_all([first, second])
    session.flush()
    _message(session, first.id, zalo, Direction.inbound, at(10))
    _message(session, first.id, messenger, Direction.inbound, at(11))
    _message(session, second.id, zalo, Direction.inbound, at(6), "Sao giá trên Shopee rẻ hơn ở cửa hàng vậy?")
    _message(session, second.id, None, Direction.note, at(6, 4), "Khách hỏi về giá")
    _order(session, SalesChannel.pos, p1, [("A1", 100_000, 1)], day=3)
    _order(session, SalesChannel.shopee, None, [("A1", 90_000, 2)], day=4)
    _order(session, SalesChannel.web, p4, [("B2", 50_000, 1)], day=6)
    _order(session, SalesChannel.pos, p1, [("B2", 50_000, 1)], day=7)
    _order(session, SalesChannel.pos, p1, [("B2", 40_000, 1)], day=8, status=OrderStatus.cancelled)
    session.commit()
    return {"p1": p1, "p2": p2, "p4": p4}


def test_the_six_answers_from_the_data(session: Session, business: dict[str, int]) -> None:
    result = readiness.compute(session, filters=MARCH)
    see = result.answer("see_customers")
    # P1, P2 and P4 have a phone or an e-mail; P3 only a Zalo id: 3 of 4 = 75 % (good from 70 %).
    assert (see.figures["customers"], see.figures["with_phone_or_email"], see.score) == (4, 3, "good")
    recognise = result.answer("recognise_customers")
    # Only P1 is on two channels (web, pos): 1 of 4 = 25 % (good from 20 %); no merges.
    assert (recognise.figures["on_two_or_more_channels"], recognise.figures["merges"], recognise.score) == (
        1, 0, "good")
    insight = result.answer("share_insight")
    # P1 had ordered (3/3) before the conversation (10/3); P2 never ordered: 1 of 2 = 50 % (good from 50 %).
    # P1's thread spans Zalo and Messenger; P2's has a note.
    assert insight.figures == {"conversations": 2, "with_order_history": 1, "share": 0.5, "across_channels": 1,
                               "with_notes": 1}
    assert insight.score == "good"
    flows = result.answer("data_flows")
    # Orders not cancelled: 4, of which 3 name a customer (75 %). Sources: web, pos, zalo (events just recorded)
    # and the two inbox channels' sources (no events): 3 of 5 sending = 60 %. The weaker, 60 %, needs work (< 80 %).
    assert flows.figures == {"orders": 4, "linked_orders": 3, "linked_share": 0.75, "sources": 5,
                             "sending_sources": 3, "sending_share": 0.6}
    assert flows.score == "needs_work"
    prices = result.answer("consistent_prices")
    # A1: 100,000 at the till, 90,000 on Shopee (differ); B2: 50,000 on the web and at the till (the cancelled
    # 40,000 does not count). 1 of 2 SKUs differ (50 % > 10 %: missing); one message asks about a lower price.
    assert prices.figures == {"skus_on_two_or_more_channels": 2, "skus_with_different_prices": 1, "share": 0.5,
                              "price_complaints": 1}
    assert prices.score == "missing"
    assert readiness.inconsistent_skus(session, filters=MARCH) == [("A1", {"pos": 100_000, "shopee": 90_000})]
    stock = result.answer("one_stock")
    assert (stock.figures["marketplace_listings"], stock.score) == (0, "good")


def test_an_empty_shop_is_missing_what_it_cannot_show(session: Session) -> None:
    result = readiness.compute(session, filters=MARCH)
    assert [answer.score for answer in result.answers] == ["missing", "missing", "missing", "missing", "good",
                                                           "good"]


def test_the_page_and_its_download(business: dict[str, int], manager: Browser, agent: Browser) -> None:
    page = manager.client.get("/analytics/readiness?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    assert 'data-question="consistent_prices" data-score="missing"' in page.text and "A1" in page.text
    answers = manager.client.get("/analytics/readiness/export/answers.csv?from=2026-03-01&to=2026-03-31")
    assert answers.status_code == 200
    assert len(answers.content.decode("utf-8").strip().splitlines()) == 1 + 3 + 4 + 5 + 6 + 4 + 3
    assert agent.client.get("/analytics/readiness").status_code == 403
    assert manager.client.get("/analytics/readiness?to=yesterday").status_code == 422
