"""The send step: the filter checked again, the messaging policy asked (consent, caps, quiet hours, channel
choice), the template rendered for the chosen channel, and the message queued in the customer's conversation; a
channel that cannot take it (no variant, no connected channel) hands over to the next, and so does a send the
provider later reports failed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerProfile
from xuyen.db import is_postgres, keeping
from xuyen.errors import Conflict, NotFound, XuyenError
from xuyen.inbox.models import Channel, ChannelStatus
from xuyen.inbox.outreach import queue_outreach
from xuyen.journeys.flows.definition import Send
from xuyen.journeys.flows.engine import Move, StepContext, definition_of
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, JourneySend
from xuyen.journeys.flows.steps import meeting_rule
from xuyen.journeys.policy.service import Ask, Decision, Route, Sent, add_sends, decide_many
from xuyen.journeys.templates.models import MessageTemplate
from xuyen.journeys.templates.rendering import Rendered
from xuyen.journeys.templates.service import get_template, render

# Any number of our own: PostgreSQL advisory locks in this class serialise the sends to one customer, so two
# journeys cannot both pass the frequency caps with the last free slot.
SEND_LOCK_CLASS = 7_283_349


def _lock_customers(session: Session, profile_ids: Collection[int]) -> None:
    """Take the customers' send locks, in one order whoever asks, so two batches cannot wait on each other."""
    if is_postgres(session) and profile_ids:
        keys = sorted({profile_id % 2_147_483_647 for profile_id in profile_ids})
        session.execute(text("SELECT count(pg_advisory_xact_lock(:lock_class, key)) FROM "
                             "(SELECT unnest(CAST(:keys AS integer[])) AS key ORDER BY 1) AS sorted"),
                        {"lock_class": SEND_LOCK_CLASS, "keys": keys})


def variant_for(channel: str, variants: dict[str, Any], *, template_only: bool = False) -> str | None:
    """The template variant to send on a channel: its own (Zalo's OA text), or a ZNS template on Zalo (the only
    one when the route takes templates only)."""
    own = "zalo_oa" if channel == "zalo" else channel
    if own in variants and not template_only:
        return own
    if channel == "zalo" and "zns" in variants:
        return "zns"
    return None


def templated_channels(variants: dict[str, Any]) -> tuple[str, ...]:
    """The channels a template can reach as an approved template, whatever their reply windows (ZNS on Zalo)."""
    return ("zalo",) if "zns" in variants else ()


def _rendered(session: Session, *, template: MessageTemplate, route: Route, enrolment: Enrolment) -> Rendered | str:
    variant = variant_for(route.channel, template.variants, template_only=route.template_only)
    if variant is None:
        return f"the template has no {route.channel} message"
    extra = {"coupon": enrolment.context["coupon"]} if enrolment.context.get("coupon") else None
    rendered = render(session, template_id=template.id, channel=variant, profile_id=enrolment.profile_id,
                      event=enrolment.context.get("event"), extra=extra)
    return rendered if rendered.ok else rendered.problems[0].message


def _queue(session: Session, *, rendered: Rendered, route: Route, enrolment: Enrolment, node: str,
           key: str) -> int:
    template = ({"name": rendered.zns_template_id, "language": None, "parameters": dict(rendered.zns_params)}
                if rendered.channel == "zns" else None)
    text = rendered.text or (f"[ZNS {rendered.zns_template_id}] " + ", ".join(
        f"{name}: {value}" for name, value in rendered.zns_params.items()) if template else "")
    message = queue_outreach(
        session, profile_id=enrolment.profile_id, channel_kind=route.channel, channel_id=route.channel_id,
        address_type=route.address_type, address=route.address, idempotency_key=key, text=text,
        subject=rendered.subject or None, html=rendered.html or None, template=template,
        meta={"journey_id": enrolment.journey_id, "enrolment_id": enrolment.id, "node": node,
              "template_id": rendered.template_id, "template_version": rendered.version},
        track=route.channel == "email")
    return message.id


def _try_routes(session: Session, *, routes: tuple[Route, ...] | list[Route], template_id: int,
                enrolment: Enrolment, node: str, key: str) -> tuple[Route, int, list[Route], list[str]]:
    """Queue on the first route that can carry the message: (route, message id, routes left, problems met);
    Conflict ``not_sendable`` when none can."""
    try:
        template = get_template(session, template_id=template_id)
    except NotFound as exc:
        raise Conflict(str(exc), code="not_sendable") from exc
    problems: list[str] = []
    for index, route in enumerate(routes):
        rendered = _rendered(session, template=template, route=route, enrolment=enrolment)
        if isinstance(rendered, str):
            problems.append(f"{route.channel}: {rendered}")
            continue
        try:
            message_id = _queue(session, rendered=rendered, route=route, enrolment=enrolment, node=node,
                                key=key if index == 0 else f"{key}.{index}")
        except XuyenError as exc:  # no such channel connected, an address it cannot write to, …
            problems.append(f"{route.channel}: {exc}")
            continue
        return route, message_id, list(routes[index + 1:]), problems
    raise Conflict("; ".join(problems) or "no channel can carry the message", code="not_sendable")


def send_step(context: StepContext) -> Move:
    """A send step: check, decide, render, queue (helper: no commit)."""
    return send_steps([context])[0]


def send_steps(contexts: Sequence[StepContext]) -> list[Move]:
    """Send steps of many enrolments, each as ``send_step`` would run it alone, in the order given; the journey's
    filter, the customer locks, the policy's decisions and the counting are done once per node for all of them
    (helper: no commit). At most one enrolment per customer: the caps count what was sent before the call."""
    moves: dict[int, Move] = {}
    nodes: dict[tuple[int, str], list[int]] = {}
    for index, context in enumerate(contexts):
        nodes.setdefault((context.enrolment.version_id, context.node_id), []).append(index)
    for indexes in nodes.values():
        moves.update(zip(indexes, _send_at_node([contexts[index] for index in indexes]), strict=True))
    return [moves[index] for index in range(len(contexts))]


def _send_at_node(contexts: list[StepContext]) -> list[Move]:
    first = contexts[0]
    node: Send = first.node
    session, now = first.session, first.now
    moves: list[Move | None] = [None] * len(contexts)
    rule = first.definition.settings.filter
    if rule is not None:
        holders = meeting_rule(session, rule=rule, profile_ids=[c.enrolment.profile_id for c in contexts], now=now)
        for index, context in enumerate(contexts):
            if context.enrolment.profile_id not in holders:
                moves[index] = Move(outcome="filtered", finish=EnrolmentStatus.exited, reason="filter",
                                    detail="The customer no longer meets the journey's filter.")
    going = [index for index, move in enumerate(moves) if move is None]
    customers = [contexts[index].enrolment.profile_id for index in going]
    _lock_customers(session, customers)
    try:
        template = get_template(session, template_id=node.template_id)
    except NotFound as exc:
        return [move or Move(outcome="failed", next=node.next, detail=str(exc)) for move in moves]
    variants = template.variants
    decisions = decide_many(session, asks=[Ask(profile_id=customer, campaign_key=_campaign(contexts[index]))
                                           for index, customer in zip(going, customers, strict=True)],
                            purpose=node.purpose, at=now, channel=node.channel, on_cap=node.on_cap,
                            templated=templated_channels(variants))
    sent: list[Sent] = []
    with keeping([template, *_rows_read_per_message(session, customers)]):
        for index, decision in zip(going, decisions, strict=True):
            moves[index], counted = _act(contexts[index], decision)
            if counted is not None:
                sent.append(counted)
    add_sends(session, sends=sent, purpose=node.purpose, at=now)
    return [move for move in moves if move is not None]


def _rows_read_per_message(session: Session, profile_ids: list[int]) -> list[object]:
    """The rows rendering and queueing read by id for each message: the customers' and the active channels."""
    if not profile_ids:
        return []
    return [*session.scalars(select(CustomerProfile).where(CustomerProfile.profile_id.in_(sorted(profile_ids)))),
            *session.scalars(select(Channel).where(Channel.status == ChannelStatus.active))]


def _campaign(context: StepContext) -> str:
    return f"journey:{context.journey.id}:{context.node_id}:{context.enrolment.id}"


def _act(context: StepContext, decision: Decision) -> tuple[Move, Sent | None]:
    """What a send step does once the policy decided: the move, and the send to count when a message was queued."""
    node: Send = context.node
    session, enrolment = context.session, context.enrolment
    if decision.action == "skip":
        return Move(outcome="skipped", next=node.next, detail=decision.code), None
    if decision.action == "defer":
        return Move(outcome="deferred", stay=True, wake_at=decision.until, detail=decision.code), None
    key = f"journey-{enrolment.id}-{enrolment.visit}"
    try:
        route, message_id, left, _ = _try_routes(session, routes=decision.routes, template_id=node.template_id,
                                                  enrolment=enrolment, node=context.node_id, key=key)
    except Conflict as exc:
        return Move(outcome="failed", next=node.next, detail=str(exc)), None
    session.add(JourneySend(enrolment_id=enrolment.id, journey_id=enrolment.journey_id, node=context.node_id,
                            profile_id=enrolment.profile_id, idempotency_key=key, channel=route.channel,
                            message_id=message_id, status="queued", routes=[asdict(item) for item in left],
                            attempt=1, sent_at=context.now, template_id=node.template_id))
    return (Move(outcome="sent", next=node.next, detail=route.channel),
            Sent(profile_id=enrolment.profile_id, channel=route.channel, campaign_key=_campaign(context)))


def fall_back(session: Session, *, send: JourneySend) -> bool:
    """A failed send tried on the next channel left, when there is one; whether it was (helper: no commit)."""
    enrolment = session.get(Enrolment, send.enrolment_id)
    if enrolment is None or not send.routes:
        return False
    node = definition_of(session, version_id=enrolment.version_id).nodes.get(send.node)
    if not isinstance(node, Send):
        return False
    routes = [Route(**item) for item in send.routes]
    try:
        route, message_id, left, _ = _try_routes(session, routes=routes, template_id=node.template_id,
                                                  enrolment=enrolment, node=send.node,
                                                  key=f"{send.idempotency_key}.r{send.attempt + 1}")
    except Conflict as exc:
        send.routes, send.error = [], f"{send.error}; {exc}"[:2000]
        return False
    send.channel, send.message_id, send.routes = route.channel, message_id, [asdict(item) for item in left]
    send.attempt, send.status = send.attempt + 1, "queued"
    return True


def send_of_message(session: Session, *, message_id: int) -> JourneySend | None:
    """The journey send that queued this inbox message, if one did."""
    return session.scalar(select(JourneySend).where(JourneySend.message_id == message_id))
