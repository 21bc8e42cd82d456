"""The demo's sales pipeline: deals in every stage of the default pipeline with their history, lost ones with a
reason, won ones made into orders, all on the board."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.demo import deals as demo_deals
from xuyen.demo.service import load_demo, load_steps
from xuyen.sales.deals import board, pipelines
from xuyen.sales.deals.models import Deal, StageChange, StageKind
from xuyen.sales.scope import SalesScope


def test_the_deals_step_runs_after_the_orders() -> None:
    names = [step.name for step in load_steps()]
    assert names.index(demo_deals.STEP) > names.index("đơn hàng")


def test_the_demo_pipeline_has_deals_in_every_stage(session: Session) -> None:
    load_demo(session, seed=2026)
    session.rollback()
    pipeline = pipelines.ensure_defaults(session)
    stages = {s.id: s.name for s in pipelines.stages_of(session, pipeline_id=pipeline.id)}
    deals = list(session.scalars(select(Deal)))
    assert Counter(stages[d.stage_id] for d in deals) == Counter(demo_deals.PER_STAGE)
    assert all(d.value > 0 and d.owner_id is not None for d in deals)
    assert all(d.lost_reason_id is not None for d in deals if d.status is StageKind.lost)
    assert 1 <= sum(1 for d in deals if d.order_id is not None) <= demo_deals.CONVERTED
    moves = Counter(session.scalars(select(StageChange.deal_id)))
    assert all(moves[d.id] >= 2 for d in deals if stages[d.stage_id] != "Mới")
    shown = board.load_board(session, scope=SalesScope(everything=True))
    assert sum(column.count for column in shown.columns) == len(deals)
