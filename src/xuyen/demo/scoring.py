"""The demo shop's lead scoring: the suggested rules (and one on the customers' monthly budget), a few weeks of
website visits by some of the leads, and every lead scored from them, so the leads list shows scores that follow
from the rules."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.customers.service import refresh_customers
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.errors import ValidationFailed
from xuyen.events.models import ChannelType, Source
from xuyen.events.service import channel_call, internal_source_id, record_channel_calls
from xuyen.sales.leads.models import Lead
from xuyen.sales.scoring import service
from xuyen.sales.scoring.models import RuleKind, ScoringRule
from xuyen.sales.scoring.rules import SUGGESTED_RULES, RuleSpec, check_rule

STEP = "chấm điểm khách hàng tiềm năng"
BUDGET_RULE = RuleSpec(kind=RuleKind.fit, name="Ngân sách từ 2 triệu/tháng", points=15,
                       attribute="field.customer.ngan_sach_thang", op="between", value="2.000.000..")
WEBSITE = "Website luamay.vn"
PRODUCT_PAGES = ("ao-dai-lua-tron", "vay-lua-cong-so", "khan-lua-to-tam", "ao-dai-cuoi-may-do", "pyjama-lua")


def _rules(session: Session) -> int:
    added = 0
    for spec in (*SUGGESTED_RULES, BUDGET_RULE):
        try:
            checked = check_rule(session, spec)
        except ValidationFailed:  # the custom field is not in this demo (its step was left out)
            continue
        session.add(ScoringRule(**checked.__dict__))
        added += 1
    session.flush()
    return added


def _website_id(session: Session) -> int:
    found = session.scalar(select(Source.id).where(Source.name == WEBSITE).limit(1))
    return found if found is not None else internal_source_id(session, name=WEBSITE, channel=ChannelType.web)


def _visits(session: Session, rng: random.Random, leads: list[Lead]) -> list[int]:
    """Some leads come back to the website: product views, a cart, now and then a checkout started."""
    source_id, now, calls, touched = _website_id(session), utcnow(), [], []
    for lead in leads:
        if not lead.phone or rng.random() < 0.4:
            continue
        touched.append(lead.profile_id)
        for visit in range(rng.randint(1, 4)):
            at = now - timedelta(days=rng.randint(0, 40), minutes=rng.randint(0, 600))
            product = rng.choice(PRODUCT_PAGES)
            names = ["Product Viewed"] * rng.randint(1, 5)
            if rng.random() < 0.35:
                names.append("Product Added")
                if rng.random() < 0.4:
                    names.append("Checkout Started")
            for step, name in enumerate(names):
                calls.append((source_id, channel_call(
                    event=name, message_id=f"demo:scoring:{lead.id}:{visit}:{step}",
                    identifiers=[("phone", lead.phone, None)], timestamp=at + timedelta(minutes=step * 2),
                    properties={"product_id": product, "url": f"https://luamay.vn/san-pham/{product}"})))
    record_channel_calls(session, calls=calls)
    return touched


@demo_step(STEP, order=96)
def score_leads(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The scoring rules, website visits of some leads, and every lead scored."""
    rules = _rules(session)
    leads = list(session.scalars(select(Lead).order_by(Lead.id)))
    touched = _visits(session, rng, leads)
    moved = service.score_all(session, reason="rules")
    refresh_customers(session, profile_ids=sorted(set(touched)))
    context.extra[STEP] = {"rules": rules, "leads_with_visits": len(touched), "scored": moved}
