"""The messaging policy service: ``decide`` before a journey or campaign send, ``record_send`` after it,
``record_engagement`` when the customer opens, clicks or replies.

A decision follows these steps, the first that refuses deciding: suppression of the customer, one message per
campaign, then per channel consent, a reachable address (not suppressed) and an open reply window where the
channel has one; the channels left are ranked (explicit preference, engagement, the configured order); then the
frequency caps and the sending hours, which defer (or, for caps, skip when the caller asks).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.customers.consents import GRANTED
from xuyen.customers.models import CustomerConsent, CustomerProfile
from xuyen.customers.service import require_customer
from xuyen.db import is_postgres
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.graph import resolve_profile_ids
from xuyen.identity.service import merged_profile_ids_of
from xuyen.inbox.reach import Reach, reachable_points_of
from xuyen.journeys.policy import suppressions, timing
from xuyen.journeys.policy.models import ChannelEngagement, PolicySend
from xuyen.journeys.policy.settings import CHANNELS, PURPOSES, PolicyConfig, current

Action = Literal["send", "defer", "skip"]
OnCap = Literal["skip", "defer"]
ENGAGEMENTS = ("opened", "clicked", "replied")
MAX_CAMPAIGN_KEY = 200
REPLY_WITHIN = timedelta(days=3)  # a customer's message counts as a reply to one sent at most this long before
ADDRESS_CHANNELS = {"email": "email", "sms": "phone"}  # channels that can write to the customer's own address
_SENDS = cast(Table, PolicySend.__table__)
_ENGAGEMENT = cast(Table, ChannelEngagement.__table__)


@dataclass(frozen=True)
class Route:
    """A channel to send on and the customer's address there (``channel_id``: the connected channel, when known)."""

    channel: str
    address_type: str
    address: str
    channel_id: int | None = None
    template_only: bool = False  # only an approved template may go this way (a closed reply window, ZNS by phone)


@dataclass(frozen=True)
class Decision:
    """What to do with one message: ``send`` now on ``routes[0]`` (the rest, in order, if it fails); ``defer``
    until ``until`` (UTC), then ask again; ``skip`` it, ``code`` saying why for machines, ``reason`` for people.
    ``refused`` holds, per channel left out, the code of why."""

    action: Action
    routes: tuple[Route, ...] = ()
    until: datetime | None = None
    code: str = ""
    reason: str = ""
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def channel(self) -> str | None:
        """The channel to send on first."""
        return self.routes[0].channel if self.routes else None

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """The channels to try next, in order, when the first send fails."""
        return tuple(route.channel for route in self.routes[1:])


REASONS = {
    "suppressed": "The customer is on the suppression list.",
    "already_sent": "The customer already received this campaign's message.",
    "no_consent": "The customer has not given consent for this purpose on this channel.",
    "consent_withdrawn": "The customer withdrew consent for this purpose on this channel.",
    "unreachable": "The customer has no address on this channel.",
    "address_suppressed": "The customer's address on this channel is on the suppression list.",
    "reply_window_closed": "The channel's reply window is closed: the customer has not written recently.",
    "no_channel": "No channel may carry this message to the customer.",
    "frequency_capped": "The customer has received as many messages as the frequency caps allow.",
    "quiet_hours": "It is outside the sending hours in the customer's time zone.",
}


def _skip(code: str, refused: dict[str, str] | None = None) -> Decision:
    return Decision(action="skip", code=code, reason=REASONS[code], refused=refused or {})


def _checked_input(*, purpose: str, channel: str | None, campaign_key: str | None, at: datetime) -> None:
    if purpose not in PURPOSES:
        raise ValidationFailed(f"The purpose is one of {', '.join(PURPOSES)}.", code="invalid_purpose")
    if channel is not None and channel not in CHANNELS:
        raise ValidationFailed(f"The channel is one of {', '.join(CHANNELS)}.", code="invalid_channel")
    if campaign_key is not None and not 0 < len(campaign_key.strip()) <= MAX_CAMPAIGN_KEY:
        raise ValidationFailed(f"A campaign key is 1 to {MAX_CAMPAIGN_KEY} characters.", code="invalid_campaign_key")
    if at.tzinfo is None:
        raise ValidationFailed("The time must carry its time zone.", code="naive_time")


def _consent_refusal(statuses: dict[str, str], *, channel: str, purpose: str) -> str | None:
    """Marketing needs a grant on the channel; transactional and care go unless the customer withdrew them."""
    status = statuses.get(channel)
    if purpose == "marketing":
        if status == GRANTED:
            return None
        return "consent_withdrawn" if status is not None else "no_consent"
    return "consent_withdrawn" if status is not None and status != GRANTED else None


def _is_open(point: Reach, at: datetime) -> bool:
    return not point.window or (point.window_open_until is not None and point.window_open_until > at)


def _routes_for(channel: str, points: Sequence[Reach], *, phones: list[str], emails: list[str],
                at: datetime, templated: bool = False) -> tuple[list[Route], str | None]:
    """The usable routes on one channel, or why there are none. ``templated``: the message can go as a template
    the provider approved, which a closed reply window does not stop (on Zalo, a ZNS template to the phone)."""
    on_channel = [point for point in points if point.channel_kind == channel]
    routes = [Route(channel=channel, address_type=point.address_type, address=point.address,
                    channel_id=point.channel_id, template_only=not _is_open(point, at))
              for point in on_channel if templated or _is_open(point, at)]
    own = {"email": emails, "sms": phones, **({"zalo": phones} if templated else {})}.get(channel, [])
    routes += [Route(channel=channel, address_type=ADDRESS_CHANNELS.get(channel, "phone"), address=value,
                     template_only=channel == "zalo")
               for value in own if all(route.address != value for route in routes)]
    # Free text in an open window first; a template then goes by phone (ZNS) before a chat id.
    routes.sort(key=lambda route: (route.template_only, route.template_only and route.address_type != "phone"))
    if routes:
        return routes, None
    return [], "reply_window_closed" if on_channel else "unreachable"


def _preferred(traits: dict[str, object]) -> str | None:
    for name in ("preferred_channel", "preferredChannel"):
        entry = traits.get(name)
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, str) and value.strip().lower() in CHANNELS:
            return value.strip().lower()
    return None


def customer_timezone(traits: dict[str, object], default: str) -> str:
    """The customer's ``timezone`` trait when it names a real time zone, else ``default``."""
    entry = traits.get("timezone")
    value = entry.get("value") if isinstance(entry, dict) else None
    if isinstance(value, str) and value:
        try:
            ZoneInfo(value)
            return value
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def engagement_rates(session: Session, *, profile_ids: Sequence[int]) -> dict[str, float]:
    """Per channel, how often the customer (these profiles together) engaged (opened, clicked or replied) per
    message received."""
    return _engagement_rates_of(session, owner={profile_id: 0 for profile_id in profile_ids}).get(0, {})


def _engagement_rates_of(session: Session, *, owner: dict[int, int]) -> dict[int, dict[str, float]]:
    """``engagement_rates`` of many customers: ``owner`` maps each profile to the customer it counts for."""
    received: dict[tuple[int, str], int] = {}
    engaged: dict[tuple[int, str], int] = {}
    for row in session.execute(select(ChannelEngagement.profile_id, ChannelEngagement.channel,
                                      ChannelEngagement.received, ChannelEngagement.opened, ChannelEngagement.clicked,
                                      ChannelEngagement.replied).where(
            ChannelEngagement.profile_id.in_(sorted(owner)))):
        key = (owner[row.profile_id], row.channel)
        received[key] = received.get(key, 0) + row.received
        engaged[key] = engaged.get(key, 0) + row.opened + row.clicked + row.replied
    rates: dict[int, dict[str, float]] = {}
    for (customer, channel), count in received.items():
        if count > 0:
            rates.setdefault(customer, {})[channel] = engaged[(customer, channel)] / count
    return rates


def _ranked(channels: list[str], *, preferred: str | None, rates: dict[str, float],
            config: PolicyConfig) -> list[str]:
    order = {channel: index for index, channel in enumerate(config.channel_order)}
    return sorted(channels, key=lambda channel: (channel != preferred, -rates.get(channel, 0.0),
                                                 order.get(channel, len(order))))


def _longest_cap(config: PolicyConfig) -> int:
    return max([config.total.hours, *(cap.hours for cap in config.channel_caps.values())])


def _sent_times_of(session: Session, *, owner: dict[int, int],
                   since: datetime) -> dict[int, list[tuple[str, datetime]]]:
    """The counted sends since ``since`` of many customers (``owner``: profile -> the customer it counts for)."""
    sent: dict[int, list[tuple[str, datetime]]] = {}
    for profile_id, channel, sent_at in session.execute(
            select(PolicySend.profile_id, PolicySend.channel, PolicySend.sent_at).where(
                PolicySend.profile_id.in_(sorted(owner)), PolicySend.counted.is_(True), PolicySend.sent_at > since)):
        sent.setdefault(owner[profile_id], []).append((channel, sent_at))
    return sent


def _cap_check(sent: list[tuple[str, datetime]], *, channels: list[str], at: datetime,
               config: PolicyConfig) -> tuple[list[str], datetime | None]:
    """The channels the caps allow now, given the counted sends of the longest cap's window, and (when none) the
    earliest moment one does."""
    every = [moment for _, moment in sent]
    total_free = timing.cap_frees_at(every, at=at, limit=config.total.limit, hours=config.total.hours)
    frees: dict[str, datetime | None] = {}
    for channel in channels:
        cap = config.channel_caps.get(channel)
        frees[channel] = None if cap is None else timing.cap_frees_at(
            [moment for name, moment in sent if name == channel], at=at, limit=cap.limit, hours=cap.hours)
    allowed = [channel for channel in channels if frees[channel] is None]
    if total_free is None and allowed:
        return allowed, None
    channel_free = min((moment or at for moment in frees.values()), default=at)
    return [], max(total_free or at, channel_free)


def _usable_channels(channels: list[str], *, purpose: str, statuses: dict[str, str], points: Sequence[Reach],
                     phones: list[str], emails: list[str], blocked: set[str], at: datetime,
                     templated: Collection[str] = ()) -> tuple[dict[str, list[Route]], dict[str, str]]:
    """Per channel, the routes consent, reachability, suppression and reply windows leave; and why the others
    were left out."""
    usable: dict[str, list[Route]] = {}
    refused: dict[str, str] = {}
    for name in channels:
        refusal = _consent_refusal(statuses, channel=name, purpose=purpose)
        routes, missing = _routes_for(name, points, phones=phones, emails=emails, at=at,
                                      templated=name in templated)
        free = [route for route in routes if route.address not in blocked]
        if refusal is None and routes and not free:
            refusal = "address_suppressed"
        refusal = refusal or missing
        if refusal is not None:
            refused[name] = refusal
        else:
            usable[name] = free
    return usable, refused


@dataclass(frozen=True)
class Ask:
    """One message to decide on: to whom, and the campaign it belongs to (one message per customer each)."""

    profile_id: int
    campaign_key: str | None = None


@dataclass(frozen=True)
class _Facts:
    """What the policy reads of one customer (the surviving profile and those merged into it)."""

    phones: list[str]
    emails: list[str]
    traits: dict[str, object]
    suppressed: bool
    already_sent: bool
    statuses: dict[str, str]
    points: list[Reach]
    blocked: set[str]
    rates: dict[str, float]
    sent: list[tuple[str, datetime]]


def decide(session: Session, *, profile_id: int, purpose: str, at: datetime, channel: str | None = None,
           campaign_key: str | None = None, on_cap: OnCap = "defer", templated: Collection[str] = ()) -> Decision:
    """Whether, when and on which channels a message of ``purpose`` may go to the customer (reads only).
    ``templated`` names the channels the message can take as an approved template (Zalo's ZNS): a closed reply
    window does not stop those, and Zalo may reach the customer's phone (routes marked ``template_only``)."""
    return decide_many(session, asks=[Ask(profile_id=profile_id, campaign_key=campaign_key)], purpose=purpose,
                       at=at, channel=channel, on_cap=on_cap, templated=templated)[0]


def decide_many(session: Session, *, asks: Sequence[Ask], purpose: str, at: datetime, channel: str | None = None,
                on_cap: OnCap = "defer", templated: Collection[str] = ()) -> list[Decision]:
    """``decide`` for many messages of one purpose, in the order asked, reading the same facts in a fixed number
    of queries. Each decision sees what was sent before the call, not the others of the call: ask about one
    message per customer at a time when the caps must count them."""
    for ask in asks:
        _checked_input(purpose=purpose, channel=channel, campaign_key=ask.campaign_key, at=at)
    config = current(session)
    facts = _facts_of(session, asks=asks, purpose=purpose, at=at, config=config)
    return [_decision(fact, purpose=purpose, at=at, channel=channel, on_cap=on_cap, templated=templated,
                      config=config) for fact in facts]


def _roots(session: Session, profile_ids: set[int]) -> dict[int, int]:
    try:
        return resolve_profile_ids(session, profile_ids=profile_ids)
    except NotFound:
        for profile_id in sorted(profile_ids):
            require_customer(session, profile_id=profile_id)  # says which customer is missing
        raise


def _facts_of(session: Session, *, asks: Sequence[Ask], purpose: str, at: datetime,
              config: PolicyConfig) -> list[_Facts]:
    root_of = _roots(session, {ask.profile_id for ask in asks})
    roots = sorted(set(root_of.values()))
    clusters = {root: [root, *merged] for root, merged in merged_profile_ids_of(session, profile_ids=roots).items()}
    owner = {member: root for root, cluster in clusters.items() for member in cluster}
    everyone = sorted(owner)
    rows = {row.profile_id: row for row in session.scalars(select(CustomerProfile).where(
        CustomerProfile.profile_id.in_(roots)))}
    suppressed = {owner[member] for member in suppressions.suppressed_profiles(session, profile_ids=everyone)}
    keys = sorted({ask.campaign_key for ask in asks if ask.campaign_key is not None})
    campaigns_sent = {(owner[member], key) for member, key in session.execute(
        select(PolicySend.profile_id, PolicySend.campaign_key).where(
            PolicySend.profile_id.in_(everyone), PolicySend.campaign_key.in_(keys)))} if keys else set()
    statuses: dict[int, dict[str, str]] = {root: {} for root in roots}
    for root, channel, status in session.execute(select(CustomerConsent.profile_id, CustomerConsent.channel,
                                                        CustomerConsent.status).where(
            CustomerConsent.profile_id.in_(roots), CustomerConsent.purpose == purpose)):
        statuses[root][channel] = status
    points = reachable_points_of(session, roots=roots)
    reached = {point.address for found in points.values() for point in found}
    blocked = suppressions.suppressed_addresses(
        session, phones={phone for row in rows.values() for phone in row.phones} | reached,
        emails={email for row in rows.values() for email in row.emails} | reached)
    rates = _engagement_rates_of(session, owner=owner)
    sent = _sent_times_of(session, owner=owner, since=at - timedelta(hours=_longest_cap(config))) \
        if purpose in config.capped_purposes else {}
    facts = []
    for ask in asks:
        root = root_of[ask.profile_id]
        row = rows.get(root)
        phones, emails = (list(row.phones), list(row.emails)) if row is not None else ([], [])
        facts.append(_Facts(
            phones=phones, emails=emails,
            traits=dict(row.traits or {}) if row is not None else {}, suppressed=root in suppressed,
            already_sent=(root, ask.campaign_key) in campaigns_sent, statuses=statuses[root], points=points[root],
            blocked={address for address in (*phones, *emails, *(p.address for p in points[root]))
                     if address in blocked or address.lower() in blocked},
            rates=rates.get(root, {}), sent=sent.get(root, [])))
    return facts


def _decision(facts: _Facts, *, purpose: str, at: datetime, channel: str | None, on_cap: OnCap,
              templated: Collection[str], config: PolicyConfig) -> Decision:
    if facts.suppressed:
        return _skip("suppressed")
    if facts.already_sent:
        return _skip("already_sent")
    usable, refused = _usable_channels([channel] if channel else list(config.channel_order), purpose=purpose,
                                       statuses=facts.statuses, points=facts.points, phones=facts.phones,
                                       emails=facts.emails, blocked=facts.blocked, at=at, templated=templated)
    if not usable:
        return _skip(refused[channel] if channel else "no_channel", refused)
    ranked = _ranked(list(usable), preferred=_preferred(facts.traits), rates=facts.rates, config=config)
    if purpose in config.capped_purposes:
        ranked, frees = _cap_check(facts.sent, channels=ranked, at=at, config=config)
        if not ranked:
            if on_cap == "skip" or frees is None or frees >= timing.NEVER:
                return _skip("frequency_capped", refused)
            return _deferred(frees, purpose=purpose, traits=facts.traits, config=config, code="frequency_capped",
                             refused=refused)
    if purpose not in config.quiet_exempt:
        allowed = timing.next_allowed(at, timezone=customer_timezone(facts.traits, config.timezone),
                                      allowed_from=config.allowed_from, allowed_until=config.allowed_until)
        if allowed != at:
            return Decision(action="defer", until=allowed, code="quiet_hours", reason=REASONS["quiet_hours"],
                            refused=refused)
    chosen = tuple(route for name in ranked for route in usable[name][:1])
    return Decision(action="send", routes=chosen, refused=refused)


def _deferred(frees: datetime, *, purpose: str, traits: dict[str, object], config: PolicyConfig, code: str,
              refused: dict[str, str]) -> Decision:
    until = frees
    if purpose not in config.quiet_exempt:
        until = timing.next_allowed(frees, timezone=customer_timezone(traits, config.timezone),
                                    allowed_from=config.allowed_from, allowed_until=config.allowed_until)
    return Decision(action="defer", until=until, code=code, reason=REASONS[code], refused=refused)


def _bump(session: Session, *, profile_id: int, channel: str, counter: str) -> None:
    """Add one to a customer's engagement counter on a channel, atomically, making the row when it is the first."""
    _bump_many(session, counts={(profile_id, channel): 1}, counter=counter)


def _bump_many(session: Session, *, counts: dict[tuple[int, str], int], counter: str) -> None:
    """Add to customers' engagement counters, keyed by (profile, channel), in one atomic upsert."""
    if not counts:
        return
    now = utcnow()
    rows = [{"profile_id": profile_id, "channel": channel, "received": 0, "opened": 0, "clicked": 0, "replied": 0,
             counter: count, "updated_at": now} for (profile_id, channel), count in sorted(counts.items())]
    statement = (postgresql.insert if is_postgres(session) else sqlite.insert)(_ENGAGEMENT).values(rows)
    session.execute(statement.on_conflict_do_update(
        index_elements=["profile_id", "channel"],
        set_={counter: _ENGAGEMENT.c[counter] + statement.excluded[counter],
              "updated_at": statement.excluded.updated_at}))


def add_send(session: Session, *, profile_id: int, channel: str, purpose: str, at: datetime | None = None,
             campaign_key: str | None = None) -> PolicySend:
    """Count a message sent as ``record_send`` does (helper: no commit; Conflict ``already_sent`` leaves the
    transaction as it was)."""
    moment = at or utcnow()
    _checked_input(purpose=purpose, channel=channel, campaign_key=campaign_key, at=moment)
    root = require_customer(session, profile_id=profile_id)
    config = current(session)
    send = PolicySend(profile_id=root, channel=channel, purpose=purpose, campaign_key=campaign_key,
                      counted=purpose in config.capped_purposes, sent_at=moment.astimezone(UTC))
    try:
        with session.begin_nested():
            session.add(send)
    except IntegrityError:
        raise Conflict(REASONS["already_sent"], code="already_sent") from None
    _bump(session, profile_id=root, channel=channel, counter="received")
    return send


@dataclass(frozen=True)
class Sent:
    """A message to count as sent: to whom, on which channel, for which campaign."""

    profile_id: int
    channel: str
    campaign_key: str | None = None


def add_sends(session: Session, *, sends: Sequence[Sent], purpose: str, at: datetime) -> None:
    """Count many messages of one purpose sent at ``at``, as ``add_send`` does each, in three statements (helper: no
    commit). Conflict ``already_sent`` when one of them was counted already: the caller rolls back."""
    if not sends:
        return
    for sent in sends:
        _checked_input(purpose=purpose, channel=sent.channel, campaign_key=sent.campaign_key, at=at)
    root_of = _roots(session, {sent.profile_id for sent in sends})
    counted = purpose in current(session).capped_purposes
    rows = [{"profile_id": root_of[sent.profile_id], "channel": sent.channel, "purpose": purpose,
             "campaign_key": sent.campaign_key, "counted": counted, "sent_at": at.astimezone(UTC)} for sent in sends]
    statement = (postgresql.insert if is_postgres(session) else sqlite.insert)(_SENDS).values(rows)
    made = session.execute(statement.on_conflict_do_nothing(index_elements=["profile_id", "campaign_key"])
                           .returning(_SENDS.c.id)).all()
    if len(made) != len(rows):
        raise Conflict(REASONS["already_sent"], code="already_sent")
    counts: dict[tuple[int, str], int] = {}
    for sent in sends:
        key = (root_of[sent.profile_id], sent.channel)
        counts[key] = counts.get(key, 0) + 1
    _bump_many(session, counts=counts, counter="received")


def record_send(session: Session, *, profile_id: int, channel: str, purpose: str, at: datetime | None = None,
                campaign_key: str | None = None) -> PolicySend:
    """Count a message sent (caps, the campaign's one message, engagement's denominator), and commit.

    Conflict ``already_sent`` when the customer already has this campaign's message (nothing is counted twice)."""
    try:
        send = add_send(session, profile_id=profile_id, channel=channel, purpose=purpose, at=at,
                        campaign_key=campaign_key)
    except Conflict:
        session.rollback()
        raise
    session.commit()
    return send


def count_reply(session: Session, *, profile_id: int, channel: str, at: datetime) -> bool:
    """Count a customer's message on ``channel`` as a reply to the latest message sent them there within
    ``REPLY_WITHIN`` and not answered yet; whether it was one (helper: no commit)."""
    root = require_customer(session, profile_id=profile_id)
    answered = session.scalar(select(PolicySend).where(
        PolicySend.profile_id == root, PolicySend.channel == channel, PolicySend.replied_at.is_(None),
        PolicySend.sent_at <= at, PolicySend.sent_at > at - REPLY_WITHIN).order_by(PolicySend.sent_at.desc()).limit(1))
    if answered is None:
        return False
    answered.replied_at = at
    _bump(session, profile_id=root, channel=channel, counter="replied")
    return True


def count_engagement(session: Session, *, profile_id: int, channel: str, kind: str) -> None:
    """Count that the customer opened, clicked or replied to a message on ``channel`` (helper: no commit)."""
    if kind not in ENGAGEMENTS:
        raise ValidationFailed(f"Engagement is one of {', '.join(ENGAGEMENTS)}.", code="invalid_engagement")
    if channel not in CHANNELS:
        raise ValidationFailed(f"The channel is one of {', '.join(CHANNELS)}.", code="invalid_channel")
    root = require_customer(session, profile_id=profile_id)
    _bump(session, profile_id=root, channel=channel, counter=kind)


def record_engagement(session: Session, *, profile_id: int, channel: str, kind: str) -> None:
    """Count that the customer opened, clicked or replied to a message on ``channel``, and commit."""
    count_engagement(session, profile_id=profile_id, channel=channel, kind=kind)
    session.commit()


def forget_customers(session: Session, *, profile_ids: Sequence[int]) -> None:
    """Delete the sends and engagement counters of these profiles (an erasure; helper: no commit)."""
    session.execute(delete(PolicySend).where(PolicySend.profile_id.in_(profile_ids)))
    session.execute(delete(ChannelEngagement).where(ChannelEngagement.profile_id.in_(profile_ids)))
