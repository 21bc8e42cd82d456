"""The demo's lead scoring: the suggested rules, and leads whose scores differ and follow from them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.demo.service import load_demo, load_steps
from xuyen.sales.leads.models import Lead
from xuyen.sales.scoring.models import RuleKind, ScoringRule


def test_the_demo_leads_have_varied_scores_that_the_rules_explain(session: Session) -> None:
    wanted = {"cửa hàng", "nguồn", "nhân viên", "khách hàng", "hồ sơ khách hàng", "trường tùy chỉnh",
              "khách hàng tiềm năng", "chấm điểm khách hàng tiềm năng"}
    load_demo(session, seed=2026, steps=[step for step in load_steps() if step.name in wanted])
    session.rollback()
    rules = session.scalars(select(ScoringRule)).all()
    assert {rule.kind for rule in rules} == {RuleKind.behaviour, RuleKind.fit}
    leads = session.scalars(select(Lead)).all()
    scores = [lead.score for lead in leads]
    assert len(set(scores)) >= 8 and max(scores) > 40
    for lead in leads:
        parts = lead.score_parts
        explained = sum(part["points"] for part in parts["fit"]) + sum(part["points"] for part in parts["behaviour"])
        assert lead.scored_at is not None and abs(max(0, explained) - lead.score) <= 1
    assert any(part["name"] == "Xem sản phẩm" for lead in leads for part in lead.score_parts["behaviour"])
