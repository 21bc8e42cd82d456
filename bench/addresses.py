"""Address parsing speed: ``parse_address`` on a realistic mix, against plain folding of the same strings.

The mix is made from the unit lists themselves: old-style addresses (street, old ward, district, old
province), new-style ones (street, current ward, province), written with and without accents, with the
abbreviations clerks use ("P.", "Q.", "TP.", "Tp.HCM"), in English word order, and some text that is no
address at all. Every string is distinct (house numbers differ), so the parser's result cache never hits.

Printed figures: addresses/s for ``parse_address`` and for the baseline (``fold_name`` on the same strings,
the least any parser must do), their ratio, p50/p99 per-call latency of each, the one-off index build, and
what share of the mix came back exact / ambiguous / province only / unrecognised.

Usage: ``python bench/addresses.py [--count 100000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence

from xuyen.customers.addresses import parse_address
from xuyen.customers.addresses.parser import parse
from xuyen.customers.addresses.units import Unit, Units, load_units
from xuyen.identity.names import fold_name, strip_diacritics

STREETS = ("Nguyễn Trãi", "Lê Lợi", "Trần Hưng Đạo", "Hai Bà Trưng", "Quang Trung", "Điện Biên Phủ", "Lý Thường Kiệt",
           "Cách Mạng Tháng Tám", "Nguyễn Văn Cừ", "Phạm Văn Đồng", "ngõ 12 Tôn Thất Tùng", "hẻm 45 Lê Văn Sỹ")
ABBREVIATIONS = {"Phường": "P.", "Xã": "X.", "Thị trấn": "TT.", "Quận": "Q.", "Huyện": "H.", "Thị xã": "TX.",
                 "Thành phố": "TP.", "Tỉnh": "", "Đặc khu": "Đặc khu"}
JUNK = ("giao giờ hành chính", "liên hệ trước khi giao", "N/A", "khong co", "???", "123", "Văn phòng công ty")


def _unit_text(unit: Unit, style: str) -> str:
    if style == "abbreviated":
        kind = ABBREVIATIONS[unit.kind]
        return f"{kind}{unit.name}" if kind.endswith(".") else f"{kind} {unit.name}".strip()
    if style == "short" and not unit.name.isdigit():
        return unit.name
    return unit.full_name


def _old_style(units: Units, rng: random.Random, style: str) -> list[str]:
    ward = rng.choice(list(units.old_wards.values()))
    district = units.old_districts[ward.parent]
    province = units.old_provinces[district.parent]
    return [_unit_text(ward, style), _unit_text(district, style), _unit_text(province, style)]


def _new_style(units: Units, rng: random.Random, style: str) -> list[str]:
    ward = rng.choice(list(units.wards.values()))
    return [_unit_text(ward, style), _unit_text(units.provinces[ward.parent], style)]


def make_mix(count: int, seed: int) -> list[str]:
    """``count`` distinct addresses in the proportions a customer list shows."""
    units, rng = load_units(), random.Random(seed)
    addresses = []
    for number in range(count):
        if rng.random() < 0.05:
            addresses.append(f"{rng.choice(JUNK)} {number}")
            continue
        style = rng.choice(("full", "short", "abbreviated"))
        parts = (_old_style if rng.random() < 0.6 else _new_style)(units, rng, style)
        text = ", ".join([f"{number % 997 + 1} {rng.choice(STREETS)}", *parts])
        if rng.random() < 0.3:
            text = strip_diacritics(text)
        if rng.random() < 0.1:
            text = text.replace(", ", " ")
        addresses.append(text)
    return addresses


def _throughput(function: Callable[[str], object], addresses: Sequence[str]) -> float:
    started = time.perf_counter()
    for address in addresses:
        function(address)
    return len(addresses) / (time.perf_counter() - started)


def _latencies_us(function: Callable[[str], object], addresses: Sequence[str]) -> tuple[float, float]:
    timings = []
    for address in addresses:
        started = time.perf_counter_ns()
        function(address)
        timings.append((time.perf_counter_ns() - started) / 1000)
    cuts = statistics.quantiles(timings, n=100)
    return cuts[49], cuts[98]


def main() -> None:
    """Build the mix, warm the indexes, time both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="distinct addresses to parse")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    load_units()
    build_seconds = time.perf_counter() - started
    addresses = make_mix(args.count, args.seed)
    second_half = make_mix(args.count, args.seed + 1)

    parse.cache_clear()
    baseline = _throughput(fold_name, addresses)
    parsed = _throughput(parse_address, addresses)
    parse.cache_clear()
    base_p50, base_p99 = _latencies_us(fold_name, second_half)
    parse_p50, parse_p99 = _latencies_us(parse_address, second_half)
    statuses = Counter(parse_address(address).status.value for address in addresses)

    print(f"addresses: {args.count:,} distinct (seed {args.seed}); data {load_units().version}")
    print(f"index build (once per process): {build_seconds * 1000:.0f} ms")
    print(f"baseline fold_name: {baseline:>10,.0f} addresses/s   p50 {base_p50:6.1f} us   p99 {base_p99:6.1f} us")
    print(f"parse_address:      {parsed:>10,.0f} addresses/s   p50 {parse_p50:6.1f} us   p99 {parse_p99:6.1f} us")
    print(f"ratio: parse_address takes {baseline / parsed:.1f}x the time of folding; "
          f"1,000,000 addresses in {1_000_000 / parsed:.1f} s")
    print("statuses: " + ", ".join(f"{status} {count / args.count:.1%}" for status, count in statuses.most_common()))


if __name__ == "__main__":
    main()
