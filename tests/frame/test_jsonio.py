"""JSON out: what ``json.dumps`` writes, through the fast path or not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from xuyen import jsonio


@dataclass
class Point:
    x: int


def test_values_are_written_compact_with_str_for_what_json_has_no_type_for() -> None:
    moment = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    value = {"when": moment, "price": Decimal("950000"), "point": Point(1), 7: "seven", "ok": [True, None]}
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    assert jsonio.dumps(value) == expected
    assert jsonio.dumps({"tên": "Lan"}) == '{"tên":"Lan"}'.encode()


def test_integers_past_64_bits_are_written_exactly() -> None:
    assert jsonio.dumps({"n": 2**70, "tên": "Lan"}) == '{"n":1180591620717411303424,"tên":"Lan"}'.encode()
