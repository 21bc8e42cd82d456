"""Defining fields and setting values: every kind on both databases, all or nothing, changes recorded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fields.helpers import ACTOR, customers, shop_fields
from xuyen.errors import Conflict, ValidationFailed
from xuyen.fields import service
from xuyen.fields.models import CustomFieldChange, CustomFieldValue
from xuyen.fields.service import OptionSpec
from xuyen.outbox import OutboxEvent


def _problems(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    details: dict[str, Any] = exc.value.details or {}
    return dict(details["fields"])


def test_every_kind_round_trips(session: Session) -> None:
    shop_fields(session)
    [customer] = customers(session, 1)
    values = service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR, values={
        "note": "  Khách quen  ", "spend": "1.500.000", "joined": "25/12/2026", "tier": "vang",
        "likes": ["tui", "ao"]})
    assert values == {"note": "Khách quen", "spend": 1500000, "joined": "2026-12-25", "tier": "vang",
                      "likes": ["ao", "tui"]}
    session.expire_all()
    assert service.values_of(session, entity="customer", entity_id=customer) == values
    again = service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                               values={"spend": 2.5, "joined": "2027-01-02", "likes": [], "note": None})
    assert again == {"note": None, "spend": 2.5, "joined": "2027-01-02", "tier": "vang", "likes": []}


def test_keys_are_unique_per_entity_and_made_from_labels(session: Session) -> None:
    field = service.define_field(session, entity="customer", label_vi="Nghề nghiệp", kind="text", actor=ACTOR)
    assert field.key == "nghe_nghiep"
    with pytest.raises(Conflict):
        service.define_field(session, entity="customer", label_vi="Nghề nghiệp", kind="text", actor=ACTOR)
    lead = service.define_field(session, entity="lead", label_vi="Nghề nghiệp", kind="text", actor=ACTOR)
    assert lead.key == "nghe_nghiep"
    for bad in ({"kind": "colour"}, {"entity": "order"}, {"key": "Bad Key"}, {"kind": "choice"}):
        arguments = {"entity": "customer", "label_vi": "X", "kind": "text", "key": "x", **bad}
        with pytest.raises(ValidationFailed):
            service.define_field(session, actor=ACTOR, **arguments)


def test_bad_values_name_each_field_and_write_nothing(session: Session) -> None:
    shop_fields(session)
    [customer] = customers(session, 1)
    service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                       values={"note": "trước", "spend": "100"})
    with pytest.raises(ValidationFailed) as refused:
        service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR, values={
            "note": "sau", "spend": "nhiều lắm", "joined": "31/02/2026", "tier": ["vang"], "likes": ["xe"],
            "color": "đỏ"})
    problems = _problems(refused)
    assert set(problems) == {"spend", "joined", "tier", "likes", "color"}
    assert problems["spend"].startswith("Chi tiêu dự kiến (spend)")
    assert "not a field" in problems["color"]
    assert refused.value.code == "invalid_custom_fields"
    session.rollback()
    assert service.values_of(session, entity="customer", entity_id=customer)["note"] == "trước"
    assert session.scalar(select(func.count()).select_from(CustomFieldChange)) == 1


def test_too_long_and_too_many_are_refused(session: Session) -> None:
    fields = shop_fields(session)
    many = service.change_field(session, field_id=fields["likes"].id, actor=ACTOR,
                                options=[OptionSpec(f"o{i}", f"Lựa chọn {i}") for i in range(25)])
    [customer] = customers(session, 1)
    with pytest.raises(ValidationFailed) as refused:
        service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                           values={"note": "x" * 1001, many.key: [f"o{i}" for i in range(21)]})
    assert "too long" in _problems(refused)["note"]
    assert "too many" in _problems(refused)["likes"]
    session.rollback()
    with pytest.raises(ValidationFailed, match="At most 100"):
        service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                           values={f"k{i}": "x" for i in range(101)})
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CustomFieldValue)) == 0


def test_required_fields_must_be_given_for_a_new_record_and_cannot_be_cleared(session: Session) -> None:
    fields = shop_fields(session)
    service.change_field(session, field_id=fields["tier"].id, actor=ACTOR, required=True)
    [customer] = customers(session, 1)
    with pytest.raises(ValidationFailed) as refused:
        service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                           values={"note": "mới"}, complete=True)
    assert _problems(refused) == {"tier": "Hạng (tier) is required"}
    session.rollback()
    service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                       values={"tier": "bac"}, complete=True)
    with pytest.raises(ValidationFailed) as cleared:
        service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                           values={"tier": ""})
    assert "required" in _problems(cleared)["tier"]


def test_a_retired_option_keeps_its_values_but_is_not_offered_again(session: Session) -> None:
    fields = shop_fields(session)
    first, second = customers(session, 2)
    service.set_values(session, entity="customer", entity_id=first, form=True, actor=ACTOR,
                       values={"tier": "kim_cuong", "likes": ["giay"]})
    service.change_field(session, field_id=fields["tier"].id, actor=ACTOR,
                         options=[OptionSpec("vang", "Vàng"), OptionSpec("bac", "Bạc")])
    tier = service.get_field(session, field_id=fields["tier"].id)
    assert [(o.key, o.retired) for o in tier.options] == [("vang", False), ("bac", False), ("kim_cuong", True)]
    assert service.values_of(session, entity="customer", entity_id=first)["tier"] == "kim_cuong"
    with pytest.raises(ValidationFailed):
        service.set_values(session, entity="customer", entity_id=second, form=True, actor=ACTOR,
                           values={"tier": "kim_cuong"})
    session.rollback()
    kept = service.set_values(session, entity="customer", entity_id=first, form=True, actor=ACTOR,
                              values={"tier": "kim_cuong", "note": "vẫn giữ hạng cũ"})
    assert kept["tier"] == "kim_cuong"


def test_archived_fields_keep_values_but_take_no_new_ones(session: Session) -> None:
    fields = shop_fields(session)
    [customer] = customers(session, 1)
    service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                       values={"note": "giữ lại"})
    service.archive_field(session, field_id=fields["note"].id, actor=ACTOR)
    assert "note" not in service.values_of(session, entity="customer", entity_id=customer)
    with pytest.raises(ValidationFailed):
        service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                           values={"note": "mới"})
    session.rollback()
    service.archive_field(session, field_id=fields["note"].id, actor=ACTOR, archived=False)
    assert service.values_of(session, entity="customer", entity_id=customer)["note"] == "giữ lại"


def test_reordering_puts_fields_in_the_given_order(session: Session) -> None:
    fields = shop_fields(session)
    service.reorder_fields(session, entity="customer", keys=["tier", "note"], actor=ACTOR)
    assert [f.key for f in service.list_fields(session, entity="customer")] == [
        "tier", "note", "spend", "joined", "likes"]
    service.move_field(session, field_id=fields["likes"].id, offset=-1, actor=ACTOR)
    assert [f.key for f in service.list_fields(session, entity="customer")][-2:] == ["likes", "joined"]


def test_a_change_is_recorded_and_emitted_once_and_nothing_when_nothing_changed(session: Session) -> None:
    shop_fields(session)
    [customer] = customers(session, 1)
    service.set_values(session, entity="customer", entity_id=customer, form=True, actor=ACTOR,
                       values={"spend": "1.000", "tier": "bac"})
    service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                       values={"spend": 1000, "tier": "bac"})
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "field.values_changed")).all()
    assert len(events) == 1
    assert events[0].payload["changes"] == {"spend": {"before": None, "after": 1000},
                                            "tier": {"before": None, "after": "bac"}}
    assert events[0].aggregate_type == "customer" and events[0].aggregate_id == str(customer)


def test_values_of_many_records_take_two_queries(session: Session) -> None:
    from sqlalchemy import event

    shop_fields(session)
    ids = customers(session, 6)
    for index, customer in enumerate(ids):
        service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                           values={"spend": index * 10, "likes": ["ao", "giay"][: index % 3]})
    session.expire_all()
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = service.values_for(session, entity="customer", entity_ids=ids)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [found[c]["spend"] for c in ids] == [0, 10, 20, 30, 40, 50]
    assert found[ids[2]]["likes"] == ["ao", "giay"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 3
