"""A rule read out in Vietnamese or English: "Đã mua ít nhất 2 lần trong 90 ngày qua VÀ ở Hà Nội"."""

from __future__ import annotations

from typing import Any

from xuyen.segments import geography
from xuyen.segments.rules import (
    BoughtCondition,
    ComputedCondition,
    Condition,
    ConsentCondition,
    DidCondition,
    DidNotCondition,
    FieldCondition,
    Group,
    NearStoreCondition,
    OrdersCondition,
    PredictedCondition,
    ProvinceCondition,
    RfmCondition,
    TierCondition,
    TraitCondition,
)

_WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "all": " VÀ ", "any": " HOẶC ", "eq": "là", "ne": "khác", "gt": "lớn hơn", "gte": "ít nhất", "lt": "nhỏ hơn",
        "lte": "nhiều nhất", "exists": "có giá trị", "missing": "chưa có giá trị",
        "orders": "số đơn hàng", "events": "số sự kiện", "revenue": "tổng chi tiêu",
        "preferred_channel": "kênh ưa thích",
        "trait": "Thuộc tính “{key}” {op}{value}", "computed": "{what} {op} {value}",
        "consent": "Đồng ý nhận {purpose} qua {channel}",
        "did": "Đã {event} {times} trong {days} ngày qua{where}",
        "did_not": "Không {event} trong {days} ngày qua{where}",
        "where": " (với {pairs})",
        "orders_count": "Số đơn hàng{period} {op} {value}", "orders_total": "Tổng chi tiêu{period} {op} {value}",
        "period": " trong {days} ngày qua",
        "bought": "Đã mua {item}{period}", "sku": "mã SKU {value}", "product_id": "sản phẩm #{value}",
        "category_id": "sản phẩm thuộc danh mục #{value}",
        "tier": "Hạng thành viên là {tiers}", "or": " hoặc ",
        "field": "Trường “{key}” {op} {value}", "equals": "là", "contains": "chứa", "between": "trong khoảng",
        "any_of": "là một trong", "is_set": "đã điền",
        "province": "Ở {name}", "old_province": "Ở {old} (nay thuộc {name})",
        "money": "{amount} ₫", "near_store": "Cách cửa hàng {store} không quá {km} km",
        "rfm": "Nhóm RFM là {groups}", "value": "Giá trị dự đoán", "probability_alive": "Xác suất còn hoạt động",
        "expected_purchases": "Số lần mua dự kiến", "predicted": "{what} {op} {value}", "and": " và ",
    },
    "en": {
        "all": " AND ", "any": " OR ", "eq": "is", "ne": "is not", "gt": "more than", "gte": "at least",
        "lt": "less than", "lte": "at most", "exists": "is set", "missing": "is not set",
        "orders": "orders", "events": "events", "revenue": "total spent", "preferred_channel": "preferred channel",
        "trait": "Trait “{key}” {op}{value}", "computed": "{what} {op} {value}",
        "consent": "Consents to {purpose} on {channel}",
        "did": "Did {event} {times} in the last {days} days{where}",
        "did_not": "Did not {event} in the last {days} days{where}",
        "where": " (with {pairs})",
        "orders_count": "Orders{period} {op} {value}", "orders_total": "Total spent{period} {op} {value}",
        "period": " in the last {days} days",
        "bought": "Bought {item}{period}", "sku": "SKU {value}", "product_id": "product #{value}",
        "category_id": "a product of category #{value}",
        "tier": "Loyalty tier is {tiers}", "or": " or ",
        "field": "Field “{key}” {op} {value}", "equals": "is", "contains": "contains", "between": "between",
        "any_of": "is one of", "is_set": "is set",
        "province": "In {name}", "old_province": "In {old} (now part of {name})",
        "money": "{amount} ₫", "near_store": "Within {km} km of the store {store}",
        "rfm": "RFM group is {groups}", "value": "Predicted value", "probability_alive": "Probability still active",
        "expected_purchases": "Expected purchases", "predicted": "{what} {op} {value}", "and": " and ",
    },
}

# The RFM groups (xuyen.analytics.rfm.GROUPS) as a sentence says them.
_RFM_GROUPS: dict[str, dict[str, str]] = {
    "vi": {"champions": "Khách hàng xuất sắc", "loyal": "Khách hàng trung thành",
           "potential_loyalists": "Có tiềm năng trung thành", "new_customers": "Khách hàng mới",
           "promising": "Có triển vọng", "need_attention": "Cần quan tâm", "about_to_sleep": "Sắp ngủ quên",
           "at_risk": "Có nguy cơ rời bỏ", "cannot_lose": "Không thể để mất", "hibernating": "Ngủ đông",
           "lost": "Đã rời bỏ"},
    "en": {"champions": "Champions", "loyal": "Loyal", "potential_loyalists": "Potential loyalists",
           "new_customers": "New customers", "promising": "Promising", "need_attention": "Need attention",
           "about_to_sleep": "About to sleep", "at_risk": "At risk", "cannot_lose": "Cannot lose them",
           "hibernating": "Hibernating", "lost": "Lost"},
}

# Event names of the Segment e-commerce spec as a sentence says them.
_EVENTS: dict[str, dict[str, str]] = {
    "vi": {"Order Completed": "mua hàng", "Product Added": "thêm vào giỏ hàng",
           "Checkout Started": "bắt đầu thanh toán", "Product Viewed": "xem sản phẩm", "Cart Viewed": "xem giỏ hàng"},
    "en": {"Order Completed": "complete an order", "Product Added": "add to cart",
           "Checkout Started": "start checkout", "Product Viewed": "view a product", "Cart Viewed": "view the cart"},
}


def describe(rule: Group, *, language: str = "vi") -> str:
    """The rule as one sentence in ``language`` (``vi`` or ``en``); nested groups in brackets."""
    return _group(rule, _WORDS["en" if language == "en" else "vi"], top=True, language=language)


def _group(group: Group, words: dict[str, str], *, top: bool, language: str) -> str:
    parts = [_group(item, words, top=False, language=language) if isinstance(item, Group)
             else _condition(item, words, language=language) for item in group.items]
    joined = words[group.mode].join(parts)
    return joined if top or len(parts) == 1 else f"({joined})"


def _number(value: Any, language: str) -> str:
    if isinstance(value, bool):
        return {("vi", True): "đúng", ("vi", False): "sai", ("en", True): "true", ("en", False): "false"}[
            ("en" if language == "en" else "vi", value)]
    if not isinstance(value, int | float):
        return f"“{value}”"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.2f}".rstrip("0")
        return text.replace(",", " ").replace(".", ",").replace(" ", ".") if language == "vi" else text
    text = f"{int(value):,}"
    return text.replace(",", ".") if language == "vi" else text


def _times(count: int, language: str) -> str:
    if language != "en":
        return f"ít nhất {_number(count, language)} lần"
    return "at least once" if count == 1 else f"at least {_number(count, language)} times"


def _event(name: str, language: str) -> str:
    return _EVENTS["en" if language == "en" else "vi"].get(name, f"“{name}”")


def _where(where: dict[str, Any], words: dict[str, str], language: str) -> str:
    if not where:
        return ""
    pairs = ", ".join(f"{key} = {_number(value, language)}" for key, value in where.items())
    return words["where"].format(pairs=pairs)


def _condition(condition: Condition, words: dict[str, str], *, language: str) -> str:
    match condition:
        case TraitCondition():
            compared = "" if condition.value is None else f" {_number(condition.value, language)}"
            return words["trait"].format(key=condition.trait, op=words[condition.op], value=compared)
        case ComputedCondition():
            number = _number(condition.value, language)
            shown = words["money"].format(amount=number) if condition.computed == "revenue" else number
            return words["computed"].format(what=words[condition.computed].capitalize(), op=words[condition.op],
                                            value=shown)
        case ConsentCondition():
            return words["consent"].format(purpose=condition.consent.purpose, channel=condition.consent.channel)
        case DidCondition():
            return words["did"].format(event=_event(condition.did, language), times=_times(condition.times, language),
                                       days=condition.days, where=_where(condition.where, words, language))
        case DidNotCondition():
            return words["did_not"].format(event=_event(condition.did_not, language), days=condition.days,
                                           where=_where(condition.where, words, language))
        case OrdersCondition():
            period = words["period"].format(days=condition.days) if condition.days else ""
            amount = _number(condition.value, language)
            shown = words["money"].format(amount=amount) if condition.orders == "total" else amount
            return words[f"orders_{condition.orders}"].format(period=period, op=words[condition.op], value=shown)
        case BoughtCondition():
            item = condition.bought
            key, named = next((key, named) for key, named in
                              (("sku", item.sku), ("product_id", item.product_id), ("category_id", item.category_id))
                              if named is not None)
            period = words["period"].format(days=condition.days) if condition.days else ""
            return words["bought"].format(item=words[key].format(value=named), period=period)
        case TierCondition():
            return words["tier"].format(tiers=words["or"].join(f"“{code}”" for code in condition.tier))
        case FieldCondition():
            value = condition.value
            shown = ", ".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
            return words["field"].format(key=condition.field, op=words[condition.op], value=shown)
        case ProvinceCondition():
            return _province(condition.province, words)
        case NearStoreCondition():
            return words["near_store"].format(store=condition.near_store, km=_number(condition.km, language))
        case RfmCondition():
            names = _RFM_GROUPS["en" if language == "en" else "vi"]
            return words["rfm"].format(groups=words["or"].join(f"“{names.get(key, key)}”" for key in condition.rfm))
        case PredictedCondition():
            return _predicted(condition, words, language)
    raise AssertionError(f"no text for {condition!r}")


def _predicted(condition: PredictedCondition, words: dict[str, str], language: str) -> str:
    parts = []
    for measure, compared in condition.predicted.items():
        for op, bound in compared.items():
            shown = _number(int(bound) if float(bound).is_integer() else bound, language)
            if measure == "value":
                shown = words["money"].format(amount=shown)
            parts.append(words["predicted"].format(what=words[measure], op=words[op], value=shown))
    return words["and"].join(parts)


def _province(text: str, words: dict[str, str]) -> str:
    try:
        area = geography.province_area(text)
    except geography.UnknownProvince:
        return words["province"].format(name=text)
    if area.old_name is None:
        return words["province"].format(name=area.name)
    return words["old_province"].format(old=area.old_name, name=area.name)
