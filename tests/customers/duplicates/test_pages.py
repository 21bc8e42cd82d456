"""The duplicate review pages: the queue, a pair side by side, Merge and Not the same with CSRF, roles."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.customers.duplicates.helpers import add_pair_and_strangers
from tests.ui.helpers import Shop, csrf_token, sign_in
from xuyen.customers.duplicates import service
from xuyen.customers.duplicates.models import DuplicateRun, DuplicateSuggestion, SuggestionStatus
from xuyen.identity.models import Profile


def found(session: Session) -> DuplicateSuggestion:
    add_pair_and_strangers(session)
    service.run_now(session, requested_by="test")
    [row] = session.scalars(select(DuplicateSuggestion))
    session.rollback()
    return row


def status_of(session: Session, suggestion_id: int) -> SuggestionStatus:
    session.rollback()
    row = session.get(DuplicateSuggestion, suggestion_id)
    assert row is not None
    return row.status


def test_the_queue_lists_pairs_with_scores_and_reasons(browser: TestClient, shop: Shop, session: Session) -> None:
    row = found(session)
    sign_in(browser, shop.hanoi_agent.email)
    page = browser.get("/duplicates")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/duplicates" aria-current="page">Trùng lặp</a>' in text  # in the navigation
    assert "Khách hàng trùng lặp" in text
    assert f'<a href="/duplicates/{row.id}">Nguyễn Thị Minh Khai</a>' in text
    assert "Tên: giống nhau" in text and "Ngày sinh: giống nhau" in text
    assert "Tìm trùng lặp ngay" not in text  # agents read, managers decide


def test_a_manager_merges_a_pair_from_its_page(browser: TestClient, shop: Shop, session: Session) -> None:
    row = found(session)
    sign_in(browser, shop.owner.email)
    page = browser.get(f"/duplicates/{row.id}")
    assert page.status_code == 200
    text = page.text
    assert "Nguyễn Thị Minh Khai" in text and "khai.nguyen@gmail.com" in text and "u-khai" in text
    assert f'action="/duplicates/{row.id}/merge"' in text and f'action="/duplicates/{row.id}/not-same"' in text
    refused = browser.post(f"/duplicates/{row.id}/merge", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    assert status_of(session, row.id) == SuggestionStatus.open
    merged = browser.post(f"/duplicates/{row.id}/merge", data={"csrf_token": csrf_token(text), "note": "đã gọi"})
    assert (merged.status_code, merged.headers["location"]) == (303, f"/duplicates/{row.id}")
    assert status_of(session, row.id) == SuggestionStatus.merged
    assert session.get(Profile, row.other_profile_id).merged_into_id == row.profile_id  # type: ignore[union-attr]
    after = browser.get(f"/duplicates/{row.id}").text
    assert "Đã gộp" in after and f'action="/duplicates/{row.id}/unmerge"' in after
    browser.post(f"/duplicates/{row.id}/unmerge", data={"csrf_token": csrf_token(after)})
    assert status_of(session, row.id) == SuggestionStatus.open


def test_not_the_same_in_english(browser: TestClient, shop: Shop, session: Session) -> None:
    row = found(session)
    sign_in(browser, shop.owner.email)
    browser.cookies.set("xuyen_lang", "en")
    text = browser.get(f"/duplicates/{row.id}", headers={"accept-language": "en"}).text
    token = csrf_token(text)
    answer = browser.post(f"/duplicates/{row.id}/not-same", data={"csrf_token": token, "note": "twins"})
    assert answer.status_code == 303
    assert status_of(session, row.id) == SuggestionStatus.not_same
    listed = browser.get("/duplicates?status=not_same", headers={"accept-language": "en"}).text
    assert "Nguyễn Thị Minh Khai" in listed


def test_agents_cannot_decide_and_bad_ids_are_refused(browser: TestClient, shop: Shop, session: Session) -> None:
    row = found(session)
    sign_in(browser, shop.hanoi_agent.email)
    token = csrf_token(browser.get("/").text)
    assert browser.post(f"/duplicates/{row.id}/merge", data={"csrf_token": token}).status_code == 403
    assert browser.get("/duplicates/999999").status_code == 404
    assert browser.get("/duplicates/0").status_code == 422
    assert browser.get("/duplicates?status=maybe").status_code == 422
    assert status_of(session, row.id) == SuggestionStatus.open


def test_a_manager_starts_a_run(browser: TestClient, shop: Shop, session: Session) -> None:
    sign_in(browser, shop.owner.email)
    text = browser.get("/duplicates").text
    assert "Tìm trùng lặp ngay" in text
    answer = browser.post("/duplicate-runs", data={"csrf_token": csrf_token(text)})
    assert (answer.status_code, answer.headers["location"]) == (303, "/duplicates")
    session.rollback()
    assert len(session.scalars(select(DuplicateRun)).all()) == 1
