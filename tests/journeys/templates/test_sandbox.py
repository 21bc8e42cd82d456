"""The template sandbox: Vietnamese filters, refused escapes, bounded work, and clear problems with lines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from xuyen.journeys.templates.filters import first_name, format_date, format_datetime, money
from xuyen.journeys.templates.sandbox import MAX_OUTPUT, render_text

CONTEXT = {"profile": {"name": "Nguyễn Thị Lan", "traits": {"tier": "vang"}, "birth_date": date(1992, 3, 8)},
           "total": 1250000, "at": datetime(2026, 12, 6, 18, 30, tzinfo=UTC), "items": [1, 2, 3]}


def render(source: str, *, html: bool = False, timezone: str = "Asia/Ho_Chi_Minh") -> tuple[str, str, int | None]:
    text, problem = render_text(source, CONTEXT, html=html, timezone=timezone)
    return text, problem.code if problem else "", problem.line if problem else None


def test_money_is_vnd_without_decimals_and_with_a_plain_space() -> None:
    assert money(1250000) == "1.250.000 ₫"
    assert money("99000.6") == "99.001 ₫"
    assert money(0) == "0 ₫"
    assert render("{{ total|money }}")[0] == "1.250.000 ₫"
    assert render("{{ 'abc'|money }}")[1] == "bad_value"


def test_dates_are_dd_mm_yyyy_in_the_customers_time_zone() -> None:
    assert format_date("2026-12-06T18:30:00Z") == "07/12/2026"
    assert format_datetime("2026-12-06T18:30:00Z") == "07/12/2026 01:30"
    assert format_date(date(2026, 1, 2)) == "02/01/2026"
    assert render("{{ at|datetime }}")[0] == "07/12/2026 01:30"
    assert render("{{ at|datetime }}", timezone="Europe/Paris")[0] == "06/12/2026 19:30"
    assert render("{{ profile.birth_date|date }}")[0] == "08/03/1992"
    assert render("{{ 'hôm qua'|date }}")[1] == "bad_value"


@pytest.mark.parametrize(("full", "given"), [("Nguyễn Thị Lan", "Lan"), ("Trần Văn Minh Khôi", "Khôi"),
                                             ("Lan", "Lan"), ("  Lê   Hoa ", "Hoa"), ("", "")])
def test_first_name_is_the_vietnamese_given_name(full: str, given: str) -> None:
    assert first_name(full) == given


def test_templates_render_the_context_and_fall_back_with_default() -> None:
    assert render("Chào {{ profile.name|first_name }}!")[0] == "Chào Lan!"
    assert render("{{ profile.traits.nickname|default('bạn') }}")[0] == "bạn"
    assert render("{% for i in items %}{{ i }}{% endfor %}")[0] == "123"


def test_unknown_values_are_named_with_their_line() -> None:
    text, problem = render_text("Chào\n{{ profile.email }}", CONTEXT)
    assert text == "" and problem is not None
    assert (problem.code, problem.line) == ("missing_value", 2)
    assert "'email'" in problem.message and "default" in problem.message
    assert render("{{ coupon }}")[1] == "missing_value"


def test_syntax_errors_carry_the_line() -> None:
    _text, problem = render_text("một\nhai\n{% if %}", CONTEXT)
    assert problem is not None and (problem.code, problem.line) == ("syntax_error", 3)
    assert problem.message.startswith("Line 3:")


@pytest.mark.parametrize("source", [
    "{{ profile.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ items.append(4) }}",
    "{{ profile.update({'name': 'x'}) }}", "{{ total.__init__.__globals__ }}", "{{ items.pop() }}",
    "{{ 'a'.ljust(1000000000) }}", "{{ 'a'.zfill(1000000000) }}", "{{ '{:>1000000000}'.format(1) }}",
    "{{ '%1000000000d' % 1 }}", "{{ 'a'.expandtabs(1000000000) }}", "{{ ('a' ~ ' ').replace(' ', 'x') }}",
])
def test_attribute_tricks_are_refused(source: str) -> None:
    assert render(source)[1] == "forbidden"


@pytest.mark.parametrize("source", [
    "{{ cycler }}", "{{ lipsum() }}", "{{ namespace }}", "{{ joiner() }}",
])
def test_no_globals_but_range(source: str) -> None:
    assert render(source)[1] in {"missing_value", "forbidden", "render_failed"}


@pytest.mark.parametrize("source", [
    "{% for a in range(9999) %}{% for b in range(9999) %}{% endfor %}{% endfor %}",
    "{% for a in range(100000) %}{% endfor %}",
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
])
def test_huge_loops_and_recursion_stop(source: str) -> None:
    assert render(source)[1] in {"too_much_work", "render_failed"}


@pytest.mark.parametrize("source", [
    "{{ 'x' * 100000 }}", "{{ 100000 * 'x' }}",
    "{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s }}{% endmacro %}{{ f('ab', 60) }}",
    "{{ ('x' * 10000)|replace('', 'yyyy') }}", "{% for i in range(5000) %}{{ 'xxxxx' }}{% endfor %}",
    "{{ 2 ** 100000 }}",
    "{% macro f(l, n) %}{{ f(l + l, n - 1) if n else l|length }}{% endmacro %}{{ f([1, 2], 60) }}",
    "{{ [1] * 100000 }}", "{{ ((((10 ** 64) ** 64) ** 64) ** 64) ** 64 }}",
    "{% macro f(x, n) %}{{ f(x * x, n - 1) if n else 1 }}{% endmacro %}{{ f(3, 60) }}",
])
def test_output_and_built_text_are_bounded(source: str) -> None:
    assert render(source)[1] in {"output_too_large", "too_much_work"}


def test_only_listed_filters_exist() -> None:
    assert render("{{ 'a'|center(1000000000) }}")[1] == "syntax_error"
    assert render("{{ 'a'|pprint }}")[1] == "syntax_error"


def test_html_is_escaped_and_text_is_not() -> None:
    context = {"name": "<b>Lan</b> & co"}
    assert render_text("{{ name }}", context, html=True)[0] == "&lt;b&gt;Lan&lt;/b&gt; &amp; co"
    assert render_text("{{ name }}", context)[0] == "<b>Lan</b> & co"


def test_the_harmless_methods_still_work() -> None:
    assert render("{{ profile.name.upper() }} {{ profile.traits.get('tier') }} {{ 'a,b'.split(',')|join('+') }}"
                  )[0] == "NGUYỄN THỊ LAN vang a+b"
    assert render("{% for k, v in profile.traits.items() %}{{ k }}={{ v }}{% endfor %}")[0] == "tier=vang"
    assert render("{{ profile.birth_date.year }}")[0] == "1992"


def test_a_long_but_fair_message_renders() -> None:
    text, problem = render_text("{% for i in range(100) %}{{ 'Xuyên ' * 10 }}{% endfor %}", {})
    assert problem is None and len(text) < MAX_OUTPUT
