"""Building an order from what was asked: lines, payments, and the share of a line's price each unit carries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xuyen.commerce.orders.building import LineIn, PaymentIn, merged_lines, planned_payments
from xuyen.commerce.orders.models import OrderLine, PaymentMethod
from xuyen.commerce.orders.returns import paid_for
from xuyen.errors import ValidationFailed

M = PaymentMethod


def test_lines_of_the_same_sku_are_added_up() -> None:
    assert merged_lines([LineIn("AO-DEN-M", 1), LineIn(" AO-DEN-M ", 2), LineIn("QUAN-S", 1)]) == [
        ("AO-DEN-M", 3), ("QUAN-S", 1)]


@pytest.mark.parametrize(("lines", "code"), [
    ([], "no_lines"), ([LineIn("A", 0)], "invalid_quantity"), ([LineIn("A", -2)], "invalid_quantity"),
    ([LineIn("", 1)], "invalid_line"), ([LineIn("A", 600), LineIn("A", 600)], "invalid_quantity"),
    ([LineIn(f"S{i}", 1) for i in range(101)], "too_many_lines"),
])
def test_bad_lines_are_refused(lines: list[LineIn], code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        merged_lines(lines)
    assert refused.value.code == code


def test_one_payment_without_amount_takes_the_rest() -> None:
    planned = planned_payments([PaymentIn(M.stored_value, 50_000), PaymentIn(M.vnpay)], total=350_000)
    assert [(p.method, p.amount) for p in planned] == [(M.stored_value, 50_000), (M.vnpay, 300_000)]


@pytest.mark.parametrize(("payments", "code"), [
    ([], "no_payment"), ([PaymentIn(M.cash, 100_000)], "payment_mismatch"),
    ([PaymentIn(M.card, 400_000)], "payment_mismatch"), ([PaymentIn(M.cod), PaymentIn(M.momo)], "invalid_payment"),
    ([PaymentIn(M.points, 1), PaymentIn(M.points, 2), PaymentIn(M.cod)], "invalid_payment"),
    ([PaymentIn(M.exchange, 350_000)], "invalid_payment"), ([PaymentIn(M.cash, -5)], "invalid_amount"),
])
def test_payments_that_do_not_pay_the_total_are_refused(payments: list[PaymentIn], code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        planned_payments(payments, total=350_000)
    assert refused.value.code == code


def test_cash_at_the_till_may_be_more_than_the_total() -> None:
    planned = planned_payments([PaymentIn(M.cash, 500_000)], total=350_000, allow_change=True)
    assert [(p.method, p.amount) for p in planned] == [(M.cash, 500_000)]
    with pytest.raises(ValidationFailed):
        planned_payments([PaymentIn(M.card, 500_000)], total=350_000, allow_change=True)


@given(total=st.integers(min_value=0, max_value=50_000_000), quantity=st.integers(min_value=1, max_value=999),
       cuts=st.lists(st.integers(min_value=1, max_value=999), max_size=10))
def test_returning_a_line_unit_by_unit_gives_back_exactly_what_was_paid(total: int, quantity: int,
                                                                       cuts: list[int]) -> None:
    line = OrderLine(total=total, quantity=quantity)
    returned, refunded = 0, 0
    for cut in [*cuts, quantity]:
        take = min(cut, quantity - returned)
        refunded += paid_for(line, returned + take) - paid_for(line, returned)
        returned += take
        assert 0 <= refunded <= total
    assert refunded == total
