"""The Fellegi–Sunter model of duplicate customers: compared fields, their levels, priors and blocking rules.

Each field is compared at a few levels, best first; each level has an m probability (how often two records
of the same person fall into it) and a u probability (how often two records of different people do). A
pair's match weight is the sum of log2(m/u) over the fields, plus the prior log-odds that two random
profiles are one person; the score is the probability that weight stands for.

Every level has documented priors (below). With at least ``MIN_PROFILES_TO_ESTIMATE`` profiles a run
estimates the parameters from the shop's own profiles, without labels and deterministically (fixed seed,
hash-based samples): the prior from the pairs the deterministic rules find, u from random pairs, m by
expectation maximisation on the pairs ``TRAINING_RULES`` block. Names get term-frequency adjustments, so
"Nguyễn" agreeing counts for less than a rare family name.

Phones and e-mails keep their priors (``fixed``): random pairs almost never share one, so an estimated u
would make a shared number count for too much. A phone held by several profiles (a family's or a shop's)
falls into its own, weak level, and a pair is suggested only if a name, the birth date or an ID number
agrees too: a shared family phone alone never makes a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_PROFILES_TO_ESTIMATE = 1_000
U_SAMPLE_PAIRS = 300_000
SEED = 20_261_123
# Fields of which at least one must agree (positive weight) for a pair to be suggested.
IDENTIFYING_FIELDS = ("given_name", "birth_date", "national_id")


@dataclass(frozen=True)
class Level:
    """One level of a compared field: a stable code, its SQL condition, and its m and u priors."""

    code: str
    sql: str
    m: float
    u: float
    term_frequency: str | None = None
    fixed: bool = False  # m and u stay at the priors (not estimated from the data)


@dataclass(frozen=True)
class Field:
    """A compared field: its name (the reasons' key), the condition that makes it unknown, and its levels."""

    name: str
    null_sql: str
    levels: tuple[Level, ...]

    def comparison(self) -> dict[str, Any]:
        """The field as a Splink comparison (a settings dictionary entry)."""
        levels: list[dict[str, Any]] = [{"sql_condition": self.null_sql, "label_for_charts": "missing",
                                         "is_null_level": True}]
        for level in self.levels:
            entry: dict[str, Any] = {"sql_condition": level.sql, "label_for_charts": level.code,
                                     "m_probability": level.m, "u_probability": level.u}
            if level.term_frequency:
                entry |= {"tf_adjustment_column": level.term_frequency, "tf_adjustment_weight": 1.0}
            if level.fixed:
                entry |= {"fix_m_probability": True, "fix_u_probability": True}
            levels.append(entry)
        return {"output_column_name": self.name, "comparison_levels": levels}

    def codes(self) -> tuple[str, ...]:
        """The level codes by Splink's gamma value: index 0 is the last level (else), -1 is missing."""
        return tuple(level.code for level in reversed(self.levels))


def _either_null(column: str) -> str:
    return f'"{column}_l" IS NULL OR "{column}_r" IS NULL'


def _jw(column: str, threshold: float) -> str:
    return f'jaro_winkler_similarity("{column}_l", "{column}_r") >= {threshold}'


def _jw_crossed(column: str, other: str, threshold: float) -> str:
    """The name written in the other's place: this record's ``column`` is like the other record's ``other``."""
    return f'jaro_winkler_similarity("{column}_l", "{other}_r") >= {threshold}'


SAME_WORDS = '"name_key_l" = "name_key_r"'
ELSE = "ELSE"

FIELDS: tuple[Field, ...] = (
    Field("given_name", _either_null("given_name"), (
        Level("same", '"given_name_l" = "given_name_r"', m=0.88, u=0.02, term_frequency="given_name"),
        Level("same_words_other_order", SAME_WORDS, m=0.03, u=0.0005),
        Level("similar", _jw("given_name", 0.92), m=0.05, u=0.002),
        Level("similar_other_order", _jw_crossed("given_name", "family_name", 0.92), m=0.01, u=0.0005),
        Level("somewhat_similar", _jw("given_name", 0.80), m=0.02, u=0.02),
        Level("different", ELSE, m=0.02, u=0.9575),
    )),
    Field("family_name", _either_null("family_name"), (
        Level("same", '"family_name_l" = "family_name_r"', m=0.88, u=0.15, term_frequency="family_name"),
        Level("similar", _jw("family_name", 0.92), m=0.05, u=0.01),
        Level("similar_other_order", _jw_crossed("family_name", "given_name", 0.92), m=0.01, u=0.001),
        Level("somewhat_similar", _jw("family_name", 0.80), m=0.02, u=0.05),
        Level("different", ELSE, m=0.02, u=0.789),
    )),
    Field("middle_name", _either_null("middle_name"), (
        Level("same", '"middle_name_l" = "middle_name_r"', m=0.85, u=0.1),
        Level("similar", _jw("middle_name", 0.88), m=0.08, u=0.05),
        Level("different", ELSE, m=0.07, u=0.85),
    )),
    Field("birth_date", _either_null("birth_date"), (
        Level("same", '"birth_date_l" = "birth_date_r"', m=0.9, u=0.0001),
        Level("one_typo", 'damerau_levenshtein("birth_date_l", "birth_date_r") <= 1', m=0.06, u=0.002),
        Level("day_month_swapped", "substr(\"birth_date_l\", 1, 4) = substr(\"birth_date_r\", 1, 4) AND "
              "substr(\"birth_date_l\", 6, 2) = substr(\"birth_date_r\", 9, 2) AND "
              "substr(\"birth_date_l\", 9, 2) = substr(\"birth_date_r\", 6, 2)", m=0.01, u=0.0001),
        Level("two_typos", 'damerau_levenshtein("birth_date_l", "birth_date_r") <= 2', m=0.02, u=0.03),
        Level("different", ELSE, m=0.01, u=0.9678),
    )),
    Field("national_id", _either_null("national_id"), (
        Level("same", '"national_id_l" = "national_id_r"', m=0.9, u=0.000001),
        Level("one_typo", 'damerau_levenshtein("national_id_l", "national_id_r") <= 1', m=0.06, u=0.0001),
        Level("two_typos", 'damerau_levenshtein("national_id_l", "national_id_r") <= 2', m=0.02, u=0.001),
        Level("different", ELSE, m=0.02, u=0.998899),
    )),
    Field("phone", _either_null("phones"), (
        Level("same", 'len(list_intersect("own_phones_l", "own_phones_r")) > 0', m=0.55, u=0.00002, fixed=True),
        Level("shared", 'len(list_intersect("phones_l", "phones_r")) > 0', m=0.05, u=0.002, fixed=True),
        Level("different", ELSE, m=0.4, u=0.99798, fixed=True),
    )),
    Field("email", _either_null("emails"), (
        Level("same", 'len(list_intersect("emails_l", "emails_r")) > 0', m=0.55, u=0.00002, fixed=True),
        Level("same_user", 'len(list_intersect("email_users_l", "email_users_r")) > 0', m=0.1, u=0.0005,
              fixed=True),
        Level("different", ELSE, m=0.35, u=0.99948, fixed=True),
    )),
    Field("address", _either_null("address"), (
        Level("same", '"address_l" = "address_r"', m=0.75, u=0.0005),
        Level("similar", _jw("address", 0.9), m=0.15, u=0.002),
        Level("somewhat_similar", 'jaccard("address_l", "address_r") >= 0.6', m=0.05, u=0.02),
        Level("different", ELSE, m=0.05, u=0.9775),
    )),
    # Ward and province speak only where an address is missing: the address text already says them.
    Field("area", '(("ward_code_l" IS NULL OR "ward_code_r" IS NULL) AND '
                  '("province_code_l" IS NULL OR "province_code_r" IS NULL)) OR '
                  '("address_l" IS NOT NULL AND "address_r" IS NOT NULL)', (
        Level("same_ward", '"ward_code_l" = "ward_code_r"', m=0.8, u=0.005),
        Level("same_province", '"province_code_l" = "province_code_r"', m=0.12, u=0.08),
        Level("different", ELSE, m=0.08, u=0.915),
    )),
)

FIELD_NAMES = tuple(field.name for field in FIELDS)

# Candidate pairs: a pair is compared when any of these agree exactly (arrays: any shared element).
# ``given_initial`` is the given name's first letter.
BLOCKING_RULES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("national_id",), None),
    (("phones",), "phones"),
    (("emails",), "emails"),
    (("name_key", "email_users"), "email_users"),
    (("name_key", "birth_date"), None),
    (("name_key", "ward_code"), None),
    (("birth_date", "given_name"), None),
    (("birth_date", "family_name", "given_initial"), None),
    (("birth_date", "ward_code"), None),
    (("birth_date", "province_code"), None),
    (("ward_code", "address"), None),
    (("address", "family_name"), None),
    (("address", "given_name"), None),
)

# Pairs that agree on these are taken as matches when estimating how many profiles are duplicates.
DETERMINISTIC_RULES: tuple[tuple[str, ...], ...] = (
    ("national_id",),
    ("name_key", "birth_date"),
)
DETERMINISTIC_RECALL = 0.7

# Expectation maximisation of the m probabilities, on the pairs each rule blocks (at most EM_MAX_PAIRS each).
TRAINING_RULES: tuple[tuple[str, ...], ...] = (("name_key",), ("birth_date",))
EM_MAX_PAIRS = 300_000
EM_MIN_PAIRS = 100  # a training rule blocking fewer pairs is skipped: its fields keep their priors


def settings(*, prior: float) -> dict[str, Any]:
    """The Splink settings of the model, with ``prior`` as the probability that two random profiles match."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "comparisons": [field.comparison() for field in FIELDS],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
    }
