"""The demo's segments: Vietnamese segments over the demo customers, each with the members its rule gives."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.demo.segments import SEGMENTS
from xuyen.demo.service import load_demo, load_steps
from xuyen.segments.compile import members_query
from xuyen.segments.models import Segment, SegmentMember
from xuyen.segments.rules import parse_rule


def test_the_demo_segments_hold_the_members_their_rules_give(session: Session) -> None:
    load_demo(session, seed=2026)
    session.rollback()
    segments = {segment.name: segment for segment in session.scalars(select(Segment))}
    assert {name for name, _description, _definition in SEGMENTS} <= set(segments)  # and the journeys' own
    near = segments["Khách gần cửa hàng Hàng Gai 3 km"]
    assert near.member_count > 0
    for segment in segments.values():
        held = set(session.scalars(select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment.id)))
        assert len(held) == segment.member_count
        assert held == set(session.scalars(members_query(session, rule=parse_rule(segment.definition),
                                                         now=utcnow())))
    assert sum(segment.member_count for segment in segments.values()) > near.member_count
    assert "phân khúc" in [step.name for step in load_steps()]
