"""The order state machine: the moves it allows, the ones it refuses, and how it explains a refusal."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xuyen.commerce.orders.models import OrderStatus
from xuyen.commerce.orders.states import FINAL, STAGE, TRANSITIONS, can_move, check_move
from xuyen.errors import Conflict

S = OrderStatus


def test_the_happy_roads() -> None:
    shipped = [S.pending_payment, S.placed, S.fulfilling, S.shipped, S.completed]
    pickup = [S.placed, S.fulfilling, S.ready_for_pickup, S.completed]
    for road in (shipped, pickup):
        assert all(can_move(a, b) for a, b in pairwise(road))


@pytest.mark.parametrize(("current", "target"), [
    (S.shipped, S.cancelled), (S.completed, S.placed), (S.cancelled, S.placed), (S.pending_payment, S.shipped),
    (S.ready_for_pickup, S.shipped), (S.completed, S.cancelled),
])
def test_illegal_moves_are_refused_with_what_is_possible(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(Conflict) as refused:
        check_move(current, target, number="WEB-000001")
    assert refused.value.code == "illegal_transition"
    assert "WEB-000001" in refused.value.message
    assert refused.value.details["allowed"] == sorted(TRANSITIONS[current])


@given(st.sampled_from(list(S)), st.sampled_from(list(S)))
def test_no_move_goes_back_a_stage_or_leaves_a_final_status(current: OrderStatus, target: OrderStatus) -> None:
    if can_move(current, target):
        assert current not in FINAL
        assert STAGE[target] >= STAGE[current]
