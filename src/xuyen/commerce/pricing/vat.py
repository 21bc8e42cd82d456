"""VAT as a Vietnamese invoice shows it: prices include VAT, each line is split into its amount before tax and the
tax, and the invoice totals the lines per rate.

A line's amount before tax is its VAT-inclusive total divided by (1 + rate), rounded half up to a whole minor unit;
its VAT is the rest, so before-tax amount + VAT is exactly what the customer pays. The totals per rate are the sums
of their lines. A tax class's rate on a date is the rate in force on that date in Vietnam (see ``VatRate``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from xuyen.commerce.pricing.allocation import divide_half_up


@dataclass(frozen=True)
class RatePeriod:
    """A tax class's rate (basis points; None: not subject to VAT) from ``valid_from`` to ``valid_until``
    (both included; None: open-ended)."""

    tax_class: str
    rate_bp: int | None
    valid_from: date
    valid_until: date | None = None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class RateUnknown(LookupError):
    """No rate is in force for a tax class on a date."""


def rate_on(periods: Iterable[RatePeriod], *, tax_class: str, day: date) -> int | None:
    """The rate in force for ``tax_class`` on ``day``: of the periods covering it, the one that began last."""
    covering = [period for period in periods if period.tax_class == tax_class and period.covers(day)]
    if not covering:
        raise RateUnknown(f"no VAT rate is in force for tax class {tax_class!r} on {day.isoformat()}")
    return max(covering, key=lambda period: period.valid_from).rate_bp


@lru_cache(maxsize=1024)  # a handful of rates; Decimals are immutable, so one may be shared
def percent(basis_points: int | None) -> Decimal | None:
    """Basis points as a percentage without trailing zeros (800 → 8, 1050 → 10.5); None stays None."""
    if basis_points is None:
        return None
    value = Decimal(basis_points) / 100
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def split(total: int, rate_bp: int | None) -> tuple[int, int]:
    """A VAT-inclusive ``total`` as (amount before tax, VAT)."""
    if not rate_bp:
        return total, 0
    net = divide_half_up(total * 10_000, 10_000 + rate_bp)
    return net, total - net


@dataclass(frozen=True)
class RateTotal:
    """One rate's line on the invoice: the amounts before tax and the VAT of the lines at that rate."""

    rate_bp: int | None
    net: int
    vat: int


def totals_per_rate(lines: Sequence[tuple[int | None, int, int]]) -> list[RateTotal]:
    """The totals per rate of lines given as (rate, net, vat): highest rate first, not-subject-to-VAT last."""
    sums: dict[int | None, list[int]] = {}
    for rate_bp, net, vat in lines:
        entry = sums.setdefault(rate_bp, [0, 0])
        entry[0] += net
        entry[1] += vat
    order = sorted(sums, key=lambda rate: (rate is None, -(rate or 0)))
    return [RateTotal(rate_bp=rate, net=sums[rate][0], vat=sums[rate][1]) for rate in order]
