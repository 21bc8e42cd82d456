"""Coupons at checkout: the quote's discount is on the order, the coupon is used by it, a coupon the quote refuses
refuses the checkout with the reason, and a cancelled order gives its coupon back."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.commerce.orders.support import ACTOR, LAN, make_shop
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.models import PaymentMethod
from xuyen.commerce.orders.records import lines_of
from xuyen.commerce.pricing import promotions
from xuyen.commerce.pricing.models import Coupon
from xuyen.errors import ValidationFailed


def _uses(session: Session, code: str) -> int:
    session.rollback()
    coupon = session.scalar(select(Coupon).where(Coupon.code == code))
    assert coupon is not None
    session.refresh(coupon)
    return coupon.uses


def test_a_coupon_discounts_the_order_and_is_given_back_on_cancel(session: Session) -> None:
    make_shop(session)
    promotion = promotions.create_promotion(session, changes={"name": "Giảm 30K", "kind": "fixed",
                                                              "params": {"amount": 30_000}, "requires_coupon": True},
                                            actor=ACTOR)
    promotions.create_coupon(session, promotion_id=promotion.id, code="CHAO30", max_uses=1, per_customer_limit=None,
                             actor=ACTOR)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN, coupon_codes=["chao30"],
                                   payments=[PaymentIn(PaymentMethod.cod)], actor="web")
    assert (order.total, order.discount_total, order.coupon_codes) == (319_000, 30_000, ["CHAO30"])
    assert sum(line.total for line in lines_of(session, order.id)) == 319_000
    assert _uses(session, "CHAO30") == 1
    with pytest.raises(ValidationFailed) as refused:
        service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN, coupon_codes=["CHAO30"],
                               payments=[PaymentIn(PaymentMethod.cod)], actor="web")
    assert refused.value.code == "coupon_rejected" and "CHAO30" in refused.value.message
    session.rollback()
    service.cancel_order(session, order_id=order.id, actor="Lan", reason="đặt nhầm")
    assert _uses(session, "CHAO30") == 0
