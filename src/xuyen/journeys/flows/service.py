"""Journeys: create them, edit their draft, publish it as a new version, pause, resume and archive; start a
broadcast. Publishing never changes what customers already inside follow: each enrolment keeps its version."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.models import User
from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from xuyen.jobs import add_job
from xuyen.journeys.flows.definition import (
    MAX_DEFINITION_BYTES,
    BroadcastTrigger,
    Condition,
    CreateTask,
    Definition,
    EventTrigger,
    InvalidDefinition,
    IssueCoupon,
    Notify,
    SegmentTrigger,
    Send,
    UserRef,
    blank_definition,
    parse_definition,
)
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, Journey, JourneyStatus, JourneyStep, JourneyVersion

BROADCAST_JOB = "journeys.broadcast"
KNOWN_EVENTS = ("Order Completed", "Checkout Started", "Product Added", "Product Viewed", "Cart Viewed",
                "Product Removed", "Order Cancelled", "Order Refunded", "Signed Up", "Segment Entered",
                "Lead Score Changed", "Loyalty Tier Changed")


def _size_checked(definition: Any) -> Any:
    if len(json.dumps(definition, ensure_ascii=False, default=str)) > MAX_DEFINITION_BYTES:
        raise PayloadTooLarge(f"A journey definition is at most {MAX_DEFINITION_BYTES:,} bytes.",
                              code="journey_too_large")
    return definition


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 0 < len(name) <= 200:
        raise ValidationFailed("A journey's name has 1 to 200 characters.", code="invalid_journey_name")
    return name


def _check_name_free(session: Session, name: str, *, journey_id: int | None) -> str:
    clash = session.scalar(select(Journey.id).where(func.lower(Journey.name) == name.lower()))
    if clash is not None and clash != journey_id:
        raise Conflict(f"Another journey is called {name!r}.", code="journey_name_taken")
    return name


def _references(session: Session, definition: Definition) -> dict[str, str]:
    """Problems with what the definition names in the database: templates, segments, promotions, users."""
    from xuyen.commerce.pricing.models import Promotion
    from xuyen.journeys.flows.sending import variant_for
    from xuyen.journeys.templates.models import MessageTemplate
    from xuyen.segments.models import Segment

    errors: dict[str, str] = {}

    def missing(model: Any, key: int) -> bool:
        return session.get(model, key) is None

    trigger = definition.trigger
    if isinstance(trigger, SegmentTrigger | BroadcastTrigger) and missing(Segment, trigger.segment_id):
        errors["trigger.segment_id"] = f"there is no segment {trigger.segment_id}"
    for node_id, node in definition.nodes.items():
        if isinstance(node, Send):
            template = session.get(MessageTemplate, node.template_id)
            if template is None:
                errors[f"nodes.{node_id}.template_id"] = f"there is no template {node.template_id}"
            elif node.channel is not None and variant_for(node.channel, template.variants) is None:
                errors[f"nodes.{node_id}.channel"] = f"the template has no {node.channel} message"
        elif isinstance(node, IssueCoupon) and missing(Promotion, node.promotion_id):
            errors[f"nodes.{node_id}.promotion_id"] = f"there is no promotion {node.promotion_id}"
        elif isinstance(node, CreateTask | Notify):
            target = node.assign if isinstance(node, CreateTask) else node.to
            if isinstance(target, UserRef) and missing(User, target.user_id):
                errors[f"nodes.{node_id}.{'assign' if isinstance(node, CreateTask) else 'to'}"] = \
                    f"there is no user {target.user_id}"
    return errors


def validate(session: Session, *, definition: Any) -> dict[str, str]:
    """Every problem of a definition, by path (empty when it is valid); reads only."""
    try:
        parsed = parse_definition(_size_checked(definition))
    except InvalidDefinition as exc:
        return exc.errors
    return _references(session, parsed)


def checked_definition(session: Session, definition: Any) -> Definition:
    """The definition parsed, or ValidationFailed ``invalid_journey`` with every problem by path."""
    errors = validate(session, definition=definition)
    if errors:
        listed = "; ".join(f"{path or 'definition'}: {message}" for path, message in list(errors.items())[:5])
        raise ValidationFailed(f"The journey is not valid: {listed}", code="invalid_journey",
                               details={"errors": errors})
    return parse_definition(definition)


def get_journey(session: Session, *, journey_id: int) -> Journey:
    """The journey with this id."""
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"There is no journey {journey_id}.", code="journey_not_found")
    return journey


def list_journeys(session: Session) -> list[Journey]:
    """Every journey, live ones first, then by name."""
    order = {JourneyStatus.live: 0, JourneyStatus.paused: 1, JourneyStatus.draft: 2, JourneyStatus.archived: 3}
    return sorted(session.scalars(select(Journey)), key=lambda journey: (order[journey.status], journey.name.lower()))


def get_version(session: Session, *, journey_id: int, number: int | None = None) -> JourneyVersion:
    """A published version of the journey (the live one when ``number`` is None)."""
    journey = get_journey(session, journey_id=journey_id)
    wanted = number if number is not None else journey.live_version
    version = session.scalar(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id,
                                                         JourneyVersion.number == wanted)) if wanted else None
    if version is None:
        raise NotFound(f"The journey {journey.name!r} has no version {wanted or ''}.".replace("  ", " "),
                       code="journey_version_not_found")
    return version


def list_versions(session: Session, *, journey_id: int) -> list[JourneyVersion]:
    """The journey's published versions, newest first."""
    get_journey(session, journey_id=journey_id)
    return list(session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)
                                .order_by(JourneyVersion.number.desc())))


def add_journey(session: Session, *, name: str, actor: str, description: str = "",
                definition: Any = None) -> Journey:
    """A new journey in draft (helper: no commit); its draft is checked when given."""
    name = _check_name_free(session, _clean_name(name), journey_id=None)
    if definition is not None:
        checked_definition(session, definition)
    now = utcnow()
    journey = Journey(name=name, description=description.strip()[:2000], status=JourneyStatus.draft,
                      draft=definition if definition is not None else blank_definition(), live_version=None,
                      secret=secrets.token_hex(24), created_by=actor, created_at=now, updated_at=now)
    session.add(journey)
    session.flush()
    audit.record(session, actor=actor, action="journey.created", subject_type="journey", subject_id=journey.id,
                 detail={"name": name})
    return journey


def create_journey(session: Session, *, name: str, actor: str, description: str = "",
                   definition: Any = None) -> Journey:
    """Create a journey in draft and commit."""
    journey = add_journey(session, name=name, actor=actor, description=description, definition=definition)
    session.commit()
    return journey


def update_journey(session: Session, *, journey_id: int, actor: str, name: str | None = None,
                   description: str | None = None) -> Journey:
    """Rename a journey or change its description, and commit."""
    journey = get_journey(session, journey_id=journey_id)
    if name is not None:
        journey.name = _check_name_free(session, _clean_name(name), journey_id=journey.id)
    if description is not None:
        journey.description = description.strip()[:2000]
    journey.updated_at = utcnow()
    audit.record(session, actor=actor, action="journey.updated", subject_type="journey", subject_id=journey.id)
    session.commit()
    return journey


def save_draft(session: Session, *, journey_id: int, definition: Any, actor: str) -> Journey:
    """Replace the journey's draft with a checked definition, and commit (what is live does not change)."""
    journey = get_journey(session, journey_id=journey_id)
    if journey.status == JourneyStatus.archived:
        raise Conflict("An archived journey cannot be changed.", code="journey_archived")
    checked_definition(session, definition)
    journey.draft = definition
    journey.updated_at = utcnow()
    audit.record(session, actor=actor, action="journey.draft_saved", subject_type="journey", subject_id=journey.id)
    session.commit()
    return journey


def _trigger_index(definition: Definition) -> tuple[str, str]:
    trigger = definition.trigger
    if isinstance(trigger, EventTrigger):
        return "event", trigger.event
    if isinstance(trigger, SegmentTrigger | BroadcastTrigger):
        return trigger.type, str(trigger.segment_id)
    return trigger.type, trigger.trait


def publish(session: Session, *, journey_id: int, actor: str) -> JourneyVersion:
    """Publish the draft as the journey's next version and make the journey live, and commit. Customers already
    inside keep the version they entered."""
    journey = get_journey(session, journey_id=journey_id)
    if journey.status == JourneyStatus.archived:
        raise Conflict("An archived journey cannot be published again; copy it into a new one.",
                       code="journey_archived")
    definition = checked_definition(session, journey.draft)
    number = (session.scalar(select(func.max(JourneyVersion.number))
                             .where(JourneyVersion.journey_id == journey.id)) or 0) + 1
    version = JourneyVersion(journey_id=journey.id, number=number, definition=dict(journey.draft),
                             published_by=actor, published_at=utcnow())
    session.add(version)
    journey.live_version, journey.status = number, JourneyStatus.live
    journey.trigger_kind, journey.trigger_key = _trigger_index(definition)
    journey.updated_at = utcnow()
    session.flush()
    audit.record(session, actor=actor, action="journey.published", subject_type="journey", subject_id=journey.id,
                 detail={"version": number})
    session.commit()
    return version


def _set_status(session: Session, journey: Journey, status: JourneyStatus, *, actor: str) -> Journey:
    journey.status, journey.updated_at = status, utcnow()
    audit.record(session, actor=actor, action=f"journey.{status.value}", subject_type="journey",
                 subject_id=journey.id)
    session.commit()
    return journey


def pause(session: Session, *, journey_id: int, actor: str) -> Journey:
    """Stop new entries and hold every enrolment where it is, and commit."""
    journey = get_journey(session, journey_id=journey_id)
    if journey.status != JourneyStatus.live:
        raise Conflict("Only a live journey can be paused.", code="journey_not_live")
    return _set_status(session, journey, JourneyStatus.paused, actor=actor)


def resume(session: Session, *, journey_id: int, actor: str) -> Journey:
    """Take new entries again and move the waiting enrolments on (their due steps run), and commit."""
    from xuyen.journeys.flows.engine import requeue_due

    journey = get_journey(session, journey_id=journey_id)
    if journey.status != JourneyStatus.paused:
        raise Conflict("Only a paused journey can be resumed.", code="journey_not_paused")
    journey.status = JourneyStatus.live
    requeue_due(session, journey_id=journey.id)
    return _set_status(session, journey, JourneyStatus.live, actor=actor)


def archive(session: Session, *, journey_id: int, actor: str) -> Journey:
    """End the journey: no more entrants, every enrolment still inside leaves, and commit."""
    journey = get_journey(session, journey_id=journey_id)
    if journey.status == JourneyStatus.archived:
        return journey
    now = utcnow()
    session.execute(update(Enrolment).where(Enrolment.journey_id == journey.id,
                                            Enrolment.status == EnrolmentStatus.active)
                    .values(status=EnrolmentStatus.exited, exit_reason="archived", finished_at=now,
                            waiting_for=None, wake_at=None, visit=Enrolment.visit + 1)
                    .execution_options(synchronize_session=False))
    return _set_status(session, journey, JourneyStatus.archived, actor=actor)


def start_broadcast(session: Session, *, journey_id: int, actor: str) -> int:
    """Enrol every current member of a broadcast journey's segment, in the background; returns the job's id."""
    journey = get_journey(session, journey_id=journey_id)
    if journey.status != JourneyStatus.live:
        raise Conflict("Publish the journey before sending it.", code="journey_not_live")
    if journey.trigger_kind != "broadcast":
        raise Conflict("Only a broadcast journey is sent by hand; this one starts by its trigger.",
                       code="not_a_broadcast")
    version = get_version(session, journey_id=journey.id)
    job = add_job(session, name=BROADCAST_JOB, payload={"journey_id": journey.id, "version_id": version.id,
                                                        "after": 0})
    audit.record(session, actor=actor, action="journey.broadcast_started", subject_type="journey",
                 subject_id=journey.id, detail={"version": version.number})
    session.commit()
    return job.id


def uses_events(definition: Definition) -> set[str]:
    """The event names a definition reacts to: its trigger, its waits, its goal and its conversions."""
    from xuyen.journeys.flows.definition import WaitEvent

    names = {definition.settings.conversion_event}
    if isinstance(definition.trigger, EventTrigger):
        names.add(definition.trigger.event)
    names.update(node.event for node in definition.nodes.values() if isinstance(node, WaitEvent))
    return names


def conditions_of(definition: Definition) -> list[Condition]:
    """The condition steps of a definition."""
    return [node for node in definition.nodes.values() if isinstance(node, Condition)]


def editor_options(session: Session) -> dict[str, Any]:
    """What the editor's pickers offer: templates, segments, promotions, active staff and common event names."""
    from xuyen.commerce.pricing.models import Promotion
    from xuyen.journeys.templates.models import MessageTemplate
    from xuyen.segments.models import Segment

    templates = session.scalars(select(MessageTemplate).where(MessageTemplate.archived_at.is_(None))
                                .order_by(MessageTemplate.name))
    return {
        "templates": [{"id": t.id, "name": t.name, "purpose": t.purpose, "channels": sorted(t.variants)}
                      for t in templates],
        "segments": [{"id": s.id, "name": s.name} for s in session.scalars(select(Segment).order_by(Segment.name))],
        "promotions": [{"id": p.id, "name": p.name}
                       for p in session.scalars(select(Promotion).order_by(Promotion.name))],
        "users": [{"id": u.id, "name": u.name} for u in session.scalars(select(User).where(User.is_active.is_(True))
                                                                        .order_by(User.name))],
        "events": list(KNOWN_EVENTS),
    }


def list_enrolments(session: Session, *, journey_id: int, status: EnrolmentStatus | None = None,
                    after: int = 0, limit: int = 50) -> list[Enrolment]:
    """A page of a journey's enrolments in id order, optionally of one status."""
    get_journey(session, journey_id=journey_id)
    query = select(Enrolment).where(Enrolment.journey_id == journey_id, Enrolment.id > after)
    if status is not None:
        query = query.where(Enrolment.status == status)
    return list(session.scalars(query.order_by(Enrolment.id).limit(limit)))


def enrolment_steps(session: Session, *, journey_id: int, enrolment_id: int) -> tuple[Enrolment, list[JourneyStep]]:
    """One enrolment of the journey and the steps it took, in order."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.journey_id != journey_id:
        raise NotFound(f"There is no enrolment {enrolment_id} in journey {journey_id}.", code="enrolment_not_found")
    steps = list(session.scalars(select(JourneyStep).where(JourneyStep.enrolment_id == enrolment_id)
                                 .order_by(JourneyStep.visit)))
    return enrolment, steps
