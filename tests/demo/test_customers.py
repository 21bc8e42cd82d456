"""The demo's customers: journeys over every channel, ingested through the real path and resolved to profiles."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerProfile
from xuyen.demo import customers, ready_history
from xuyen.demo import inbox as demo_inbox
from xuyen.demo.service import load_demo
from xuyen.events.models import Event
from xuyen.identity.graph import find_profile
from xuyen.identity.models import IdentityConflict, Profile
from xuyen.identity.normalise import OLD_MOBILE_PREFIXES, normalise_phone
from xuyen.inbox.connections import is_sandbox
from xuyen.inbox.models import Channel, Conversation, ConversationStatus, Message

CUSTOMERS = 150


@pytest.fixture
def more_customers(monkeypatch: pytest.MonkeyPatch) -> None:
    """More customers than the other demo tests load: enough for old phone formats and family phones."""
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", CUSTOMERS)


def _roots(session: Session) -> Callable[[int], int]:
    """A function from a profile id to the profile it was merged into, in the end."""
    parent: dict[int, int | None] = dict(session.execute(select(Profile.id, Profile.merged_into_id)).all())

    def root(profile_id: int) -> int:
        following = parent.get(profile_id)
        while following is not None:
            profile_id, following = following, parent.get(following)
        return profile_id

    return root


def _phone_typed(event: Event) -> str | None:
    phone = event.traits.get("phone") or event.context.get("traits", {}).get("phone")
    return phone if isinstance(phone, str) else None


def _old_format(phone: str) -> str | None:
    """The 10-digit number an 11-digit pre-2018 number (``0168 …``, ``+84 168 …``) became, or None."""
    digits = re.sub(r"\D", "", phone)
    national = "0" + digits[2:] if digits.startswith("84") else digits
    if len(national) == 11 and national[:4] in OLD_MOBILE_PREFIXES:
        return OLD_MOBILE_PREFIXES[national[:4]] + national[4:]
    return None


@pytest.mark.usefixtures("more_customers")
def test_customers_shop_on_every_channel_and_their_channels_join(session: Session) -> None:
    summary = load_demo(session, seed=2026)

    start = summary.steps.index(customers.STEP)
    assert summary.steps[start:start + 4] == (customers.STEP, demo_inbox.STEP, ready_history.SIGN_UP_STEP,
                                              customers.PROFILES_STEP)
    events: list[Event] = list(session.scalars(select(Event)))
    assert len(events) == summary.counts["events"] > 3 * CUSTOMERS
    assert {event.channel for event in events} >= {"web", "app", "pos", "shopee", "zalo", "messenger"}
    names = Counter(event.event or event.type.value for event in events)
    for name in ("page", "screen", "identify", "Product Viewed", "Product Added", "Checkout Started",
                 "Order Completed"):
        assert names[name] > 0, name
    orders = [event.properties for event in events if event.event == "Order Completed"]
    assert all(order["currency"] == "VND" and isinstance(order["total"], int) and order["total"] > 0
               for order in orders)
    assert any("Áo dài" in product["name"] for order in orders for product in order["products"])
    assert all(event.profile_id is not None for event in events)

    root = _roots(session)
    channels: dict[int, set[str]] = defaultdict(set)
    for event in events:
        channels[root(event.profile_id or 0)].add(event.channel)
    assert any({"web", "pos", "zalo"} <= used for used in channels.values())


@pytest.mark.usefixtures("more_customers")
def test_old_phone_formats_resolve_and_family_phones_do_not_merge(session: Session) -> None:
    load_demo(session, seed=2026)
    root = _roots(session)
    events: list[Event] = list(session.scalars(select(Event).order_by(Event.id)))

    conflicts: list[IdentityConflict] = list(session.scalars(select(IdentityConflict).where(
        IdentityConflict.rule.in_(("shared_identifier", "max_per_profile")),
        IdentityConflict.identifier.like("phone:%"))))
    family_phones = {conflict.identifier.removeprefix("phone:") for conflict in conflicts}
    assert family_phones

    # A family phone: two account holders gave it, and they stay two profiles.
    holders: dict[str, set[str]] = defaultdict(set)
    for event in events:
        phone = _phone_typed(event)
        if event.user_id and phone:
            for number in normalise_phone(phone):
                holders[number.value].add(event.user_id)
    shared = {phone: users for phone, users in holders.items() if len(users) > 1}
    assert shared
    refused = list(session.scalars(select(IdentityConflict)))
    in_conflict = {c.profile_id for c in refused} | {c.other_profile_id for c in refused}
    for users in shared.values():
        profiles = {find_profile(session, type="user_id", value=user) for user in users}
        assert len(profiles) == len(users)
        assert profiles & in_conflict  # the refused merge is kept for review (under the phone or the e-mail)
    family_phones |= set(shared)

    # A clerk typed the old 11-digit number; the customer typed the new one elsewhere: one profile.
    modern_profiles: dict[str, set[int]] = defaultdict(set)
    for event in events:
        phone = _phone_typed(event)
        if phone and event.channel != "pos" and _old_format(phone) is None:
            modern_profiles[re.sub(r"\D", "", phone)[-9:]].add(root(event.profile_id or 0))
    checked = 0
    for event in events:
        phone = _phone_typed(event)
        modern = _old_format(phone) if event.channel == "pos" and phone else None
        if modern is None or "+84" + modern[1:] in family_phones:
            continue
        assert modern_profiles.get(modern[1:], {root(event.profile_id or 0)}) == {root(event.profile_id or 0)}
        checked += modern[1:] in modern_profiles
    assert checked > 0


def _picture(session: Session) -> tuple[Counter[tuple[str, str, str]], list[str]]:
    """What a load produced, without ids or times: events by channel and name, and the names customers gave."""
    session.rollback()
    events: list[Event] = list(session.scalars(select(Event)))
    counts = Counter((event.channel, event.type.value, event.event or "") for event in events)
    names = sorted(name for event in events
                   for name in (event.traits.get("name"), event.context.get("traits", {}).get("name"))
                   if isinstance(name, str))
    session.rollback()
    return counts, names


def test_the_same_seed_gives_the_same_customers(session: Session, wipe: Callable[[], None]) -> None:
    load_demo(session, seed=2026)
    first = _picture(session)
    wipe()

    load_demo(session, seed=2026)
    assert _picture(session) == first
    wipe()

    load_demo(session, seed=7)
    assert _picture(session)[1] != first[1]  # other people


@pytest.mark.usefixtures("more_customers")
def test_the_shop_opens_with_every_customer_built_and_one_seen_on_four_channels(session: Session) -> None:
    load_demo(session, seed=2026)
    roots = set(session.scalars(select(Profile.id).where(Profile.merged_into_id.is_(None))))
    rows = {row.profile_id: row for row in session.scalars(select(CustomerProfile))}
    assert set(rows) == roots
    named = [row for row in rows.values() if row.display_name]
    assert len(named) > CUSTOMERS // 2
    assert any(row.computed["orders"] > 0 and row.computed["revenue"].get("VND", 0) > 0 for row in rows.values())
    placed = [row for row in rows.values() if row.address]
    assert placed and any(row.ward_code for row in placed)
    assert any(row.address_parsed["status"] == "ambiguous" for row in placed)  # a split old ward, not guessed
    showcase = customers.showcase_customer(session)
    assert showcase is not None
    used = {item["channel"] for item in rows[showcase].computed["channels"]}
    assert used >= {"web", "pos", "shopee", "zalo"}


def test_the_inbox_holds_one_conversation_per_customer_and_the_showcase_spans_channels(session: Session) -> None:
    load_demo(session, seed=2026)
    showcase = customers.showcase_customer(session)
    assert showcase is not None
    thread = demo_inbox.showcase_conversation(session, profile_id=showcase)
    assert thread is not None
    kinds = session.execute(select(Channel.kind).join(Message, Message.channel_id == Channel.id)
                            .where(Message.conversation_id == thread).distinct()).scalars().all()
    assert set(kinds) == {"zalo", "messenger", "email", "webchat"}
    per_customer = session.execute(select(Conversation.profile_id, func.count()).where(
        Conversation.status != ConversationStatus.resolved).group_by(Conversation.profile_id)).all()
    assert per_customer and all(count == 1 for _profile, count in per_customer)
    channels = session.scalars(select(Channel)).all()
    assert channels and all(is_sandbox(channel) for channel in channels)  # the demo never reaches a provider
