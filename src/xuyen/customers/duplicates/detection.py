"""A detection run's work: read the candidate profiles, run the matcher, update the review queue.

Helpers only (they flush, never commit): the job handler and the services commit around them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.customers.duplicates import model
from xuyen.customers.duplicates.matcher import MatchSummary, ScoredPair, find_duplicates
from xuyen.customers.duplicates.models import DuplicateRun, DuplicateSuggestion, RunStatus, SuggestionStatus
from xuyen.customers.duplicates.reasons import reasons_json, summary
from xuyen.customers.duplicates.records import MatchRecord, match_record
from xuyen.customers.models import CustomerProfile
from xuyen.errors import XuyenError
from xuyen.identity import graph
from xuyen.identity.models import Profile

log = logging.getLogger("xuyen.customers.duplicates")

AUTO_MERGE_ACTOR = "system:duplicates"
SCOPE_ALL, SCOPE_CHANGED = "all", "changed"
READ_CHUNK = 10_000
WRITE_CHUNK = 1_000

Progress = Callable[[str], None]
Pair = tuple[int, int]


@dataclass(frozen=True)
class Outcome:
    """What storing a run's pairs changed in the queue."""

    new: int = 0
    updated: int = 0
    stale: int = 0
    auto_merged: int = 0


def candidate_records(session: Session) -> list[MatchRecord]:
    """The match records of every customer whose profile has not been merged into another."""
    query = (
        select(CustomerProfile.profile_id, CustomerProfile.display_name, CustomerProfile.family_name,
               CustomerProfile.given_name, CustomerProfile.birth_date, CustomerProfile.phones,
               CustomerProfile.emails, CustomerProfile.address, CustomerProfile.province_code,
               CustomerProfile.ward_code, CustomerProfile.traits["national_id"].as_string())
        .join(Profile, Profile.id == CustomerProfile.profile_id)
        .where(Profile.merged_into_id.is_(None))
        .order_by(CustomerProfile.profile_id)
        .execution_options(yield_per=READ_CHUNK)
    )
    return [_record(tuple(row)) for row in session.execute(query)]


def _record(row: tuple[Any, ...]) -> MatchRecord:
    """The match record of one row of ``candidate_records``' query."""
    (profile_id, display_name, family_name, given_name, birth_date, phones, emails, address, province_code,
     ward_code, national_id) = row
    return match_record(profile_id=profile_id, display_name=display_name, family_name=family_name,
                        given_name=given_name, birth_date=birth_date, phones=phones or (), emails=emails or (),
                        address=address, province_code=province_code, ward_code=ward_code,
                        national_id=national_id or "")


def detect(session: Session, *, run: DuplicateRun, progress: Progress | None = None) -> DuplicateRun:
    """Run duplicate detection for ``run`` and update the queue (helper: the caller commits).

    A run of scope ``changed`` scores only the pairs that involve a profile whose customer row changed
    since the last finished run started (all of them when there was none).
    """
    report = progress or (lambda _step: None)
    run.status, run.started_at, run.step = RunStatus.running, utcnow(), "reading"
    report("reading")
    focus = _changed_profiles(session, run) if run.scope == SCOPE_CHANGED else None
    records = candidate_records(session)

    def step(name: str) -> None:
        run.step = name
        report(name)

    if focus is not None and not focus:
        found = MatchSummary(record_count=len(records), prior=0.0, estimated_u=False, pairs=[])
    else:
        found = find_duplicates(records, threshold=run.min_score, progress=step, focus=focus)
    step("storing")
    outcome = store_pairs(session, run=run, pairs=found.pairs, focus=focus)
    _finish(run, found, outcome, focus)
    report("done")
    return run


def _changed_profiles(session: Session, run: DuplicateRun) -> set[int] | None:
    """The surviving profiles whose customer row changed since the last finished run began (None: no such run)."""
    since = session.scalar(select(DuplicateRun.started_at).where(DuplicateRun.status == RunStatus.done,
                                                                 DuplicateRun.id != run.id)
                           .order_by(DuplicateRun.started_at.desc()).limit(1))
    if since is None:
        return None
    run.parameters = {**(run.parameters or {}), "changed_since": since.isoformat()}
    query = (select(CustomerProfile.profile_id).join(Profile, Profile.id == CustomerProfile.profile_id)
             .where(Profile.merged_into_id.is_(None), CustomerProfile.updated_at >= since))
    return set(session.scalars(query))


def _finish(run: DuplicateRun, found: MatchSummary, outcome: Outcome, focus: set[int] | None) -> None:
    run.profile_count, run.pair_count = found.record_count, len(found.pairs)
    run.new_count, run.updated_count = outcome.new, outcome.updated
    run.stale_count, run.auto_merged_count = outcome.stale, outcome.auto_merged
    run.parameters = {**(run.parameters or {}), "prior": found.prior, "estimated_from_data": found.estimated_u,
                      "fields": list(model.FIELD_NAMES), "blocking_rules": len(model.BLOCKING_RULES),
                      "rechecked_profiles": len(focus) if focus is not None else found.record_count}
    run.status, run.step, run.finished_at = RunStatus.done, "done", utcnow()


def store_pairs(session: Session, *, run: DuplicateRun, pairs: list[ScoredPair],
                focus: set[int] | None = None) -> Outcome:
    """Add new pairs to the queue, refresh open ones, keep decisions, and retire open pairs not found again
    (with ``focus``, only those of the re-checked profiles: the others were not scored)."""
    existing = _existing(session)
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    found: set[Pair] = set()
    for pair in pairs:
        key = (pair.left_id, pair.right_id)
        found.add(key)
        known = existing.get(key)
        values = {"score": pair.score, "match_weight": pair.match_weight, "reasons": reasons_json(pair.reasons),
                  "run_id": run.id, "updated_at": now}
        if known is None:
            new_rows.append({"profile_id": key[0], "other_profile_id": key[1], "status": SuggestionStatus.open,
                             "created_at": now, "decided_by": "", "note": "", **values})
        elif known[1] != SuggestionStatus.not_same:  # open again (a merged pair found again was unmerged)
            refreshed.append({"id": known[0], "status": SuggestionStatus.open, "decided_by": "", "decided_at": None,
                              **values})
    for chunk in _chunks(new_rows, WRITE_CHUNK):
        session.execute(insert(DuplicateSuggestion), chunk)
    for chunk in _chunks(refreshed, WRITE_CHUNK):
        session.execute(update(DuplicateSuggestion), chunk)  # by primary key, one statement per chunk
    if focus is not None:
        existing = {key: value for key, value in existing.items() if key[0] in focus or key[1] in focus}
    stale = _retire_unfound(session, existing, found, now)
    session.flush()
    merged = _auto_merge(session, run=run) if run.auto_merge_score is not None else 0
    return Outcome(new=len(new_rows), updated=len(refreshed), stale=stale, auto_merged=merged)


def _existing(session: Session) -> dict[Pair, tuple[int, SuggestionStatus]]:
    """Every known pair with its suggestion id and status."""
    rows = session.execute(select(DuplicateSuggestion.profile_id, DuplicateSuggestion.other_profile_id,
                                  DuplicateSuggestion.id, DuplicateSuggestion.status))
    return {(left, right): (suggestion_id, status) for left, right, suggestion_id, status in rows}


def _retire_unfound(session: Session, existing: dict[Pair, tuple[int, SuggestionStatus]], found: set[Pair],
                    now: Any) -> int:
    """Close the open pairs this run did not find: merged if a merge has since joined them, else stale."""
    unfound = [(key, suggestion_id) for key, (suggestion_id, status) in existing.items()
               if status == SuggestionStatus.open and key not in found]
    for (left, right), suggestion_id in unfound:
        session.execute(update(DuplicateSuggestion).where(DuplicateSuggestion.id == suggestion_id)
                        .values(**closed_values(session, left, right, now))
                        .execution_options(synchronize_session=False))
    return len(unfound)


def closed_values(session: Session, left: int, right: int, now: Any) -> dict[str, Any]:
    """How an open pair that can no longer be decided is closed: merged when one merge joined both, else stale."""
    joined = graph.resolve_profile_id(session, profile_id=left) == graph.resolve_profile_id(session, profile_id=right)
    if joined:
        return {"status": SuggestionStatus.merged, "decided_by": "identity", "decided_at": now, "updated_at": now}
    return {"status": SuggestionStatus.stale, "updated_at": now}


def _auto_merge(session: Session, *, run: DuplicateRun) -> int:
    """Merge the open pairs of this run scoring at least the auto-merge score, best first; returns how many."""
    threshold = run.auto_merge_score or 1.0
    candidates = list(session.scalars(
        select(DuplicateSuggestion).where(DuplicateSuggestion.run_id == run.id,
                                          DuplicateSuggestion.status == SuggestionStatus.open,
                                          DuplicateSuggestion.score >= threshold)
        .order_by(DuplicateSuggestion.score.desc(), DuplicateSuggestion.id)))
    merged = 0
    for suggestion in candidates:
        if _merge_automatically(session, suggestion):
            merged += 1
    return merged


def _merge_automatically(session: Session, suggestion: DuplicateSuggestion) -> bool:
    """Merge one pair within the identity rules (the older profile survives); False if the rules refuse."""
    reason = merge_reason(suggestion)
    try:
        with session.begin_nested():
            graph.merge(session, survivor_id=suggestion.profile_id, absorbed_id=suggestion.other_profile_id,
                        actor=AUTO_MERGE_ACTOR, reason=reason)
    except XuyenError as exc:
        log.info("duplicate suggestion %s not merged automatically: %s", suggestion.id, exc.message)
        return False
    suggestion.status, suggestion.decided_by, suggestion.decided_at = (SuggestionStatus.merged, AUTO_MERGE_ACTOR,
                                                                       utcnow())
    return True


def merge_reason(suggestion: DuplicateSuggestion) -> str:
    """How a merge of the suggestion is recorded: "duplicate suggestion 12, score 0.97: same given name, …"."""
    return f"duplicate suggestion {suggestion.id}, score {suggestion.score:.2f}: {summary(suggestion.reasons)}"


def retire_after_merge(session: Session, *, survivor_id: int, absorbed_id: int) -> None:
    """After a merge: the pair itself is merged, other open pairs of the absorbed profile are stale (helper)."""
    low, high = sorted((survivor_id, absorbed_id))
    now = utcnow()
    session.execute(update(DuplicateSuggestion)
                    .where(DuplicateSuggestion.profile_id == low, DuplicateSuggestion.other_profile_id == high,
                           DuplicateSuggestion.status == SuggestionStatus.open)
                    .values(status=SuggestionStatus.merged, decided_at=now, decided_by="identity", updated_at=now)
                    .execution_options(synchronize_session=False))
    involved = (DuplicateSuggestion.profile_id == absorbed_id) | (DuplicateSuggestion.other_profile_id == absorbed_id)
    session.execute(update(DuplicateSuggestion)
                    .where(involved, DuplicateSuggestion.status == SuggestionStatus.open)
                    .values(status=SuggestionStatus.stale, updated_at=now)
                    .execution_options(synchronize_session=False))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
