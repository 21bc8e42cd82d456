"""Membership: saving a segment computes its members, a refresh writes who entered and who left as outbox events,
new events move only the customers they name at once, and a merged-away profile leaves its segments."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.segments.conftest import outbox, run_worker, track
from xuyen.clock import utcnow
from xuyen.events.models import Event
from xuyen.fields import service as fields
from xuyen.fields.customers import set_customer_values
from xuyen.identity.graph import merge
from xuyen.jobs import handler_for, periodic_specs
from xuyen.segments import service
from xuyen.segments.handlers import REFRESH_ALL_JOB
from xuyen.segments.models import Segment, SegmentMember

CART = {"all": [{"did": "Product Added", "days": 7}]}


def _member_ids(session: Session, segment_id: int) -> list[int]:
    session.rollback()
    return list(session.scalars(select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment_id)
                                .order_by(SegmentMember.profile_id)))


def test_saving_computes_members_and_announces_each_entry(session: Session, engine: Engine) -> None:
    lan = track(session, phone="0912000001", event="Product Added")
    track(session, phone="0912000002", event="Page Viewed")
    run_worker(session, engine)
    segment = service.create_segment(session, name="Đã bỏ giỏ hàng 7 ngày qua", definition=CART, actor="user:1")
    assert _member_ids(session, segment.id) == [lan]
    assert session.get(Segment, segment.id).member_count == 1  # type: ignore[union-attr]
    assert outbox(session) == [("segment.entered", segment.id, lan)]
    [logged] = session.scalars(select(Event).where(Event.event == "Segment Entered")).all()
    assert (logged.profile_id, logged.properties) == (lan, {"segment_id": segment.id,
                                                            "segment_name": "Đã bỏ giỏ hàng 7 ngày qua"})
    run_worker(session, engine)  # its own track event moves no one
    # A refresh that finds nothing new writes nothing.
    assert service.refresh_segment(session, segment_id=segment.id) == service.Change(entered=[], exited=[])
    assert len(outbox(session)) == 1


def test_a_refresh_writes_exits_when_time_moves_a_customer_out(session: Session, engine: Engine) -> None:
    lan = track(session, phone="0912000001", event="Product Added", at=utcnow() - timedelta(days=6, hours=23))
    run_worker(session, engine)
    segment = service.create_segment(session, name="Giỏ hàng", definition=CART, actor="user:1")
    assert _member_ids(session, segment.id) == [lan]
    service.update_segment(session, segment_id=segment.id, actor="user:1",
                           definition={"all": [{"did": "Product Added", "days": 1}]})
    assert _member_ids(session, segment.id) == []
    assert outbox(session) == [("segment.entered", segment.id, lan), ("segment.exited", segment.id, lan)]


def test_new_events_move_the_customers_they_name_at_once(session: Session, engine: Engine) -> None:
    segment = service.create_segment(session, name="Giỏ hàng", definition=CART, actor="user:1")
    other = service.create_segment(session, name="Mua 2 lần", actor="user:1",
                                   definition={"all": [{"did": "Order Completed", "times": 2, "days": 30}]})
    assert _member_ids(session, segment.id) == []
    lan = track(session, phone="0912000001", event="Product Added")
    track(session, phone="0912000002", event="Order Completed")
    run_worker(session, engine)
    assert _member_ids(session, segment.id) == [lan]
    assert _member_ids(session, other.id) == []
    assert outbox(session) == [("segment.entered", segment.id, lan)]


def test_a_merged_away_profile_leaves_and_the_survivor_takes_its_history(session: Session, engine: Engine) -> None:
    lan = track(session, phone="0912000001", event="Product Added")
    lan_again = track(session, phone="0912000009", event="Page Viewed")
    run_worker(session, engine)
    segment = service.create_segment(session, name="Giỏ hàng", definition=CART, actor="user:1")
    assert _member_ids(session, segment.id) == [lan]
    merge(session, survivor_id=lan_again, absorbed_id=lan, actor="user:1", reason="cùng một người")
    session.commit()
    run_worker(session, engine)
    assert _member_ids(session, segment.id) == [lan_again]
    assert outbox(session)[1:] == [("segment.entered", segment.id, lan_again), ("segment.exited", segment.id, lan)]
    logged = session.execute(select(Event.event, Event.profile_id).where(Event.event.like("Segment %"))
                             .order_by(Event.id)).all()
    assert logged[-1] == ("Segment Entered", lan_again)  # the absorbed profile's exit is in the outbox only


def test_the_hourly_refresh_is_registered_and_refreshes_every_segment(session: Session, engine: Engine) -> None:
    assert [spec.every for spec in periodic_specs() if spec.name == REFRESH_ALL_JOB] == [timedelta(hours=1)]
    segment = service.create_segment(session, name="Giỏ hàng", definition=CART, actor="user:1")
    lan = track(session, phone="0912000001", event="Product Added")
    run_worker(session, engine)
    session.execute(SegmentMember.__table__.delete())  # as if the event's reaction had not run yet
    session.commit()
    spec = handler_for(REFRESH_ALL_JOB)
    assert spec is not None
    spec.func(session, {})
    assert _member_ids(session, segment.id) == [lan]
    assert session.get(Segment, segment.id).refreshed_at is not None  # type: ignore[union-attr]


def test_a_custom_field_change_moves_the_customer_at_once(session: Session, engine: Engine) -> None:
    lan = track(session, phone="0912000001", event="Page Viewed")
    run_worker(session, engine)
    fields.define_field(session, entity="customer", label_vi="Size áo", key="size", kind="choice",
                        options=[fields.OptionSpec("s", "S"), fields.OptionSpec("m", "M")], actor="user:1")
    segment = service.create_segment(session, name="Size M", actor="user:1",
                                     definition={"all": [{"field": "size", "op": "equals", "value": "m"}]})
    assert _member_ids(session, segment.id) == []
    set_customer_values(session, profile_id=lan, values={"size": "m"}, form=False, actor="user:1")
    run_worker(session, engine)
    assert _member_ids(session, segment.id) == [lan]
    set_customer_values(session, profile_id=lan, values={"size": "s"}, form=False, actor="user:1")
    run_worker(session, engine)
    assert _member_ids(session, segment.id) == []
    assert outbox(session) == [("segment.entered", segment.id, lan), ("segment.exited", segment.id, lan)]
