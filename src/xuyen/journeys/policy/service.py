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
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.customers.consents import GRANTED
from xuyen.customers.service import customer_consents, customer_row, require_customer
from xuyen.errors import Conflict, ValidationFailed
from xuyen.identity.service import merged_profile_ids
from xuyen.inbox.reach import Reach, reachable_points
from xuyen.journeys.policy import suppressions, timing
from xuyen.journeys.policy.models import ChannelEngagement, PolicySend
from xuyen.journeys.policy.settings import CHANNELS, PURPOSES, PolicyConfig, current

Action = Literal["send", "defer", "skip"]
OnCap = Literal["skip", "defer"]
ENGAGEMENTS = ("opened", "clicked", "replied")
MAX_CAMPAIGN_KEY = 200
REPLY_WITHIN = timedelta(days=3)  # a customer's message counts as a reply to one sent at most this long before
ADDRESS_CHANNELS = {"email": "email", "sms": "phone"}  # channels that can write to the customer's own address


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
    received: dict[str, int] = {}
    engaged: dict[str, int] = {}
    for row in session.scalars(select(ChannelEngagement).where(ChannelEngagement.profile_id.in_(profile_ids))):
        received[row.channel] = received.get(row.channel, 0) + row.received
        engaged[row.channel] = engaged.get(row.channel, 0) + row.opened + row.clicked + row.replied
    return {channel: engaged[channel] / count for channel, count in received.items() if count > 0}


def _ranked(channels: list[str], *, preferred: str | None, rates: dict[str, float],
            config: PolicyConfig) -> list[str]:
    order = {channel: index for index, channel in enumerate(config.channel_order)}
    return sorted(channels, key=lambda channel: (channel != preferred, -rates.get(channel, 0.0),
                                                 order.get(channel, len(order))))


def _sent_times(session: Session, *, profile_ids: list[int], since: datetime) -> list[tuple[str, datetime]]:
    return [(channel, sent_at) for channel, sent_at in session.execute(
        select(PolicySend.channel, PolicySend.sent_at).where(
            PolicySend.profile_id.in_(profile_ids), PolicySend.counted.is_(True), PolicySend.sent_at > since))]


def _cap_check(session: Session, *, profile_ids: list[int], channels: list[str], at: datetime,
               config: PolicyConfig) -> tuple[list[str], datetime | None]:
    """The channels the caps allow now, and (when none) the earliest moment one does."""
    longest = max([config.total.hours, *(cap.hours for cap in config.channel_caps.values())])
    sent = _sent_times(session, profile_ids=profile_ids, since=at - timedelta(hours=longest))
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


def decide(session: Session, *, profile_id: int, purpose: str, at: datetime, channel: str | None = None,
           campaign_key: str | None = None, on_cap: OnCap = "defer", templated: Collection[str] = ()) -> Decision:
    """Whether, when and on which channels a message of ``purpose`` may go to the customer (reads only).
    ``templated`` names the channels the message can take as an approved template (Zalo's ZNS): a closed reply
    window does not stop those, and Zalo may reach the customer's phone (routes marked ``template_only``)."""
    _checked_input(purpose=purpose, channel=channel, campaign_key=campaign_key, at=at)
    root = require_customer(session, profile_id=profile_id)
    cluster = [root, *merged_profile_ids(session, profile_id=root)]
    row = customer_row(session, profile_id=root)
    phones, emails = (list(row.phones), list(row.emails)) if row is not None else ([], [])
    if suppressions.profile_suppressed(session, profile_ids=cluster):
        return _skip("suppressed")
    if campaign_key is not None and _already_sent(session, profile_ids=cluster, campaign_key=campaign_key):
        return _skip("already_sent")
    config = current(session)
    statuses = {consent.channel: consent.status for consent in customer_consents(session, profile_id=root)
                if consent.purpose == purpose}
    points = reachable_points(session, profile_id=root)
    blocked = suppressions.suppressed_addresses(session, phones=[*phones, *(p.address for p in points)],
                                                emails=[*emails, *(p.address for p in points)])
    usable, refused = _usable_channels([channel] if channel else list(config.channel_order), purpose=purpose,
                                       statuses=statuses, points=points, phones=phones, emails=emails,
                                       blocked=blocked, at=at, templated=templated)
    if not usable:
        return _skip(refused[channel] if channel else "no_channel", refused)
    traits = row.traits if row is not None else {}
    ranked = _ranked(list(usable), preferred=_preferred(traits), rates=engagement_rates(session, profile_ids=cluster),
                     config=config)
    if purpose in config.capped_purposes:
        ranked, frees = _cap_check(session, profile_ids=cluster, channels=ranked, at=at, config=config)
        if not ranked:
            if on_cap == "skip" or frees is None or frees >= timing.NEVER:
                return _skip("frequency_capped", refused)
            return _deferred(frees, purpose=purpose, traits=traits, config=config, code="frequency_capped",
                             refused=refused)
    if purpose not in config.quiet_exempt:
        allowed = timing.next_allowed(at, timezone=customer_timezone(traits, config.timezone),
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


def _already_sent(session: Session, *, profile_ids: list[int], campaign_key: str) -> bool:
    return session.scalar(select(PolicySend.id).where(PolicySend.profile_id.in_(profile_ids),
                                                      PolicySend.campaign_key == campaign_key).limit(1)) is not None


def _bump(session: Session, *, profile_id: int, channel: str, counter: str) -> None:
    """Add one to a customer's engagement counter on a channel, atomically, making the row when it is the first."""
    column = getattr(ChannelEngagement, counter)
    where = (ChannelEngagement.profile_id == profile_id, ChannelEngagement.channel == channel)
    bumped = update(ChannelEngagement).where(*where).values({counter: column + 1, "updated_at": utcnow()})
    if session.execute(bumped).rowcount:  # type: ignore[attr-defined]
        return
    counters = {"received": 0, "opened": 0, "clicked": 0, "replied": 0, counter: 1}
    try:
        with session.begin_nested():
            session.add(ChannelEngagement(profile_id=profile_id, channel=channel, updated_at=utcnow(), **counters))
    except IntegrityError:  # made by another transaction meanwhile
        session.execute(bumped)


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
