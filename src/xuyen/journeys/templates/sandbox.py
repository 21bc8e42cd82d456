"""Rendering a template's text in a Jinja sandbox that a template cannot escape, hang or flood.

- ``ImmutableSandboxedEnvironment``: no underscore attributes (``__class__``, ``__globals__``), no methods that
  change the context's lists and dicts, only the filters listed in ``ALLOWED_FILTERS``;
- ``StrictUndefined``: a name or key the context does not hold is an error naming it (``| default("bạn")``
  gives a fallback), never a silent blank in a customer's message;
- bounded work: every loop step and call counts against ``MAX_STEPS`` and a wall-clock budget; ``*`` and
  ``~`` may not build strings longer than the output may be; the output stops at ``MAX_OUTPUT`` characters.

Errors come back as ``RenderProblem`` values (code, message, line), never as exceptions out of ``render_text``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from xuyen.journeys.templates import filters

MAX_OUTPUT = 20_000
MAX_STEPS = 10_000
MAX_SECONDS = 1.0
MAX_SOURCE = 50_000
TIMEZONE_KEY = "_timezone"
MAX_INT_BITS = 4_096
_NAMED = re.compile(r"(?:has no attribute|^)\s*'([^']+)'(?: is undefined)?$")
SAFE_METHODS = frozenset({
    "capitalize", "changed", "count", "cycle", "endswith", "find", "get", "index", "isalpha", "isdigit",
    "isoformat", "items", "keys", "lower", "lstrip", "rstrip", "split", "startswith", "strip", "title", "upper",
    "values", "weekday",
})
ALLOWED_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "int", "join",
    "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "round", "safe",
    "select", "selectattr", "sort", "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper",
    "urlencode", "wordcount",
)


class TooMuchWork(Exception):
    """The template looped, called or built more than one message may take."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RenderProblem:
    """Why a part of a template could not be rendered: ``code`` (syntax_error, missing_value, forbidden,
    too_much_work, output_too_large, bad_value, render_failed), a message, and the line when known."""

    code: str
    message: str
    part: str = ""
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON."""
        return {"code": self.code, "message": self.message, "part": self.part, "line": self.line}


class _Budget:
    """The work one rendering may still do."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooMuchWork(f"The template does more than {MAX_STEPS} loop steps and calls.", "too_much_work")
        if self.steps % 64 == 0 and time.monotonic() > self.deadline:
            raise TooMuchWork(f"The template takes longer than {MAX_SECONDS:g} s to render.", "too_much_work")


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _spend() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend()


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every step of a template's loop, counted against the budget."""
    for item in iterable:
        _spend()
        yield item


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TooMuchWork("The template computes a number larger than a message can use.", "too_much_work")
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT:
        raise TooMuchWork(f"The template builds text longer than {MAX_OUTPUT} characters.", "output_too_large")
    return value


def _bounded_concat(parts: list[Any]) -> str:
    """``a ~ b``, refusing to build text longer than a message may be."""
    text = "".join(str(part) for part in parts)
    return _check_size(text)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with every loop counted, ``~`` bounded and calls and arithmetic bounded."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value) and not isinstance(obj, type):
            # methods of the context's values: only the few that cannot build huge text (no ljust, zfill, format)
            return attr in SAFE_METHODS
        return True

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "_counted", [], [], None, None, lineno=loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):
            joined = nodes.Filter(nodes.List(concat.nodes, lineno=concat.lineno), "_bounded_concat", [], [], None,
                                  None, lineno=concat.lineno)
            concat.nodes = [joined]
        return tree

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None

        def refused(*_args: Any, **_kwargs: Any) -> str:
            raise SecurityError("Use the filters (money, number, date) rather than str.format.")
        return refused

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("Use the filters (money, number, date) rather than % formatting.")
        if operator == "**" and isinstance(right, int | float) and (
                abs(right) > 64 or (isinstance(left, int) and left.bit_length() * abs(right) > MAX_INT_BITS)):
            raise TooMuchWork("The template computes a number larger than a message can use.", "too_much_work")
        if operator == "*" and isinstance(left, str | list) and isinstance(right, int) and \
                len(left) * right > MAX_OUTPUT:
            raise TooMuchWork(f"The template builds text longer than {MAX_OUTPUT} characters.", "output_too_large")
        if operator == "*" and isinstance(right, str | list) and isinstance(left, int) and \
                len(right) * left > MAX_OUTPUT:
            raise TooMuchWork(f"The template builds text longer than {MAX_OUTPUT} characters.", "output_too_large")
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _spend()
        return _check_size(super().call(__context, __obj, *args, **kwargs))


def _safe_replace(text: Any, old: str, new: str, count: int | None = None) -> str:
    """``replace`` that refuses to build text longer than a message may be."""
    source = str(text)
    hits = source.count(str(old)) if count is None else min(count, source.count(str(old)))
    if len(source) + hits * (len(str(new)) - len(str(old))) > MAX_OUTPUT:
        raise TooMuchWork(f"The template builds text longer than {MAX_OUTPUT} characters.", "output_too_large")
    return source.replace(str(old), str(new), -1 if count is None else count)


@cache
@functools.cache
def sandbox(html: bool) -> MessageSandbox:
    """The sandbox for HTML (escaping every value) or for plain text (e-mail text part, SMS, chat, ZNS); one of each
    per process (an environment keeps nothing of what it renders)."""
    env = MessageSandbox(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=False)
    kept = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.filters.clear()
    env.filters.update(kept)
    env.filters.update(
        _counted=_counted, _bounded_concat=_bounded_concat, replace=_safe_replace, money=filters.money,
        number=filters.number, date=_date, datetime=_datetime, first_name=filters.first_name,
        without_diacritics=filters.without_diacritics)
    env.globals.clear()
    env.globals.update(range=_small_range)
    return env


@pass_context
def _date(context: Context, value: Any) -> str:
    """dd/mm/yyyy in the customer's time zone."""
    return filters.format_date(value, context.get(TIMEZONE_KEY) or filters.DEFAULT_TIMEZONE)


@pass_context
def _datetime(context: Context, value: Any) -> str:
    """dd/mm/yyyy HH:MM in the customer's time zone."""
    return filters.format_datetime(value, context.get(TIMEZONE_KEY) or filters.DEFAULT_TIMEZONE)


def _small_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_STEPS:
        raise TooMuchWork(f"A range in a template holds at most {MAX_STEPS} numbers.", "too_much_work")
    return numbers


@functools.lru_cache(maxsize=1024)
def compiled(source: str, html: bool) -> Template:
    """``source`` compiled in its sandbox, once per process (a journey renders the same template for thousands of
    customers); TemplateSyntaxError when it does not compile."""
    return sandbox(html).from_string(source)


def check_syntax(source: str, *, html: bool, part: str = "") -> RenderProblem | None:
    """The syntax error in ``source`` (with its line), or None when it compiles."""
    if len(source) > MAX_SOURCE:
        return RenderProblem("too_long", f"A template part holds at most {MAX_SOURCE} characters.", part)
    try:
        compiled(source, html)
    except TemplateSyntaxError as exc:
        return RenderProblem("syntax_error", f"Line {exc.lineno}: {exc.message}", part, exc.lineno)
    return None


def _problem(exc: Exception, part: str) -> RenderProblem:
    line = _template_line(exc)
    if isinstance(exc, TemplateSyntaxError):
        return RenderProblem("syntax_error", f"Line {exc.lineno}: {exc.message}", part, exc.lineno)
    if isinstance(exc, UndefinedError):
        return RenderProblem("missing_value", _missing(exc.message or ""), part, line)
    if isinstance(exc, SecurityError):
        return RenderProblem("forbidden", f"Not allowed in a template: {exc}", part, line)
    if isinstance(exc, TooMuchWork):
        return RenderProblem(exc.code, str(exc), part, line)
    if isinstance(exc, filters.FilterInputError):
        return RenderProblem("bad_value", str(exc), part, line)
    if isinstance(exc, TemplateError):
        return RenderProblem("render_failed", exc.message or type(exc).__name__, part, line)
    return RenderProblem("render_failed", f"{type(exc).__name__}: {str(exc)[:200]}", part, line)


def _missing(message: str) -> str:
    """Jinja's "'dict object' has no attribute 'email'" said plainly."""
    found = _NAMED.search(message)
    name = found.group(1) if found else message
    return (f"There is no value for {name!r} in this customer's data; give a fallback with "
            f"| default(\"…\") if it may be missing.")


def _template_line(exc: BaseException) -> int | None:
    """The template line an error was raised at, from the traceback of the compiled template."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":  # frames Jinja rewrote to the template's lines
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_text(source: str, context: Mapping[str, Any], *, html: bool = False, part: str = "",
                timezone: str = filters.DEFAULT_TIMEZONE) -> tuple[str, RenderProblem | None]:
    """``source`` rendered with ``context``: (text, None), or ("", the problem) when it cannot be."""
    syntax = check_syntax(source, html=html, part=part)
    if syntax is not None:
        return "", syntax
    token = _budget.set(_Budget())
    try:
        template = compiled(source, html)
        out: list[str] = []
        size = 0
        for chunk in template.generate({**context, TIMEZONE_KEY: timezone}):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TooMuchWork(f"The message is longer than {MAX_OUTPUT} characters.", "output_too_large")
            out.append(chunk)
        return "".join(out).strip(), None
    except Exception as exc:  # a template must never crash its caller: every failure becomes a problem
        return "", _problem(exc, part)
    finally:
        _budget.reset(token)
