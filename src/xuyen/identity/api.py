"""The identity API: read profiles (by id or by any identifier), review conflicts, merge and unmerge by hand.

Agents and above read; managers and above merge, unmerge and resolve conflicts; only owners force a
merge past the identity rules.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity import graph, service
from xuyen.identity.schemas import MAX_ID, ConflictOut, ConflictResolveIn, MergeIn, MergeOut, ProfileOut
from xuyen.routing import Router

router = Router(tags=["identity"])

MAX_LIMIT = 500

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
ProfileId = Annotated[int, Path(ge=1, le=MAX_ID, description="A profile's id (an absorbed one works too).")]
ConflictId = Annotated[int, Path(ge=1, le=MAX_ID, description="The conflict's id.")]
MergeId = Annotated[int, Path(ge=1, le=MAX_ID, description="The merge's id.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"How many to return, newest first (at most "
                                                             f"{MAX_LIMIT}).")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such profile"}}


@router.get("/profiles/lookup", summary="Find the profile holding an identifier", responses={
    404: {"description": "Nobody holds it (code profile_not_found)"},
    422: {"description": "Unknown type, or not a valid identifier of the type (code: the normaliser's reason)"}})
def lookup_profile(
    session: Db,
    _caller: Agent,
    type: Annotated[str, Query(min_length=1, max_length=64, description="phone, email, user_id, zalo_id, … "
                                                                        "or a custom type.")],
    value: Annotated[str, Query(min_length=1, max_length=500, description="In any format, e.g. 0168 123 4567.")],
    scope: Annotated[str | None, Query(max_length=200, description="Page, OA/app or shop id of a scoped type.")]
    = None,
) -> ProfileOut:
    """The surviving profile that holds the identifier, after normalising the value as the type says."""
    return ProfileOut.of(service.lookup_profile(session, type=type, value=value, scope=scope or None))


@router.get("/profiles/{profile_id}", summary="Read a profile", responses=_NOT_FOUND)
def read_profile(profile_id: ProfileId, session: Db, _caller: Agent) -> ProfileOut:
    """The profile with its identifiers, merges and open conflicts; an absorbed id answers with its survivor."""
    return ProfileOut.of(service.get_profile_view(session, profile_id=profile_id))


@router.get("/identity/conflicts", summary="List identity conflicts")
def list_conflicts(
    session: Db,
    _caller: Agent,
    open_only: Annotated[bool, Query(alias="open", description="Only the unresolved ones.")] = True,
    limit: Limit = 100,
) -> list[ConflictOut]:
    """Merges and attachments the identity rules refused, newest first."""
    return [ConflictOut.of(row) for row in service.list_conflicts(session, open_only=open_only, limit=limit)]


@router.post("/identity/conflicts/{conflict_id}/resolve", summary="Resolve an identity conflict",
             responses={404: {"description": "No such conflict"}, 409: {"description": "Already resolved"}})
def resolve_conflict(conflict_id: ConflictId, session: Db, caller: Manager,
                     body: ConflictResolveIn | None = None) -> ConflictOut:
    """Mark a conflict reviewed, with an optional note; to join the two profiles, merge them instead."""
    note = body.note if body else ""
    conflict = service.resolve_conflict(session, conflict_id=conflict_id, actor=service.actor_name(caller), note=note)
    return ConflictOut.of(conflict)


@router.post("/identity/merges", status_code=201, summary="Merge two profiles", responses={
    403: {"description": "Not a manager, or force without being an owner"},
    409: {"description": "The merge breaks the identity rules (merge_breaks_rules) or a profile was already merged"}})
def create_merge(body: MergeIn, session: Db, caller: Manager) -> MergeOut:
    """Merge ``absorbed_id`` into ``survivor_id``, within the identity rules unless an owner forces it."""
    merged = service.merge_profiles_as(session, principal=caller, survivor_id=body.survivor_id,
                                       absorbed_id=body.absorbed_id, reason=body.reason, force=body.force,
                                       conflict_id=body.conflict_id)
    return MergeOut.model_validate(merged)


@router.get("/identity/merges", summary="List merges")
def list_merges(
    session: Db,
    _caller: Agent,
    profile_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this profile's (and the profiles "
                                                                        "merged into it).")] = None,
    limit: Limit = 100,
) -> list[MergeOut]:
    """Merges newest first, undone ones included."""
    return [MergeOut.model_validate(row) for row in service.list_merges(session, profile_id=profile_id, limit=limit)]


@router.post("/identity/merges/{merge_id}/undo", summary="Undo a merge", responses={
    404: {"description": "No such merge"},
    409: {"description": "Already undone (merge_already_undone), or a later merge must be undone first "
                         "(merge_not_last)"}})
def undo_merge(merge_id: MergeId, session: Db, caller: Manager) -> MergeOut:
    """Give the absorbed profile back the identifiers it brought; newer merges of the survivor go first."""
    return MergeOut.model_validate(graph.unmerge(session, merge_id=merge_id, actor=service.actor_name(caller)))
