"""Coupons: redeemed all or none, idempotent per order, limits kept under concurrency, released on cancel;
generating batches of single-use codes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.commerce.pricing.support import ACTOR, IN_2026, Shop, make_promotion
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import promotions
from xuyen.commerce.pricing.models import Coupon, CouponRedemption, Promotion
from xuyen.commerce.pricing.service import QuoteRequestLine, quote, redeem_coupons, release_coupons
from xuyen.db import session_factory
from xuyen.errors import Conflict, ValidationFailed
from xuyen.identity.models import Profile


def _coupon_promotion(session: Session) -> Promotion:
    return make_promotion(session, kind="fixed", params={"amount": 30_000}, requires_coupon=True)


def _uses(session: Session, code: str) -> int:
    session.rollback()
    coupon = session.scalar(select(Coupon).where(Coupon.code == code))
    assert coupon is not None
    session.refresh(coupon)
    return coupon.uses


def test_a_redemption_is_idempotent_per_order_and_released_on_cancel(session: Session, shop: Shop) -> None:
    promotion = _coupon_promotion(session)
    promotions.create_coupon(session, promotion_id=promotion.id, code="TET2027", max_uses=2, per_customer_limit=None,
                             actor=ACTOR)
    redeem_coupons(session, codes=["tet2027"], profile_id=7, reference="SO-1", at=IN_2026)
    redeem_coupons(session, codes=["TET2027"], profile_id=7, reference="SO-1", at=IN_2026)
    session.commit()
    assert _uses(session, "TET2027") == 1
    redeem_coupons(session, codes=["TET2027"], profile_id=8, reference="SO-2", at=IN_2026)
    session.commit()
    with pytest.raises(Conflict) as used_up:
        redeem_coupons(session, codes=["TET2027"], profile_id=9, reference="SO-3", at=IN_2026)
    assert used_up.value.code == "coupon_used_up"
    session.rollback()
    refused = quote(session, channel=SalesChannel.web, lines=[QuoteRequestLine("AO-1", 1)], coupon_codes=["TET2027"],
                    at=IN_2026)
    assert refused.coupons[0].reason == "coupon_used_up"
    assert release_coupons(session, reference="SO-2") == 1
    session.commit()
    assert _uses(session, "TET2027") == 1
    redeem_coupons(session, codes=["TET2027"], profile_id=9, reference="SO-3", at=IN_2026)
    session.commit()
    assert _uses(session, "TET2027") == 2


def test_a_customer_limit_is_kept_and_a_failed_batch_records_nothing(session: Session, shop: Shop) -> None:
    promotion = _coupon_promotion(session)
    other = _coupon_promotion(session)
    promotions.create_coupon(session, promotion_id=promotion.id, code="MOTLAN", max_uses=None, per_customer_limit=1,
                             actor=ACTOR)
    promotions.create_coupon(session, promotion_id=other.id, code="KHAC", max_uses=None, per_customer_limit=None,
                             actor=ACTOR)
    customer = Profile(first_seen_at=IN_2026, last_seen_at=IN_2026)
    session.add(customer)
    session.flush()
    redeem_coupons(session, codes=["MOTLAN"], profile_id=customer.id, reference="SO-1", at=IN_2026)
    session.commit()
    with pytest.raises(Conflict) as again:
        redeem_coupons(session, codes=["KHAC", "MOTLAN"], profile_id=customer.id, reference="SO-2", at=IN_2026)
    assert again.value.code == "coupon_already_used"
    session.commit()
    assert _uses(session, "KHAC") == 0 and _uses(session, "MOTLAN") == 1
    assert session.scalars(select(CouponRedemption.reference)).all() == ["SO-1"]
    shown = quote(session, channel=SalesChannel.web, lines=[QuoteRequestLine("AO-1", 1)],
                  profile_id=customer.id,
                  coupon_codes=["MOTLAN"], at=IN_2026)
    assert shown.coupons[0].reason == "coupon_already_used"


def test_an_expired_promotion_cannot_be_redeemed(session: Session, shop: Shop) -> None:
    promotion = make_promotion(session, kind="fixed", params={"amount": 30_000}, requires_coupon=True,
                               ends_at=IN_2026)
    promotions.create_coupon(session, promotion_id=promotion.id, code="HETHAN", max_uses=None,
                             per_customer_limit=None, actor=ACTOR)
    with pytest.raises(Conflict) as expired:
        redeem_coupons(session, codes=["HETHAN"], profile_id=None, reference="SO-1", at=IN_2026)
    assert expired.value.code == "coupon_not_valid_here"


def test_a_batch_of_single_use_codes(session: Session, shop: Shop) -> None:
    promotion = _coupon_promotion(session)
    made = promotions.generate_coupons(session, promotion_id=promotion.id, count=50, prefix="vip-", actor=ACTOR)
    codes = [coupon.code for coupon in made]
    assert len(set(codes)) == 50 and all(code.startswith("VIP-") and len(code) == 14 for code in codes)
    assert all(coupon.max_uses == 1 for coupon in made)
    with pytest.raises(ValidationFailed):
        promotions.generate_coupons(session, promotion_id=promotion.id, count=0, actor=ACTOR)
    plain = make_promotion(session, kind="fixed", params={"amount": 1_000})
    with pytest.raises(ValidationFailed) as no_code:
        promotions.generate_coupons(session, promotion_id=plain.id, count=5, actor=ACTOR)
    assert no_code.value.code == "promotion_takes_no_coupon"


@pytest.mark.postgres_only
def test_concurrent_redemptions_never_exceed_the_limit(session: Session, engine: Engine, shop: Shop) -> None:
    limit, attempts = 5, 24
    promotion = _coupon_promotion(session)
    promotions.create_coupon(session, promotion_id=promotion.id, code="FLASH", max_uses=limit,
                             per_customer_limit=None, actor=ACTOR)
    sessions = session_factory(engine)
    start = threading.Barrier(attempts)

    def attempt(number: int) -> str:
        with sessions() as own:
            start.wait()
            try:
                redeem_coupons(own, codes=["FLASH"], profile_id=number, reference=f"SO-{number}", at=IN_2026)
                own.commit()
                return "redeemed"
            except Conflict as exc:
                own.rollback()
                return exc.code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))
    assert outcomes.count("redeemed") == limit
    assert outcomes.count("coupon_used_up") == attempts - limit
    assert _uses(session, "FLASH") == limit
    assert len(session.scalars(select(CouponRedemption)).all()) == limit


@pytest.mark.postgres_only
def test_concurrent_redemptions_by_one_customer_keep_their_limit(session: Session, engine: Engine,
                                                                 shop: Shop) -> None:
    attempts = 12
    promotion = _coupon_promotion(session)
    promotions.create_coupon(session, promotion_id=promotion.id, code="MOTLAN", max_uses=None,
                             per_customer_limit=2, actor=ACTOR)
    sessions = session_factory(engine)
    start = threading.Barrier(attempts)

    def attempt(number: int) -> str:
        with sessions() as own:
            start.wait()
            try:
                redeem_coupons(own, codes=["MOTLAN"], profile_id=42, reference=f"SO-{number}", at=IN_2026)
                own.commit()
                return "redeemed"
            except Conflict as exc:
                own.rollback()
                return exc.code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))
    assert outcomes.count("redeemed") == 2
    assert _uses(session, "MOTLAN") == 2
