"""The omnichannel readiness report: the six questions a business asks before going omnichannel, answered from
its own data, each with a score (``good``, ``needs_work``, ``missing``) and the figures behind it.

Only the filters' days apply (the questions are about the whole business, not one channel or store). The
definitions and thresholds are in docs/analytics.md ("Omnichannel readiness").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from xuyen.analytics.filters import Filters
from xuyen.analytics.owners import merged_roots, owner_id
from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import ChannelListing
from xuyen.commerce.channels import MARKETPLACES
from xuyen.commerce.marketplaces.models import StockPush, StockPushState
from xuyen.commerce.orders.models import Order, OrderLine, OrderStatus
from xuyen.events.models import Event, EventType, Source
from xuyen.identity.models import Merge, ProfileIdentifier
from xuyen.inbox.models import Conversation, Direction, Message

GOOD, NEEDS_WORK, MISSING = "good", "needs_work", "missing"
QUESTIONS: tuple[str, ...] = ("see_customers", "recognise_customers", "share_insight", "data_flows",
                              "consistent_prices", "one_stock")
CROSS_CHANNEL_IDENTIFIERS = ("phone", "email")
SOURCE_ACTIVE_DAYS = 7
PRICE_WORDS = ("giá",)
COMPLAINT_WORDS = ("khác", "chênh", "rẻ hơn", "đắt hơn", "sao lại", "không giống")


@dataclass(frozen=True)
class Answer:
    """One question's score and the figures behind it (name → number; shares are 0..1)."""

    key: str
    score: str
    figures: dict[str, float | int]


@dataclass
class Readiness:
    """The six answers."""

    answers: list[Answer] = field(default_factory=list)

    def answer(self, key: str) -> Answer:
        """The answer to question ``key``."""
        return next(answer for answer in self.answers if answer.key == key)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _grade(value: float, *, good: float, fair: float) -> str:
    return GOOD if value >= good else NEEDS_WORK if value >= fair else MISSING


def compute(session: Session, *, filters: Filters, now: datetime | None = None) -> Readiness:
    """The six answers for the filters' days."""
    moment = now or utcnow()
    active = _active_customers(session, filters=filters)
    return Readiness(answers=[
        _see_customers(session, active=active), _recognise_customers(session, filters=filters, active=active),
        _share_insight(session, filters=filters), _data_flows(session, filters=filters, now=moment),
        _consistent_prices(session, filters=filters), _one_stock(session)])


def _active_customers(session: Session, *, filters: Filters) -> dict[int, set[str]]:
    """Each customer with an event in the period, with the channels of their events."""
    roots = merged_roots()
    customer = owner_id(Event.profile_id, roots)
    query = (select(customer, Event.channel).distinct()
             .outerjoin(roots, roots.c.profile_id == Event.profile_id)
             .where(Event.profile_id.is_not(None), Event.timestamp >= filters.start, Event.timestamp < filters.end,
                    Event.type.not_in([EventType.alias, EventType.group])))
    channels: dict[int, set[str]] = defaultdict(set)
    for owner, channel in session.execute(query):
        channels[cast(int, owner)].add(str(channel))
    return dict(channels)


def _see_customers(session: Session, *, active: dict[int, set[str]]) -> Answer:
    roots = merged_roots()
    customer = owner_id(ProfileIdentifier.profile_id, roots)
    reachable = {cast(int, owner) for (owner,) in session.execute(
        select(customer).distinct().outerjoin(roots, roots.c.profile_id == ProfileIdentifier.profile_id)
        .where(ProfileIdentifier.type.in_(CROSS_CHANNEL_IDENTIFIERS)))}
    known = len(set(active) & reachable)
    share = _share(known, len(active))
    return Answer(key="see_customers", score=_grade(share, good=0.7, fair=0.4) if active else MISSING,
                  figures={"customers": len(active), "with_phone_or_email": known, "share": share})


def _recognise_customers(session: Session, *, filters: Filters, active: dict[int, set[str]]) -> Answer:
    several = sum(1 for channels in active.values() if len(channels) >= 2)
    merges = session.scalar(select(func.count()).select_from(Merge).where(
        Merge.created_at >= filters.start, Merge.created_at < filters.end, Merge.undone_at.is_(None))) or 0
    share = _share(several, len(active))
    return Answer(key="recognise_customers", score=_grade(share, good=0.2, fair=0.05) if active else MISSING,
                  figures={"customers": len(active), "on_two_or_more_channels": several, "share": share,
                           "merges": int(merges)})


def _share_insight(session: Session, *, filters: Filters) -> Answer:
    rows = session.execute(
        select(Message.conversation_id, Conversation.profile_id, Message.channel_id, Message.direction,
               Message.sent_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.merged_into_id.is_(None), Message.sent_at >= filters.start,
               Message.sent_at < filters.end)).all()
    first: dict[int, tuple[int, datetime]] = {}
    channels: dict[int, set[int]] = defaultdict(set)
    noted: set[int] = set()
    for conversation, profile, channel, direction, sent_at in rows:
        if conversation not in first or sent_at < first[conversation][1]:
            first[conversation] = (int(profile), sent_at)
        if channel is not None:
            channels[conversation].add(int(channel))
        if direction == Direction.note:
            noted.add(conversation)
    with_history = _with_order_history(session, first)
    conversations = len(first)
    share = _share(with_history, conversations)
    return Answer(key="share_insight", score=_grade(share, good=0.5, fair=0.2) if conversations else MISSING,
                  figures={"conversations": conversations, "with_order_history": with_history, "share": share,
                           "across_channels": sum(1 for found in channels.values() if len(found) >= 2),
                           "with_notes": len(noted)})


def _with_order_history(session: Session, first: dict[int, tuple[int, datetime]]) -> int:
    """How many conversations' customers had an order before the conversation's first message of the period."""
    if not first:
        return 0
    roots = merged_roots()
    customer = owner_id(Event.profile_id, roots)
    earliest: dict[int, datetime] = {}
    for owner, at in session.execute(
            select(customer, func.min(Event.timestamp)).outerjoin(roots, roots.c.profile_id == Event.profile_id)
            .where(Event.type == EventType.track, Event.event == "Order Completed", Event.profile_id.is_not(None))
            .group_by(customer)):
        earliest[cast(int, owner)] = cast(datetime, at)
    conversation_owner = _owners(session, {profile for profile, _ in first.values()})
    return sum(1 for profile, at in first.values()
               if (bought := earliest.get(conversation_owner.get(profile, profile))) is not None and bought < at)


def _owners(session: Session, profiles: set[int]) -> dict[int, int]:
    roots = merged_roots()
    found = session.execute(select(roots.c.profile_id, roots.c.root_id)).all()
    return {cast(int, profile): cast(int, root) for profile, root in found if profile in profiles}


def _data_flows(session: Session, *, filters: Filters, now: datetime) -> Answer:
    linked, orders = session.execute(
        select(func.count(Order.profile_id), func.count()).where(
            Order.created_at >= filters.start, Order.created_at < filters.end,
            Order.status != OrderStatus.cancelled)).one()
    sources = session.scalar(select(func.count()).select_from(Source).where(Source.is_active.is_(True))) or 0
    since = now - timedelta(days=SOURCE_ACTIVE_DAYS)
    sending = session.scalar(select(func.count(distinct(Event.source_id))).join(Source, Source.id == Event.source_id)
                             .where(Source.is_active.is_(True), Event.received_at >= since)) or 0
    linked_share, sending_share = _share(int(linked), int(orders)), _share(int(sending), int(sources))
    worst = min(linked_share, sending_share) if orders else sending_share
    return Answer(key="data_flows", score=_grade(worst, good=0.8, fair=0.5) if sources else MISSING,
                  figures={"orders": int(orders), "linked_orders": int(linked), "linked_share": linked_share,
                           "sources": int(sources), "sending_sources": int(sending), "sending_share": sending_share})


def _consistent_prices(session: Session, *, filters: Filters) -> Answer:
    usual = _usual_prices(session, filters=filters)
    differing = [sku for sku, found in usual.items() if len(set(found.values())) > 1]
    complaints = _price_complaints(session, filters=filters)
    share = _share(len(differing), len(usual))
    score = GOOD if not differing and not complaints else NEEDS_WORK if share <= 0.1 else MISSING
    return Answer(key="consistent_prices", score=score,
                  figures={"skus_on_two_or_more_channels": len(usual), "skus_with_different_prices": len(differing),
                           "share": share, "price_complaints": complaints})


def inconsistent_skus(session: Session, *, filters: Filters) -> list[tuple[str, dict[str, int]]]:
    """The SKUs sold at different usual unit prices on different channels, with each channel's usual price."""
    usual = _usual_prices(session, filters=filters)
    return [(sku, dict(sorted(found.items()))) for sku, found in sorted(usual.items()) if len(set(found.values())) > 1]


def _usual_prices(session: Session, *, filters: Filters) -> dict[str, dict[str, int]]:
    """Each SKU sold on two or more channels in the period, with its usual unit price on each channel."""
    rows = session.execute(
        select(OrderLine.sku, Order.channel, OrderLine.unit_price, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.created_at >= filters.start, Order.created_at < filters.end,
               Order.status != OrderStatus.cancelled, OrderLine.sku != "")
        .group_by(OrderLine.sku, Order.channel, OrderLine.unit_price)).all()
    prices: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    for sku, channel, unit_price, quantity in rows:
        prices[str(sku)][str(getattr(channel, "value", channel))][int(unit_price)] += int(quantity or 0)
    return {sku: {channel: _usual(counts) for channel, counts in by_channel.items()}
            for sku, by_channel in prices.items() if len(by_channel) >= 2}


def _usual(counts: Counter[int]) -> int:
    """The unit price sold most (by quantity); the lower one on a tie."""
    return min(counts, key=lambda price: (-counts[price], price))


def _price_complaints(session: Session, *, filters: Filters) -> int:
    texts = session.scalars(select(Message.text).where(
        Message.direction == Direction.inbound, Message.sent_at >= filters.start, Message.sent_at < filters.end,
        Message.text.contains(PRICE_WORDS[0]))).all()
    return sum(1 for text in texts if any(word in text.lower() for word in COMPLAINT_WORDS))


def _one_stock(session: Session) -> Answer:
    listings = session.execute(
        select(ChannelListing.id, StockPush.state)
        .outerjoin(StockPush, StockPush.listing_id == ChannelListing.id)
        .where(ChannelListing.is_active.is_(True), ChannelListing.channel.in_(sorted(MARKETPLACES)))).all()
    synced = sum(1 for _, state in listings if state == StockPushState.sent)
    share = _share(synced, len(listings))
    return Answer(key="one_stock", score=_grade(share, good=0.95, fair=0.7) if listings else GOOD,
                  figures={"marketplace_listings": len(listings), "synced": synced, "share": share})
