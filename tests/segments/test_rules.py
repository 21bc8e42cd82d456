"""The rule language: each kind of condition read, checked with every problem named by its path, and read out in
Vietnamese and English."""

from __future__ import annotations

import pytest

from xuyen.errors import ValidationFailed
from xuyen.segments.rules import parse_rule
from xuyen.segments.text import describe


def _errors(definition: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(definition)
    assert caught.value.code == "invalid_segment_rule"
    return caught.value.details["errors"]


def test_every_problem_is_named_by_its_path() -> None:
    errors = _errors({"all": [
        {"trait": "city", "op": "like", "value": "Hà Nội"},
        {"any": [{"did": "Order Completed", "days": "nhiều"}, {"colour": "đỏ"}]},
        {"orders": "count", "op": "gte", "value": -1},
        {"trait": "age", "op": "gt", "value": "ba mươi"},
        {"tier": ["gold"], "extra": 1},
        {"bought": {"sku": "A", "product_id": 3}},
    ]})
    assert set(errors) == {"all[0].op", "all[1].any[0].days", "all[1].any[1]", "all[2].value", "all[3]",
                           "all[4].extra", "all[5].bought"}
    assert "'like' is not allowed" in errors["all[0].op"]
    assert "unknown condition ['colour']" in errors["all[1].any[1]"]
    assert "not a number" in errors["all[3]"]
    assert errors["all[4].extra"] == "unknown field for a 'tier' condition"


@pytest.mark.parametrize("definition", [[], {}, {"all": []}, {"none": [{"tier": ["gold"]}]}, {"all": "x"},
                                        {"all": [{"tier": ["a"]}], "any": [{"tier": ["b"]}]}])
def test_a_rule_that_is_not_a_group_is_refused(definition: object) -> None:
    assert _errors(definition)


def test_too_deep_or_too_many_conditions_are_refused() -> None:
    deep: dict[str, object] = {"all": [{"tier": ["gold"]}]}
    for _ in range(4):
        deep = {"any": [deep]}
    assert any("nest" in message for message in _errors(deep).values())
    assert any("at most 30" in message for message in _errors({"all": [{"tier": ["g"]}] * 31}).values())


def test_the_text_form_in_both_languages() -> None:
    rule = parse_rule({"all": [{"did": "Order Completed", "times": 2, "days": 90}, {"province": "Hà Nội"},
                               {"any": [{"tier": ["gold", "vip"]},
                                        {"orders": "total", "op": "gte", "value": 5000000, "days": 365}]}]})
    assert describe(rule, language="vi") == (
        "Đã mua hàng ít nhất 2 lần trong 90 ngày qua VÀ Ở Thành phố Hà Nội VÀ (Hạng thành viên là “gold” hoặc “vip” "
        "HOẶC Tổng chi tiêu trong 365 ngày qua ít nhất 5.000.000 ₫)")
    assert describe(rule, language="en") == (
        "Did complete an order at least 2 times in the last 90 days AND In Thành phố Hà Nội AND (Loyalty tier is "
        "“gold” or “vip” OR Total spent in the last 365 days at least 5,000,000 ₫)")


def test_an_old_province_is_read_out_with_the_one_it_is_part_of_now() -> None:
    rule = parse_rule({"all": [{"province": "Bình Dương"}]})
    assert describe(rule) == "Ở Tỉnh Bình Dương (nay thuộc Thành phố Hồ Chí Minh)"
    assert describe(rule, language="en") == "In Tỉnh Bình Dương (now part of Thành phố Hồ Chí Minh)"


def test_the_text_of_the_other_conditions() -> None:
    rule = parse_rule({"any": [
        {"near_store": "HG", "km": 3}, {"trait": "vip", "op": "eq", "value": True},
        {"computed": "revenue", "op": "gte", "value": 10000000},
        {"consent": {"channel": "zalo", "purpose": "marketing"}},
        {"did_not": "Order Completed", "days": 30, "where": {"channel": "web"}}, {"bought": {"sku": "AO-01"}},
        {"orders": "count", "op": "lt", "value": 1}, {"field": "size", "op": "any_of", "value": ["m", "l"]}]})
    assert describe(rule) == (
        "Cách cửa hàng HG không quá 3 km HOẶC Thuộc tính “vip” là đúng HOẶC Tổng chi tiêu ít nhất 10.000.000 ₫ HOẶC "
        "Đồng ý nhận marketing qua zalo HOẶC Không mua hàng trong 30 ngày qua (với channel = “web”) HOẶC "
        "Đã mua mã SKU AO-01 HOẶC Số đơn hàng nhỏ hơn 1 HOẶC Trường “size” là một trong m, l")
    assert describe(rule, language="en").startswith("Within 3 km of the store HG OR Trait “vip” is true OR ")
