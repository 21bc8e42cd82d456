"""The value model on any transaction file (columns ``customer_id``, ``date``, ``amount``): fit on the transactions
up to the calibration end, predict the next days, and, when the file goes on after the calibration end, check the
predictions against what customers actually did (the holdout) and against the naive run-rate prediction."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from xuyen.analytics import clv
from xuyen.errors import XuyenError

REQUIRED = ("customer_id", "date", "amount")
MAX_ERRORS = 10
OUTPUT_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary", "expected_purchases", "probability_alive",
                  "predicted_value")
HOLDOUT_COLUMNS = ("actual_purchases", "actual_value")


class TransactionFileError(XuyenError):
    """The transaction file cannot be read: what is wrong and on which lines."""


@dataclass(frozen=True)
class Transaction:
    """One purchase of the file."""

    customer_id: str
    day: date
    amount: float


@dataclass(frozen=True)
class CustomerRow:
    """One customer's line of the output."""

    summary: clv.Summary
    expected_purchases: float
    probability_alive: float
    predicted_value: float
    actual_purchases: int | None = None
    actual_value: float | None = None


@dataclass(frozen=True)
class Validation:
    """The predictions against the holdout: mean absolute error per customer of the model and of the run rate."""

    customers: int
    model_error: float
    naive_error: float
    predicted_purchases: float
    naive_purchases: float
    actual_purchases: int
    predicted_value: float
    actual_value: float

    @property
    def ratio(self) -> float:
        """The model's error over the run rate's (below 1: the model does better); infinite when the run rate is
        exact."""
        return self.model_error / self.naive_error if self.naive_error else math.inf


@dataclass(frozen=True)
class Result:
    """The fit, each customer's line and the validation (None without transactions after the calibration end)."""

    purchases: clv.BgNbd
    spend: clv.GammaGamma | None
    spend_note: str
    rows: list[CustomerRow]
    validation: Validation | None


def read_transactions(source: Path | str) -> list[Transaction]:
    """The file's transactions; ``TransactionFileError`` naming the missing columns or the bad lines."""
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TransactionFileError(f"Cannot read {path}: {exc}", code="unreadable_file") from None
    return parse_transactions(text, name=str(path))


def parse_transactions(text: str, *, name: str = "the file") -> list[Transaction]:
    """The transactions of CSV ``text`` (header line first)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise TransactionFileError(f"{name} is empty: it needs a header line with {', '.join(REQUIRED)}.",
                                   code="empty_file")
    columns = [cell.strip().lower() for cell in header]
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise TransactionFileError(f"{name} has no column {', '.join(missing)} (it has {', '.join(columns)}).",
                                   code="missing_columns", details={"missing": missing})
    where = {column: columns.index(column) for column in REQUIRED}
    found: list[Transaction] = []
    errors: list[str] = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        try:
            found.append(_transaction(cells, where))
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        raise TransactionFileError(f"{name} has bad lines: " + "; ".join(errors[:MAX_ERRORS]) + more,
                                   code="bad_lines", details={"errors": errors[:MAX_ERRORS]})
    if not found:
        raise TransactionFileError(f"{name} has no transactions.", code="empty_file")
    return found


def _transaction(cells: Sequence[str], where: dict[str, int]) -> Transaction:
    def cell(column: str) -> str:
        index = where[column]
        return cells[index].strip() if index < len(cells) else ""

    customer_id = cell("customer_id")
    if not customer_id:
        raise ValueError("customer_id is empty")
    return Transaction(customer_id=customer_id, day=parse_day(cell("date")), amount=_amount(cell("amount")))


def parse_day(text: str) -> date:
    """A date written YYYY-MM-DD (a time after it is ignored)."""
    try:
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text[:40]!r} is not a date (write it as YYYY-MM-DD)") from None


def _amount(text: str) -> float:
    try:
        number = Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"amount {text[:40]!r} is not a number (write it like 125000 or 125000.50)") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"amount {text[:40]!r} must be a number of 0 or more (leave refunds out)")
    return float(number)


def evaluate(transactions: Sequence[Transaction], *, calibration_end: date, horizon_days: int) -> Result:
    """Fit on the transactions up to ``calibration_end`` (included), predict the ``horizon_days`` after it, and
    compare with the transactions of those days when the file has any after the calibration end."""
    summaries = clv.summarise(((t.customer_id, t.day, t.amount) for t in transactions),
                              calibration_end=calibration_end)
    if not summaries:
        raise TransactionFileError(f"No transaction falls on or before the calibration end {calibration_end}.",
                                   code="nothing_to_fit")
    purchases, _ = clv.fit_bgnbd(summaries)
    x = np.array([s.frequency for s in summaries], dtype=np.float64)
    t_x = np.array([s.recency for s in summaries], dtype=np.float64)
    age = np.array([s.T for s in summaries], dtype=np.float64)
    spend_params: clv.GammaGamma | None
    try:
        spend_params, _ = clv.fit_gamma_gamma(summaries)
        spend = clv.expected_spend(spend_params, x, np.array([s.monetary for s in summaries], dtype=np.float64))
        note = ""
    except clv.NotEnoughData as exc:
        spend_params = None
        spend = np.array([s.spend / (s.frequency + 1) for s in summaries], dtype=np.float64)
        note = f"Spend per purchase is each customer's own mean: {exc.message}"
    expected = clv.expected_purchases(purchases, horizon_days, x, t_x, age)
    alive = clv.probability_alive(purchases, x, t_x, age)
    value = clv.predicted_value(purchases, horizon_days=horizon_days, x=x, t_x=t_x, age=age, spend=spend)
    later = [t for t in transactions if t.day > calibration_end]
    actual = _holdout(later, calibration_end=calibration_end, horizon_days=horizon_days) if later else None
    rows = [CustomerRow(summary=s, expected_purchases=float(expected[i]), probability_alive=float(alive[i]),
                        predicted_value=float(value[i]),
                        actual_purchases=actual[0].get(s.customer_id, 0) if actual else None,
                        actual_value=actual[1].get(s.customer_id, 0.0) if actual else None)
            for i, s in enumerate(summaries)]
    return Result(purchases=purchases, spend=spend_params, spend_note=note, rows=rows,
                  validation=_validation(rows, horizon_days=horizon_days) if actual else None)


def _holdout(later: Sequence[Transaction], *, calibration_end: date,
             horizon_days: int) -> tuple[dict[str, int], dict[str, float]]:
    """Per customer, the purchase days and the money of the ``horizon_days`` after the calibration end."""
    last = calibration_end + timedelta(days=horizon_days)
    days: dict[str, set[date]] = defaultdict(set)
    money: dict[str, float] = defaultdict(float)
    for item in later:
        if item.day <= last:
            days[item.customer_id].add(item.day)
            money[item.customer_id] += item.amount
    return {key: len(found) for key, found in days.items()}, dict(money)


def run_rate(summary: clv.Summary, *, horizon_days: int) -> float:
    """The naive prediction: repeat purchase days per day since the first purchase, times the horizon (0 when the
    first purchase was on the calibration end)."""
    return summary.frequency / summary.T * horizon_days if summary.T > 0 else 0.0


def _validation(rows: Sequence[CustomerRow], *, horizon_days: int) -> Validation:
    actual = [row.actual_purchases or 0 for row in rows]
    naive = [run_rate(row.summary, horizon_days=horizon_days) for row in rows]
    count = len(rows)
    return Validation(
        customers=count,
        model_error=sum(abs(row.expected_purchases - seen) for row, seen in zip(rows, actual, strict=True)) / count,
        naive_error=sum(abs(guess - seen) for guess, seen in zip(naive, actual, strict=True)) / count,
        predicted_purchases=sum(row.expected_purchases for row in rows), naive_purchases=sum(naive),
        actual_purchases=sum(actual), predicted_value=sum(row.predicted_value for row in rows),
        actual_value=sum(row.actual_value or 0.0 for row in rows))


def write_rows(target: Path | str, result: Result) -> None:
    """The customers' lines as CSV (with the holdout columns when there is a holdout)."""
    holdout = result.validation is not None
    with Path(target).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*OUTPUT_COLUMNS, *(HOLDOUT_COLUMNS if holdout else ())])
        for row in result.rows:
            s = row.summary
            line: list[object] = [s.customer_id, s.frequency, f"{s.recency:g}", f"{s.T:g}", f"{s.monetary:.2f}",
                                  f"{row.expected_purchases:.4f}", f"{row.probability_alive:.4f}",
                                  f"{row.predicted_value:.2f}"]
            if holdout:
                line += [row.actual_purchases, f"{row.actual_value or 0.0:.2f}"]
            writer.writerow(line)


def report(result: Result, *, horizon_days: int) -> str:
    """The fit and the validation, for people to read."""
    p = result.purchases
    lines = [f"Customers: {len(result.rows)}",
             f"BG/NBD (days): r={p.r:.4f} alpha={p.alpha:.4f} a={p.a:.4f} b={p.b:.4f}"]
    if result.spend is not None:
        s = result.spend
        lines.append(f"Gamma-Gamma: p={s.p:.4f} q={s.q:.4f} gamma={s.gamma:.4f} (mean spend {s.mean_spend:,.2f})")
    if result.spend_note:
        lines.append(result.spend_note)
    v = result.validation
    if v is None:
        lines.append("No transactions after the calibration end: no holdout validation.")
        return "\n".join(lines)
    lines += [f"Holdout: the {horizon_days} days after the calibration end, {v.customers} customers",
              f"Mean absolute error per customer (purchases): model {v.model_error:.4f}, "
              f"run rate {v.naive_error:.4f}, ratio {v.ratio:.3f}",
              f"Purchases: predicted {v.predicted_purchases:,.1f}, run rate {v.naive_purchases:,.1f}, "
              f"actual {v.actual_purchases:,}",
              f"Value: predicted {v.predicted_value:,.0f}, actual {v.actual_value:,.0f}"]
    return "\n".join(lines)
