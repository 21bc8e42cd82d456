"""Translations: .po catalogues compiled in memory, and the locale and time zone being written in.

Pages, e-mails and downloads all translate through here: a request activates its viewer's language, a job
that writes to someone (a scheduled report, a reminder) activates the recipient's.

The catalogues under ``xuyen/locale/<lang>/LC_MESSAGES/messages.po`` are read once, compiled into
``.mo`` bytes in memory and wrapped in :class:`babel.support.Translations`; no compiled files are kept
in the repository. Templates call ``_()``/``ngettext()``, which look up the locale that ``activated()``
set for the request being rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES: tuple[str, ...] = ("vi", "en")
DEFAULT_LOCALE = "vi"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"

current_locale: ContextVar[str] = ContextVar("xuyen_locale", default=DEFAULT_LOCALE)
current_timezone: ContextVar[str] = ContextVar("xuyen_timezone", default=DEFAULT_TIMEZONE)


def N_(message: str) -> str:  # noqa: N802 - the conventional name that pybabel extracts
    """Mark ``message`` for extraction; it is translated later, when it is shown."""
    return message


def compile_po(path: Path, locale: str) -> Translations:
    """Read one .po file and compile it in memory into ready-to-use translations."""
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@cache
def catalogues() -> dict[str, NullTranslations]:
    """The translations of every supported locale, loaded once per process."""
    loaded: dict[str, NullTranslations] = {}
    for locale in LOCALES:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        loaded[locale] = compile_po(path, locale) if path.exists() else NullTranslations()
    return loaded


def translations(locale: str | None = None) -> NullTranslations:
    """The translations of ``locale`` (by default the current request's)."""
    return catalogues().get(locale or current_locale.get(), NullTranslations())


def gettext(message: str) -> str:
    """``message`` translated into the current request's language."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current request's language."""
    return translations().ngettext(singular, plural, n)


@contextmanager
def activated(locale: str, timezone: str) -> Iterator[None]:
    """Render in ``locale`` and show times in ``timezone`` until the block ends."""
    locale_token = current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    timezone_token = current_timezone.set(timezone)
    try:
        yield
    finally:
        current_timezone.reset(timezone_token)
        current_locale.reset(locale_token)


def supported(locale: str | None) -> str | None:
    """``locale`` if the UI speaks it, else None."""
    return locale if locale in LOCALES else None


def _quality(entry: str) -> tuple[str, float]:
    tag, _, params = entry.strip().partition(";")
    quality = 1.0
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return tag.strip().lower().split("-")[0], quality


def prefers_english(accept_language: str) -> bool:
    """Whether an ``Accept-Language`` header ranks English above Vietnamese."""
    best: dict[str, float] = {}
    for entry in accept_language.split(",")[:32]:
        if entry.strip():
            language, quality = _quality(entry)
            best[language] = max(best.get(language, 0.0), quality)
    return best.get("en", 0.0) > 0 and best.get("en", 0.0) > best.get("vi", 0.0)
