"""The send step: the filter checked again, the messaging policy asked (consent, caps, quiet hours, channel
choice), the template rendered for the chosen channel, and the message queued in the customer's conversation; a
channel that cannot take it (no variant, no connected channel) hands over to the next, and so does a send the
provider later reports failed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.db import is_postgres
from xuyen.errors import Conflict, NotFound, XuyenError
from xuyen.inbox.outreach import queue_outreach
from xuyen.journeys.flows.definition import Send
from xuyen.journeys.flows.engine import Move, StepContext, definition_of
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, JourneySend
from xuyen.journeys.flows.steps import rule_holds
from xuyen.journeys.policy.service import Route, add_send, decide
from xuyen.journeys.templates.rendering import Rendered
from xuyen.journeys.templates.service import get_template, render

# Any number of our own: PostgreSQL advisory locks in this class serialise the sends to one customer, so two
# journeys cannot both pass the frequency caps with the last free slot.
SEND_LOCK_CLASS = 7_283_349


def _lock_customer(session: Session, profile_id: int) -> None:
    if is_postgres(session):
        session.execute(select(func.pg_advisory_xact_lock(SEND_LOCK_CLASS, profile_id % 2_147_483_647)))


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


def _rendered(session: Session, *, template_id: int, route: Route, enrolment: Enrolment) -> Rendered | str:
    try:
        template = get_template(session, template_id=template_id)
    except NotFound as exc:
        return str(exc)
    variant = variant_for(route.channel, template.variants, template_only=route.template_only)
    if variant is None:
        return f"the template has no {route.channel} message"
    extra = {"coupon": enrolment.context["coupon"]} if enrolment.context.get("coupon") else None
    rendered = render(session, template_id=template_id, channel=variant, profile_id=enrolment.profile_id,
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
    problems: list[str] = []
    for index, route in enumerate(routes):
        rendered = _rendered(session, template_id=template_id, route=route, enrolment=enrolment)
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
    node: Send = context.node
    session, enrolment = context.session, context.enrolment
    rule = context.definition.settings.filter
    if rule is not None and not rule_holds(session, rule=rule, profile_id=enrolment.profile_id, now=context.now):
        return Move(outcome="filtered", finish=EnrolmentStatus.exited, reason="filter",
                    detail="The customer no longer meets the journey's filter.")
    _lock_customer(session, enrolment.profile_id)
    campaign = f"journey:{context.journey.id}:{context.node_id}:{enrolment.id}"
    try:
        variants = get_template(session, template_id=node.template_id).variants
    except NotFound as exc:
        return Move(outcome="failed", next=node.next, detail=str(exc))
    decision = decide(session, profile_id=enrolment.profile_id, purpose=node.purpose, at=context.now,
                      channel=node.channel, campaign_key=campaign, on_cap=node.on_cap,
                      templated=templated_channels(variants))
    if decision.action == "skip":
        return Move(outcome="skipped", next=node.next, detail=decision.code)
    if decision.action == "defer":
        return Move(outcome="deferred", stay=True, wake_at=decision.until, detail=decision.code)
    key = f"journey-{enrolment.id}-{enrolment.visit}"
    try:
        route, message_id, left, _ = _try_routes(session, routes=decision.routes, template_id=node.template_id,
                                                  enrolment=enrolment, node=context.node_id, key=key)
    except Conflict as exc:
        return Move(outcome="failed", next=node.next, detail=str(exc))
    add_send(session, profile_id=enrolment.profile_id, channel=route.channel, purpose=node.purpose, at=context.now,
             campaign_key=campaign)
    session.add(JourneySend(enrolment_id=enrolment.id, journey_id=enrolment.journey_id, node=context.node_id,
                            profile_id=enrolment.profile_id, idempotency_key=key, channel=route.channel,
                            message_id=message_id, status="queued", routes=[asdict(item) for item in left],
                            attempt=1, sent_at=context.now, template_id=node.template_id))
    return Move(outcome="sent", next=node.next, detail=route.channel)


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
