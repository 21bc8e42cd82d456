"""Whatever sequence of goods in, reservations, releases, sales, counts, transfers and returns happens, the
levels equal the ledger, reserved equals the active reservations, and available is never negative."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.commerce.stock.checks import assert_consistent
from tests.commerce.stock.conftest import make_location, make_variants
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import moves, service
from xuyen.commerce.stock.models import LocationKind
from xuyen.commerce.stock.service import StockLine
from xuyen.errors import XuyenError

KINDS = ["receive", "receive", "reserve", "reserve", "release", "fulfil", "expire", "sell", "return", "adjust",
         "count", "transfer"]
operation = st.tuples(st.sampled_from(KINDS), st.integers(0, 2), st.integers(0, 2), st.integers(1, 6),
                      st.integers(0, 5))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=5, max_size=30))
def test_any_sequence_keeps_the_ledger_exact(session: Session, steps: list[tuple[str, int, int, int, int]]) -> None:
    world = _world(session)
    variants, places = world
    numbers = itertools.count()
    references: list[str] = []
    for kind, v, loc, quantity, pick in steps:
        variant_id, location_id = variants[v], places[loc]
        other = places[(loc + 1) % len(places)]
        lines = [StockLine(variant_id, quantity)]
        reference = f"R{id(steps)}-{next(numbers)}"
        earlier = references[pick % len(references)] if references else reference
        try:
            if kind == "receive":
                moves.receive(session, location_id=location_id, lines=lines, actor="t")
            elif kind == "reserve":
                service.reserve(session, reference=reference, lines=lines, channel=SalesChannel.web, actor="t",
                                expires_at=utcnow() - timedelta(seconds=1) if pick == 0 else None,
                                location_id=location_id if pick == 1 else None)
                references.append(reference)
            elif kind == "release":
                service.release(session, reference=earlier, actor="t", reason="cancel")
            elif kind == "fulfil":
                service.fulfil(session, reference=earlier, actor="t")
            elif kind == "expire":
                service.release_expired(session)
            elif kind == "sell":
                service.sell(session, reference=reference, lines=lines, location_id=location_id, actor="t")
            elif kind == "return":
                service.return_to_stock(session, reference=reference, lines=lines, location_id=location_id,
                                        actor="t", reason="back")
            elif kind == "adjust":
                moves.adjust(session, location_id=location_id, variant_id=variant_id,
                             delta=quantity if pick % 2 else -quantity, actor="t", reason="damaged")
            elif kind == "count":
                moves.count(session, location_id=location_id, variant_id=variant_id, counted=quantity + pick,
                            actor="t")
            else:
                moves.transfer(session, from_location_id=location_id, to_location_id=other, lines=lines, actor="t",
                               received=pick % 2 == 0)
            session.commit()
        except XuyenError:
            session.rollback()
    assert_consistent(session)


_worlds: dict[int, tuple[list[int], list[int]]] = {}


def _world(session: Session) -> tuple[list[int], list[int]]:
    """Three variants and three locations, made once per database of the test."""
    key = id(session)
    if key not in _worlds:
        variants = [variant.id for variant in make_variants(session, 3)]
        places = [make_location(session, kind=LocationKind.warehouse, priority=10).id,
                  make_location(session, kind=LocationKind.store, priority=50).id,
                  make_location(session, kind=LocationKind.store, priority=50, ships=False).id]
        _worlds[key] = (variants, places)
    return _worlds[key]
