"""The duplicate matcher: blocking and Fellegi–Sunter scoring of profile pairs with Splink on DuckDB.

``find_duplicates`` takes the records of every candidate profile and returns the pairs whose score reaches
the threshold, each with its match weight and, per compared field, the level it fell into and the weight
that level added (the reasons shown to reviewers). The work happens in an in-memory DuckDB database of
its own; nothing is written to the application's database here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker, block_on
from splink.blocking_rule_library import CustomRule

from xuyen.customers.duplicates import model
from xuyen.customers.duplicates.records import MatchRecord, records_table

# A phone or e-mail held by more profiles than this is "shared" (a family's or a shop's), a weaker agreement.
OWN_CONTACT_MAX_HOLDERS = 2
# Bounds of the prior: between one duplicate per 100 profiles' worth of pairs and five per profile.
PRIOR_MIN_DUPLICATES_PER_PROFILE = 0.01
PRIOR_MAX_DUPLICATES_PER_PROFILE = 5.0
PRIOR_DEFAULT_DUPLICATES_PER_PROFILE = 0.1

INPUT_TABLE = "candidate_profiles"

# Splink logs each training step at INFO and sampling remarks at WARNING; a run records what matters in
# its own row, so only Splink's errors reach the logs.
logging.getLogger("splink").setLevel(logging.ERROR)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FieldReason:
    """How one field compared: the level's code (``same``, ``similar``, ``missing``, …) and its weight."""

    level: str
    weight: float


@dataclass(frozen=True)
class ScoredPair:
    """Two profiles (lower id first) the model takes for one person, with the evidence."""

    left_id: int
    right_id: int
    score: float
    match_weight: float
    reasons: dict[str, FieldReason]


@dataclass(frozen=True)
class MatchSummary:
    """What a matcher run did: how many records, the prior it used, whether it estimated the parameters from
    the records, and the pairs found."""

    record_count: int
    prior: float
    estimated_u: bool
    pairs: list[ScoredPair]


def find_duplicates(records: Sequence[MatchRecord], *, threshold: float, progress: Progress | None = None,
                    focus: Collection[int] | None = None) -> MatchSummary:
    """The pairs of ``records`` scoring at least ``threshold`` (0–1), best first.

    With ``focus`` (profile ids), only pairs with at least one of them are scored: the re-check of the
    profiles that changed, compared with everyone (the model is still estimated from all records).
    """
    report = progress or (lambda _step: None)
    if len(records) < 2:
        return MatchSummary(record_count=len(records), prior=0.0, estimated_u=False, pairs=[])
    connection = duckdb.connect(":memory:")
    try:
        report("preparing")
        _prepare(connection, records_table(records), focus)
        return _run(connection, len(records), threshold=threshold, report=report, focused=focus is not None)
    finally:
        connection.close()


def _prepare(connection: duckdb.DuckDBPyConnection, table: pa.Table, focus: Collection[int] | None) -> None:
    """Load the records into ``INPUT_TABLE``, adding what is derived from the whole set.

    ``own_phones`` are the phones held by at most ``OWN_CONTACT_MAX_HOLDERS`` profiles; ``email_users``
    the parts of the e-mail addresses before the ``@`` (without a ``+tag``); ``given_initial`` the given
    name's first letter; ``focus`` whether the record is one of the profiles to re-check.
    """
    connection.register("records", table)
    connection.register("focus", pa.table({"unique_id": pa.array(sorted(focus or ()), type=pa.int64())}))
    connection.execute(f"""
        CREATE TABLE "{INPUT_TABLE}" AS
        WITH held AS (SELECT "unique_id", unnest("phones") AS phone FROM records),
             holders AS (SELECT phone, count(*) AS n FROM held GROUP BY phone),
             own AS (SELECT held."unique_id", list(held.phone ORDER BY held.phone) AS phones FROM held
                     JOIN holders USING (phone) WHERE holders.n <= {OWN_CONTACT_MAX_HOLDERS}
                     GROUP BY held."unique_id")
        SELECT records.*, own.phones AS "own_phones", substr(records."given_name", 1, 1) AS "given_initial",
               records."unique_id" IN (SELECT "unique_id" FROM focus) AS "focus",
               CASE WHEN records."emails" IS NULL THEN NULL ELSE list_sort(list_distinct(list_transform(
                   records."emails", lambda e: split_part(split_part(e, '@', 1), '+', 1)))) END AS "email_users"
        FROM records LEFT JOIN own USING ("unique_id")
    """)  # noqa: S608 - our own names and a constant
    connection.unregister("records")
    connection.unregister("focus")


def _run(connection: duckdb.DuckDBPyConnection, count: int, *, threshold: float, report: Progress,
         focused: bool) -> MatchSummary:
    """Estimate the model (from enough records) and score the blocked pairs of ``INPUT_TABLE``."""
    db_api = DuckDBAPI(connection=connection)
    frame = db_api.register(INPUT_TABLE, table_name="profiles")
    estimated = count >= model.MIN_PROFILES_TO_ESTIMATE
    if estimated:
        report("estimating")
        prior = _estimated_prior(connection, count)
    else:
        prior = _bounded_prior(PRIOR_DEFAULT_DUPLICATES_PER_PROFILE, count)
    settings = model.settings(prior=prior) | {"blocking_rules_to_generate_predictions": blocking_rules(focused)}
    linker = Linker(frame, settings, log_level=None)
    if estimated:
        linker.training.estimate_u_using_random_sampling(max_pairs=model.U_SAMPLE_PAIRS, seed=model.SEED)
        report("training")
        for rule in model.TRAINING_RULES:
            if _pairs_blocked(connection, rule) < model.EM_MIN_PAIRS:
                continue  # too little to learn from (e.g. a shop that records no birth dates): keep the priors
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True, max_pairs=model.EM_MAX_PAIRS)
    report("scoring")
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    pairs = _pairs(connection, predictions.physical_name, _columns(connection))
    return MatchSummary(record_count=count, prior=prior, estimated_u=estimated, pairs=pairs)


def _pairs_blocked(connection: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> int:
    """How many pairs of input records agree on every one of ``columns`` (none of them empty)."""
    keys = ", ".join(f'"{column}"' for column in columns)
    present = " AND ".join(f'"{column}" IS NOT NULL' for column in columns)
    rows = connection.execute(f"""
        SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (
            SELECT count(*) AS n FROM "{INPUT_TABLE}" WHERE {present} GROUP BY {keys})
    """).fetchall()  # noqa: S608 - our own column names
    return int(rows[0][0]) if rows else 0


def _columns(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns of the input table."""
    return [str(row[0]) for row in connection.execute(f'DESCRIBE "{INPUT_TABLE}"').fetchall()]


def blocking_rules(focused: bool = False) -> list[CustomRule]:
    """The model's blocking rules as Splink rules; ``focused``: only pairs with a record in focus."""
    rules: list[CustomRule] = []
    for columns, array in model.BLOCKING_RULES:
        condition = " AND ".join(f'l."{column}" = r."{column}"' for column in columns)
        if focused:
            condition += ' AND (l."focus" OR r."focus")'
        rules.append(CustomRule(condition, arrays_to_explode=[array] if array else None))
    return rules


def _bounded_prior(duplicates_per_profile: float, count: int) -> float:
    """The probability that two random profiles match, for this many duplicates per profile."""
    pairs_per_profile = max(count - 1, 1) / 2
    bounded = min(max(duplicates_per_profile, PRIOR_MIN_DUPLICATES_PER_PROFILE), PRIOR_MAX_DUPLICATES_PER_PROFILE)
    return min(bounded / pairs_per_profile, 0.5)


def _estimated_prior(connection: duckdb.DuckDBPyConnection, count: int) -> float:
    """The prior from the pairs the deterministic rules find (taken as ``DETERMINISTIC_RECALL`` of all), bounded."""
    joins = " UNION ".join(_agreeing_pairs_sql(rule) for rule in model.DETERMINISTIC_RULES)
    [(found,)] = connection.execute(f"SELECT count(*) FROM ({joins})").fetchall()  # noqa: S608 - our own names
    return _bounded_prior(int(found) / model.DETERMINISTIC_RECALL / count, count)


def _agreeing_pairs_sql(columns: tuple[str, ...]) -> str:
    """SQL selecting the pairs of input records equal (and known) on every one of ``columns``."""
    equal = " AND ".join(f'l."{column}" = r."{column}"' for column in columns)
    return (f'SELECT l."unique_id", r."unique_id" FROM "{INPUT_TABLE}" AS l '  # noqa: S608 - our own names
            f'JOIN "{INPUT_TABLE}" AS r ON {equal} AND l."unique_id" < r."unique_id"')


def _pairs(connection: duckdb.DuckDBPyConnection, table_name: str, columns: list[str]) -> list[ScoredPair]:
    """The scored pairs of a prediction table, lower id first, best first, identifying evidence required.

    Splink gives each field's weight; the level it came from is worked out again here from the same
    conditions, for the pairs found only.
    """
    sides = ", ".join(f'l."{column}" AS "{column}_l", r."{column}" AS "{column}_r"' for column in columns)
    fields = ", ".join(f"{_level_case(field)}, {_weight_sum(field)}" for field in model.FIELDS)
    rows = connection.execute(
        f'WITH joined AS (SELECT p.*, {sides} FROM "{table_name}" AS p '  # noqa: S608 - our own names
        f'JOIN "{INPUT_TABLE}" AS l ON l."unique_id" = p."unique_id_l" '
        f'JOIN "{INPUT_TABLE}" AS r ON r."unique_id" = p."unique_id_r") '
        f'SELECT "unique_id_l", "unique_id_r", "match_probability", "match_weight", {fields} FROM joined '
        'ORDER BY "match_weight" DESC, "unique_id_l", "unique_id_r"').fetchall()
    pairs = [_pair(row) for row in rows]
    return [pair for pair in pairs if _identified(pair)]


def _level_case(field: model.Field) -> str:
    """SQL giving the code of the level a pair falls into for ``field``."""
    whens = " ".join(f"WHEN {level.sql} THEN '{level.code}'" for level in field.levels if level.sql != model.ELSE)
    return f"CASE WHEN {field.null_sql} THEN 'missing' {whens} ELSE '{field.levels[-1].code}' END"


def _weight_sum(field: model.Field) -> str:
    """SQL giving the weight ``field`` added, term-frequency adjustment included."""
    if any(level.term_frequency for level in field.levels):
        return f'"mw_{field.name}" + coalesce("mw_tf_adj_{field.name}", 0)'
    return f'"mw_{field.name}"'


def _pair(row: tuple[Any, ...]) -> ScoredPair:
    left, right, probability, weight = row[:4]
    reasons = {field.name: FieldReason(level=row[4 + 2 * index], weight=round(float(row[5 + 2 * index]), 2))
               for index, field in enumerate(model.FIELDS)}
    low, high = sorted((int(left), int(right)))
    return ScoredPair(left_id=low, right_id=high, score=float(probability), match_weight=float(weight),
                      reasons=reasons)


def _identified(pair: ScoredPair) -> bool:
    """Whether a name, the birth date or an ID number agrees: contact points alone never make a duplicate."""
    return any(pair.reasons[name].weight > 0 for name in model.IDENTIFYING_FIELDS)
