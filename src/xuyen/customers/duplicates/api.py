"""The duplicate detection API: the review queue, decisions on suggestions, and detection runs.

Agents and above read; managers and above merge, mark "not the same", undo and start runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.customers.duplicates import service
from xuyen.customers.duplicates.models import SuggestionStatus
from xuyen.customers.duplicates.schemas import (
    MergeSuggestionIn,
    NotSameIn,
    RunIn,
    RunOut,
    SuggestionDetailOut,
    SuggestionOut,
    SuggestionPageOut,
)
from xuyen.http import get_session
from xuyen.identity.schemas import MAX_ID, MergeOut
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(prefix="/customers", tags=["duplicates"])

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
SuggestionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The suggestion's id.")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such suggestion"}}
_DECISION: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND, 403: {"description": "Not a manager"},
    409: {"description": "Not open (suggestion_not_open; a pair overtaken by another merge turns stale)"}}


@router.get("/duplicates", summary="List duplicate suggestions")
def list_suggestions(
    session: Db,
    _caller: Agent,
    status: Annotated[SuggestionStatus | Literal["all"], Query(
        description="open (the default), merged, not_same, stale, or all.")] = SuggestionStatus.open,
    min_score: Annotated[float, Query(ge=0, le=1, description="Only pairs scoring at least this.")] = 0.0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SuggestionPageOut:
    """Suggested pairs, best first, with the evidence for each."""
    wanted = None if status == "all" else SuggestionStatus(status)
    page = service.list_suggestions(session, status=wanted, min_score=min_score, limit=limit, offset=offset)
    return SuggestionPageOut(items=[SuggestionOut.of(row) for row in page.items], total=page.total, limit=limit,
                             offset=offset)


@router.get("/duplicates/{suggestion_id}", summary="Read a duplicate suggestion", responses=_NOT_FOUND)
def read_suggestion(suggestion_id: SuggestionId, session: Db, _caller: Agent) -> SuggestionDetailOut:
    """A suggestion with both customers side by side and the reasons per field."""
    return SuggestionDetailOut.of_view(service.get_suggestion(session, suggestion_id=suggestion_id))


@router.post("/duplicates/{suggestion_id}/merge", status_code=201, summary="Merge a suggested pair",
             responses={**_DECISION, 409: {"description": "Not open, or the merge breaks the identity rules "
                                                          "(merge_breaks_rules)"}})
def merge_suggestion(suggestion_id: SuggestionId, session: Db, caller: Manager,
                     body: MergeSuggestionIn | None = None) -> MergeOut:
    """Merge the two profiles within the identity rules; the merge records the score and the reasons."""
    body = body or MergeSuggestionIn()
    merged = service.merge_suggestion(session, suggestion_id=suggestion_id, actor=actor_name(caller),
                                      principal=caller, survivor_id=body.survivor_id, note=body.note)
    return MergeOut.model_validate(merged)


@router.post("/duplicates/{suggestion_id}/not-same", summary="Mark a suggested pair as different customers",
             responses=_DECISION)
def mark_not_same(suggestion_id: SuggestionId, session: Db, caller: Manager,
                  body: NotSameIn | None = None) -> SuggestionOut:
    """Keep the two profiles apart; later runs never suggest the pair again."""
    note = body.note if body else ""
    return SuggestionOut.of(service.mark_not_same(session, suggestion_id=suggestion_id, actor=actor_name(caller),
                                                  note=note))


@router.post("/duplicates/{suggestion_id}/unmerge", summary="Undo the merge of a suggested pair", responses={
    **_NOT_FOUND, 403: {"description": "Not a manager"},
    409: {"description": "Not merged (suggestion_not_merged), or a later merge must be undone first"}})
def unmerge_suggestion(suggestion_id: SuggestionId, session: Db, caller: Manager) -> MergeOut:
    """Undo the merge; the pair is open for review again."""
    return MergeOut.model_validate(service.unmerge_suggestion(session, suggestion_id=suggestion_id,
                                                              actor=actor_name(caller)))


@router.post("/duplicate-runs", status_code=202, summary="Start duplicate detection",
             responses={403: {"description": "Not a manager"}})
def start_run(session: Db, caller: Manager, body: RunIn | None = None) -> RunOut:
    """Queue a detection run for the workers (a run already queued or running is returned instead)."""
    changed_only = body.changed_only if body else False
    return RunOut.of(service.request_run(session, requested_by=actor_name(caller), changed_only=changed_only))


@router.get("/duplicate-runs", summary="List duplicate detection runs")
def list_runs(session: Db, _caller: Agent,
              limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20) -> list[RunOut]:
    """Detection runs, newest first."""
    return [RunOut.of(run) for run in service.list_runs(session, limit=limit)]


@router.get("/duplicate-runs/{run_id}", summary="Read a duplicate detection run",
            responses={404: {"description": "No such run"}})
def read_run(run_id: RunId, session: Db, _caller: Agent) -> RunOut:
    """A run's status, current step, settings and counts."""
    return RunOut.of(service.get_run(session, run_id=run_id))
