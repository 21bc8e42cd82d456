"""Why a row was rejected or flagged, in words a clerk understands, in Vietnamese and English.

The report stores a stable ``code`` with its parameters; the words are chosen when the report is read, in
the reader's language. The identity normalisers' own reasons (``not_a_phone``, ``blocked``, …) are
translated here too.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("vi", "en")

TEXTS: dict[str, dict[str, str]] = {
    "not_a_phone": {
        "en": "“{value}” is not a phone number; the phone was left out.",
        "vi": "“{value}” không phải số điện thoại; đã bỏ qua số này.",
    },
    "phone_blocked": {
        "en": "“{value}” is a placeholder number (such as 0000000000) that never identifies anyone; it was left out.",
        "vi": "“{value}” là số điền tạm (như 0000000000), không dùng để nhận ra khách; đã bỏ qua số này.",
    },
    "phone_too_long": {
        "en": "The phone cell is too long to be phone numbers; it was left out.",
        "vi": "Ô số điện thoại quá dài, không thể là số điện thoại; đã bỏ qua.",
    },
    "phone_possible_not_valid": {
        "en": "{value} has the length of a phone number but is not in use on any network; kept, please check it.",
        "vi": "{value} đủ độ dài số điện thoại nhưng không thuộc nhà mạng nào; vẫn giữ lại, vui lòng kiểm tra.",
    },
    "not_an_email": {
        "en": "“{value}” is not an e-mail address ({detail}); the e-mail was left out.",
        "vi": "“{value}” không phải địa chỉ email ({detail}); đã bỏ qua email này.",
    },
    "email_blocked": {
        "en": "“{value}” is a placeholder or reserved address that never identifies anyone; it was left out.",
        "vi": "“{value}” là địa chỉ điền tạm hoặc dành riêng, không dùng để nhận ra khách; đã bỏ qua.",
    },
    "external_id_too_long": {
        "en": "The customer code is longer than {limit} characters; it was left out.",
        "vi": "Mã khách hàng dài quá {limit} ký tự; đã bỏ qua mã này.",
    },
    "no_identifier": {
        "en": "No phone number, e-mail or customer code: the row cannot become a customer and was not imported.",
        "vi": "Không có số điện thoại, email hay mã khách hàng: dòng này không thể thành khách hàng, không được nhập.",
    },
    "bad_date": {
        "en": "“{value}” is not a date; write it as dd/mm/yyyy. The birthday was left out.",
        "vi": "“{value}” không phải ngày; hãy ghi theo dạng ngày/tháng/năm (dd/mm/yyyy). Đã bỏ qua ngày sinh.",
    },
    "date_out_of_range": {
        "en": "“{value}” cannot be a date of birth (before 1900 or in the future); it was left out.",
        "vi": "“{value}” không thể là ngày sinh (trước năm 1900 hoặc ở tương lai); đã bỏ qua.",
    },
    "bad_gender": {
        "en": "“{value}” is not a gender we know (Nam, Nữ, Khác); it was left out.",
        "vi": "“{value}” không phải giới tính hợp lệ (Nam, Nữ, Khác); đã bỏ qua.",
    },
    "bad_consent": {
        "en": "“{value}” is neither yes nor no (Có/Không, x, 1/0); no consent was recorded from it.",
        "vi": "“{value}” không phải có hay không (Có/Không, x, 1/0); không ghi nhận đồng ý từ ô này.",
    },
    "duplicate_row": {
        "en": "The same as row {row}; skipped.",
        "vi": "Trùng hoàn toàn với dòng {row}; đã bỏ qua.",
    },
    "duplicate_identifier": {
        "en": "Same {kind} {value} as row {row}: the two rows become one customer.",
        "vi": "Trùng {kind} {value} với dòng {row}: hai dòng sẽ là cùng một khách hàng.",
    },
    "not_stored": {
        "en": "The row could not be stored: {detail}.",
        "vi": "Không lưu được dòng này: {detail}.",
    },
}

KINDS: dict[str, dict[str, str]] = {
    "phone": {"en": "phone number", "vi": "số điện thoại"},
    "email": {"en": "e-mail", "vi": "email"},
    "external_id": {"en": "customer code", "vi": "mã khách hàng"},
    "loyalty_card": {"en": "loyalty card", "vi": "thẻ thành viên"},
}

# The e-mail normaliser's explanations (English), in Vietnamese.
EMAIL_PROBLEMS_VI: dict[str, str] = {
    "the e-mail field is empty": "ô email trống",
    "an e-mail address has no spaces": "địa chỉ email không có dấu cách",
    "an e-mail address has exactly one @": "địa chỉ email có đúng một dấu @",
    "an e-mail address needs a name before the @": "cần có tên trước dấu @",
    "the part after the @ must be a domain such as gmail.com": "phần sau dấu @ phải là tên miền, ví dụ gmail.com",
    "an e-mail address that long is not deliverable": "địa chỉ email quá dài, không gửi được",
}


def language(locale: str | None) -> str:
    """``locale`` if the report speaks it, Vietnamese otherwise."""
    return locale if locale in LANGUAGES else "vi"


def describe(code: str, params: dict[str, Any], locale: str) -> str:
    """The words for one reason in ``locale`` (vi or en); an unknown code is shown as it is."""
    lang = language(locale)
    texts = TEXTS.get(code)
    if texts is None:
        return code
    values = {key: str(value) for key, value in params.items()}
    if "kind" in values:
        values["kind"] = KINDS.get(values["kind"], {}).get(lang, values["kind"])
    if lang == "vi" and "detail" in values:
        values["detail"] = EMAIL_PROBLEMS_VI.get(values["detail"], values["detail"])
    return texts[lang].format_map(_Missing(values))


class _Missing(dict[str, str]):
    """Format values where a missing parameter shows as empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""
