"""``xuyen analytics clv`` on transaction files: a file drawn from a known buying process (fitted, predicted and
checked on its holdout, the report's numbers recomputed here from the output file), and every kind of bad file."""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xuyen import cli
from xuyen.analytics import clv_file
from xuyen.analytics.cli import register
from xuyen.analytics.value_models import CustomerScore
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderStatus
from xuyen.identity.models import Profile

register(cli.app)

START = date(2025, 1, 1)
CALIBRATION_END = date(2025, 12, 31)
HORIZON = 90


def _write_known_process(path: Path, *, customers: int = 600, seed: int = 7) -> None:
    """Transactions of customers following BG/NBD (r=0.5, α=30 days, a=0.8, b=3) with Gamma spend, first buying in
    the first half of 2025, followed to the end of March 2026; plus customer ``hand`` with known figures."""
    rng = np.random.default_rng(seed)
    end = (CALIBRATION_END - START).days + HORIZON
    rows = [("hand", "2025-11-01", "100000"), ("hand", "2025-11-01", "50000"), ("hand", "2025-11-21", "30000"),
            ("hand", "2025-12-11", "70000"), ("hand", "2026-01-05", "40000"), ("hand", "2026-06-01", "99")]
    for index in range(customers):
        rate, drop = rng.gamma(0.5, 1 / 30), rng.beta(0.8, 3.0)
        scale = rng.gamma(4.0, 50_000 / 4)
        moment = rng.uniform(0, 181)
        while moment <= end:
            rows.append((f"c{index}", (START + timedelta(days=int(moment))).isoformat(),
                         str(int(rng.gamma(3.0, scale / 3)) + 1000)))
            if rng.random() < drop:
                break
            moment += rng.exponential(1 / rate)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_no", "customer_id", "date", "amount"])
        writer.writerows((number, *row) for number, row in enumerate(rows))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, ["analytics", "clv", *args])
    return result.exit_code, result.output


def test_fit_predict_and_validate_on_a_holdout(tmp_path: Path) -> None:
    source, out = tmp_path / "transactions.csv", tmp_path / "value.csv"
    _write_known_process(source)
    code, output = _run("--transactions", str(source), "--calibration-end", CALIBRATION_END.isoformat(),
                        "--horizon-days", str(HORIZON), "--out", str(out))
    assert code == 0, output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*clv_file.OUTPUT_COLUMNS, *clv_file.HOLDOUT_COLUMNS]
    hand = next(row for row in rows if row["customer_id"] == "hand")
    # purchase days 1 Nov (150,000), 21 Nov, 11 Dec: x = 2 repeat days, last 40 days after the first, observed 60
    # days, mean repeat spend (30,000 + 70,000) / 2; in the 90 days after: one purchase of 40,000 (June is later)
    assert (hand["frequency"], hand["recency"], hand["T"], hand["monetary"]) == ("2", "40", "60", "50000.00")
    assert (hand["actual_purchases"], hand["actual_value"]) == ("1", "40000.00")
    assert 0 < float(hand["probability_alive"]) <= 1 and float(hand["expected_purchases"]) > 0
    # the report's figures, recomputed from the output file
    expected = [float(row["expected_purchases"]) for row in rows]
    actual = [int(row["actual_purchases"]) for row in rows]
    naive = [int(row["frequency"]) / float(row["T"]) * HORIZON if float(row["T"]) > 0 else 0.0 for row in rows]
    model_error = sum(abs(e - a) for e, a in zip(expected, actual, strict=True)) / len(rows)
    naive_error = sum(abs(n - a) for n, a in zip(naive, actual, strict=True)) / len(rows)
    line = re.search(r"model ([\d.]+), run rate ([\d.]+), ratio ([\d.]+)", output)
    assert line is not None, output
    assert float(line.group(1)) == pytest.approx(model_error, abs=1e-3)
    assert float(line.group(2)) == pytest.approx(naive_error, abs=1e-3)
    # on data from the process the model describes, it beats the run rate, which ignores that customers leave
    assert float(line.group(3)) < 1
    assert f"actual {sum(actual):,}" in output and f"Wrote {len(rows)} customers" in output


def test_without_a_holdout_there_is_no_validation(tmp_path: Path) -> None:
    source, out = tmp_path / "transactions.csv", tmp_path / "value.csv"
    _write_known_process(source, customers=60)
    code, output = _run("--transactions", str(source), "--calibration-end", "2026-12-31", "--out", str(out))
    assert code == 0, output
    assert "no holdout validation" in output
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(clv_file.OUTPUT_COLUMNS)


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"),
    ("customer_id,date,amount\n", "has no transactions"),
    ("customer,date,amount\nA,2026-01-01,10\n", "has no column customer_id"),
    ("customer_id,date,amount\nA,2026-01-01,10\nB,01/02/2026,10\nC,2026-01-03,abc\nD,2026-01-04,-5\n",
     "line 3: date '01/02/2026' is not a date"),
    ("customer_id,date,amount\nA,2026-01-01,10\nB,01/02/2026,10\nC,2026-01-03,abc\n",
     "line 4: amount 'abc' is not a number"),
    ("customer_id,date,amount\nA,2026-01-01,10\nD,2026-01-04,-5\n", "line 3: amount '-5' must be a number of 0"),
    (",2026-01-01,10\n", "has no column"),
    ("customer_id,date,amount\n,2026-01-01,10\n", "line 2: customer_id is empty"),
    ("customer_id,date,amount\nA,2026-01-01,10\nA,2026-01-05,10\n", "at least 10 customers"),
    ("customer_id,date,amount\nA,2027-01-01,10\n", "No transaction falls on or before the calibration end"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(text, encoding="utf-8")
    code, output = _run("--transactions", str(source), "--calibration-end", "2026-06-30", "--out",
                        str(tmp_path / "out.csv"))
    assert code == 1 and message in " ".join(output.split()), output
    assert not (tmp_path / "out.csv").exists()


def test_bad_options_are_refused(tmp_path: Path) -> None:
    code, output = _run("--transactions", str(tmp_path / "none.csv"), "--calibration-end", "2026-06-30",
                        "--out", str(tmp_path / "out.csv"))
    assert code == 1 and "Cannot read" in output
    source = tmp_path / "t.csv"
    source.write_text("customer_id,date,amount\nA,2026-01-01,10\n", encoding="utf-8")
    code, output = _run("--transactions", str(source), "--calibration-end", "30/06/2026", "--out", "x.csv")
    assert code == 2 and "is not a date" in output
    code, output = _run("--transactions", str(source), "--calibration-end", "2026-06-30", "--out", "x.csv",
                        "--horizon-days", "0")
    assert code == 2


def test_scores_now_from_the_command_line(db_url: str, session: Session) -> None:
    profile = Profile(first_seen_at=utcnow(), last_seen_at=utcnow())
    session.add(profile)
    session.flush()
    session.add(Order(channel=SalesChannel.pos, status=OrderStatus.completed, profile_id=profile.id, total=90_000,
                      placed_at=utcnow(), created_at=utcnow(), updated_at=utcnow()))
    session.commit()
    result = CliRunner().invoke(cli.app, ["analytics", "scores", "--horizon-days", "30"])
    assert result.exit_code == 0, result.output
    assert "Scored 1 customers" in result.output and "at least 10 customers" in result.output
    session.expire_all()
    score = session.get(CustomerScore, profile.id)
    assert score is not None and (score.rfm_group, score.horizon_days) == ("champions", 30)
