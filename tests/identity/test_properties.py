"""Property tests: normalising is idempotent, clerk formats agree, folding is ASCII, stable and accent-blind."""

from __future__ import annotations

import unicodedata
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from xuyen.identity.names import fold_name, name_tokens
from xuyen.identity.normalise import normalise, normalise_phone
from xuyen.identity.phones import classify

# Today's 10-digit mobile prefixes (without the trunk 0) and, where there was one, the pre-2018 prefix.
NEW_TO_OLD = {
    "32": "162", "33": "163", "34": "164", "35": "165", "36": "166", "37": "167", "38": "168", "39": "169",
    "70": "120", "79": "121", "77": "122", "76": "126", "78": "128",
    "83": "123", "84": "124", "85": "125", "81": "127", "82": "129",
    "56": "186", "58": "188", "59": "199",
}  # fmt: skip
MOBILE_PREFIXES = sorted({*NEW_TO_OLD, "86", "88", "89", "90", "91", "93", "94", "96", "97", "98"})
SEPARATORS = ["", " ", ".", "-", "  ", " - "]

subscribers = st.text(alphabet="0123456789", min_size=7, max_size=7)


@st.composite
def clerk_formats(draw: st.DrawFn) -> tuple[str, str]:
    """A valid VN mobile number as a clerk might type it, and its E.164 form."""
    prefix = draw(st.sampled_from(MOBILE_PREFIXES))
    subscriber = draw(subscribers)
    e164 = f"+84{prefix}{subscriber}"
    found = classify(e164)
    if found is None or not found[1]:  # a few ranges are unallocated; use a known-good subscriber instead
        subscriber, e164 = "2345678", f"+84{prefix}2345678"
    national = prefix + subscriber
    if prefix in NEW_TO_OLD and draw(st.booleans()):
        national = NEW_TO_OLD[prefix] + subscriber
    head = draw(st.sampled_from(["0", "+84", "+84 ", "84", "84 ", "0084 ", "+84 (0)", "(+84) ", "(0", ""]))
    separator = draw(st.sampled_from(SEPARATORS))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=len(national) - 1), max_size=4)))
    groups = [national[start:end] for start, end in zip([0, *cuts], [*cuts, len(national)], strict=True)]
    if head == "(0":  # "(0168) 123 4567"
        groups[0] = f"(0{groups[0]})"
        head = ""
    padding = draw(st.sampled_from(["", " ", "  \t"]))
    return f"{padding}{head}{separator.join(groups)}{padding}", e164


@settings(deadline=None)
@given(clerk_formats())
def test_every_clerk_format_of_a_mobile_gives_one_e164(case: tuple[str, str]) -> None:
    raw, e164 = case
    assert [identifier.value for identifier in normalise_phone(raw)] == [e164]


@settings(deadline=None)
@given(clerk_formats(), clerk_formats(), st.sampled_from(["/", " / ", ", ", ";", " ; ", " hoặc ", " | "]))
def test_two_numbers_in_one_field_are_both_found(
    first: tuple[str, str], second: tuple[str, str], separator: str
) -> None:
    expected = list(dict.fromkeys([first[1], second[1]]))
    assert [i.value for i in normalise_phone(first[0] + separator + second[0])] == expected


phone_like_text = st.text(alphabet="0123456789 +-.()/,;x84", max_size=40)


@settings(deadline=None)
@given(st.one_of(phone_like_text, clerk_formats().map(lambda case: case[0]), st.text(max_size=30)))
def test_normalising_a_phone_is_idempotent(raw: str) -> None:
    for identifier in normalise_phone(raw):
        assert normalise_phone(identifier.value) == [identifier]


@settings(deadline=None)
@given(st.sampled_from(["email", "user_id", "anonymous_id", "loyalty_card", "whatsapp_id"]), st.text(max_size=40))
def test_normalising_any_identifier_is_idempotent_and_never_raises(type_: str, raw: str) -> None:
    for identifier in normalise(type_, raw).identifiers:
        assert normalise(type_, identifier.value).identifiers == [identifier]


@given(st.text(max_size=60))
def test_fold_name_is_ascii_and_idempotent(raw: str) -> None:
    folded = fold_name(raw)
    assert folded.isascii()
    assert fold_name(folded) == folded
    assert folded == folded.strip()
    assert "  " not in folded


# Written independently of the code's table: each plain letter and the Vietnamese letters built on it.
ACCENTED = {
    "a": "aàáảãạăằắẳẵặâầấẩẫậ",
    "d": "dđ",
    "e": "eèéẻẽẹêềếểễệ",
    "i": "iìíỉĩị",
    "o": "oòóỏõọôồốổỗộơờớởỡợ",
    "u": "uùúủũụưừứửữự",
    "y": "yỳýỷỹỵ",
}
PLAIN = "bcghklmnpqrstvx"


@st.composite
def names_with_and_without_marks(draw: st.DrawFn) -> tuple[str, str]:
    """A Vietnamese-looking name with diacritics in random case, and the same name in plain lower-case."""
    words_marked, words_plain = [], []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        marked, plain = "", ""
        for _ in range(draw(st.integers(min_value=1, max_value=7))):
            base = draw(st.sampled_from(sorted(ACCENTED) + list(PLAIN)))
            letter = draw(st.sampled_from(ACCENTED.get(base, base)))
            marked += letter.upper() if draw(st.booleans()) else letter
            plain += base
        words_marked.append(marked)
        words_plain.append(plain)
    spacing = draw(st.sampled_from([" ", "  ", "\t", " \u00a0"]))
    return spacing.join(words_marked), " ".join(words_plain)


@given(names_with_and_without_marks(), st.sampled_from(["NFC", "NFD"]))
def test_folding_ignores_diacritics_case_and_spacing(case: tuple[str, str], form: str) -> None:
    marked, plain = case
    as_typed = unicodedata.normalize(form, marked)  # type: ignore[arg-type]
    assert fold_name(as_typed) == fold_name(plain) == plain
    assert fold_name(as_typed.upper()) == plain


@given(names_with_and_without_marks(), st.randoms())
def test_name_tokens_ignore_word_order(case: tuple[str, str], rng: Random) -> None:
    marked, plain = case
    words = marked.split()
    rng.shuffle(words)
    assert name_tokens(" ".join(words)) == name_tokens(plain)


@settings(max_examples=400)
@given(prefix=st.text(alphabet="0123456789", min_size=1, max_size=3), rest=st.text(alphabet="0123456789",
       min_size=6, max_size=10), head=st.sampled_from(["0", "+84"]))
def test_the_plain_vietnamese_shortcut_agrees_with_parsing(prefix: str, rest: str, head: str) -> None:
    """Whole numbers skip phonenumbers.parse; whatever the shortcut answers, parsing answers the same."""
    import phonenumbers

    from xuyen.identity.phones import _valid_plain_vn

    compact = head + prefix + rest
    shortcut = _valid_plain_vn(compact, "VN")
    try:
        parsed = phonenumbers.parse(compact, "VN")
    except phonenumbers.NumberParseException:
        assert shortcut is None
        return
    if phonenumbers.is_valid_number(parsed):
        assert shortcut in (None, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        if compact[len(head)] != "0" and len(prefix + rest) in (9, 10):
            assert shortcut is not None  # a valid number written whole does take the shortcut
    else:
        assert shortcut is None
