"""Whole-unit arithmetic: rounding half up, and splitting an amount over lines so the parts add up exactly.

The allocation rule (largest remainder): each line first gets the whole part of its exact share ``amount × weight /
total weight``; the units left over go one each to the lines with the largest fractional parts, the earlier line
first on a tie. So every part is the exact share rounded down or up, the parts always add up to the amount, and a
line never gets more than its weight when the amount does not exceed the total weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def round_half_up(value: Fraction) -> int:
    """``value`` rounded to the nearest integer, halves away from zero."""
    return divide_half_up(value.numerator, value.denominator)


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (denominator > 0) rounded to the nearest integer, halves away from zero."""
    if numerator < 0:
        return -divide_half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount: int, basis_points: int) -> int:
    """``basis_points`` hundredths of a percent of ``amount``, rounded half up."""
    return divide_half_up(amount * basis_points, 10_000)


def _whole_weights(weights: Sequence[Fraction | int]) -> list[int]:
    """The weights scaled to whole numbers in the same proportions."""
    if all(isinstance(weight, int) for weight in weights):
        return list(weights)  # type: ignore[arg-type]
    scale = math.lcm(*(Fraction(weight).denominator for weight in weights))
    return [int(Fraction(weight) * scale) for weight in weights]


def allocate(amount: int, weights: Sequence[Fraction | int]) -> list[int]:
    """Split ``amount`` (≥ 0) over ``weights`` (≥ 0) in proportion, in whole units, by the largest remainder."""
    return allocate_whole(amount, _whole_weights(weights))


def allocate_whole(amount: int, whole: Sequence[int]) -> list[int]:
    """``allocate`` for weights that are whole numbers already (the promotions engine's remaining amounts)."""
    if amount < 0:
        raise ValueError("only a non-negative amount can be allocated")
    total = sum(whole)
    if amount == 0 or total == 0:
        if amount and total == 0:
            raise ValueError("an amount cannot be allocated over nothing")
        return [0] * len(whole)
    parts = []
    remainders = []
    for weight in whole:
        part, remainder = divmod(amount * weight, total)
        parts.append(part)
        remainders.append(remainder)
    left = amount - sum(parts)
    if left:
        # Largest remainder first; the sort is stable (also reversed), so on a tie the earlier line comes first.
        for index in sorted(range(len(whole)), key=remainders.__getitem__, reverse=True)[:left]:
            parts[index] += 1
    return parts
