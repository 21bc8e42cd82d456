"""Duplicate detection API bodies and answers: suggestions with their reasons, both customers, runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.customers.duplicates.models import DuplicateRun, DuplicateSuggestion, RunStatus, SuggestionStatus
from xuyen.customers.duplicates.reasons import summary
from xuyen.customers.duplicates.service import MAX_NOTE, SuggestionView
from xuyen.customers.models import CustomerProfile
from xuyen.identity.schemas import Id


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MergeSuggestionIn(_In):
    """Merge the pair: the older profile keeps its id unless ``survivor_id`` names the other one."""

    survivor_id: Id | None = Field(None, description="Which of the two profiles keeps its id.")
    note: str = Field("", max_length=MAX_NOTE, description="Anything the reviewer checked, kept with the decision.")


class NotSameIn(_In):
    """Why the two profiles are different customers (e.g. "mother and daughter share the phone")."""

    note: str = Field("", max_length=MAX_NOTE)


class FieldReasonOut(BaseModel):
    """How one field compared: the level it fell into and the weight (log2 of the odds) it added."""

    field: str = Field(description="given_name, family_name, middle_name, birth_date, national_id, phone, email, "
                                   "address or area.")
    level: str = Field(description="same, similar, different, missing, … (see docs/identity.md).")
    weight: float


class CustomerOut(BaseModel):
    """A customer as the suggestion compares them."""

    model_config = ConfigDict(from_attributes=True)

    profile_id: int
    display_name: str
    family_name: str
    given_name: str
    birth_date: date | None
    gender: str
    phones: list[str]
    emails: list[str]
    user_ids: list[str]
    address: str
    province_code: str
    ward_code: str


class SuggestionOut(BaseModel):
    """A suggested pair of profiles (lower id first), its score, the evidence and the decision."""

    id: int
    profile_id: int
    other_profile_id: int
    score: float = Field(description="The probability (0–1) that the two profiles are one customer.")
    match_weight: float = Field(description="The sum of the fields' weights and the prior, in bits.")
    status: SuggestionStatus
    summary: str = Field(description="The strongest agreeing fields in a few words.")
    reasons: list[FieldReasonOut]
    run_id: int | None
    decided_by: str
    decided_at: datetime | None
    note: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: DuplicateSuggestion) -> SuggestionOut:
        """The answer for a suggestion."""
        return cls(**cls._fields(row))

    @staticmethod
    def _fields(row: DuplicateSuggestion) -> dict[str, Any]:
        reasons = [FieldReasonOut(field=name, level=str(value.get("level", "")), weight=float(value.get("weight", 0)))
                   for name, value in (row.reasons or {}).items()]
        return {"id": row.id, "profile_id": row.profile_id, "other_profile_id": row.other_profile_id,
                "score": row.score, "match_weight": row.match_weight, "status": row.status,
                "summary": summary(row.reasons or {}), "reasons": reasons, "run_id": row.run_id,
                "decided_by": row.decided_by, "decided_at": row.decided_at, "note": row.note,
                "created_at": row.created_at, "updated_at": row.updated_at}


class SuggestionDetailOut(SuggestionOut):
    """A suggestion with both customers as they are now, and the merge that joined them (if it stands)."""

    profile: CustomerOut | None = Field(description="The first customer; null while its row is being built.")
    other_profile: CustomerOut | None
    merge_id: int | None

    @classmethod
    def of_view(cls, view: SuggestionView) -> SuggestionDetailOut:
        """The answer for a suggestion view."""
        return cls(**cls._fields(view.suggestion), profile=_customer(view.left), other_profile=_customer(view.right),
                   merge_id=view.merge_id)


def _customer(row: CustomerProfile | None) -> CustomerOut | None:
    return CustomerOut.model_validate(row) if row is not None else None


class SuggestionPageOut(BaseModel):
    """One page of suggestions, best first."""

    items: list[SuggestionOut]
    total: int = Field(description="How many suggestions match the filter in all.")
    limit: int
    offset: int


class RunIn(_In):
    """What to compare: every profile (the default), or only the profiles changed since the last run."""

    changed_only: bool = Field(False, description="Re-check only the profiles whose customer row changed since "
                                                  "the last finished run began (against everyone).")


class RunOut(BaseModel):
    """A detection run: its progress, settings and what it found."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: RunStatus
    step: str = Field(description="The step in progress or last done: reading, preparing, estimating, training, "
                                  "scoring, storing, done.")
    scope: str = Field(description="all, or changed (only the profiles changed since the last run).")
    requested_by: str
    min_score: float
    auto_merge_score: float | None
    profile_count: int
    pair_count: int
    new_count: int
    updated_count: int
    stale_count: int
    auto_merged_count: int
    parameters: dict[str, Any]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: DuplicateRun) -> RunOut:
        """The answer for a run."""
        return cls.model_validate(run)
