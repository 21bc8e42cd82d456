"""The official Segment and RudderStack Python SDKs, unchanged, sending to a real Xuyên server.

Each test starts uvicorn on a free local port against the test's database (SQLite, then PostgreSQL),
creates a source for its write key, points the SDK at the server and reads back what was stored.
The SDKs' own HTTP sessions are watched with a ``requests`` response hook (on the client side) to
see what went over the wire and what the server answered.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
import rudderstack.analytics as rudder_analytics
import rudderstack.analytics.request as rudder_request
import segment.analytics.request as segment_request
from rudderstack.analytics.version import VERSION as RUDDER_VERSION
from segment.analytics import Client as SegmentClient
from segment.analytics.version import VERSION as SEGMENT_VERSION
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.live_server import LiveServer, call
from xuyen.clock import utcnow
from xuyen.config import Settings
from xuyen.events.models import ChannelType, Event, EventType, QuarantinedEvent, Source
from xuyen.events.service import create_source

GZIP_MAGIC = b"\x1f\x8b"
ORDER = {
    "order_id": "DH-2026-0001",
    "total": 1_250_000,
    "revenue": 1_136_364,
    "tax": 113_636,
    "shipping": 30_000,
    "currency": "VND",
    "coupon": "TET2026",
    "products": [
        {"product_id": "SP-101", "sku": "AO-DAI-LUA-M", "name": "Áo dài lụa tơ tằm", "price": 950_000,
         "quantity": 1, "category": "Thời trang nữ"},
        {"product_id": "SP-207", "sku": "NON-LA-HUE", "name": "Nón lá Huế", "price": 150_000, "quantity": 2},
    ],
}
TRAITS = {"name": "Nguyễn Thị Mai", "email": "mai.nguyen@example.vn", "phone": "0912 345 678",
          "address": {"city": "Hà Nội", "street": "12 Hàng Bạc"}}


@dataclass
class Wire:
    """What an SDK sent and what the server answered, seen from the SDK's own HTTP session."""

    requests: list[requests.PreparedRequest] = field(default_factory=list)
    answers: list[tuple[int, Any]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A ``requests`` response hook: keep the request and the answer."""
        self.requests.append(response.request)
        self.answers.append((response.status_code, response.json()))

    def on_error(self, error: Exception, batch: Any) -> None:
        """The SDKs' ``on_error`` callback: a batch the SDK gave up on."""
        self.errors.append(error)

    def assert_all_accepted(self) -> None:
        """Every request reached the server and was answered 200 ``{"success": true}``."""
        assert not self.errors, self.errors
        assert self.answers, "the SDK sent nothing"
        assert all(answer == (200, {"success": True}) for answer in self.answers), self.answers

    def batch_items(self) -> list[dict[str, Any]]:
        """Every call the SDK sent, decoded from the request bodies (gunzipped where needed)."""
        items: list[dict[str, Any]] = []
        for request in self.requests:
            body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
            if request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            items.extend(json.loads(body)["batch"])
        return items


@pytest.fixture
def live_url(settings: Settings, engine: Engine) -> Iterator[str]:
    """The base URL of a real uvicorn server running the app against this test's database."""
    server = LiveServer(settings, engine)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def website(session: Session) -> tuple[Source, str]:
    """A web source and its write key."""
    return create_source(session, name="Website xuyen.vn", channel=ChannelType.web)


@pytest.fixture
def segment_wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire()
    monkeypatch.setitem(segment_request._session.hooks, "response", [wire.hook])
    return wire


@pytest.fixture
def rudder_wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire()
    monkeypatch.setitem(rudder_request._session.hooks, "response", [wire.hook])
    return wire


@pytest.fixture
def segment(live_url: str, website: tuple[Source, str], segment_wire: Wire) -> Iterator[SegmentClient]:
    """A Segment client in its default (queued, batching) mode, pointed at the live server."""
    client = SegmentClient(website[1], host=live_url, on_error=segment_wire.on_error, max_retries=0,
                           upload_interval=0.1)
    yield client
    client.shutdown()


@pytest.fixture
def rudder(live_url: str, website: tuple[Source, str], rudder_wire: Wire,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """RudderStack's module-level client, configured the documented way (``write_key``, ``dataPlaneUrl``)."""
    monkeypatch.setattr(rudder_analytics, "default_client", None)
    monkeypatch.setattr(rudder_analytics, "write_key", website[1])
    monkeypatch.setattr(rudder_analytics, "dataPlaneUrl", live_url)
    monkeypatch.setattr(rudder_analytics, "on_error", rudder_wire.on_error)
    monkeypatch.setattr(rudder_analytics, "max_retries", 0)
    yield rudder_analytics
    if rudder_analytics.default_client is not None:
        rudder_analytics.shutdown()


def _events(session: Session) -> list[Event]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Event).order_by(Event.id)))


def _quarantined(session: Session) -> list[QuarantinedEvent]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(QuarantinedEvent).order_by(QuarantinedEvent.id)))


def _send_the_six_calls(sdk: Any, *, user_id: str) -> None:
    """identify, track (an e-commerce order), page, screen, group and alias, as a shop's backend sends them."""
    sdk.identify(user_id, TRAITS)
    sdk.track(user_id, "Order Completed", ORDER, context={"ip": "113.161.12.34", "locale": "vi-VN"})
    sdk.track(anonymous_id="anon-7f3a", event="Product Viewed",
              properties={"product_id": "SP-101", "name": "Áo dài lụa tơ tằm", "price": 950_000})
    sdk.page(user_id, category="Cửa hàng", name="Trang chủ",
             properties={"url": "https://xuyen.vn/", "title": "Xuyên – Trang chủ"})
    sdk.screen(user_id, name="Giỏ hàng", properties={"items": 3})
    sdk.group(user_id, "cong-ty-tnhh-an-phat", {"name": "Công ty TNHH An Phát", "industry": "Bán lẻ"})
    sdk.alias("anon-7f3a", user_id)


def _assert_timestamps(event: Event, *, before: datetime, after: datetime) -> None:
    """Segment's four timestamps are set, in order, and ``timestamp`` is corrected for clock skew."""
    assert event.original_timestamp is not None and event.sent_at is not None
    # the SDKs write the call's time with milliseconds (Segment) or microseconds (RudderStack)
    assert before - timedelta(milliseconds=1) <= event.original_timestamp <= event.sent_at
    assert event.sent_at <= event.received_at <= after
    assert event.timestamp == event.received_at - (event.sent_at - event.original_timestamp)
    assert event.original_timestamp <= event.timestamp <= event.received_at  # one clock: skew is zero or less


def _assert_the_six_calls_stored(events: list[Event], source: Source, *, library: dict[str, str],
                                 user_id: str, before: datetime, after: datetime) -> None:
    assert [(e.type, e.event or e.name) for e in events] == [
        (EventType.identify, None),
        (EventType.track, "Order Completed"),
        (EventType.track, "Product Viewed"),
        (EventType.page, "Trang chủ"),
        (EventType.screen, "Giỏ hàng"),
        (EventType.group, None),
        (EventType.alias, None),
    ]
    identify, order, viewed, page, screen, group, alias = events
    assert identify.user_id == user_id and identify.traits == TRAITS
    assert order.user_id == user_id and order.anonymous_id is None
    assert order.properties == ORDER
    assert order.context["ip"] == "113.161.12.34" and order.context["locale"] == "vi-VN"
    assert viewed.anonymous_id == "anon-7f3a" and viewed.user_id is None
    assert viewed.properties["name"] == "Áo dài lụa tơ tằm"
    assert page.properties == {"url": "https://xuyen.vn/", "title": "Xuyên – Trang chủ"}
    assert screen.properties == {"items": 3}
    assert group.group_id == "cong-ty-tnhh-an-phat"
    assert group.traits == {"name": "Công ty TNHH An Phát", "industry": "Bán lẻ"}
    assert (alias.previous_id, alias.user_id) == ("anon-7f3a", user_id)
    for event in events:
        assert event.source_id == source.id and event.channel == "web"
        assert event.context["library"] == library
        _assert_timestamps(event, before=before, after=after)
    message_ids = [event.message_id for event in events]
    assert len(set(message_ids)) == len(message_ids)
    assert all(uuid.UUID(message_id) for message_id in message_ids)  # the SDKs' own ids, kept as sent


def test_segment_sdk_sends_every_call_type_and_they_are_stored(
    segment: SegmentClient, segment_wire: Wire, website: tuple[Source, str], session: Session
) -> None:
    before = utcnow()
    _send_the_six_calls(segment, user_id="KH-1001")
    segment.flush()
    after = utcnow()

    segment_wire.assert_all_accepted()
    assert all(r.url.endswith("/v1/batch") for r in segment_wire.requests)
    events = _events(session)
    _assert_the_six_calls_stored(events, website[0], library={"name": "analytics-python", "version": SEGMENT_VERSION},
                                 user_id="KH-1001", before=before, after=after)
    assert [e.message_id for e in events] == [item["messageId"] for item in segment_wire.batch_items()]
    assert _quarantined(session) == []


def test_segment_sdk_in_sync_mode_sends_one_call_per_request(
    live_url: str, website: tuple[Source, str], segment_wire: Wire, session: Session
) -> None:
    client = SegmentClient(website[1], host=live_url, sync_mode=True, gzip=True)
    client.track("KH-1002", "Checkout Started", {"order_id": "DH-7", "value": 450_000, "currency": "VND"})
    client.track("KH-1002", "Order Completed", {"order_id": "DH-7", "total": 450_000, "currency": "VND"})

    segment_wire.assert_all_accepted()
    assert len(segment_wire.requests) == 2
    assert all(r.headers["Content-Encoding"] == "gzip" and isinstance(r.body, bytes)
               and r.body.startswith(GZIP_MAGIC) for r in segment_wire.requests)
    assert [(e.event, e.properties["order_id"]) for e in _events(session)] == [
        ("Checkout Started", "DH-7"), ("Order Completed", "DH-7")]


def test_segment_sdk_retrying_a_message_id_stores_it_once(
    segment: SegmentClient, segment_wire: Wire, session: Session
) -> None:
    for _ in range(2):  # two separate requests, as a retry after a lost answer would be
        segment.track("KH-1003", "Order Completed", {"order_id": "DH-42", "total": 99_000},
                      message_id="don-hang-DH-42")
        segment.flush()
    segment.track("KH-1003", "Order Refunded", {"order_id": "DH-42"}, message_id="hoan-tien-DH-42")
    segment.track("KH-1003", "Order Refunded", {"order_id": "DH-42"}, message_id="hoan-tien-DH-42")
    segment.flush()  # the same id twice within one batch

    segment_wire.assert_all_accepted()
    assert len(segment_wire.batch_items()) == 4
    assert [(e.message_id, e.event) for e in _events(session)] == [
        ("don-hang-DH-42", "Order Completed"), ("hoan-tien-DH-42", "Order Refunded")]


def test_segment_sdk_invalid_call_is_quarantined_and_answered_200(
    segment: SegmentClient, segment_wire: Wire, website: tuple[Source, str], session: Session
) -> None:
    segment.track("KH-1004", "", {"note": "an empty event name passes the SDK's own checks"})
    segment.track("KH-1004", "Product Added", {"product_id": "SP-101", "quantity": 1})
    segment.flush()

    segment_wire.assert_all_accepted()  # the SDK saw no error: it would have dropped the whole batch
    assert [e.event for e in _events(session)] == ["Product Added"]
    [quarantined] = _quarantined(session)
    assert quarantined.source_id == website[0].id
    assert quarantined.reason == "missing_event"
    assert quarantined.position == 0
    assert quarantined.payload is not None and quarantined.payload["userId"] == "KH-1004"
    assert quarantined.payload["properties"] == {"note": "an empty event name passes the SDK's own checks"}
    assert quarantined.request_id


def test_rudderstack_sdk_sends_every_call_type_gzipped_and_they_are_stored(
    rudder: Any, rudder_wire: Wire, website: tuple[Source, str], session: Session
) -> None:
    assert rudder.gzip is True  # RudderStack's default: bodies are sent with Content-Encoding: gzip
    before = utcnow()
    _send_the_six_calls(rudder, user_id="KH-2001")
    rudder.flush()
    after = utcnow()

    assert rudder.default_client.host == rudder.dataPlaneUrl and rudder.default_client.gzip is True
    rudder_wire.assert_all_accepted()
    for request in rudder_wire.requests:  # the gzip path was really taken, with the key as Basic user name
        assert request.headers["Content-Encoding"] == "gzip"
        assert isinstance(request.body, bytes) and request.body.startswith(GZIP_MAGIC)
        assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{website[1]}:".encode()).decode()
    events = _events(session)
    _assert_the_six_calls_stored(events, website[0], library={"name": "analytics-python", "version": RUDDER_VERSION},
                                 user_id="KH-2001", before=before, after=after)
    assert events[0].context["traits"] == TRAITS  # RudderStack sends identify traits in context.traits only
    assert all(e.integrations == {"All": True} for e in events)
    assert [e.message_id for e in events] == [item["messageId"] for item in rudder_wire.batch_items()]
    assert _quarantined(session) == []


def test_rudderstack_sdk_retrying_a_message_id_stores_it_once(
    rudder: Any, rudder_wire: Wire, session: Session
) -> None:
    for _ in range(2):
        rudder.track("KH-2002", "Order Completed", {"order_id": "DH-77", "total": 2_000_000},
                     message_id="don-hang-DH-77")
        rudder.flush()

    rudder_wire.assert_all_accepted()
    assert len(rudder_wire.requests) == 2
    [event] = _events(session)
    assert (event.message_id, event.event, event.properties["total"]) == ("don-hang-DH-77", "Order Completed",
                                                                          2_000_000)


def test_rudderstack_sdk_invalid_call_is_quarantined_and_answered_200(
    rudder: Any, rudder_wire: Wire, session: Session
) -> None:
    rudder.track("KH-2003", "", {"cart_id": "GH-5"})
    rudder.page("KH-2003", name="Thanh toán", properties={"url": "https://xuyen.vn/thanh-toan"})
    rudder.flush()

    rudder_wire.assert_all_accepted()
    assert [(e.type, e.name) for e in _events(session)] == [(EventType.page, "Thanh toán")]
    assert [(q.position, q.reason) for q in _quarantined(session)] == [(0, "missing_event")]


def test_a_batch_mixing_valid_and_invalid_calls_posted_like_the_sdks_is_answered_200(
    live_url: str, website: tuple[Source, str], session: Session
) -> None:
    source, key = website
    library = {"name": "analytics-python", "version": RUDDER_VERSION}
    now = utcnow().isoformat()
    batch = [
        {"type": "track", "userId": "KH-3001", "event": "Cart Viewed", "messageId": "m-1", "timestamp": now,
         "properties": {"cart_id": "GH-9"}},
        {"type": "track", "userId": "KH-3001", "messageId": "m-2", "timestamp": now},  # no event name
        {"type": "identify", "messageId": "m-3", "traits": {"name": "Khách lạ"}},  # neither userId nor anonymousId
        {"type": "group", "anonymousId": "anon-1", "messageId": "m-4"},  # no groupId
        {"type": "checkout", "userId": "KH-3001", "messageId": "m-5"},  # not a Segment call type
        {"type": "page", "userId": "KH-3001", "messageId": "m-6", "timestamp": "hôm qua"},  # unreadable time
        {"type": "page", "userId": "KH-3001", "name": "Khuyến mãi", "messageId": "m-7", "timestamp": now},
    ]
    body = {"batch": batch, "context": {"library": library}, "sentAt": utcnow().isoformat()}
    response = call("POST", f"{live_url}/v1/batch", content=gzip.compress(json.dumps(body).encode()),
                          headers={"Content-Type": "application/json", "Content-Encoding": "gzip",
                                   "User-Agent": f"analytics-python/{RUDDER_VERSION}"},
                          auth=(key, ""))

    assert response.status_code == 200
    assert response.json() == {"success": True}
    events = _events(session)
    assert [(e.message_id, e.event or e.name) for e in events] == [("m-1", "Cart Viewed"), ("m-7", "Khuyến mãi")]
    assert all(e.context["library"] == library for e in events)  # the batch's context, merged into each call
    quarantined = _quarantined(session)
    assert [(q.position, q.reason) for q in quarantined] == [
        (1, "missing_event"), (2, "missing_id"), (3, "missing_group_id"), (4, "bad_type"), (5, "bad_timestamp")]
    assert all(q.source_id == source.id and q.detail for q in quarantined)
    assert {q.request_id for q in quarantined} == {response.headers["X-Request-ID"]}
    assert [q.payload["messageId"] for q in quarantined if q.payload] == ["m-2", "m-3", "m-4", "m-5", "m-6"]
