"""The demo shop's orders over the last months, from every channel: the website (shipped, paid on delivery or
online, some picked up in a store, one cancelled), each store's till, chat conversations, and the Shopee and
Lazada shops; and a return in the Hà Nội store of an online order, refunded to the customer's stored value.

Every order goes through the orders domain's helpers, as of the moment it happened; an order the stock cannot
serve is left out. The customers the orders name (some new to the shop) are rebuilt at the end, so the shop opens
with their orders on their 360. Leaves in ``context.extra["đơn hàng"]``: ``orders`` (how many per channel) and
``return_order`` (the number of the order returned in Hà Nội).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import lifecycle
from xuyen.commerce.orders import service as orders
from xuyen.commerce.orders.building import Customer, Draft, LineIn, PaymentIn
from xuyen.commerce.orders.external import ExternalLine, ExternalOrder, ExternalStatus
from xuyen.commerce.orders.models import (
    Fulfilment,
    Order,
    OrderReturn,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RefundTo,
)
from xuyen.commerce.orders.pos import sell_at_till
from xuyen.commerce.orders.records import lines_of
from xuyen.commerce.orders.returns import ReturnLineIn, record_return
from xuyen.commerce.stock.models import Location
from xuyen.customers.service import refresh_customers
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.errors import XuyenError
from xuyen.inbox.models import Conversation

STEP = "đơn hàng"
ACTOR = "demo"
DAYS = 90
WEB_ORDERS = 24
PICKUPS = 4
TILL_SALES_PER_STORE = 6
CHAT_ORDERS = 3
SHOPEE_ORDERS = 8
LAZADA_ORDERS = 5
HANOI = "HN01"
T = TypeVar("T")
ONLINE = (PaymentMethod.vnpay, PaymentMethod.momo, PaymentMethod.bank_transfer, PaymentMethod.zalopay)


@demo_step(STEP, order=70)
def add_orders(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Orders from every channel over the last ``DAYS`` days, a cancellation and a return in Hà Nội."""
    now = utcnow()
    shop = _Shop(session, rng, context, now)
    made: Counter[str] = Counter()
    for index in range(WEB_ORDERS):
        made.update(shop.web_order(pickup=index < PICKUPS, cancel=index == PICKUPS))
    for location in shop.stores:
        for _ in range(TILL_SALES_PER_STORE):
            made.update(shop.till_sale(location))
    for conversation_id in shop.conversations(CHAT_ORDERS):
        made.update(shop.chat_order(conversation_id))
    for channel, count in ((SalesChannel.shopee, SHOPEE_ORDERS), (SalesChannel.lazada, LAZADA_ORDERS)):
        for index in range(count):
            made.update(shop.marketplace_order(channel, index, cancelled=index == 1))
    returned = shop.return_in_hanoi()
    session.flush()
    refresh_customers(session, profile_ids=session.scalars(select(Order.profile_id).distinct()
                                                           .where(Order.profile_id.is_not(None))))
    context.extra[STEP] = {"orders": dict(made), "return_order": returned}


class _Shop:
    """What the step draws from: the catalogue, the stores, the customers, and the clock of the last months."""

    def __init__(self, session: Session, rng: random.Random, context: DemoContext, now: datetime) -> None:
        self.session, self.rng, self.now = session, rng, now
        found: dict[str, Any] = context.extra["catalogue"]
        self.catalogue = found
        self.skus: list[str] = sorted(found["variants"])
        places: dict[str, Location] = context.extra["locations"]
        self.stores = sorted((p for p in places.values() if p.store_id is not None), key=lambda p: p.code)
        self.hanoi = places.get(HANOI)
        people = context.extra.get("khách hàng", {}).get("people", [])
        self.people = list(people)[:400]
        self.shipped: list[tuple[int, datetime]] = []

    def moment(self, *, at_least_days: float = 0.5) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(at_least_days, DAYS), minutes=self.rng.randint(0, 600))

    def customer(self) -> Customer:
        if not self.people:
            return Customer(name="Khách lẻ", phone=f"09{self.rng.randint(10_000_000, 99_999_999)}")
        person = self.rng.choice(self.people)
        return Customer(name=person.name.full, phone=person.phone)  # the phone they give at checkout or the till

    def cart(self, *, most: int = 3) -> list[LineIn]:
        picked = self.rng.sample(self.skus, self.rng.randint(1, most))
        return [LineIn(sku, self.rng.choice((1, 1, 1, 2))) for sku in picked]

    def _try(self, make: Callable[[], T]) -> T | None:
        """Make one order (or return) in a savepoint; what the stock or the prices cannot serve is left out."""
        try:
            with self.session.begin_nested():
                return make()
        except XuyenError:
            return None

    def web_order(self, *, pickup: bool, cancel: bool) -> list[str]:
        at = self.moment(at_least_days=4 if not cancel else 1)
        store = self.rng.choice(self.stores) if pickup else None
        method = self.rng.choice((PaymentMethod.cod, PaymentMethod.cod, *ONLINE))
        draft = Draft(channel=SalesChannel.web, customer=self.customer(), actor="website", at=at,
                      fulfilment=Fulfilment.pickup if store else Fulfilment.ship,
                      store_id=store.store_id if store else None, shipping_fee=0 if store else 30_000,
                      shipping_address={} if store else {"address": "Giao theo địa chỉ trong hồ sơ"})
        order = self._try(lambda: orders.checkout(self.session, draft, lines=self.cart(), coupon_codes=(), near=None,
                                                  payments=[PaymentIn(method)], hold=timedelta(minutes=30)))
        if order is None:
            return []
        self._pay_online(order, at=at + timedelta(minutes=6))
        if cancel:
            lifecycle.cancel(self.session, order, actor="Chăm sóc khách hàng", reason="Khách đổi ý, huỷ qua điện thoại",
                             at=at + timedelta(hours=2))
            return ["web"]
        self._fulfil(order, at=at)
        return ["web"]

    def _pay_online(self, order: Order, *, at: datetime) -> None:
        waiting = self.session.scalar(select(Payment).where(Payment.order_id == order.id,
                                                            Payment.status == PaymentStatus.pending,
                                                            Payment.method.in_(ONLINE)))
        if waiting is not None:
            reference = f"{waiting.method.value.upper()}{self.rng.randint(10**7, 10**8)}"
            lifecycle.settle_payment(self.session, order, waiting, actor=waiting.method.value, at=at,
                                     provider_reference=reference)

    def _fulfil(self, order: Order, *, at: datetime) -> None:
        steps = [(OrderStatus.fulfilling, 0.2)]
        if order.fulfilment is Fulfilment.pickup:
            steps += [(OrderStatus.ready_for_pickup, 1), (OrderStatus.completed, 2)]
        else:
            steps += [(OrderStatus.shipped, 1), (OrderStatus.completed, 3)]
        for status, days in steps:
            when = at + timedelta(days=days)
            if when > self.now:
                return
            lifecycle.advance(self.session, order, status=status, actor="Kho Bình Dương", at=when)
        if order.fulfilment is Fulfilment.ship:
            self.shipped.append((order.id, at + timedelta(days=3)))

    def till_sale(self, location: Location) -> list[str]:
        assert location.store_id is not None
        lines = self.cart(most=2)
        payment = PaymentIn(self.rng.choice((PaymentMethod.cash, PaymentMethod.cash, PaymentMethod.card)))
        order = self._try(lambda: sell_at_till(self.session, store_id=location.store_id or 0, lines=lines,
                                               payments=[payment], actor=f"Thu ngân {location.code}",
                                               customer=self.customer(), at=self.moment()))
        return ["pos"] if order is not None else []

    def conversations(self, count: int) -> list[int]:
        return list(self.session.scalars(select(Conversation.id).where(Conversation.merged_into_id.is_(None))
                                         .order_by(Conversation.id).limit(count)))

    def chat_order(self, conversation_id: int) -> list[str]:
        at = self.moment(at_least_days=4)

        def make() -> Order:
            draft = orders.chat_draft(self.session, conversation_id=conversation_id, actor="Minh (CSKH)", at=at,
                                      shipping_fee=30_000, shipping_address={"address": "Theo tin nhắn của khách"})
            return orders.checkout(self.session, draft, lines=self.cart(most=2), coupon_codes=(), near=None,
                                   payments=[PaymentIn(PaymentMethod.cod)], hold=timedelta(hours=24))

        order = self._try(make)
        if order is None:
            return []
        self._fulfil(order, at=at)
        return ["chat"]

    def marketplace_order(self, channel: SalesChannel, index: int, *, cancelled: bool) -> list[str]:
        account = self.catalogue["shopee_shop"] if channel is SalesChannel.shopee else self.catalogue["lazada_seller"]
        listings = catalogue.listings_of(self.session, channel=channel, account=account)
        if not listings:
            return []
        picked = self.rng.sample(listings, min(len(listings), self.rng.randint(1, 2)))
        prices: dict[str, int] = self.catalogue["prices"]
        views = catalogue.variants_by_ids(self.session, variant_ids=[listing.variant_id for listing in picked])
        lines = [ExternalLine(external_item_id=listing.external_item_id, external_model_id=listing.external_model_id,
                              external_sku=listing.external_sku, quantity=1,
                              unit_price=prices.get(views[listing.variant_id].sku, 199_000),
                              name=views[listing.variant_id].display_name)
                 for listing in picked if listing.variant_id in views]
        placed = self.moment(at_least_days=5)
        statuses = [ExternalStatus.to_ship, ExternalStatus.cancelled] if cancelled else \
            [ExternalStatus.to_ship, ExternalStatus.shipped, ExternalStatus.delivered]
        prefix = "SPE" if channel is SalesChannel.shopee else "LZD"
        person = self.customer()
        order = None
        for step, status in enumerate(statuses):
            report = ExternalOrder(
                channel=channel, account=account, external_id=f"{prefix}{placed:%y%m%d}{index:04d}", status=status,
                placed_at=placed, updated_at=placed + timedelta(days=step), lines=lines, shipping_fee=20_000,
                total=sum(line.unit_price for line in lines) + 20_000, payment_method="cod",
                buyer_identifiers=[("phone", person.phone, None)], buyer_name=person.name,
                shipping_address={"address": "Địa chỉ trên sàn"}, raw_status=status.value.upper())
            order = self._try(partial(orders.upsert_external_order, self.session, order=report))
        return [channel.value] if order is not None else []

    def return_in_hanoi(self) -> str | None:
        """An online order brought back to the Hà Nội store, one piece of its first line, refunded to the
        customer's stored value."""
        if self.hanoi is None:
            return None
        for order_id, delivered in self.shipped:
            order = self.session.get(Order, order_id)
            if order is None or order.profile_id is None:
                continue
            first = lines_of(self.session, order_id)[0]
            done = self._try(partial(
                record_return, self.session, order, lines=[ReturnLineIn(order_line_id=first.id, quantity=1)],
                location_id=self.hanoi.id, actor="Thu ngân HN01", refund_to=RefundTo.stored_value,
                reason="Khách mua online, đổi ý, trả tại cửa hàng Hàng Gai",
                at=min(delivered + timedelta(days=5), self.now - timedelta(hours=1))))
            if done is not None:
                return order.number
        return None


def showcase_return(session: Session) -> int | None:
    """The demo's web order returned in the Hà Nội store, the one to open on the orders page."""
    return session.scalar(select(OrderReturn.order_id).order_by(OrderReturn.id).limit(1))
