"""Orders taken in a conversation are the conversation's customer's, from the conversation page too; a
completed order earns loyalty points through the outbox, and shows on the customer's timeline."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.commerce.orders.support import LAN, make_shop, profile_of
from xuyen.clock import utcnow
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import Customer, LineIn, PaymentIn
from xuyen.commerce.orders.models import OrderStatus, PaymentMethod
from xuyen.customers.timeline import read_timeline
from xuyen.inbox.models import Conversation
from xuyen.loyalty import service as loyalty
from xuyen.worker import Worker


def _conversation(session: Session, profile_id: int) -> int:
    conversation = Conversation(profile_id=profile_id, last_message_at=utcnow())
    session.add(conversation)
    session.commit()
    return conversation.id


def test_an_agent_takes_an_order_for_the_conversations_customer(session: Session) -> None:
    make_shop(session)
    profile_id = profile_of(session, LAN)
    conversation_id = _conversation(session, profile_id)
    order = service.create_chat_order(session, conversation_id=conversation_id, lines=[LineIn("SOMI-M", 1)],
                                      payments=[PaymentIn(PaymentMethod.bank_transfer)], actor="Minh (CSKH)",
                                      customer=Customer(name="Chị Lan"))
    assert order.number == f"CHAT-{order.id:06d}"
    assert (order.profile_id, order.conversation_id) == (profile_id, conversation_id)
    assert order.status is OrderStatus.pending_payment and order.created_by == "Minh (CSKH)"


def test_the_conversation_page_has_an_order_panel_that_takes_orders(agent: Browser, session: Session) -> None:
    make_shop(session)
    conversation_id = _conversation(session, profile_of(session, LAN))
    page = agent.client.get(f"/inbox/{conversation_id}")
    assert page.status_code == 200 and 'action="/orders/chat"' in page.text
    response = agent.client.post("/orders/chat", data={
        "csrf_token": agent.csrf, "conversation_id": str(conversation_id), "cart": "AO-DEN-M x 2\nSACH-1",
        "method": "cod", "address": "12 Lê Lợi, Huế"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    session.rollback()
    (order,), _total = service.list_orders(session)
    assert response.headers["location"] == f"/orders/{order.id}?done=created"
    assert order.status is OrderStatus.placed and order.total == 2 * 199_000 + 120_000
    shown = agent.client.get(response.headers["location"])
    assert shown.status_code == 200 and order.number in shown.text and "AO-DEN-M" in shown.text
    refused = agent.client.post("/orders/chat", data={
        "csrf_token": agent.csrf, "conversation_id": str(conversation_id), "cart": "KHONG-CO x 1"})
    assert refused.status_code in (404, 422)


def test_a_completed_order_earns_points_and_is_on_the_timeline(engine: Engine, session: Session) -> None:
    make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN,
                                   payments=[PaymentIn(PaymentMethod.cod)], actor="web")
    service.move_order(session, order_id=order.id, status=OrderStatus.shipped, actor="kho")
    service.move_order(session, order_id=order.id, status=OrderStatus.completed, actor="giao hàng")
    Worker(engine=engine).run_until_idle()
    session.rollback()
    assert order.profile_id is not None
    balances = loyalty.balances(session, profile_id=order.profile_id)
    assert balances.points == 349_000 // 10_000 and balances.lifetime_spend == 349_000
    items = read_timeline(session, profile_ids=[order.profile_id], cursor=None, limit=20).items
    assert [item.data["number"] for item in items if item.kind == "order"] == [order.number]
