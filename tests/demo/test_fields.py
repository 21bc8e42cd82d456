"""The demo's custom fields: a field of every kind on customers, values on a part of the customers that the list
filters find, and lead and deal fields filled in on the demo's leads and deals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.demo.service import load_demo
from xuyen.fields import service
from xuyen.fields.filters import Condition, condition_clause
from xuyen.identity.models import Profile
from xuyen.sales.deals.models import Deal
from xuyen.sales.leads.models import Lead, SourceKind


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


def test_the_demo_leads_and_deals_have_custom_field_values(session: Session) -> None:
    load_demo(session, seed=2026)
    assert {field.key for field in service.list_fields(session, entity="lead")} >= {"ngan_sach",
                                                                                     "san_pham_quan_tam"}
    lead_ids = list(session.scalars(select(Lead.id)))
    leads = service.values_for(session, entity="lead", entity_ids=lead_ids)
    assert sum(1 for found in leads.values() if found["biet_qua"]) >= 30
    assert any(found["san_pham_quan_tam"] for found in leads.values())
    form_leads = session.scalars(select(Lead.id).where(Lead.source == SourceKind.form)).all()
    assert any(leads[lead_id]["ngan_sach"] for lead_id in form_leads)  # the form's budget, as typed, mapped
    deal_ids = list(session.scalars(select(Deal.id)))
    deals = service.values_for(session, entity="deal", entity_ids=deal_ids)
    assert deal_ids and all(found["thanh_toan"] and found["ngay_giao"] for found in deals.values())
    clause = condition_clause(session, entity="deal", condition=Condition("thanh_toan", "any_of", ["tra_gop"]),
                              id_column=Deal.id)
    assert sorted(session.scalars(select(Deal.id).where(clause))) == sorted(
        deal_id for deal_id, found in deals.items() if found["thanh_toan"] == "tra_gop")
