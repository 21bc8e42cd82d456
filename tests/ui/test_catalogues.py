"""The message catalogues: every string in the code is translated into Vietnamese, and nothing is precompiled."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from xuyen import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "xuyen"


def extracted_ids() -> set[str]:
    """Every message id pybabel extracts with the project's babel.cfg."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(SOURCE, method_map, options_map):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def catalog(locale: str):  # type: ignore[no-untyped-def]
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=locale, abort_invalid=True)  # a malformed entry fails, not just warns


def test_every_extracted_message_has_a_vietnamese_translation() -> None:
    ids = extracted_ids()
    assert "Sign in" in ids and "Store POS" in ids, "extraction must see both templates and Python code"
    vietnamese = catalog("vi")
    missing = sorted(message for message in ids if not (vietnamese.get(message) and vietnamese.get(message).string))
    assert not missing, f"translate these in src/xuyen/locale/vi/LC_MESSAGES/messages.po: {missing}"
    fuzzy = sorted(str(message.id) for message in vietnamese if message.id and message.fuzzy)
    assert not fuzzy, f"check these fuzzy translations: {fuzzy}"


def test_english_catalogue_lists_every_message() -> None:
    english = catalog("en")
    assert not sorted(message for message in extracted_ids() if english.get(message) is None)


def test_translations_keep_their_placeholders() -> None:
    for locale in i18n.LOCALES:
        problems = [(message.id, errors) for message, errors in catalog(locale).check()]
        assert not problems, f"{locale}: {problems}"


def test_catalogues_are_compiled_in_memory_only() -> None:
    assert not list(i18n.LOCALE_DIR.rglob("*.mo"))
    assert i18n.translations("vi").gettext("Sign in") == "Đăng nhập"
    assert i18n.translations("vi").gettext("Stores") == "Cửa hàng"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    singular = ("Too many failed sign-in attempts. Wait %(num)s minute and try again, or ask an owner to "
                "reset your password.")
    plural = singular.replace("minute", "minutes")
    assert i18n.translations("vi").ngettext(singular, plural, 3).startswith("Bạn đã đăng nhập sai quá nhiều lần.")
    assert i18n.translations("en").ngettext(singular, plural, 3) == plural


def test_gettext_follows_the_activated_locale() -> None:
    with i18n.activated("en", "UTC"):
        assert i18n.gettext("Overview") == "Overview"
        with i18n.activated("vi", "UTC"):
            assert i18n.gettext("Overview") == "Tổng quan"
        assert i18n.gettext("Overview") == "Overview"
    with i18n.activated("xx", "UTC"):
        assert i18n.gettext("Overview") == "Tổng quan"
