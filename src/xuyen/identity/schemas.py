"""Identity API bodies and answers: profiles with their identifiers, merges and conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from xuyen.identity.models import IdentityConflict
from xuyen.identity.service import ProfileView

MAX_ID = 2**63 - 1  # identity ids are 64-bit; a bigger number is refused up front rather than by the database
MAX_REASON = 2000

Id = Annotated[int, Field(gt=0, le=MAX_ID)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON, examples=["Same customer: confirmed by phone"]),
                   AfterValidator(_not_blank)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MergeIn(_In):
    """A manual merge: ``absorbed_id`` joins ``survivor_id``, which keeps its id."""

    survivor_id: Id
    absorbed_id: Id
    reason: Reason
    force: bool = Field(False, description="Merge even past the identity rules (owners only).")
    conflict_id: Id | None = Field(None, description="A conflict this merge settles (conflicts between the two "
                                                     "profiles are settled anyway).")


class ConflictResolveIn(_In):
    """Why a conflict needs nothing more (e.g. "not the same person: mother and son")."""

    note: str = Field("", max_length=MAX_REASON)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IdentifierOut(_Out):
    """A normalised identifier of a profile."""

    id: int
    type: str
    scope: str = Field(description="The page, OA/app or shop id of a scoped identifier; empty otherwise.")
    value: str
    flags: list[str] = Field(description="Remarks such as possible_not_valid.")
    source_id: int | None = Field(description="The source that first sent it.")
    first_seen_at: datetime
    last_seen_at: datetime


class MergeOut(_Out):
    """A recorded merge: who absorbed whom, why, by whom, and whether it was undone."""

    id: int
    survivor_id: int
    absorbed_id: int
    reason: str
    linking_identifier: str = Field(description="The identifier that linked the profiles; empty for a manual "
                                                "merge.")
    event_message_id: str | None = Field(description="The messageId of the call that caused it, if any.")
    actor: str = Field(description="system, user:<id> or api_key:<id>.")
    moved_identifier_ids: list[int]
    created_at: datetime
    undone_at: datetime | None


class ConflictOut(BaseModel):
    """A merge or attachment the identity rules refused, kept for review."""

    id: int
    rule: str = Field(description="max_per_profile or shared_identifier.")
    identifier: str = Field(description="The identifier involved, as type:value or type:scope:value.")
    detail: str
    profile_id: int
    other_profile_id: int | None
    event_message_id: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None = None
    resolution_note: str | None = None
    settled_by_merge_id: int | None = None

    @classmethod
    def of(cls, conflict: IdentityConflict) -> ConflictOut:
        """The answer for ``conflict``, with who resolved it and why."""
        details = conflict.details or {}
        return cls(id=conflict.id, rule=conflict.rule, identifier=conflict.identifier, detail=conflict.detail,
                   profile_id=conflict.profile_id, other_profile_id=conflict.other_profile_id,
                   event_message_id=conflict.event_message_id, created_at=conflict.created_at,
                   resolved_at=conflict.resolved_at, resolved_by=details.get("resolved_by"),
                   resolution_note=details.get("resolution_note"),
                   settled_by_merge_id=details.get("settled_by_merge_id"))


class ProfileOut(BaseModel):
    """A surviving profile: its identifiers, the ids merged into it, its merges and open conflicts."""

    id: int = Field(description="The surviving profile's id.")
    requested_id: int = Field(description="The id that was asked for.")
    merged_into: int | None = Field(description="The survivor's id when the id asked for was merged into it.")
    merged_ids: list[int] = Field(description="Ids of the profiles merged into this one; each still resolves here.")
    created_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    identifiers: list[IdentifierOut]
    merges: list[MergeOut] = Field(description="Its merges and those of the profiles in it, newest first "
                                               "(at most 100).")
    open_conflicts: list[ConflictOut]

    @classmethod
    def of(cls, view: ProfileView) -> ProfileOut:
        """The answer for a profile view."""
        profile = view.profile
        return cls(id=profile.id, requested_id=view.requested_id, merged_into=view.merged_into,
                   merged_ids=view.merged_ids, created_at=profile.created_at, first_seen_at=profile.first_seen_at,
                   last_seen_at=profile.last_seen_at,
                   identifiers=[IdentifierOut.model_validate(row) for row in view.identifiers],
                   merges=[MergeOut.model_validate(row) for row in view.merges],
                   open_conflicts=[ConflictOut.of(row) for row in view.open_conflicts])
