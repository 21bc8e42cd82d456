"""Reasons of a suggestion in words: what each compared field and level means, and the merge reason text."""

from __future__ import annotations

from typing import Any

from xuyen.customers.duplicates.matcher import FieldReason

# English names of the fields and levels (the UI translates them; merges record them in English).
FIELD_LABELS: dict[str, str] = {
    "given_name": "given name", "family_name": "family name", "middle_name": "middle name",
    "birth_date": "birth date", "national_id": "ID number", "phone": "phone", "email": "e-mail",
    "address": "address", "area": "ward or province",
}
LEVEL_LABELS: dict[str, str] = {
    "missing": "not known on both", "same": "same", "same_words_other_order": "same words in another order",
    "similar": "similar", "similar_other_order": "similar, in another order", "somewhat_similar": "somewhat similar",
    "one_typo": "one typo apart", "two_typos": "two typos apart", "day_month_swapped": "day and month swapped",
    "shared": "shared with other profiles", "same_user": "same name before the @", "same_ward": "same ward",
    "same_province": "same province", "different": "different",
}
SUMMARY_FIELDS = 4  # how many agreeing fields a merge reason names


def reasons_json(reasons: dict[str, FieldReason]) -> dict[str, dict[str, Any]]:
    """The reasons as stored: per field, the level code and its weight."""
    return {name: {"level": reason.level, "weight": reason.weight} for name, reason in reasons.items()}


def agreeing(reasons: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, level) of the fields that spoke for the pair, strongest first."""
    positive = [(name, value) for name, value in reasons.items() if float(value.get("weight", 0)) > 0]
    positive.sort(key=lambda item: -float(item[1]["weight"]))
    return [(name, str(value["level"])) for name, value in positive]


def summary(reasons: dict[str, Any]) -> str:
    """The evidence in a few words: "same given name, same birth date, same phone"."""
    words = [f"{LEVEL_LABELS.get(level, level)} {FIELD_LABELS.get(name, name)}"
             for name, level in agreeing(reasons)[:SUMMARY_FIELDS]]
    return ", ".join(words) or "no agreeing field"
