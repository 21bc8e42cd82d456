"""The pipeline board: one column per stage with the deals the viewer sees, a column's count and value, and only
the first deals of each column (the rest a page away). Open stages show every open deal; the won and lost columns
show the deals closed lately. Made for 100,000 deals: one grouped count and one short indexed query per column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.errors import ValidationFailed
from xuyen.sales.deals import pipelines
from xuyen.sales.deals.models import Deal, Pipeline, Stage, StageKind
from xuyen.sales.deals.service import deal_scope_clause
from xuyen.sales.scope import SalesScope

PER_COLUMN = 25
MAX_PER_COLUMN = 200
CLOSED_DAYS = 30


@dataclass(frozen=True)
class BoardColumn:
    """One stage's column: its first deals, how many there are and what they are worth."""

    stage: Stage
    deals: list[Deal]
    count: int
    value: int

    @property
    def more(self) -> int:
        """How many deals of the column are not shown."""
        return max(self.count - len(self.deals), 0)

    @property
    def weighted(self) -> int:
        """The column's value times the stage's probability."""
        return self.value * self.stage.probability // 100


@dataclass(frozen=True)
class Board:
    """A pipeline's board as one viewer sees it."""

    pipeline: Pipeline
    columns: list[BoardColumn]
    closed_since: datetime


def _column_conditions(stage: Stage, *, scope: SalesScope, owner_id: int | None, store_id: int | None,
                       closed_since: datetime, where: Sequence[ColumnElement[bool]] = ()) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Deal.stage_id == stage.id, Deal.status == stage.kind,
                                             deal_scope_clause(scope), *where]
    if stage.kind is not StageKind.open:
        conditions.append(Deal.updated_at >= closed_since)
    if owner_id is not None:
        conditions.append(Deal.owner_id == owner_id)
    if store_id is not None:
        conditions.append(Deal.store_id == store_id)
    return conditions


def column_deals(session: Session, *, stage: Stage, scope: SalesScope, owner_id: int | None = None,
                 store_id: int | None = None, limit: int = PER_COLUMN, offset: int = 0,
                 closed_since: datetime | None = None, where: Sequence[ColumnElement[bool]] = ()) -> list[Deal]:
    """A page of one column's deals, the latest changed first (``where``: more clauses, e.g. custom fields)."""
    if not 1 <= limit <= MAX_PER_COLUMN or offset < 0:
        raise ValidationFailed(f"Ask for 1 to {MAX_PER_COLUMN} deals from an offset of 0 or more.",
                               code="invalid_page")
    since = closed_since or utcnow() - timedelta(days=CLOSED_DAYS)
    conditions = _column_conditions(stage, scope=scope, owner_id=owner_id, store_id=store_id, closed_since=since,
                                    where=where)
    return list(session.scalars(select(Deal).where(*conditions).order_by(Deal.updated_at.desc(), Deal.id.desc())
                                .limit(limit).offset(offset)))


def _totals(session: Session, stage: Stage, conditions: list[ColumnElement[bool]]) -> tuple[int, int]:
    count, value = session.execute(select(func.count(), func.coalesce(func.sum(Deal.value), 0))
                                   .where(*conditions)).one()
    return int(count), int(value)


def load_board(session: Session, *, scope: SalesScope, pipeline_id: int | None = None, owner_id: int | None = None,
               store_id: int | None = None, per_column: int = PER_COLUMN,
               where: Sequence[ColumnElement[bool]] = ()) -> Board:
    """The board of a pipeline (the default one unless given) filtered by owner, branch and ``where`` (more
    clauses on ``Deal``, e.g. custom field conditions)."""
    pipeline = (pipelines.get_pipeline(session, pipeline_id=pipeline_id) if pipeline_id is not None
                else pipelines.ensure_defaults(session))
    since = utcnow() - timedelta(days=CLOSED_DAYS)
    columns = []
    for stage in pipelines.stages_of(session, pipeline_id=pipeline.id):
        conditions = _column_conditions(stage, scope=scope, owner_id=owner_id, store_id=store_id,
                                        closed_since=since, where=where)
        count, value = _totals(session, stage, conditions)
        deals = column_deals(session, stage=stage, scope=scope, owner_id=owner_id, store_id=store_id,
                             limit=per_column, closed_since=since, where=where) if count else []
        columns.append(BoardColumn(stage=stage, deals=deals, count=count, value=value))
    return Board(pipeline=pipeline, columns=columns, closed_since=since)
