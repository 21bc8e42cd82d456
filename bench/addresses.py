"""Address parsing speed: ``parse_address`` on a realistic mix, against plain folding of the same strings.

The mix is made from the unit lists themselves: old-style addresses (street, old ward, district, old
province) and new-style ones (street, current ward, province), written in full, short or with the
abbreviations clerks use ("P.", "Q.", "TP."), with and without accents, some without separators, and some
text that is no address at all. Half the addresses are in Hồ Chí Minh City and Hà Nội; within each half a
shop's customers cluster as people do, so wards are drawn from a Zipf distribution (in a seeded order, the
k-th ward is drawn with weight 1/k). Every string is distinct (house numbers differ); what repeats is the
tail ("P. Bến Nghé, Q.1, TP.HCM"), which ``parse_address`` reads once and remembers. ``--uniform`` draws
wards evenly instead, so tails rarely repeat: the worst case for remembering.

Printed figures, all from the same run (the three take turns over chunks of the mix, so that other work on
the machine weighs on all three alike): addresses/s and p50/p99 per-call latency for the baseline
(``fold_name`` on the same strings, less than any parser must do), for the parser with nothing remembered
(every address read in full), and for ``parse_address`` as it runs (tails remembered), their ratios to the
baseline, the one-off index build, and what share of the mix came back exact / ambiguous / province only /
unrecognised.

Usage: ``python -m bench.addresses [--count 100000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence

from xuyen.customers.addresses import parse_address
from xuyen.customers.addresses.tails import forget, parse_uncached
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


BIG_CITIES = ("79", "01")  # Hồ Chí Minh City and Hà Nội, before and after 2025
BIG_CITY_SHARE = 0.5


class _Draw:
    """Draws units from a list: evenly, or with Zipf weights over a seeded order of the list."""

    def __init__(self, units: list[Unit], rng: random.Random, uniform: bool) -> None:
        self.units = rng.sample(units, len(units))
        self.cumulative = None if uniform else list(itertools.accumulate(1 / rank for rank in range(1, len(units) + 1)))

    def __call__(self, rng: random.Random) -> Unit:
        if self.cumulative is None:
            return rng.choice(self.units)
        return rng.choices(self.units, cum_weights=self.cumulative)[0]


class _Wards:
    """The four pools an address's ward comes from: old or new, in the big cities or anywhere."""

    def __init__(self, rng: random.Random, uniform: bool) -> None:
        self.old = _Draw(_OLD_WARDS, rng, uniform)
        self.old_in_big_cities = _Draw(_OLD_WARDS_IN_BIG_CITIES, rng, uniform)
        self.new = _Draw(_WARDS, rng, uniform)
        self.new_in_big_cities = _Draw(_WARDS_IN_BIG_CITIES, rng, uniform)


def _pick(rng: random.Random, anywhere: _Draw, in_big_cities: _Draw) -> Unit:
    return (in_big_cities if rng.random() < BIG_CITY_SHARE else anywhere)(rng)


def _old_style(units: Units, wards: _Wards, rng: random.Random, style: str) -> list[str]:
    ward = _pick(rng, wards.old, wards.old_in_big_cities)
    district = units.old_districts[ward.parent]
    province = units.old_provinces[district.parent]
    return [_unit_text(ward, style), _unit_text(district, style), _unit_text(province, style)]


def _new_style(units: Units, wards: _Wards, rng: random.Random, style: str) -> list[str]:
    ward = _pick(rng, wards.new, wards.new_in_big_cities)
    return [_unit_text(ward, style), _unit_text(units.provinces[ward.parent], style)]


_UNITS = load_units()
_OLD_WARDS = list(_UNITS.old_wards.values())
_OLD_WARDS_IN_BIG_CITIES = [ward for ward in _OLD_WARDS if _UNITS.old_districts[ward.parent].parent in BIG_CITIES]
_WARDS = list(_UNITS.wards.values())
_WARDS_IN_BIG_CITIES = [ward for ward in _WARDS if ward.parent in BIG_CITIES]


def make_mix(count: int, seed: int, uniform: bool = False, draws: int = 0) -> list[str]:
    """``count`` distinct addresses in the proportions a customer list shows; ``draws`` varies the addresses
    drawn, not how often each ward comes up (the order of the Zipf weights, set by ``seed``)."""
    units, rng = _UNITS, random.Random(seed * 1000 + draws)
    wards = _Wards(random.Random(seed), uniform)
    addresses = []
    for number in range(count):
        if rng.random() < 0.05:
            addresses.append(f"{rng.choice(JUNK)} {number}")
            continue
        style = rng.choice(("full", "short", "abbreviated"))
        parts = (_old_style if rng.random() < 0.6 else _new_style)(units, wards, rng, style)
        text = ", ".join([f"{number % 997 + 1} {rng.choice(STREETS)}", *parts])
        if rng.random() < 0.3:
            text = strip_diacritics(text)
        if rng.random() < 0.1:
            text = text.replace(", ", " ")
        addresses.append(text)
    return addresses


CHUNK = 5_000


def _throughputs(functions: Sequence[Callable[[str], object]], addresses: Sequence[str]) -> list[float]:
    """Addresses/s of each function, run in turns over the same chunks so that a busy machine slows all alike."""
    seconds = [0.0] * len(functions)
    for first in range(0, len(addresses), CHUNK):
        chunk = addresses[first : first + CHUNK]
        for number, function in enumerate(functions):
            started = time.perf_counter()
            for address in chunk:
                function(address)
            seconds[number] += time.perf_counter() - started
    return [len(addresses) / spent for spent in seconds]


def _latencies_us(function: Callable[[str], object], addresses: Sequence[str]) -> tuple[float, float]:
    timings = []
    for address in addresses:
        started = time.perf_counter_ns()
        function(address)
        timings.append((time.perf_counter_ns() - started) / 1000)
    cuts = statistics.quantiles(timings, n=100)
    return cuts[49], cuts[98]


def _line(name: str, rate: float, latency: tuple[float, float], baseline: float) -> str:
    ratio = "" if rate == baseline else f"   {baseline / rate:4.1f}x the baseline's time"
    return f"{name:<32}{rate:>10,.0f} addresses/s   p50 {latency[0]:6.1f} us   p99 {latency[1]:7.1f} us{ratio}"


def main() -> None:
    """Build the mix, warm the indexes, time the baseline and both parser paths, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="distinct addresses to parse")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--uniform", action="store_true", help="draw wards evenly (tails rarely repeat)")
    args = parser.parse_args()

    forget()
    started = time.perf_counter()
    load_units.cache_clear()
    load_units()
    build_seconds = time.perf_counter() - started
    addresses = make_mix(args.count, args.seed, args.uniform)
    others = make_mix(args.count, args.seed, args.uniform, draws=1)  # for latencies: other strings, same wards

    forget()
    baseline, cold, warm = _throughputs([fold_name, parse_uncached, parse_address], addresses)
    baseline_latency = _latencies_us(fold_name, others)
    cold_latency = _latencies_us(parse_uncached, others)
    warm_latency = _latencies_us(parse_address, others)
    statuses = Counter(parse_address(address).status.value for address in addresses)

    drawn = "evenly" if args.uniform else "Zipf"
    print(f"addresses: {args.count:,} distinct (seed {args.seed}), {BIG_CITY_SHARE:.0%} in the two big cities, "
          f"wards drawn {drawn}; data {load_units().version}")
    print(f"index build (once per process): {build_seconds * 1000:.0f} ms")
    print(_line("baseline fold_name", baseline, baseline_latency, baseline))
    print(_line("parser, nothing remembered", cold, cold_latency, baseline))
    print(_line("parse_address (tails remembered)", warm, warm_latency, baseline))
    print(f"1,000,000 addresses: {1_000_000 / warm:.1f} s with parse_address, {1_000_000 / cold:.1f} s read in full")
    print("statuses: " + ", ".join(f"{status} {count / args.count:.1%}" for status, count in statuses.most_common()))


if __name__ == "__main__":
    main()
