"""Fit rules on custom fields, tested in the database with the custom-field filters' clauses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.errors import ValidationFailed
from xuyen.fields.filters import condition_clause
from xuyen.sales.leads.models import Lead
from xuyen.sales.scoring.models import ScoringRule
from xuyen.sales.scoring.rules import custom_field_of, fit_condition


def custom_field_matches(session: Session, *, rules: Sequence[ScoringRule],
                         leads: Sequence[Lead]) -> dict[int, set[int]]:
    """For each custom-field fit rule, the ids of ``leads`` that meet it (a rule whose field has gone or changed
    kind meets none)."""
    lead_ids = sorted(lead.id for lead in leads)
    found: dict[int, set[int]] = {}
    for rule in rules:
        field = custom_field_of(rule.attribute)
        if field is None:
            continue
        entity, _key = field
        try:
            clause = condition_clause(session, entity=entity, condition=fit_condition(rule),
                                      id_column=Lead.id if entity == "lead" else Lead.profile_id, form=True)
        except ValidationFailed:
            found[rule.id] = set()
            continue
        found[rule.id] = set(session.scalars(select(Lead.id).where(Lead.id.in_(lead_ids), clause)))
    return found
