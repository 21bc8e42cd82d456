"""The entry point: e-mails, opaque and scoped ids, custom types, the block list."""

from __future__ import annotations

import pytest

from xuyen.identity.normalise import (
    BlockList,
    Identifier,
    IdentifierType,
    check_email,
    check_external_ids,
    from_external_ids,
    normalise,
    normalise_email,
)


def only_value(type_: str, raw: str, *, scope: str | None = None, block_list: BlockList | None = None) -> str:
    result = normalise(type_, raw, scope=scope, block_list=block_list)
    assert result.rejected == []
    (identifier,) = result.identifiers
    return identifier.value


def only_reason(
    type_: str, raw: str, *, scope: str | None = None, block_list: BlockList | None = None
) -> tuple[str, str]:
    result = normalise(type_, raw, scope=scope, block_list=block_list)
    assert result.identifiers == []
    (rejection,) = result.rejected
    return rejection.reason_code, rejection.message


# E-mails


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("an@shop.vn", "an@shop.vn"),
        ("  An.Nguyen@Gmail.COM ", "an.nguyen@gmail.com"),
        ("<an@shop.vn>", "an@shop.vn"),
        ("mailto:an@shop.vn", "an@shop.vn"),
        ("MAILTO:An@Shop.VN", "an@shop.vn"),
        ("<mailto:an@shop.vn>", "an@shop.vn"),
        ("Nguyễn An <An@Shop.vn>", "an@shop.vn"),
        ("an.nguyen+sale@gmail.com", "an.nguyen+sale@gmail.com"),
        ("a.n.nguyen@gmail.com", "a.n.nguyen@gmail.com"),
    ],
)
def test_emails_are_trimmed_unwrapped_and_lower_cased(raw: str, expected: str) -> None:
    assert only_value("email", raw) == expected
    assert normalise_email(raw) == Identifier("email", expected)


def test_gmail_dots_and_plus_tags_are_kept_apart() -> None:
    assert only_value("email", "a.n@gmail.com") != only_value("email", "an@gmail.com")
    assert only_value("email", "an+x@gmail.com") != only_value("email", "an@gmail.com")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("an", "not_an_email"),
        ("an nguyen@shop.vn", "not_an_email"),
        ("an@shop", "not_an_email"),
        ("an@@shop.vn", "not_an_email"),
        ("@shop.vn", "not_an_email"),
        ("an@shop..vn", "not_an_email"),
        ("an@.shop.vn", "not_an_email"),
        ("an@shop.vn.", "not_an_email"),
        ("a" * 65 + "@shop.vn", "not_an_email"),
    ],
)
def test_obviously_invalid_emails_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    code, message = only_reason("email", raw)
    assert code == reason
    assert message
    assert normalise_email(raw) is None


def test_an_email_field_with_two_addresses_gives_both() -> None:
    result = check_email("an@shop.vn; Lan@Shop.vn, an@shop.vn")
    assert [identifier.value for identifier in result.identifiers] == ["an@shop.vn", "lan@shop.vn"]


# Opaque and scoped ids


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        ("user_id", "  KH-00042 ", "KH-00042"),
        ("anonymous_id", " 3f1c9a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b\n", "3f1c9a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"),
        ("loyalty_card", " vip-1234 5678 ", "VIP12345678"),
        ("loyalty_card", "VIP–1234–5678", "VIP12345678"),
        ("whatsapp_id", "84912345678", "84912345678"),
        ("whatsapp_id", "+84 912-345-678", "84912345678"),
    ],
)
def test_opaque_ids_are_trimmed(type_: str, raw: str, expected: str) -> None:
    assert only_value(type_, raw) == expected


def test_a_whatsapp_id_stays_its_own_type() -> None:
    (identifier,) = normalise("whatsapp_id", "84912345678").identifiers
    assert identifier.type == IdentifierType.WHATSAPP_ID == "whatsapp_id"


@pytest.mark.parametrize("raw", ["0912abc", "12345", "1" * 16])
def test_a_whatsapp_id_is_digits_only(raw: str) -> None:
    assert only_reason("whatsapp_id", raw)[0] == "not_a_whatsapp_id"


@pytest.mark.parametrize(
    ("type_", "message"),
    [
        ("facebook_psid", "Facebook PSID needs the page id as scope"),
        ("zalo_id", "Zalo user id needs the OA or app id as scope"),
        ("marketplace_buyer_id", "marketplace buyer id needs the shop id as scope"),
    ],
)
def test_scoped_ids_need_their_scope(type_: str, message: str) -> None:
    assert only_reason(type_, "1234567890") == ("missing_scope", message)
    assert only_reason(type_, "1234567890", scope="  ") == ("missing_scope", message)
    (identifier,) = normalise(type_, " 1234567890 ", scope=" 111222 ").identifiers
    assert identifier == Identifier(type_, "1234567890", scope="111222")


def test_the_same_psid_on_two_pages_is_two_identifiers() -> None:
    (first,) = normalise("facebook_psid", "42", scope="page-a").identifiers
    (second,) = normalise("facebook_psid", "42", scope="page-b").identifiers
    assert first.key != second.key


def test_unscoped_types_drop_a_scope() -> None:
    (identifier,) = normalise("user_id", "42", scope="ignored").identifiers
    assert identifier.scope is None


@pytest.mark.parametrize(("type_", "raw"), [("user_id", "   "), ("anonymous_id", ""), ("loyalty_card", " - ")])
def test_empty_ids_are_rejected(type_: str, raw: str) -> None:
    assert only_reason(type_, raw)[0] == "empty"


def test_overlong_ids_are_rejected() -> None:
    assert only_reason("user_id", "x" * 256)[0] == "too_long"


def test_non_string_input_does_not_raise() -> None:
    assert only_value("user_id", 42) == "42"  # type: ignore[arg-type]
    assert only_reason("user_id", None)[0] == "empty"  # type: ignore[arg-type]


# Custom types


def test_a_custom_type_is_accepted_by_the_entry_point() -> None:
    assert only_value("shopify_customer_id", " 7001 ") == "7001"


@pytest.mark.parametrize("name", ["Phone", "shopify-id", "", "a" * 65, "khách_hàng"])
def test_an_unknown_type_name_is_a_programming_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown identifier type"):
        normalise(name, "x")


def test_external_ids_become_identifiers() -> None:
    items = [
        {"id": "7001", "type": "shopify_customer_id", "collection": "users", "encoding": "none"},
        {"id": 42, "type": "haravan_id"},
        {"id": " An@Shop.vn ", "type": "email", "collection": "users"},
        {"id": "0168 123 4567", "type": "phone"},
    ]
    assert from_external_ids(items) == [
        Identifier("shopify_customer_id", "7001"),
        Identifier("haravan_id", "42"),
        Identifier("email", "an@shop.vn"),
        Identifier("phone", "+84381234567"),
    ]


def test_bad_external_ids_are_rejected_with_reasons() -> None:
    items: list[object] = [
        {"id": "1", "type": "Shopify-ID"},
        {"id": "1", "type": "a" * 65},
        {"id": "1"},
        {"id": "1", "type": "hubspot_company_id", "collection": "accounts"},
        {"id": ["1"], "type": "tiki_id"},
        {"id": "1", "type": "zalo_id"},
        {"id": "null", "type": "crm_id"},
        "not an object",
    ]
    result = check_external_ids(items)
    assert result.identifiers == []
    assert [r.reason_code for r in result.rejected] == [
        "bad_external_id",
        "bad_external_id",
        "bad_external_id",
        "bad_external_id",
        "bad_external_id",
        "missing_scope",
        "bad_external_id",
        "blocked",  # blocked values are checked after normalising, so they come last
    ]
    assert from_external_ids(None) == []


# The block list


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("user_id", "-1"),
        ("user_id", "0"),
        ("user_id", "NULL"),
        ("user_id", "None"),
        ("anonymous_id", "undefined"),
        ("anonymous_id", "anonymous"),
        ("user_id", "Unknown"),
        ("user_id", "N/A"),
        ("loyalty_card", "test"),
        ("anonymous_id", "00000000-0000-0000-0000-000000000000"),
        ("phone", "0999999999"),
        ("phone", "0999 999 999"),
        ("phone", "+84 333 333 333"),
        ("email", "test@test.com"),
        ("email", "TEST@test.com"),
        ("email", "an@example.com"),
        ("email", "an@example.org"),
        ("email", "an@mail.example.net"),
        ("email", "noreply@shop.vn"),
        ("email", "no-reply@zalo.me"),
        ("email", "an@shop.test"),
        ("shopify_customer_id", "null"),
    ],
)
def test_default_block_list(type_: str, raw: str) -> None:
    code, message = only_reason(type_, raw)
    assert code == "blocked"
    assert message.startswith("blocked value")


def test_an_all_zero_phone_identifier_is_blocked() -> None:
    assert BlockList().is_blocked(Identifier("phone", "+84000000000"))
    assert BlockList().is_blocked(Identifier("whatsapp_id", "84999999999"))
    assert not BlockList().is_blocked(Identifier("phone", "+84912345678"))


def test_the_shops_own_numbers_and_addresses_are_blocked_in_any_format() -> None:
    shop = BlockList(
        extra_phones=["1900 6868", "0168 123 4567", "(028) 3822 1234"],
        extra_emails=["CSKH@Shop.vn"],
        extra_email_domains=["*@shop.vn"],
        extra_values=["khach le"],
    )
    for type_, raw in [
        ("phone", "19006868"),
        ("phone", "+84 38 123 4567"),
        ("phone", "028.3822.1234"),
        ("email", "cskh@shop.vn"),
        ("email", "anyone@shop.vn"),
        ("user_id", "Khach Le"),
    ]:
        assert only_reason(type_, raw, block_list=shop)[0] == "blocked"
    assert shop.is_blocked(Identifier("whatsapp_id", "84381234567"))
    assert only_value("phone", "0912345678", block_list=shop) == "+84912345678"


def test_defaults_can_be_turned_off() -> None:
    bare = BlockList(include_defaults=False)
    assert only_value("user_id", "null", block_list=bare) == "null"
    assert only_value("phone", "0999999999", block_list=bare) == "+84999999999"
    assert only_value("email", "an@example.com", block_list=bare) == "an@example.com"


def test_a_block_list_entry_that_is_not_a_number_is_a_setup_error() -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        BlockList(extra_phones=["hotline"])
    with pytest.raises(ValueError, match="not an e-mail address"):
        BlockList(extra_emails=["cskh"])


def test_blocked_and_good_numbers_in_one_field() -> None:
    result = normalise("phone", "0999999999 / 0912345678")
    assert [identifier.value for identifier in result.identifiers] == ["+84912345678"]
    assert [(r.raw, r.reason_code) for r in result.rejected] == [("+84999999999", "blocked")]
