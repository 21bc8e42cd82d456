"""The journeys API: managers build, publish, pause, resume, archive and broadcast journeys; staff read them, their
results per step and their enrolments."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.journeys.flows import results, service
from xuyen.journeys.flows.models import EnrolmentStatus
from xuyen.journeys.flows.schemas import (
    DraftIn,
    EnrolmentOut,
    JourneyIn,
    JourneyOut,
    JourneyPatch,
    ResultsOut,
    StatsOut,
    ValidationOut,
    VersionOut,
)
from xuyen.routing import Router

router = Router(tags=["journeys"])

Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Staff = Annotated[Principal, Depends(require_role(Role.agent))]
JourneyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/journeys", summary="Every journey")
def list_journeys(session: Db, _caller: Staff) -> list[JourneyOut]:
    return [JourneyOut.of(journey) for journey in service.list_journeys(session)]


@router.post("/journeys", status_code=201, summary="Create a journey in draft")
def create_journey(body: JourneyIn, session: Db, caller: Manager) -> JourneyOut:
    return JourneyOut.of(service.create_journey(session, name=body.name, description=body.description,
                                                definition=body.definition, actor=actor_name(caller)))


@router.post("/journeys/validate", summary="Every problem of a definition, by path (nothing saved)")
def validate(body: DraftIn, session: Db, _caller: Manager) -> ValidationOut:
    errors = service.validate(session, definition=body.definition)
    return ValidationOut(valid=not errors, errors=errors)


@router.get("/journeys/{journey_id}", summary="One journey with its draft")
def get_journey(journey_id: JourneyId, session: Db, _caller: Staff) -> JourneyOut:
    return JourneyOut.of(service.get_journey(session, journey_id=journey_id))


@router.patch("/journeys/{journey_id}", summary="Rename a journey or change its description")
def update_journey(journey_id: JourneyId, body: JourneyPatch, session: Db, caller: Manager) -> JourneyOut:
    return JourneyOut.of(service.update_journey(session, journey_id=journey_id, actor=actor_name(caller),
                                                name=body.name, description=body.description))


@router.put("/journeys/{journey_id}/draft", summary="Replace the draft (what is live does not change)")
def save_draft(journey_id: JourneyId, body: DraftIn, session: Db, caller: Manager) -> JourneyOut:
    return JourneyOut.of(service.save_draft(session, journey_id=journey_id, definition=body.definition,
                                            actor=actor_name(caller)))


@router.post("/journeys/{journey_id}/publish", status_code=201, summary="Publish the draft as the next version")
def publish(journey_id: JourneyId, session: Db, caller: Manager) -> VersionOut:
    return VersionOut.of(service.publish(session, journey_id=journey_id, actor=actor_name(caller)))


@router.post("/journeys/{journey_id}/pause", summary="Stop entries and hold everyone where they are")
def pause(journey_id: JourneyId, session: Db, caller: Manager) -> JourneyOut:
    return JourneyOut.of(service.pause(session, journey_id=journey_id, actor=actor_name(caller)))


@router.post("/journeys/{journey_id}/resume", summary="Take entries again and move everyone on")
def resume(journey_id: JourneyId, session: Db, caller: Manager) -> JourneyOut:
    return JourneyOut.of(service.resume(session, journey_id=journey_id, actor=actor_name(caller)))


@router.post("/journeys/{journey_id}/archive", summary="End the journey and every enrolment inside it")
def archive(journey_id: JourneyId, session: Db, caller: Manager) -> JourneyOut:
    return JourneyOut.of(service.archive(session, journey_id=journey_id, actor=actor_name(caller)))


@router.post("/journeys/{journey_id}/broadcast", status_code=202,
             summary="Send a broadcast journey to its segment's members now (in the background)")
def broadcast(journey_id: JourneyId, session: Db, caller: Manager) -> dict[str, int]:
    return {"job_id": service.start_broadcast(session, journey_id=journey_id, actor=actor_name(caller))}


@router.get("/journeys/{journey_id}/versions", summary="The published versions, newest first")
def list_versions(journey_id: JourneyId, session: Db, _caller: Staff) -> list[VersionOut]:
    return [VersionOut.of(version) for version in service.list_versions(session, journey_id=journey_id)]


@router.get("/journeys/{journey_id}/versions/{number}", summary="One published version")
def get_version(journey_id: JourneyId, number: Number, session: Db, _caller: Staff) -> VersionOut:
    return VersionOut.of(service.get_version(session, journey_id=journey_id, number=number))


@router.get("/journeys/{journey_id}/results",
            summary="Results as a whole, per step and per channel, with the holdout's lift")
def get_results(journey_id: JourneyId, session: Db, _caller: Staff) -> StatsOut:
    return StatsOut(results=ResultsOut.of(results.journey_results(session, journey_id=journey_id)),
                    nodes=results.node_stats(session, journey_id=journey_id),
                    channels=results.channel_stats(session, journey_id=journey_id))


@router.get("/journeys/{journey_id}/enrolments", summary="A page of the journey's enrolments")
def list_enrolments(journey_id: JourneyId, session: Db, _caller: Staff,
                    status: Annotated[EnrolmentStatus | None, Query()] = None,
                    after: Annotated[int, Query(ge=0)] = 0,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[EnrolmentOut]:
    return [EnrolmentOut.of(row) for row in service.list_enrolments(session, journey_id=journey_id, status=status,
                                                                   after=after, limit=limit)]


@router.get("/journeys/{journey_id}/enrolments/{enrolment_id}", summary="One enrolment and the steps it took")
def get_enrolment(journey_id: JourneyId, enrolment_id: Annotated[int, Path(ge=1)], session: Db,
                  _caller: Staff) -> EnrolmentOut:
    enrolment, steps = service.enrolment_steps(session, journey_id=journey_id, enrolment_id=enrolment_id)
    return EnrolmentOut.of(enrolment, steps)
