"""Duplicate detection services: the review queue (list, read, merge, not the same, unmerge) and the runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.config import Settings, get_settings
from xuyen.customers.duplicates import detection
from xuyen.customers.duplicates.models import DuplicateRun, DuplicateSuggestion, RunStatus, SuggestionStatus
from xuyen.customers.models import CustomerProfile
from xuyen.errors import Conflict, NotFound, ValidationFailed, XuyenError
from xuyen.identity import graph
from xuyen.identity import service as identity_service
from xuyen.identity.models import Merge, Profile
from xuyen.jobs import add_job

DETECT_JOB = "customers.detect_duplicates"
ABANDONED_AFTER = timedelta(hours=6)
MAX_NOTE = 2000


@dataclass(frozen=True)
class SuggestionPage:
    """One page of the queue and how many suggestions match the filter in all."""

    items: list[DuplicateSuggestion]
    total: int


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion with both customers as they are now (None where a profile has no customer row yet)."""

    suggestion: DuplicateSuggestion
    left: CustomerProfile | None
    right: CustomerProfile | None
    merge_id: int | None


# Reading ---------------------------------------------------------------------------------------------


def _both_roots() -> Select[Any]:
    """The condition that neither profile of a suggestion has been merged into another."""
    left, right = aliased(Profile), aliased(Profile)
    return (select(DuplicateSuggestion.id)
            .join(left, and_(left.id == DuplicateSuggestion.profile_id, left.merged_into_id.is_(None)))
            .join(right, and_(right.id == DuplicateSuggestion.other_profile_id, right.merged_into_id.is_(None))))


def list_suggestions(session: Session, *, status: SuggestionStatus | None = SuggestionStatus.open,
                     min_score: float = 0.0, limit: int = 50, offset: int = 0) -> SuggestionPage:
    """Suggestions best first; open ones only while both profiles still stand on their own."""
    query = select(DuplicateSuggestion).where(DuplicateSuggestion.score >= min_score)
    if status is not None:
        query = query.where(DuplicateSuggestion.status == status)
    if status == SuggestionStatus.open:
        query = query.where(DuplicateSuggestion.id.in_(_both_roots()))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(DuplicateSuggestion.score.desc(), DuplicateSuggestion.id)
                           .limit(limit).offset(offset))
    return SuggestionPage(items=list(rows), total=total)


def get_suggestion(session: Session, *, suggestion_id: int) -> SuggestionView:
    """A suggestion with both customers; NotFound for an unknown id."""
    suggestion = _suggestion(session, suggestion_id)
    return SuggestionView(suggestion=suggestion, left=session.get(CustomerProfile, suggestion.profile_id),
                          right=session.get(CustomerProfile, suggestion.other_profile_id),
                          merge_id=_standing_merge(session, suggestion))


def customers_of(session: Session, *, suggestions: list[DuplicateSuggestion]) -> dict[int, CustomerProfile]:
    """The customer rows of the profiles in ``suggestions``, by profile id."""
    ids = {profile_id for row in suggestions for profile_id in (row.profile_id, row.other_profile_id)}
    if not ids:
        return {}
    rows = session.scalars(select(CustomerProfile).where(CustomerProfile.profile_id.in_(sorted(ids))))
    return {row.profile_id: row for row in rows}


def _suggestion(session: Session, suggestion_id: int) -> DuplicateSuggestion:
    suggestion = session.get(DuplicateSuggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(f"There is no duplicate suggestion {suggestion_id}. `xuyen identity duplicates` lists the "
                       "open ones.", code="suggestion_not_found")
    return suggestion


def _standing_merge(session: Session, suggestion: DuplicateSuggestion) -> int | None:
    """The merge that joined the pair and still stands, if any."""
    pair = (suggestion.profile_id, suggestion.other_profile_id)
    return session.scalar(select(Merge.id).where(Merge.survivor_id.in_(pair), Merge.absorbed_id.in_(pair),
                                                 Merge.undone_at.is_(None)).order_by(Merge.id.desc()).limit(1))


def list_runs(session: Session, *, limit: int = 20) -> list[DuplicateRun]:
    """Detection runs, newest first."""
    return list(session.scalars(select(DuplicateRun).order_by(DuplicateRun.id.desc()).limit(limit)))


def get_run(session: Session, *, run_id: int) -> DuplicateRun:
    """A detection run; NotFound for an unknown id."""
    run = session.get(DuplicateRun, run_id)
    if run is None:
        raise NotFound(f"There is no duplicate detection run {run_id}.", code="run_not_found")
    return run


# Deciding --------------------------------------------------------------------------------------------


def _open_suggestion(session: Session, suggestion_id: int) -> DuplicateSuggestion:
    """The suggestion, which must be open with both profiles standing; a pair overtaken by a merge is stale."""
    suggestion = _suggestion(session, suggestion_id)
    if suggestion.status == SuggestionStatus.open and not _roots(session, suggestion):
        closed = detection.closed_values(session, suggestion.profile_id, suggestion.other_profile_id, utcnow())
        for name, value in closed.items():
            setattr(suggestion, name, value)
        session.commit()
    if suggestion.status != SuggestionStatus.open:
        raise Conflict(f"Duplicate suggestion {suggestion_id} is {suggestion.status.value.replace('_', ' ')}, "
                       "not open; only open suggestions can be decided.", code="suggestion_not_open",
                       details={"status": suggestion.status.value})
    return suggestion


def _roots(session: Session, suggestion: DuplicateSuggestion) -> bool:
    return session.scalar(_both_roots().where(DuplicateSuggestion.id == suggestion.id)) is not None


def _decide(suggestion: DuplicateSuggestion, *, status: SuggestionStatus, actor: str, note: str) -> None:
    now = utcnow()
    suggestion.status, suggestion.decided_by, suggestion.decided_at = status, actor, now
    suggestion.note, suggestion.updated_at = note.strip()[:MAX_NOTE], now


def merge_suggestion(session: Session, *, suggestion_id: int, actor: str, principal: Principal | None = None,
                     survivor_id: int | None = None, note: str = "") -> Merge:
    """Merge the pair (the older profile survives unless ``survivor_id`` names the other) and close it.

    With a ``principal`` the merge goes through the identity rules for that caller, else it is recorded for
    ``actor`` (the command line). The merge and the decision are committed together.
    """
    suggestion = _open_suggestion(session, suggestion_id)
    survivor, absorbed = _survivor_first(suggestion, survivor_id)
    _decide(suggestion, status=SuggestionStatus.merged, actor=actor, note=note)
    reason = detection.merge_reason(suggestion)
    try:
        if principal is not None:
            return identity_service.merge_profiles_as(session, principal=principal, survivor_id=survivor,
                                                      absorbed_id=absorbed, reason=reason)
        return identity_service.merge_profiles(session, survivor_id=survivor, absorbed_id=absorbed, actor=actor,
                                               reason=reason)
    except XuyenError:
        session.rollback()
        raise


def _survivor_first(suggestion: DuplicateSuggestion, survivor_id: int | None) -> tuple[int, int]:
    pair = (suggestion.profile_id, suggestion.other_profile_id)
    if survivor_id is None or survivor_id == pair[0]:
        return pair
    if survivor_id == pair[1]:
        return pair[1], pair[0]
    raise ValidationFailed(f"Profile {survivor_id} is not one of the pair ({pair[0]} and {pair[1]}); name one of "
                           "them as the survivor.", code="survivor_not_in_pair")


def mark_not_same(session: Session, *, suggestion_id: int, actor: str, note: str = "") -> DuplicateSuggestion:
    """Record that the two profiles are different customers; the pair is never suggested again."""
    suggestion = _open_suggestion(session, suggestion_id)
    _decide(suggestion, status=SuggestionStatus.not_same, actor=actor, note=note)
    session.commit()
    return suggestion


def unmerge_suggestion(session: Session, *, suggestion_id: int, actor: str) -> Merge:
    """Undo the merge of a merged suggestion; the pair is open for review again."""
    suggestion = _suggestion(session, suggestion_id)
    merge_id = _standing_merge(session, suggestion) if suggestion.status == SuggestionStatus.merged else None
    if merge_id is None:
        raise Conflict(f"Duplicate suggestion {suggestion_id} has no merge to undo (it is "
                       f"{suggestion.status.value.replace('_', ' ')}).", code="suggestion_not_merged")
    suggestion.status, suggestion.decided_by, suggestion.decided_at = SuggestionStatus.open, "", None
    suggestion.note, suggestion.updated_at = f"merge {merge_id} undone by {actor}", utcnow()
    return graph.unmerge(session, merge_id=merge_id, actor=actor)  # commits the reopened suggestion with it


# Runs ------------------------------------------------------------------------------------------------


def _new_run(session: Session, *, requested_by: str, settings: Settings, changed_only: bool) -> DuplicateRun:
    run = DuplicateRun(requested_by=requested_by, min_score=settings.duplicates_min_score,
                       auto_merge_score=settings.duplicates_auto_merge_score, status=RunStatus.queued,
                       scope=detection.SCOPE_CHANGED if changed_only else detection.SCOPE_ALL, parameters={})
    session.add(run)
    session.flush()
    return run


def request_run(session: Session, *, requested_by: str, settings: Settings | None = None,
                changed_only: bool = False) -> DuplicateRun:
    """Queue a detection run for the workers; a run already queued or running is returned instead.

    A run still unfinished ``ABANDONED_AFTER`` after it was asked for (its job died) is marked failed.
    """
    waiting = session.scalar(select(DuplicateRun).where(DuplicateRun.status.in_([RunStatus.queued,
                                                                                  RunStatus.running]))
                             .order_by(DuplicateRun.id).limit(1))
    if waiting is not None and waiting.created_at > utcnow() - ABANDONED_AFTER:
        return waiting
    if waiting is not None:
        waiting.status, waiting.finished_at = RunStatus.failed, utcnow()
        waiting.error = "abandoned: its job did not finish (see `xuyen jobs list --status dead`)"
    run = _new_run(session, requested_by=requested_by, settings=settings or get_settings(), changed_only=changed_only)
    add_job(session, name=DETECT_JOB, payload={"run_id": run.id})
    session.commit()
    return run


def run_now(session: Session, *, requested_by: str, settings: Settings | None = None,
            progress: detection.Progress | None = None, changed_only: bool = False) -> DuplicateRun:
    """Run detection in this process, reporting each step to ``progress``, and commit the queue's changes."""
    run = _new_run(session, requested_by=requested_by, settings=settings or get_settings(),
                   changed_only=changed_only)
    detection.detect(session, run=run, progress=progress)
    session.commit()
    return run
