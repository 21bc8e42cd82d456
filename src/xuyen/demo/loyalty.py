"""The demo shop's loyalty programme: four tiers by yearly spend, earning rules, and stored value some customers
topped up (their points come from the demo's orders, as the worker delivers them)."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.demo.registry import DemoContext, demo_step
from xuyen.identity.models import Profile, ProfileIdentifier
from xuyen.loyalty import programme
from xuyen.loyalty.service import add_top_up

STEP = "khách hàng thân thiết"
TIERS = (("member", "Thành viên", 0), ("silver", "Bạc", 5_000_000), ("gold", "Vàng", 15_000_000),
         ("diamond", "Kim cương", 50_000_000))
RULES = (programme.RuleSpec(name="Hạng Vàng nhân đôi điểm", multiplier_percent=200, tier_code="gold"),
         programme.RuleSpec(name="Hạng Kim cương nhân ba điểm", multiplier_percent=300, tier_code="diamond"),
         programme.RuleSpec(name="Mua tại cửa hàng thêm 50%", multiplier_percent=150, channel="pos"))
TOP_UPS = 12
AMOUNTS = (200_000, 300_000, 500_000, 1_000_000, 2_000_000)
PAYMENT_METHODS = ("cash", "momo", "zalopay", "card", "bank_transfer")


@demo_step(STEP, order=58)
def add_loyalty(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The programme (1 point per 10,000 đ, a point worth 100 đ, points expire at the end of the next year), its
    tiers and rules, and stored value topped up by a few customers who gave a phone number."""
    programme.get_settings(session)
    for code, name, spend in TIERS:
        programme.add_tier(session, code=code, name=name, min_spend=spend)
    for spec in RULES:
        programme.add_rule(session, spec=spec)
    with_phone = list(session.scalars(
        select(ProfileIdentifier.profile_id).join(Profile, Profile.id == ProfileIdentifier.profile_id)
        .where(ProfileIdentifier.type == "phone", Profile.merged_into_id.is_(None))
        .order_by(ProfileIdentifier.profile_id).distinct()))
    chosen = rng.sample(with_phone, min(TOP_UPS, len(with_phone)))
    for number, profile_id in enumerate(sorted(chosen), start=1):
        add_top_up(session, profile_id=profile_id, amount=rng.choice(AMOUNTS), reference=f"NAP-DEMO-{number:04d}",
                   actor="demo", payment_method=rng.choice(PAYMENT_METHODS))
    context.extra[STEP] = {"tiers": len(TIERS), "rules": len(RULES), "top_ups": len(chosen)}
