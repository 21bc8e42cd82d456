"""The journeys and campaigns dashboard on small known results: two journeys published through the journeys
service, their enrolments and messages as the engine records them, in the week of Monday 2 March 2026.

    Giỏ hàng (event)      in the week: 6 treated (3 converted, 100,000 ₫ each), 4 held out (1 converted);
                          e-mail sends: 6 sent, 5 delivered, 3 opened, 2 clicked, 1 converted (100,000 ₫)
                          after the week: 1 treated enrolment (converted) and 1 e-mail
    Tháng 3 (broadcast)   4 treated, 1 converted (200,000 ₫), no holdout; SMS: 4 sent, 4 delivered
    a draft never published is not shown.

Giỏ hàng converts 3/6 = 50 % against 1/4 = 25 % held out: lift (0.5 - 0.25) / 0.25 = 100 %.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tests import api_client
from tests.api_client import Browser
from xuyen.analytics import filters, journeys
from xuyen.identity.models import Profile
from xuyen.journeys.flows import service
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, Journey, JourneySend, JourneyVersion
from xuyen.journeys.flows.results import channel_stats, journey_results
from xuyen.segments.service import create_segment

agent, manager = api_client.agent, api_client.manager
VN = ZoneInfo("Asia/Ho_Chi_Minh")
ACTOR = "user:1 quanly@shop.vn"
WEEK = filters.parse(first="2026-03-02", last="2026-03-08", timezone="Asia/Ho_Chi_Minh")
_keys = itertools.count(1)


def _at(day: int) -> datetime:
    return datetime(2026, 3, day, 10, tzinfo=VN)


def _journey(session: Session, name: str, trigger: dict[str, object]) -> Journey:
    definition = {"trigger": trigger, "settings": {"entry": "once"}, "start": "a", "nodes": {"a": {"type": "exit"}}}
    journey = service.create_journey(session, name=name, actor=ACTOR, definition=definition)
    service.publish(session, journey_id=journey.id, actor=ACTOR)
    return journey


def _enrol(session: Session, journey: Journey, day: int, *, holdout: bool = False, revenue: int | None = None,
           send: dict[str, object] | None = None) -> None:
    version_id = session.query(JourneyVersion.id).filter(JourneyVersion.journey_id == journey.id).scalar()
    profile = Profile(first_seen_at=_at(day), last_seen_at=_at(day))
    session.add(profile)
    session.flush()
    enrolment = Enrolment(journey_id=journey.id, version_id=version_id, profile_id=profile.id,
                          entry_key=f"test-{next(_keys)}", holdout=holdout, entered_at=_at(day),
                          status=EnrolmentStatus.holdout if holdout else EnrolmentStatus.completed,
                          converted_at=_at(day) if revenue is not None else None, revenue=revenue or 0)
    session.add(enrolment)
    session.flush()
    if send is not None:
        session.add(JourneySend(enrolment_id=enrolment.id, journey_id=journey.id, node="a", profile_id=profile.id,
                                idempotency_key=f"send-{next(_keys)}", sent_at=_at(day), **send))


def build(session: Session) -> tuple[int, int]:
    """The known journeys, committed; (cart journey id, broadcast id)."""
    cart = _journey(session, "Giỏ hàng", {"type": "event", "event": "Checkout Started", "where": {}})
    segment = create_segment(session, name="Khách thân", definition={"all": [{"did": "Product Added", "days": 7}]},
                             actor=ACTOR)
    march = _journey(session, "Tháng 3", {"type": "broadcast", "segment_id": segment.id})
    service.create_journey(session, name="Nháp", actor=ACTOR, definition={
        "trigger": {"type": "event", "event": "Signed Up", "where": {}}, "settings": {"entry": "once"}, "start": "a",
        "nodes": {"a": {"type": "exit"}}})
    email = [dict(channel="email", status="delivered", delivered_at=_at(2), opened_at=_at(2), clicked_at=_at(2),
                  converted_at=_at(2), revenue=100_000),
             dict(channel="email", status="delivered", delivered_at=_at(2), opened_at=_at(2), clicked_at=_at(2)),
             dict(channel="email", status="delivered", delivered_at=_at(2), opened_at=_at(2)),
             dict(channel="email", status="delivered", delivered_at=_at(2)),
             dict(channel="email", status="delivered", delivered_at=_at(2)),
             dict(channel="email", status="failed")]
    for index, send in enumerate(email):
        _enrol(session, cart, 2 + index % 3, revenue=100_000 if index < 3 else None, send=send)
    for index in range(4):
        _enrol(session, cart, 4, holdout=True, revenue=50_000 if index == 0 else None)
    _enrol(session, cart, 10, revenue=70_000, send=dict(channel="email", status="sent"))
    for index in range(4):
        _enrol(session, march, 5, revenue=200_000 if index == 0 else None,
               send=dict(channel="sms", status="delivered", delivered_at=_at(5)))
    session.commit()
    return cart.id, march.id


def test_each_journey_shows_its_results_and_lift_for_the_period(session: Session) -> None:
    _cart_id, _march_id = build(session)
    rows = {row.name: row for row in journeys.journey_rows(session, filters=WEEK)}
    assert list(rows) == ["Giỏ hàng", "Tháng 3"]
    cart = rows["Giỏ hàng"]
    assert (cart.results.enrolled, cart.results.holdout, cart.results.treated_converted) == (10, 4, 3)
    assert (cart.results.holdout_converted, cart.results.revenue) == (1, 300_000)
    assert cart.results.treatment_conversion_rate == 0.5 and cart.results.lift == 1.0
    assert cart.sends == journeys.Sends(sent=6, delivered=5, opened=3, clicked=2, converted=1, revenue=100_000)
    march = rows["Tháng 3"]
    assert march.broadcast and not cart.broadcast
    assert march.results.treatment_conversion_rate == 0.25 and march.results.lift is None
    assert journeys.channel_sends(session, filters=WEEK) == {
        "email": journeys.Sends(6, 5, 3, 2, 1, 100_000), "sms": journeys.Sends(4, 4, 0, 0, 0, 0)}


def test_over_the_whole_history_the_figures_are_the_journeys_own(session: Session) -> None:
    cart_id, _march = build(session)
    always = filters.parse(first="2026-01-01", last="2026-12-31", timezone="Asia/Ho_Chi_Minh")
    cart = next(row for row in journeys.journey_rows(session, filters=always) if row.journey_id == cart_id)
    assert cart.results == journey_results(session, journey_id=cart_id)
    own = channel_stats(session, journey_id=cart_id)["email"]
    assert (cart.sends.sent, cart.sends.delivered, cart.sends.converted) == (own["sent"], own["delivered"],
                                                                             own["converted"])


def test_the_page_draws_lift_and_sends_and_the_table_downloads(session: Session, manager: Browser) -> None:
    build(session)
    page = manager.client.get("/analytics/journeys?from=2026-03-02&to=2026-03-08")
    assert page.status_code == 200
    assert 'data-label="Giỏ hàng" data-value="100.0"' in page.text  # lift 100 %
    assert 'data-label="Tháng 3" data-value="25.0"' in page.text  # conversion of the treated
    assert 'data-label="SMS" data-value="4"' in page.text
    answer = manager.client.get("/analytics/journeys/export/journeys.csv?from=2026-03-02&to=2026-03-08")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[1] == ["Giỏ hàng", "Không", "10", "4", "6", "5", "3", "2", "3", "300000", "0.5", "0.25", "1.0"]
    assert manager.client.get("/analytics/journeys?to=nope").status_code == 422


def test_agents_may_not_look(agent: Browser) -> None:
    assert agent.client.get("/analytics/journeys").status_code == 403
