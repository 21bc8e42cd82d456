"""The pure rules: trait precedence, well-known traits, computed traits, consents, timeline cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xuyen.customers import computed, consents, traits
from xuyen.customers.timeline import TimelineItem, decode_cursor, encode_cursor
from xuyen.errors import BadRequest
from xuyen.events.profiles import ChannelActivity, ConsentEvent, OrderEvent

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PRECEDENCE = {"name": ["pos", "api"]}


def _obs(name: str, value: object, channel: str, hours: int, event_id: int = 0) -> traits.Observation:
    return traits.Observation(name=name, value=value, source_id=hash(channel) % 100, channel=channel,
                              at=T0 + timedelta(hours=hours), event_id=event_id or hours)


def test_the_best_ranked_channel_wins_then_the_newest() -> None:
    found = [_obs("name", "Nguyễn Thị Hoa", "pos", 1), _obs("name", "h***a", "shopee", 5),
             _obs("email", "a@x.vn", "pos", 1), _obs("email", "b@x.vn", "web", 3)]
    won = traits.winners(found, precedence=PRECEDENCE)
    assert won["name"].value == "Nguyễn Thị Hoa" and won["email"].value == "b@x.vn"
    later_api = traits.winners([*found, _obs("name", "Nguyễn Hoa", "api", 9)], precedence=PRECEDENCE)
    assert later_api["name"].channel == "pos"


def test_a_newer_null_from_the_winning_rank_clears_the_trait() -> None:
    found = [_obs("company", "Lụa Mây", "web", 1), _obs("company", None, "web", 2)]
    assert "company" not in traits.winners(found, precedence={})


@pytest.mark.parametrize(("sent", "expected"), [
    ({"name": "  Trần   Văn  An "}, "Trần Văn An"),
    ({"firstName": "An", "lastName": "Trần"}, "Trần An"),
    ({"first_name": "Hoa"}, "Hoa"),
    ({"username": "hoa.nguyen"}, "hoa.nguyen"),
    ({}, ""),
])
def test_display_names(sent: dict[str, str], expected: str) -> None:
    assert traits.display_name(sent) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("1990-05-12", date(1990, 5, 12)), ("12/05/1990", date(1990, 5, 12)), ("1990-05-12T00:00:00Z", date(1990, 5, 12)),
    ("31/02/1990", None), ("2999-01-01", None), ("soon", None), (19900512, None), (None, None),
])
def test_birthdays(raw: object, expected: date | None) -> None:
    assert traits.birth_date(raw) == expected


def test_genders_and_addresses() -> None:
    assert [traits.gender(word) for word in ("Nữ", "nam", "F", "khác", "?")] == ["female", "male", "female",
                                                                                   "other", ""]
    assert traits.address_text({"street": "12 Hàng Bông", "city": "Hà Nội", "country": "VN"}) == \
        "12 Hàng Bông, Hà Nội, VN"
    assert traits.address_text("  5  Lê Lợi ") == "5 Lê Lợi" and traits.address_text(42) == ""


def _order(event: str, order_id: str, total: object, hours: int, currency: str = "VND") -> OrderEvent:
    return OrderEvent(event_id=hours, event=event, channel="web", timestamp=T0 + timedelta(hours=hours),
                      properties={"order_id": order_id, "total": total, "currency": currency})


def test_order_totals_per_currency() -> None:
    orders = [_order("Order Completed", "1", 100_000, 1), _order("Order Completed", "2", "250000", 2),
              _order("Order Refunded", "2", None, 3),  # a refund without an amount refunds the whole order
              _order("Order Completed", "3", 19.99, 4, currency="usd"), _order("Order Completed", "4", "n/a", 5)]
    totals = computed.order_totals(orders, default_currency="VND")
    assert totals.orders == {"VND": 3, "USD": 1}
    assert {k: float(v) for k, v in totals.revenue.items()} == {"VND": 100_000.0, "USD": 19.99}
    assert totals.last_at == T0 + timedelta(hours=5)


def test_the_preferred_channel_is_the_busiest_lately_then_the_latest() -> None:
    activity = [ChannelActivity("web", 50, T0, T0 + timedelta(days=1)),
                ChannelActivity("zalo", 5, T0, T0 + timedelta(days=9)),
                ChannelActivity("pos", 5, T0, T0 + timedelta(days=3))]
    assert computed.preferred_channel({"zalo": 5, "pos": 5}, activity) == "zalo"
    assert computed.preferred_channel({}, activity) == "web"
    assert computed.preferred_channel({}, []) is None


def _consent_call(properties: dict[str, object], hours: int, context: dict[str, object] | None = None) -> ConsentEvent:
    return ConsentEvent(event_id=hours, message_id=f"m{hours}", source_id=1, channel="web",
                        timestamp=T0 + timedelta(hours=hours), properties=properties, context=context or {})


def test_consent_status_words_and_any_channel() -> None:
    calls = [_consent_call({"channel": "any", "purpose": "marketing", "status": "subscribed"}, 1),
             _consent_call({"channel": "SMS", "purpose": "Marketing", "status": "opted_out"}, 2),
             _consent_call({"channel": "zalo", "purpose": "care"}, 3)]  # says neither yes nor no: skipped
    states = {(s.channel, s.purpose): s.status for s in consents.current(calls, source_names={1: "Web"})}
    assert states[("sms", "marketing")] == "withdrawn"
    assert len(states) == len(consents.CHANNELS) and ("zalo", "care") not in states


def test_only_imported_marketing_grants_are_blocked_for_erased_people() -> None:
    calls = [_consent_call({"channel": "sms", "purpose": "marketing", "granted": True}, 1, {"import": {"id": 3}}),
             _consent_call({"channel": "sms", "purpose": "care", "granted": True}, 2, {"import": {"id": 3}}),
             _consent_call({"channel": "email", "purpose": "marketing", "granted": True}, 3)]
    blocked = consents.blocked_for_erased(consents.current(calls, source_names={}))
    assert {(s.channel, s.purpose): s.status for s in blocked} == {
        ("sms", "marketing"): "blocked_erased", ("sms", "care"): "granted", ("email", "marketing"): "granted"}


@given(st.datetimes(timezones=st.just(UTC)), st.sampled_from(["event", "message", "order"]),
       st.integers(min_value=0, max_value=2**63 - 1))
def test_cursors_round_trip(at: datetime, kind: str, seq: int) -> None:
    item = TimelineItem(at=at, kind=kind, seq=seq, channel=None, title="")
    assert decode_cursor(encode_cursor(item)) == (at, kind, seq)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", "WzEsMiwzXQ", "WyIyMDI2LTExLTAxIiwiZXZlbnQiLDFd"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor)
