"""Deals: the default pipeline, lines priced like an order, moves across stages with history and events, lost
reasons, reopening, the scope rule, and a won deal turned into an order once."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.commerce.orders.support import level, make_shop
from tests.factories import make_store, make_user
from tests.sales.deals.support import ACTOR, ALL, customer, deal_events, deal_topics, stage, won_stage
from xuyen.auth.models import Role
from xuyen.auth.service import principal_for_user
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import OrderStatus
from xuyen.commerce.pricing.admin import add_override
from xuyen.commerce.pricing.service import QuoteRequestLine, quote
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.sales.deals import pipelines, service
from xuyen.sales.deals.converting import convert_to_order
from xuyen.sales.deals.models import StageKind
from xuyen.sales.deals.service import LineWanted
from xuyen.sales.scope import scope_of


def test_default_pipeline_has_vietnamese_stages_and_reasons(session: Session) -> None:
    pipeline = pipelines.ensure_defaults(session)
    session.commit()
    stages = pipelines.stages_of(session, pipeline_id=pipeline.id)
    assert [s.name for s in stages] == ["Mới", "Đã liên hệ", "Báo giá", "Thương lượng", "Thắng", "Thua"]
    assert [s.kind for s in stages][-2:] == [StageKind.won, StageKind.lost]
    assert pipeline.is_default and pipelines.ensure_defaults(session).id == pipeline.id
    assert "Giá cao" in [r.name for r in pipelines.lost_reasons(session)]


def test_lines_are_priced_as_the_order_will_be(session: Session) -> None:
    shop = make_shop(session)
    profile = customer(session)
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Đồng phục công ty", profile_id=profile,
                               lines=[LineWanted(sku="AO-DEN-M", quantity=3), LineWanted(sku="SOMI-M", quantity=1)])
    expected = quote(session, channel=SalesChannel.chat, profile_id=profile,
                     lines=[QuoteRequestLine(sku="AO-DEN-M", quantity=3), QuoteRequestLine(sku="SOMI-M", quantity=1)])
    assert deal.value == expected.total == 3 * 199_000 + 349_000
    lines = service.lines_of(session, deal_id=deal.id)
    assert [(line.variant_id, line.quantity, line.unit_price) for line in lines] == [
        (shop.variants["AO-DEN-M"], 3, 199_000), (shop.variants["SOMI-M"], 1, 349_000)]
    with pytest.raises(ValidationFailed):
        service.update_deal(session, deal_id=deal.id, actor=ACTOR, scope=ALL, value=5)
    service.update_deal(session, deal_id=deal.id, actor=ACTOR, scope=ALL, lines=[LineWanted(sku="SACH-1", quantity=2)])
    assert session.get(type(deal), deal.id).value == 240_000  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed) as unknown:
        service.update_deal(session, deal_id=deal.id, actor=ACTOR, scope=ALL,
                            lines=[LineWanted(sku="NOPE", quantity=1)])
    assert unknown.value.code == "unknown_sku"


def test_moves_keep_history_and_announce(session: Session) -> None:
    profile = customer(session)
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Tủ lạnh", profile_id=profile, value=12_000_000)
    quoted, lost, won = stage(session, "Báo giá"), stage(session, "Thua"), won_stage(session)
    service.move_deal(session, deal_id=deal.id, stage_id=quoted.id, actor=ACTOR, scope=ALL)
    with pytest.raises(ValidationFailed) as refused:
        service.move_deal(session, deal_id=deal.id, stage_id=lost.id, actor=ACTOR, scope=ALL)
    assert refused.value.code == "lost_reason_required"
    with pytest.raises(NotFound):
        service.move_deal(session, deal_id=deal.id, stage_id=lost.id, actor=ACTOR, scope=ALL, lost_reason_id=999)
    reason = pipelines.lost_reasons(session)[0]
    moved = service.move_deal(session, deal_id=deal.id, stage_id=lost.id, actor=ACTOR, scope=ALL,
                              lost_reason_id=reason.id, lost_note="Khách chọn hãng khác")
    assert moved.status is StageKind.lost and moved.lost_at is not None and moved.lost_reason_id == reason.id
    reopened = service.move_deal(session, deal_id=deal.id, stage_id=quoted.id, actor=ACTOR, scope=ALL)
    assert reopened.status is StageKind.open and reopened.lost_at is None and reopened.lost_reason_id is None
    won_deal = service.move_deal(session, deal_id=deal.id, stage_id=won.id, actor=ACTOR, scope=ALL)
    assert won_deal.won_at is not None
    history = service.history_of(session, deal_id=deal.id)
    assert [h.to_stage_id for h in history] == [stage(session, "Mới").id, quoted.id, lost.id, quoted.id, won.id]
    assert deal_topics(session, deal.id) == [
        "deal.created", "deal.stage_changed", "deal.stage_changed", "deal.lost", "deal.stage_changed",
        "deal.stage_changed", "deal.won"]
    names = [name for name, _profile, _props in deal_events(session, deal.id)]
    assert names == ["Deal Created", "Deal Stage Changed", "Deal Stage Changed", "Deal Lost", "Deal Stage Changed",
                     "Deal Stage Changed", "Deal Won"]
    assert {p for _name, p, _props in deal_events(session, deal.id)} == {profile}


def test_bad_input_is_refused(session: Session) -> None:
    profile = customer(session)
    for kwargs, code in (({"title": " "}, "invalid_title"), ({"value": -1}, "invalid_value"),
                         ({"profile_id": 99_999}, "customer_not_found"), ({"pipeline_id": 77}, "pipeline_not_found"),
                         ({"stage_id": 12_345}, "stage_not_found")):
        arguments = {"title": "Bàn ghế", "profile_id": profile, **kwargs}
        with pytest.raises((ValidationFailed, NotFound)) as refused:
            service.create_deal(session, actor=ACTOR, scope=ALL, **arguments)  # type: ignore[arg-type]
        assert refused.value.code == code
        session.rollback()


def test_scope_hides_other_branches_deals(session: Session) -> None:
    profile = customer(session)
    hanoi, saigon = make_store(session), make_store(session)
    agent = make_user(session, role=Role.agent, store=hanoi)
    scope = scope_of(session, principal=principal_for_user(agent))
    mine = service.create_deal(session, actor=ACTOR, scope=ALL, title="Hà Nội", profile_id=profile,
                               store_id=hanoi.id)
    theirs = service.create_deal(session, actor=ACTOR, scope=ALL, title="Sài Gòn", profile_id=profile,
                                 store_id=saigon.id)
    owned = service.create_deal(session, actor=ACTOR, scope=ALL, title="Của tôi", profile_id=profile,
                                owner_id=agent.id, store_id=saigon.id)
    found, total = service.list_deals(session, scope=scope)
    assert {d.id for d in found} == {mine.id, owned.id} and total == 2
    with pytest.raises(NotFound):
        service.get_deal(session, deal_id=theirs.id, scope=scope)
    with pytest.raises(NotFound):
        service.move_deal(session, deal_id=theirs.id, stage_id=won_stage(session).id, actor=ACTOR, scope=scope)
    with pytest.raises(ValidationFailed) as refused:
        service.create_deal(session, actor=ACTOR, scope=scope, title="Ngoài phạm vi", profile_id=profile,
                            store_id=saigon.id)
    assert refused.value.code == "outside_scope"


def test_won_deal_becomes_one_order(session: Session) -> None:
    shop = make_shop(session, stock=5)
    profile = customer(session)
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Áo đồng phục", profile_id=profile,
                               lines=[LineWanted(sku="AO-DEN-M", quantity=2)])
    with pytest.raises(Conflict) as refused:
        convert_to_order(session, deal_id=deal.id, actor=ACTOR, scope=ALL)
    assert refused.value.code == "deal_not_won"
    service.move_deal(session, deal_id=deal.id, stage_id=won_stage(session).id, actor=ACTOR, scope=ALL)
    order = convert_to_order(session, deal_id=deal.id, actor=ACTOR, scope=ALL)
    assert order.total == deal.value == 398_000 and order.profile_id == profile
    assert order.channel is SalesChannel.chat and order.status is OrderStatus.placed
    assert convert_to_order(session, deal_id=deal.id, actor=ACTOR, scope=ALL).id == order.id
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (5, 2)
    with pytest.raises(ValidationFailed) as stays:
        service.move_deal(session, deal_id=deal.id, stage_id=stage(session, "Mới").id, actor=ACTOR, scope=ALL)
    assert stays.value.code == "deal_has_order"


def test_a_branchs_deal_is_priced_at_the_branch_and_its_order_is_the_branchs(session: Session) -> None:
    shop = make_shop(session, stock=5)
    add_override(session, changes={"variant_id": shop.variants["AO-DEN-M"], "store_id": shop.hanoi_store,
                                   "kind": "fixed", "amount": 179_000, "reason": "Giá cửa hàng Hà Nội"}, actor="test")
    session.commit()
    profile = customer(session)
    deal = service.create_deal(session, actor=ACTOR, scope=ALL, title="Áo cho đoàn", profile_id=profile,
                               store_id=shop.hanoi_store, lines=[LineWanted(sku="AO-DEN-M", quantity=2)])
    assert deal.value == 2 * 179_000
    moved = service.update_deal(session, deal_id=deal.id, actor=ACTOR, scope=ALL, store_id=shop.saigon_store)
    assert moved.value == 2 * 199_000  # Sài Gòn sells at the base price
    service.update_deal(session, deal_id=deal.id, actor=ACTOR, scope=ALL, store_id=shop.hanoi_store)
    service.move_deal(session, deal_id=deal.id, stage_id=won_stage(session).id, actor=ACTOR, scope=ALL)
    order = convert_to_order(session, deal_id=deal.id, actor=ACTOR, scope=ALL)
    assert (order.store_id, order.total) == (shop.hanoi_store, 2 * 179_000)


def test_conversion_explains_missing_lines_and_short_stock(session: Session) -> None:
    make_shop(session, stock=1, hanoi_stock=0)
    profile = customer(session)
    won = won_stage(session)
    empty = service.create_deal(session, actor=ACTOR, scope=ALL, title="Trống", profile_id=profile, value=1)
    service.move_deal(session, deal_id=empty.id, stage_id=won.id, actor=ACTOR, scope=ALL)
    with pytest.raises(ValidationFailed) as no_lines:
        convert_to_order(session, deal_id=empty.id, actor=ACTOR, scope=ALL)
    assert no_lines.value.code == "deal_has_no_lines"
    big = service.create_deal(session, actor=ACTOR, scope=ALL, title="Nhiều", profile_id=profile,
                              lines=[LineWanted(sku="SOMI-M", quantity=4)])
    service.move_deal(session, deal_id=big.id, stage_id=won.id, actor=ACTOR, scope=ALL)
    with pytest.raises(Conflict) as short:
        convert_to_order(session, deal_id=big.id, actor=ACTOR, scope=ALL)
    assert short.value.code == "out_of_stock" and short.value.details["shortages"]
    assert service.get_deal(session, deal_id=big.id, scope=ALL).order_id is None
