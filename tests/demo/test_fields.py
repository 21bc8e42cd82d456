"""The demo's custom fields: a field of every kind on customers, one on leads and deals, values on a part of the
customers that the list filters find."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.demo.service import load_demo
from xuyen.fields import service
from xuyen.fields.filters import Condition, condition_clause
from xuyen.identity.models import Profile


def test_the_demo_shop_has_custom_fields_with_values(session: Session) -> None:
    load_demo(session, seed=2026)
    kinds = {field.kind for field in service.list_fields(session, entity="customer")}
    assert kinds == {"text", "number", "date", "choice", "multi_choice"}
    assert service.list_fields(session, entity="lead") and service.list_fields(session, entity="deal")
    roots = list(session.scalars(select(Profile.id).where(Profile.merged_into_id.is_(None))))
    values = service.values_for(session, entity="customer", entity_ids=roots)
    sized = [profile_id for profile_id, found in values.items() if found["size_ao"]]
    assert 0 < len(sized) < len(roots)
    clause = condition_clause(session, entity="customer", condition=Condition("size_ao", "is_set", "yes"),
                              id_column=Profile.id)
    assert sorted(session.scalars(select(Profile.id).where(clause))) == sorted(sized)
