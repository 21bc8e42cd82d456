"""The demo's ready-made journeys: eight live journeys played over the shop's last weeks, with figures on every
step, a store-only coupon that only the tills take, and suggestions after a purchase that never offer what the
order held."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.commerce.pricing.models import Promotion
from xuyen.demo import customers
from xuyen.demo.ready_journeys import PROMOTIONS
from xuyen.demo.ready_templates import SUGGESTIONS
from xuyen.demo.service import load_demo
from xuyen.identity.names import fold_name
from xuyen.inbox.models import Message
from xuyen.journeys.flows.models import Enrolment, Journey, JourneySend, JourneyStatus
from xuyen.journeys.flows.results import journey_results, node_stats
from xuyen.journeys.templates.models import MessageTemplate
from xuyen.journeys.templates.service import render

NAMES = {"Giỏ hàng bỏ quên", "Chăm sóc sau mua hàng", "Quà sinh nhật", "Mã chỉ dùng tại cửa hàng",
         "Khách sắp rời bỏ", "Chăm sóc sau khi sửa đồ", "Ưu đãi gần cửa hàng", "Trạng thái đơn hàng"}


@pytest.mark.timeout(900)  # one load of the demo per database, checked at length: loading it takes the time
def test_the_ready_made_journeys_on_the_demo_shop(session: Session, demo: dict[str, int]) -> None:
    check_the_ready_made_journeys_run_on_the_demo_data(session, demo)
    check_the_store_only_coupon_is_a_till_promotion(session, demo)
    check_suggestions_after_a_purchase_never_offer_what_the_order_held(session, demo)


@pytest.fixture
def demo(session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The demo shop with enough customers for every journey to have entrants; the journeys' ids by name."""
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", 300)
    load_demo(session, seed=2026)
    session.rollback()
    return {journey.name: journey.id for journey in session.scalars(select(Journey))}


def check_the_ready_made_journeys_run_on_the_demo_data(session: Session, demo: dict[str, int]) -> None:
    assert set(demo) >= NAMES
    for name in NAMES:
        journey = session.get(Journey, demo[name])
        assert journey is not None and journey.status == JourneyStatus.live and journey.live_version == 1
        results = journey_results(session, journey_id=journey.id)
        stats = node_stats(session, journey_id=journey.id)
        assert results.enrolled > 0, name
        definition = journey.draft
        assert stats[definition["start"]]["entered"] > 0, name
        sends = [node for node, spec in definition["nodes"].items() if spec["type"] == "send"]
        assert sum(stats.get(node, {}).get("sent", 0) for node in sends) > 0, name
        if definition["settings"]["holdout_percent"] and results.enrolled >= 20:
            assert results.holdout > 0, name
    cart = node_stats(session, journey_id=demo["Giỏ hàng bỏ quên"])
    assert journey_results(session, journey_id=demo["Giỏ hàng bỏ quên"]).goal_reached > 0
    assert cart["wait"]["entered"] > cart["remind"]["entered"]  # most checkouts end in an order within the hour
    waiting = session.scalars(select(Enrolment).where(Enrolment.journey_id == demo["Chăm sóc sau mua hàng"],
                                                      Enrolment.status == "active")).all()
    assert waiting and all(enrolment.wake_at is not None for enrolment in waiting)  # still in a delay


def check_the_store_only_coupon_is_a_till_promotion(session: Session, demo: dict[str, int]) -> None:
    [spec] = [spec for spec in PROMOTIONS if spec.get("channels")]
    promotion = session.scalar(select(Promotion).where(Promotion.name == spec["name"]))
    assert promotion is not None and promotion.channels == ["pos"] and promotion.requires_coupon
    journey = session.get(Journey, demo["Mã chỉ dùng tại cửa hàng"])
    assert journey is not None
    assert journey.draft["nodes"]["code"]["promotion_id"] == promotion.id
    assert journey.draft["nodes"]["mail"]["channel"] == "email"


def check_suggestions_after_a_purchase_never_offer_what_the_order_held(session: Session,
                                                                      demo: dict[str, int]) -> None:
    journey_id = demo["Chăm sóc sau mua hàng"]
    sends = session.scalars(select(JourneySend).where(JourneySend.journey_id == journey_id,
                                                      JourneySend.node == "suggest")).all()
    assert sends
    for send in sends:
        enrolment = session.get(Enrolment, send.enrolment_id)
        message = session.get(Message, send.message_id)
        assert enrolment is not None and message is not None
        bought = [fold_name(item["name"]) for item in enrolment.context["event"]["properties"].get("products", [])]
        shown = fold_name(" ".join(filter(None, [message.text, message.subject, (message.meta or {}).get("html")])))
        assert shown.strip()
        assert not [name for name in bought if name in shown], (bought, shown)
    # and an order holding the first suggestion gets the others instead
    template = session.scalar(select(MessageTemplate).where(MessageTemplate.name == "Gợi ý sau mua hàng"))
    assert template is not None
    (sku, name, _), (_, other, _) = SUGGESTIONS[:2]
    event = {"name": "Order Completed", "properties": {"order_id": "LM1", "products": [{"sku": sku, "name": name}]}}
    for channel in template.variants:
        rendered = render(session, template_id=template.id, channel=channel, profile_id=sends[0].profile_id,
                          event=event)
        assert rendered.ok, rendered.problems
        text = fold_name(" ".join([rendered.text or "", rendered.html or ""]))
        assert fold_name(name) not in text and fold_name(other) in text, (channel, text)
