"""The Segment-compatible tracking API over HTTP: keys, answers, quarantine, dedupe, timestamps, limits."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.events.models import ChannelType, Event, EventType, QuarantinedEvent, Source
from xuyen.events.service import create_source


@pytest.fixture
def source_key(session: Session) -> tuple[Source, str]:
    return create_source(session, name="Website", channel=ChannelType.web)


def _events(session: Session) -> list[Event]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Event).order_by(Event.id)))


def _quarantined(session: Session) -> list[QuarantinedEvent]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(QuarantinedEvent).order_by(QuarantinedEvent.position)))


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_track_with_the_key_as_basic_user_is_stored_and_answered_like_segment(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    source, key = source_key
    response = client.post("/v1/track", headers=_basic(key), json={
        "userId": "KH-001", "event": "Order Completed", "messageId": "m-1",
        "properties": {"order_id": "DH-9", "total": 1250000, "currency": "VND"},
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
    })
    assert response.status_code == 200
    assert response.json() == {"success": True}
    [event] = _events(session)
    assert event.type == EventType.track
    assert event.event == "Order Completed"
    assert event.user_id == "KH-001"
    assert event.source_id == source.id and event.channel == "web"
    assert event.properties == {"order_id": "DH-9", "total": 1250000, "currency": "VND"}
    assert event.context["library"]["name"] == "analytics-python"


@pytest.mark.parametrize("where", ["header", "query", "body"])
def test_the_write_key_is_found_wherever_real_clients_put_it(
    client: TestClient, session: Session, source_key: tuple[Source, str], where: str
) -> None:
    _, key = source_key
    body: dict[str, object] = {"anonymousId": "anon-1", "event": "Product Viewed"}
    headers, params = {}, {}
    if where == "header":
        headers["X-Write-Key"] = key
    elif where == "query":
        params["writeKey"] = key
    else:
        body["writeKey"] = key
    response = client.post("/v1/track", json=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert [e.anonymous_id for e in _events(session)] == ["anon-1"]


@pytest.mark.parametrize("headers", [{}, {"X-Write-Key": "wk_deadbeef_wrong"}, {"Authorization": "Basic !!!"}])
def test_a_missing_or_wrong_key_is_refused_whole_with_401(
    client: TestClient, session: Session, source_key: tuple[Source, str], headers: dict[str, str]
) -> None:
    response = client.post("/v1/track", json={"userId": "u", "event": "x"}, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "invalid_write_key"
    assert "write key" in body["message"]
    assert _events(session) == []


def test_a_batch_merges_top_level_context_stores_valid_calls_and_quarantines_the_rest(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    response = client.post("/v1/batch", headers=_basic(key), json={
        "context": {"library": {"name": "rudder-sdk-python"}, "locale": "vi-VN"},
        "integrations": {"All": True},
        "batch": [
            {"type": "identify", "userId": "KH-1", "traits": {"name": "Nguyễn Thị Lan", "phone": "0912345678"},
             "messageId": "b-1"},
            {"type": "track", "userId": "KH-1", "messageId": "b-2"},  # no event name
            {"type": "page", "anonymousId": "a-9", "name": "Trang chủ", "context": {"locale": "en-US"},
             "messageId": "b-3"},
            {"type": "track", "event": "Cart Viewed", "messageId": "b-4"},  # no user id
            {"type": "group", "userId": "KH-1", "messageId": "b-5"},  # no group id
            {"type": "track", "userId": {"nested": 1}, "event": "x", "messageId": "b-6"},
            {"type": "track", "userId": "KH-1", "event": "x", "timestamp": "yesterday", "messageId": "b-7"},
            "not an object",
            {"type": "teleport", "userId": "KH-1", "messageId": "b-9"},
        ],
    })
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    events = _events(session)
    assert [e.message_id for e in events] == ["b-1", "b-3"]
    identify, page = events
    assert identify.traits["name"] == "Nguyễn Thị Lan"
    assert identify.context == {"library": {"name": "rudder-sdk-python"}, "locale": "vi-VN"}
    assert identify.integrations == {"All": True}
    assert page.context["locale"] == "en-US", "the item's own context wins over the batch's"
    assert page.name == "Trang chủ"
    reasons = [(q.position, q.reason) for q in _quarantined(session)]
    assert reasons == [(1, "missing_event"), (3, "missing_id"), (4, "missing_group_id"), (5, "bad_type"),
                       (6, "bad_timestamp"), (7, "bad_type"), (8, "bad_type")]
    first = _quarantined(session)[0]
    assert first.payload == {"type": "track", "userId": "KH-1", "messageId": "b-2"}
    assert first.request_id == response.headers["x-request-id"]


def test_a_retried_batch_never_creates_a_second_event(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "Product Added", "messageId": f"r-{i}"}
                       for i in range(5)] + [{"type": "track", "userId": "u1", "event": "Product Added",
                                              "messageId": "r-0"}]}
    for _ in range(3):
        assert client.post("/v1/batch", headers=_basic(key), json=batch).status_code == 200
    assert sorted(e.message_id for e in _events(session)) == [f"r-{i}" for i in range(5)]


def test_the_same_message_id_from_two_sources_is_two_events(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, web_key = source_key
    _, pos_key = create_source(session, name="POS Hà Nội", channel=ChannelType.pos)
    for key in (web_key, pos_key):
        client.post("/v1/track", headers=_basic(key), json={"userId": "u", "event": "e", "messageId": "same"})
    assert sorted(e.channel for e in _events(session)) == ["pos", "web"]


def test_timestamps_follow_segment_with_clock_skew_corrected(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    # The client's clock is 1 hour fast: it says the event happened at 10:00 and it sent it at 10:00:05.
    before = datetime.now(UTC)
    client.post("/v1/batch", headers=_basic(key), json={
        "sentAt": "2026-11-23T10:00:05+07:00",
        "batch": [
            {"type": "track", "userId": "u", "event": "skewed", "timestamp": "2026-11-23T10:00:00+07:00"},
            {"type": "track", "userId": "u", "event": "historic", "timestamp": "2025-01-01T00:00:00Z",
             "sentAt": None, "originalTimestamp": None},
            {"type": "track", "userId": "u", "event": "timeless"},
        ],
    })
    after = datetime.now(UTC)
    by_name = {e.event: e for e in _events(session)}
    skewed = by_name["skewed"]
    assert before <= skewed.received_at <= after
    assert skewed.original_timestamp == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert skewed.sent_at == datetime(2026, 11, 23, 3, 0, 5, tzinfo=UTC)
    assert skewed.timestamp == skewed.received_at - timedelta(seconds=5)
    timeless = by_name["timeless"]
    assert timeless.original_timestamp is None
    assert timeless.timestamp == timeless.received_at


def test_a_historic_timestamp_without_sent_at_is_kept_as_is(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    client.post("/v1/track", headers=_basic(key), json={"userId": "u", "event": "Order Completed",
                                                         "timestamp": "2025-01-01T07:00:00+07:00"})
    [event] = _events(session)
    assert event.timestamp == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert event.sent_at is None


def test_a_gzip_body_is_accepted(client: TestClient, session: Session, source_key: tuple[Source, str]) -> None:
    _, key = source_key
    body = gzip.compress(json.dumps({"batch": [{"type": "identify", "userId": "gz", "traits": {"city": "Huế"}}]})
                         .encode())
    response = client.post("/v1/batch", content=body,
                           headers={**_basic(key), "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert [e.traits for e in _events(session)] == [{"city": "Huế"}]


def test_a_corrupt_gzip_body_is_a_400(client: TestClient, source_key: tuple[Source, str]) -> None:
    _, key = source_key
    response = client.post("/v1/batch", content=b"\x1f\x8bnot gzip",
                           headers={**_basic(key), "Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_gzip"


@pytest.mark.parametrize(("body", "code"), [(b"{not json", "invalid_json"), (b'{"batch": []}', "empty_batch"),
                                            (b'{"batch": "x"}', "empty_batch"), (b"[1, 2]", "invalid_body")])
def test_unreadable_json_or_an_empty_batch_is_refused_whole_with_400(
    client: TestClient, session: Session, source_key: tuple[Source, str], body: bytes, code: str
) -> None:
    _, key = source_key
    response = client.post("/v1/batch", content=body, headers={**_basic(key), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert _events(session) == [] and _quarantined(session) == []


def test_requests_over_the_limits_get_413_naming_the_limit(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    settings = client.app.state.settings  # type: ignore[attr-defined]
    big_event = {"userId": "u", "event": "big", "properties": {"blob": "x" * settings.ingest_max_event_bytes}}
    single = client.post("/v1/track", headers=_basic(key), json=big_event)
    assert single.status_code == 413
    assert f"{settings.ingest_max_event_bytes:,}" in single.json()["message"]

    too_many = {"batch": [{"type": "track", "userId": "u", "event": "e"}] * (settings.ingest_max_batch_events + 1)}
    many = client.post("/v1/batch", headers=_basic(key), json=too_many)
    assert many.status_code == 413
    assert many.json()["code"] == "too_many_events"
    assert f"{settings.ingest_max_batch_events:,}" in many.json()["message"]

    huge = gzip.compress(json.dumps({"batch": [big_event] * 200}).encode())
    bomb = client.post("/v1/batch", content=huge, headers={**_basic(key), "Content-Encoding": "gzip"})
    assert bomb.status_code == 413
    assert f"{settings.ingest_max_batch_bytes:,}" in bomb.json()["message"]
    assert _events(session) == []


def test_an_oversized_call_inside_a_batch_is_quarantined_not_refused(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    settings = client.app.state.settings  # type: ignore[attr-defined]
    response = client.post("/v1/batch", headers=_basic(key), json={"batch": [
        {"type": "track", "userId": "u", "event": "big", "properties": {"blob": "x" * settings.ingest_max_event_bytes}},
        {"type": "track", "userId": "u", "event": "small"},
    ]})
    assert response.status_code == 200
    assert [e.event for e in _events(session)] == ["small"]
    [quarantined] = _quarantined(session)
    assert quarantined.reason == "event_too_large" and quarantined.payload is None


def test_a_disabled_source_is_refused(client: TestClient, session: Session,
                                      source_key: tuple[Source, str]) -> None:
    source, key = source_key
    source.is_active = False
    session.commit()
    assert client.post("/v1/track", headers=_basic(key), json={"userId": "u", "event": "e"}).status_code == 401


def test_every_call_type_has_its_endpoint(client: TestClient, session: Session,
                                          source_key: tuple[Source, str]) -> None:
    _, key = source_key
    calls = {
        "identify": {"userId": "u", "traits": {"email": "a@b.vn"}},
        "track": {"userId": "u", "event": "Checkout Started"},
        "page": {"anonymousId": "a", "name": "Giỏ hàng"},
        "screen": {"userId": "u", "name": "Home"},
        "group": {"userId": "u", "groupId": "company-1", "traits": {"name": "Công ty A"}},
        "alias": {"previousId": "a", "userId": "u"},
    }
    for call, body in calls.items():
        assert client.post(f"/v1/{call}", headers=_basic(key), json=body).status_code == 200, call
    session.rollback()
    counts = dict(session.execute(select(Event.type, func.count()).group_by(Event.type)).all())
    assert {EventType(t).value: n for t, n in counts.items()} == {call: 1 for call in calls}


def test_calls_resolve_to_one_profile_across_sources_and_phone_formats(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, web_key = source_key
    _, pos_key = create_source(session, name="POS Đà Nẵng", channel=ChannelType.pos)
    client.post("/v1/page", headers=_basic(web_key), json={"anonymousId": "cookie-42", "name": "Áo dài"})
    client.post("/v1/identify", headers=_basic(web_key), json={
        "anonymousId": "cookie-42", "userId": "KH-42", "traits": {"email": "Hoa@Mail.vn", "phone": "0168 555 1234"}})
    client.post("/v1/track", headers=_basic(pos_key), json={
        "anonymousId": "pos-ticket-77", "event": "Order Completed",
        "context": {"traits": {"phone": "+84 38 555 1234"}}})
    events = _events(session)
    assert len({e.profile_id for e in events}) == 1, [(e.message_id, e.profile_id) for e in events]
    assert all(e.profile_id is not None for e in events)


def test_a_retried_batch_records_no_identity_conflict_twice(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    from xuyen.identity.models import IdentityConflict

    _, key = source_key
    client.post("/v1/identify", headers=_basic(key), json={"userId": "A", "traits": {"phone": "0912345678"}})
    batch = {"batch": [{"type": "identify", "userId": "B", "traits": {"phone": "0912345678"}, "messageId": "x1"}]}
    for _ in range(3):
        client.post("/v1/batch", headers=_basic(key), json=batch)
    session.rollback()
    assert len(session.scalars(select(IdentityConflict)).all()) == 1
    profiles = {e.user_id: e.profile_id for e in _events(session)}
    assert profiles["A"] != profiles["B"], "a shared phone does not make B into A"


def test_unmerging_gives_back_the_events_that_arrived_during_the_merge(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    from xuyen.identity.graph import unmerge
    from xuyen.identity.models import Merge
    from xuyen.worker import Worker

    _, key = source_key
    client.post("/v1/page", headers=_basic(key), json={"anonymousId": "shared-tablet", "messageId": "p1"})
    client.post("/v1/identify", headers=_basic(key), json={"userId": "KH-77", "messageId": "i1"})
    client.post("/v1/identify", headers=_basic(key), json={"userId": "KH-77", "anonymousId": "shared-tablet",
                                                           "messageId": "link"})
    client.post("/v1/page", headers=_basic(key), json={"anonymousId": "shared-tablet", "messageId": "p2"})
    by_id = {e.message_id: e.profile_id for e in _events(session)}
    tablet, customer = by_id["p1"], by_id["i1"]
    assert by_id["p2"] == min(tablet, customer)  # type: ignore[type-var]
    session.rollback()
    merge = session.scalars(select(Merge)).one()
    unmerge(session, merge_id=merge.id, actor="user:1")
    Worker(engine=session.get_bind()).run_until_idle()  # type: ignore[arg-type]
    by_id = {e.message_id: e.profile_id for e in _events(session)}
    assert by_id["p1"] == by_id["p2"] == tablet
    assert by_id["i1"] == customer


def test_the_browser_library_short_paths_and_cors_work(
    client: TestClient, session: Session, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    preflight = client.options("/v1/t", headers={"Origin": "https://luamay.vn",
                                                 "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    # analytics.js sends text/plain bodies with the write key inside.
    body = json.dumps({"writeKey": key, "anonymousId": "web-1", "event": "Product Viewed", "messageId": "t-1"})
    response = client.post("/v1/t", content=body, headers={"Content-Type": "text/plain", "Origin": "https://luamay.vn"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    batch = json.dumps({"writeKey": key, "batch": [{"type": "page", "anonymousId": "web-1", "messageId": "p-1"}]})
    assert client.post("/v1/b", content=batch, headers={"Content-Type": "text/plain"}).status_code == 200
    assert client.post("/v1/i", content=json.dumps({"writeKey": key, "userId": "KH-1"})).status_code == 200
    assert {(e.type.value, e.message_id) for e in _events(session)} >= {("track", "t-1"), ("page", "p-1")}
