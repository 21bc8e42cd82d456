"""Custom fields follow the customer: the timeline shows changes, the person export carries them, a merge hands
them to the survivor, an erasure removes them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.fields.helpers import ACTOR, customers, shop_fields
from xuyen.customers import privacy
from xuyen.customers import service as customer_service
from xuyen.errors import NotFound
from xuyen.fields import customers as customer_fields
from xuyen.fields.models import CustomFieldChange, CustomFieldValue
from xuyen.identity.service import merge_profiles
from xuyen.worker import Worker


def test_changes_land_on_the_timeline_and_in_the_person_export(session: Session) -> None:
    shop_fields(session)
    [customer] = customers(session, 1)
    customer_fields.set_customer_values(session, profile_id=customer, form=True, actor=ACTOR,
                                        values={"tier": "vang", "spend": "2.000.000"})
    page = customer_service.customer_timeline(session, profile_id=customer, cursor=None, limit=10)
    [item] = [item for item in page.items if item.kind == "field"]
    assert item.title == "Chi tiêu dự kiến, Hạng"
    assert item.data["changes"]["tier"] == {"before": None, "after": "vang"}
    exported = privacy.export_person(session, profile_id=customer, actor=ACTOR)
    section = exported["sections"]["custom_fields"] if "sections" in exported else exported["custom_fields"]
    assert section["values"][str(customer)] == {"tier": "vang", "spend": 2000000}
    assert len(section["changes"]) == 1


def test_a_merge_hands_values_to_the_survivor_whose_own_values_win(session: Session, engine: Engine) -> None:
    shop_fields(session)
    survivor, absorbed = customers(session, 2)
    customer_fields.set_customer_values(session, profile_id=survivor, form=False, actor=ACTOR,
                                        values={"tier": "bac"})
    customer_fields.set_customer_values(session, profile_id=absorbed, form=False, actor=ACTOR,
                                        values={"tier": "vang", "likes": ["ao", "tui"], "note": "từ hồ sơ cũ"})
    merge_profiles(session, survivor_id=survivor, absorbed_id=absorbed, actor=ACTOR, reason="Cùng một người",
                   force=True)
    Worker(engine=engine).run_until_idle()
    session.rollback()
    values = customer_fields.customer_values(session, profile_id=absorbed)
    assert values["tier"] == "bac" and values["likes"] == ["ao", "tui"] and values["note"] == "từ hồ sơ cũ"


def test_an_erased_person_loses_their_values_and_takes_no_new_ones(session: Session, engine: Engine) -> None:
    shop_fields(session)
    customer, other = customers(session, 2)
    for profile_id in (customer, other):
        customer_fields.set_customer_values(session, profile_id=profile_id, form=False, actor=ACTOR,
                                            values={"note": "số CCCD 0123"})
    privacy.erase_person(session, profile_id=customer, actor=ACTOR, reason="Khách yêu cầu xoá ngày 01/12/2026")
    Worker(engine=engine).run_until_idle()
    session.rollback()
    assert set(session.scalars(select(CustomFieldValue.entity_id))) == {other}
    assert set(session.scalars(select(CustomFieldChange.entity_id))) == {other}
    with pytest.raises(NotFound) as refused:
        customer_fields.set_customer_values(session, profile_id=customer, form=False, actor=ACTOR,
                                            values={"note": "lại"})
    assert refused.value.code == "customer_erased"
