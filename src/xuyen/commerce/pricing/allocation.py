"""Whole-unit arithmetic: rounding half up, and splitting an amount over lines so the parts add up exactly.

The allocation rule (largest remainder): each line first gets the whole part of its exact share ``amount × weight /
total weight``; the units left over go one each to the lines with the largest fractional parts, the earlier line
first on a tie. So every part is the exact share rounded down or up, the parts always add up to the amount, and a
line never gets more than its weight when the amount does not exceed the total weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def round_half_up(value: Fraction) -> int:
    """``value`` rounded to the nearest integer, halves away from zero."""
    if value < 0:
        return -round_half_up(-value)
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + (1 if 2 * rest >= value.denominator else 0)


def percent_of(amount: int, basis_points: int) -> int:
    """``basis_points`` hundredths of a percent of ``amount``, rounded half up."""
    return round_half_up(Fraction(amount * basis_points, 10_000))


def allocate(amount: int, weights: Sequence[Fraction | int]) -> list[int]:
    """Split ``amount`` (≥ 0) over ``weights`` (≥ 0) in proportion, in whole units, by the largest remainder."""
    total = sum((Fraction(weight) for weight in weights), Fraction(0))
    if amount < 0:
        raise ValueError("only a non-negative amount can be allocated")
    if amount == 0 or total == 0:
        if amount and total == 0:
            raise ValueError("an amount cannot be allocated over nothing")
        return [0] * len(weights)
    exact = [Fraction(amount) * Fraction(weight) / total for weight in weights]
    parts = [share.numerator // share.denominator for share in exact]
    left = amount - sum(parts)
    by_remainder = sorted(range(len(exact)), key=lambda index: (-(exact[index] - parts[index]), index))
    for index in by_remainder[:left]:
        parts[index] += 1
    return parts
