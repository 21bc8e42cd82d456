"""The duplicate API: list with filters and pages, read a pair, merge, not the same, unmerge, runs, errors, roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem, bearer
from tests.customers.duplicates.helpers import add_pair_and_strangers
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.customers.duplicates import service
from xuyen.customers.duplicates.models import DuplicateSuggestion
from xuyen.jobs import Job

BrowserFor = Callable[[User], Browser]
HUGE = 2**63




@pytest.fixture
def suggestion(session: Session) -> DuplicateSuggestion:
    """One open suggestion, found by a real run."""
    add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    [row] = session.scalars(select(DuplicateSuggestion))
    session.rollback()
    return row


def test_agents_list_and_read_suggestions(agent: Browser, suggestion: DuplicateSuggestion) -> None:
    listed = agent.request("GET", "/customers/duplicates", params={"min_score": 0.5})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["limit"], body["offset"]) == (1, 50, 0)
    [item] = body["items"]
    assert (item["id"], item["status"]) == (suggestion.id, "open")
    assert {reason["field"] for reason in item["reasons"]} >= {"given_name", "birth_date", "phone"}
    assert "same given name" in item["summary"]
    read = agent.request("GET", f"/customers/duplicates/{suggestion.id}")
    assert read.status_code == 200, read.text
    detail = read.json()
    assert detail["profile"]["display_name"] == "Nguyễn Thị Minh Khai"
    assert detail["profile"]["user_ids"] == ["u-khai"]
    assert detail["other_profile"]["emails"] == ["khai.nguyen@gmail.com"]
    assert detail["merge_id"] is None


def test_filters_and_pages(agent: Browser, suggestion: DuplicateSuggestion) -> None:
    assert agent.request("GET", "/customers/duplicates", params={"min_score": 1}).json()["total"] == 0
    assert agent.request("GET", "/customers/duplicates", params={"status": "not_same"}).json()["items"] == []
    assert agent.request("GET", "/customers/duplicates", params={"status": "all"}).json()["total"] == 1
    page = agent.request("GET", "/customers/duplicates", params={"offset": 1, "limit": 1}).json()
    assert (page["total"], page["items"]) == (1, [])


@pytest.mark.parametrize("params", [{"min_score": "1.5"}, {"min_score": "-0.1"}, {"status": "maybe"},
                                    {"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"min_score": "abc"}])
def test_bad_parameters_are_refused(agent: Browser, params: dict[str, str]) -> None:
    assert_problem(agent.request("GET", "/customers/duplicates", params=params), 422, "validation_failed")


@pytest.mark.parametrize("path", ["/customers/duplicates/0", f"/customers/duplicates/{HUGE}",
                                  "/customers/duplicates/abc", "/customers/duplicate-runs/0"])
def test_bad_ids_are_refused(agent: Browser, path: str) -> None:
    assert_problem(agent.request("GET", path), 422, "validation_failed")


def test_unknown_ids_are_not_found(manager: Browser) -> None:
    assert_problem(manager.request("GET", "/customers/duplicates/77"), 404, "suggestion_not_found")
    assert_problem(manager.request("POST", "/customers/duplicates/77/merge", json={}), 404, "suggestion_not_found")
    assert_problem(manager.request("GET", "/customers/duplicate-runs/77"), 404, "run_not_found")


def test_unauthenticated_and_agents_cannot_decide(client, agent: Browser,  # type: ignore[no-untyped-def]
                                                  suggestion: DuplicateSuggestion) -> None:
    assert_problem(client.get("/api/v1/customers/duplicates"), 401, "not_authenticated")
    for action in ("merge", "not-same", "unmerge"):
        assert_problem(agent.request("POST", f"/customers/duplicates/{suggestion.id}/{action}", json={}), 403,
                       "role_required")
    assert_problem(agent.request("POST", "/customers/duplicate-runs"), 403, "role_required")


def test_a_manager_merges_and_undoes(manager: Browser, suggestion: DuplicateSuggestion) -> None:
    merged = manager.request("POST", f"/customers/duplicates/{suggestion.id}/merge",
                             json={"survivor_id": suggestion.other_profile_id, "note": "gọi điện xác nhận"})
    assert merged.status_code == 201, merged.text
    body = merged.json()
    assert (body["survivor_id"], body["absorbed_id"]) == (suggestion.other_profile_id, suggestion.profile_id)
    assert body["reason"].startswith(f"duplicate suggestion {suggestion.id}, score ")
    assert body["actor"] == f"user:{manager.user_id}"
    detail = manager.request("GET", f"/customers/duplicates/{suggestion.id}").json()
    assert (detail["status"], detail["note"], detail["merge_id"]) == ("merged", "gọi điện xác nhận", body["id"])
    again = manager.request("POST", f"/customers/duplicates/{suggestion.id}/merge", json={})
    assert_problem(again, 409, "suggestion_not_open")
    undone = manager.request("POST", f"/customers/duplicates/{suggestion.id}/unmerge")
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    assert manager.request("GET", f"/customers/duplicates/{suggestion.id}").json()["status"] == "open"


def test_merge_bodies_are_checked(manager: Browser, suggestion: DuplicateSuggestion) -> None:
    path = f"/customers/duplicates/{suggestion.id}/merge"
    assert_problem(manager.request("POST", path, json={"survivor_id": 999}), 422, "survivor_not_in_pair")
    assert_problem(manager.request("POST", path, json={"surprise": 1}), 422, "validation_failed")
    assert_problem(manager.request("POST", path, json={"note": "x" * 2001}), 422, "validation_failed")
    assert manager.request("GET", f"/customers/duplicates/{suggestion.id}").json()["status"] == "open"


def test_not_the_same_with_an_api_key(session: Session, client,  # type: ignore[no-untyped-def]
                                      suggestion: DuplicateSuggestion) -> None:
    _key, secret = create_api_key(session, name="review bot", role=Role.manager)
    answer = client.post(f"/api/v1/customers/duplicates/{suggestion.id}/not-same", headers=bearer(secret),
                         json={"note": "hai chị em"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["note"]) == ("not_same", "hai chị em")
    assert_problem(client.post(f"/api/v1/customers/duplicates/{suggestion.id}/unmerge", headers=bearer(secret)),
                   409, "suggestion_not_merged")


def test_a_manager_starts_a_run_and_reads_it(session: Session, manager: Browser) -> None:
    started = manager.request("POST", "/customers/duplicate-runs")
    assert started.status_code == 202, started.text
    run = started.json()
    assert (run["status"], run["requested_by"], run["min_score"], run["scope"]) == ("queued",
                                                                                   f"user:{manager.user_id}", 0.9,
                                                                                   "all")
    assert manager.request("POST", "/customers/duplicate-runs").json()["id"] == run["id"]
    assert_problem(manager.request("POST", "/customers/duplicate-runs", json={"changed_only": "maybe"}), 422,
                   "validation_failed")
    read = manager.request("GET", f"/customers/duplicate-runs/{run['id']}")
    assert read.status_code == 200 and read.json()["id"] == run["id"]
    assert [row["id"] for row in manager.request("GET", "/customers/duplicate-runs").json()] == [run["id"]]
    session.rollback()
    [job] = session.scalars(select(Job).where(Job.name == service.DETECT_JOB))
    assert job.payload == {"run_id": run["id"]}
