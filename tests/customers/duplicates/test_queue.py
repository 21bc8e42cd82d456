"""The review queue: runs find pairs, merges close them, "not the same" is remembered, merges elsewhere make stale."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.customers.duplicates.helpers import add_customer, add_pair_and_strangers
from xuyen.clock import utcnow
from xuyen.config import Settings
from xuyen.customers.duplicates import service
from xuyen.customers.duplicates.handlers import detect_duplicates, recheck_changed
from xuyen.customers.duplicates.models import DuplicateRun, DuplicateSuggestion, RunStatus, SuggestionStatus
from xuyen.customers.models import CustomerProfile
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity import graph
from xuyen.identity import service as identity_service
from xuyen.identity.models import Merge, Profile
from xuyen.jobs import Job
from xuyen.worker import Worker


def only_suggestion(session: Session) -> DuplicateSuggestion:
    session.rollback()
    [row] = session.scalars(select(DuplicateSuggestion))
    return row


def test_a_run_suggests_the_pair_with_score_and_reasons(session: Session) -> None:
    first, second, _stranger = add_pair_and_strangers(session)
    run = service.run_now(session, requested_by="test")
    assert (run.status, run.profile_count, run.new_count, run.step) == (RunStatus.done, 3, 1, "done")
    row = only_suggestion(session)
    assert (row.profile_id, row.other_profile_id, row.status) == (first, second, SuggestionStatus.open)
    assert row.score >= 0.9 and row.run_id == run.id
    assert row.reasons["given_name"] == {"level": "same", "weight": pytest.approx(row.reasons["given_name"]["weight"])}
    assert row.reasons["birth_date"]["level"] == "same" and row.reasons["phone"]["level"] == "missing"
    page = service.list_suggestions(session, min_score=0.5)
    assert page.total == 1 and page.items[0].id == row.id


def test_merging_a_suggestion_records_score_and_reasons(session: Session) -> None:
    first, second, _ = add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    row = only_suggestion(session)
    merge = service.merge_suggestion(session, suggestion_id=row.id, actor="user:1", note="checked by phone")
    assert (merge.survivor_id, merge.absorbed_id, merge.actor) == (first, second, "user:1")
    assert merge.reason.startswith(f"duplicate suggestion {row.id}, score ")
    assert "same given name" in merge.reason and "same birth date" in merge.reason
    row = only_suggestion(session)
    assert (row.status, row.decided_by, row.note) == (SuggestionStatus.merged, "user:1", "checked by phone")
    assert session.get(Profile, second).merged_into_id == first  # type: ignore[union-attr]
    assert service.list_suggestions(session).total == 0
    with pytest.raises(Conflict) as refused:
        service.merge_suggestion(session, suggestion_id=row.id, actor="user:1")
    assert refused.value.code == "suggestion_not_open"


def test_unmerging_a_suggestion_opens_it_again(session: Session) -> None:
    first, second, _ = add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    row = only_suggestion(session)
    service.merge_suggestion(session, suggestion_id=row.id, actor="user:1", survivor_id=second)
    undone = service.unmerge_suggestion(session, suggestion_id=row.id, actor="user:1")
    assert (undone.survivor_id, undone.absorbed_id) == (second, first) and undone.undone_at is not None
    row = only_suggestion(session)
    assert row.status == SuggestionStatus.open and row.decided_at is None
    assert session.get(Profile, first).merged_into_id is None  # type: ignore[union-attr]
    with pytest.raises(Conflict) as refused:
        service.unmerge_suggestion(session, suggestion_id=row.id, actor="user:1")
    assert refused.value.code == "suggestion_not_merged"


def test_not_the_same_is_remembered_by_later_runs(session: Session) -> None:
    add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    row = only_suggestion(session)
    service.mark_not_same(session, suggestion_id=row.id, actor="user:2", note="chị em sinh đôi")
    again = service.run_now(session, requested_by="test")
    assert (again.new_count, again.updated_count) == (0, 0)
    row = only_suggestion(session)
    assert (row.status, row.decided_by, row.note) == (SuggestionStatus.not_same, "user:2", "chị em sinh đôi")
    assert service.list_suggestions(session).total == 0
    assert service.list_suggestions(session, status=SuggestionStatus.not_same).total == 1


def test_a_merge_elsewhere_makes_the_suggestion_stale(session: Session) -> None:
    first, second, stranger = add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    row = only_suggestion(session)
    identity_service.merge_profiles(session, survivor_id=stranger, absorbed_id=second, actor="user:3",
                                    reason="same customer, known in the shop")
    assert service.list_suggestions(session).total == 0  # no longer shown as open, even before any reaction
    with pytest.raises(Conflict) as refused:
        service.mark_not_same(session, suggestion_id=row.id, actor="user:1")
    assert refused.value.code == "suggestion_not_open"
    assert only_suggestion(session).status == SuggestionStatus.stale
    assert first


def test_a_merge_by_the_identity_graph_closes_the_pair_through_the_outbox(session: Session, engine: Engine) -> None:
    first, second, _ = add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    graph.merge(session, survivor_id=first, absorbed_id=second, actor="system", reason="linked by a later order")
    session.commit()
    Worker(engine=engine).run_until_idle()
    row = only_suggestion(session)
    assert (row.status, row.decided_by) == (SuggestionStatus.merged, "identity")


def test_errors_for_unknown_and_foreign_ids(session: Session) -> None:
    add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    row = only_suggestion(session)
    with pytest.raises(NotFound) as missing:
        service.get_suggestion(session, suggestion_id=row.id + 100)
    assert missing.value.code == "suggestion_not_found"
    with pytest.raises(ValidationFailed) as foreign:
        service.merge_suggestion(session, suggestion_id=row.id, actor="user:1", survivor_id=999_999)
    assert foreign.value.code == "survivor_not_in_pair"
    assert only_suggestion(session).status == SuggestionStatus.open  # nothing half-written
    with pytest.raises(NotFound):
        service.get_run(session, run_id=12345)


def test_merge_refused_by_the_identity_rules_leaves_the_suggestion_open(session: Session) -> None:
    first = add_customer(session, name="Phạm Thu Trang", birth_date=date(1994, 7, 15), user_id="shop-1")
    second = add_customer(session, name="Pham Thu Trang", birth_date=date(1994, 7, 15), user_id="shop-2")
    service.run_now(session, requested_by="test")
    row = only_suggestion(session)
    with pytest.raises(Conflict) as refused:
        service.merge_suggestion(session, suggestion_id=row.id, actor="user:1")
    assert refused.value.code == "merge_breaks_rules"
    assert only_suggestion(session).status == SuggestionStatus.open
    assert session.get(Profile, second).merged_into_id is None and first  # type: ignore[union-attr]


def test_the_job_runs_a_requested_run_and_auto_merges_when_configured(session: Session, db_url: str) -> None:
    first, second, _ = add_pair_and_strangers(session)
    settings = Settings(database_url=db_url, duplicates_auto_merge_score=0.9)
    run = service.request_run(session, requested_by="user:1", settings=settings)
    assert run.status == RunStatus.queued
    assert service.request_run(session, requested_by="user:2").id == run.id  # one at a time
    [job] = session.scalars(select(Job).where(Job.name == service.DETECT_JOB))
    detect_duplicates(session, job.payload)
    session.commit()
    run = session.get(DuplicateRun, run.id)  # type: ignore[assignment]
    assert (run.status, run.auto_merged_count) == (RunStatus.done, 1)
    row = only_suggestion(session)
    assert (row.status, row.decided_by) == (SuggestionStatus.merged, "system:duplicates")
    [merge] = session.scalars(select(Merge))
    assert (merge.survivor_id, merge.absorbed_id) == (first, second)
    detect_duplicates(session, job.payload)  # a retried job leaves a finished run alone
    assert session.get(DuplicateRun, run.id).pair_count == 1  # type: ignore[union-attr]


def test_auto_merge_is_off_by_default(session: Session) -> None:
    add_pair_and_strangers(session)
    detect_duplicates(session, {})
    session.commit()
    [run] = session.scalars(select(DuplicateRun))
    assert (run.requested_by, run.auto_merge_score, run.auto_merged_count) == ("schedule", None, 0)
    assert only_suggestion(session).status == SuggestionStatus.open
    recheck_changed(session, {})  # the hourly job: nothing changed since the nightly run
    session.commit()
    latest = service.list_runs(session, limit=1)[0]
    assert (latest.scope, latest.status, latest.pair_count) == ("changed", RunStatus.done, 0)
    assert only_suggestion(session).status == SuggestionStatus.open


def test_a_run_whose_job_died_does_not_block_new_ones(session: Session) -> None:
    stuck = service.request_run(session, requested_by="user:1")
    stuck.created_at = stuck.created_at - service.ABANDONED_AFTER - timedelta(minutes=1)
    session.commit()
    fresh = service.request_run(session, requested_by="user:2")
    assert fresh.id != stuck.id and fresh.status == RunStatus.queued
    session.refresh(stuck)
    assert stuck.status == RunStatus.failed and "abandoned" in stuck.error


def test_a_second_run_refreshes_and_a_merge_undone_elsewhere_reopens(session: Session) -> None:
    add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    again = service.run_now(session, requested_by="test")
    assert (again.new_count, again.updated_count, again.stale_count) == (0, 1, 0)
    row = only_suggestion(session)
    assert row.run_id == again.id
    merge = service.merge_suggestion(session, suggestion_id=row.id, actor="user:1")
    graph.unmerge(session, merge_id=merge.id, actor="user:1")  # undone in the identity screens, not here
    third = service.run_now(session, requested_by="test")
    assert third.updated_count == 1
    row = only_suggestion(session)
    assert (row.status, row.decided_by, row.run_id) == (SuggestionStatus.open, "", third.id)


def test_a_changed_only_run_rechecks_just_the_changed_profiles(session: Session) -> None:
    _first, _second, stranger = add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    nothing = service.run_now(session, requested_by="test", changed_only=True)
    assert (nothing.scope, nothing.pair_count, nothing.stale_count) == ("changed", 0, 0)
    assert nothing.parameters["rechecked_profiles"] == 0
    twin = add_customer(session, name="Tran Van Dung", birth_date=date(1975, 9, 2), email="dung.tran@gmail.com")
    session.get(CustomerProfile, twin).updated_at = utcnow()  # type: ignore[union-attr]
    session.commit()
    recheck = service.run_now(session, requested_by="test", changed_only=True)
    assert (recheck.pair_count, recheck.new_count, recheck.updated_count, recheck.stale_count) == (1, 1, 0, 0)
    assert recheck.parameters["rechecked_profiles"] == 1 and "changed_since" in recheck.parameters
    session.rollback()
    pairs = {(row.profile_id, row.other_profile_id, row.status) for row in session.scalars(select(DuplicateSuggestion))}
    assert (stranger, twin, SuggestionStatus.open) in pairs and len(pairs) == 2
