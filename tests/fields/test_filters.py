"""Filtering and sorting records by custom field values: numbers as numbers, dates as dates, any-of."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fields.helpers import ACTOR, customers, shop_fields
from xuyen.customers.models import CustomerProfile
from xuyen.errors import ValidationFailed
from xuyen.fields import service
from xuyen.fields.filters import Condition, condition_clause, conditions_clauses, parse_condition, sort_value

ID = CustomerProfile.profile_id


@pytest.fixture
def shop(session: Session) -> list[int]:
    """Six customers whose values make text, string and number orders disagree."""
    shop_fields(session)
    ids = customers(session, 6)
    rows: list[dict[str, Any]] = [
        {"spend": 9, "joined": "2026-02-10", "tier": "bac", "likes": ["ao"], "note": "Khách ở Hà Nội"},
        {"spend": 100, "joined": "2025-12-31", "tier": "vang", "likes": ["ao", "giay"], "note": "ha noi, quận 1"},
        {"spend": 10, "joined": "2026-10-01", "tier": "kim_cuong", "likes": ["tui"], "note": "Sài Gòn"},
        {"spend": 1500000.5, "joined": "2026-02-09", "likes": [], "note": None},
        {"spend": -3, "tier": "vang", "likes": ["giay", "tui"]},
        {},
    ]
    for customer, values in zip(ids, rows, strict=True):
        service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR, values=values)
    return ids


def _matching(session: Session, *conditions: str, form: bool = False) -> set[int]:
    clauses = conditions_clauses(session, entity="customer", conditions=[parse_condition(c) for c in conditions],
                                 id_column=ID, form=form)
    return set(session.scalars(select(ID).where(*clauses)))


def _order(session: Session, shop: list[int], key: str) -> list[int]:
    value = sort_value(session, entity="customer", key=key, id_column=ID)
    ordered = session.scalars(select(ID).where(ID.in_(shop)).order_by(value.asc().nulls_last(), ID)).all()
    return [shop.index(customer) for customer in ordered]


def test_numbers_sort_as_numbers(session: Session, shop: list[int]) -> None:
    assert _order(session, shop, "spend") == [4, 0, 2, 1, 3, 5]


def test_dates_sort_as_dates(session: Session, shop: list[int]) -> None:
    assert _order(session, shop, "joined") == [1, 3, 0, 2, 4, 5]


def test_number_ranges_and_equality(session: Session, shop: list[int]) -> None:
    a, b, c, d, e, _f = shop
    assert _matching(session, "spend:between:9..100") == {a, b, c}
    assert _matching(session, "spend:between:10..") == {b, c, d}
    assert _matching(session, "spend:between:..0") == {e}
    assert _matching(session, "spend:equals:1500000.5") == {d}
    assert _matching(session, "spend:between:1.000.000..2.000.000", form=True) == {d}


def test_date_ranges_in_iso_and_as_forms_write_them(session: Session, shop: list[int]) -> None:
    a, b, c, d, _e, _f = shop
    assert _matching(session, "joined:between:2026-01-01..2026-06-30") == {a, d}
    assert _matching(session, "joined:between:01/01/2026..", form=True) == {a, c, d}
    assert _matching(session, "joined:equals:31/12/2025", form=True) == {b}


def test_any_of_on_choice_and_multi_choice(session: Session, shop: list[int]) -> None:
    a, b, c, _d, e, _f = shop
    assert _matching(session, "tier:any_of:vang,kim_cuong") == {b, c, e}
    assert _matching(session, "likes:any_of:giay") == {b, e}
    assert _matching(session, "likes:any_of:ao,tui") == {a, b, c, e}
    assert _matching(session, "likes:equals:tui") == {c, e}
    assert _matching(session, "likes:any_of:ao", "tier:equals:vang") == {b}


def test_text_contains_and_equals_ignore_case_and_diacritics(session: Session, shop: list[int]) -> None:
    a, b, c, _d, _e, _f = shop
    assert _matching(session, "note:contains:Hà Nội") == {a, b}
    assert _matching(session, "note:contains:HA NOI quan") == {b}
    assert _matching(session, "note:equals:sai gon") == {c}


def test_is_set(session: Session, shop: list[int]) -> None:
    a, b, c, d, e, f = shop
    assert _matching(session, "tier:is_set:yes") == {a, b, c, e}
    assert _matching(session, "tier:is_set:no") == {d, f}


@pytest.mark.parametrize(("condition", "message"), [
    ("colour:equals:red", "no custom field 'colour'"),
    ("spend:contains:9", "takes equals, between, is_set"),
    ("spend:between:nhiều..", "expects a number"),
    ("joined:equals:31/12/2025", "expects a date"),
    ("tier:any_of:xanh", "no option 'xanh'"),
    ("spend:between:..", "at least one bound"),
])
def test_conditions_that_do_not_fit_are_refused_naming_the_field(session: Session, shop: list[int],
                                                                 condition: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        _matching(session, condition)


def test_badly_written_conditions_are_refused(session: Session) -> None:
    for text in ("tier", "tier:like:x", "spend:between:5"):
        with pytest.raises(ValidationFailed):
            parse_condition(text)
    with pytest.raises(ValidationFailed, match="At most"):
        conditions_clauses(session, entity="customer", conditions=[Condition("x", "equals", "1")] * 11,
                           id_column=ID)


def test_a_clause_over_another_entity_only_sees_that_entitys_values(session: Session, shop: list[int]) -> None:
    shop_fields(session, entity="lead")
    service.set_values(session, entity="lead", entity_id=shop[5], form=False, actor=ACTOR, values={"tier": "vang"})
    clause = condition_clause(session, entity="customer", condition=Condition("tier", "equals", "vang"),
                              id_column=ID)
    assert shop[5] not in set(session.scalars(select(ID).where(clause)))
