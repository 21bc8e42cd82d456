"""Pipeline and deal tables: pipelines and their stages, lost reasons, deals, their lines and stage history."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, UTCDateTime


class StageKind(enum.StrEnum):
    """Whether a deal in the stage is still being worked on, won or lost."""

    open = "open"
    won = "won"
    lost = "lost"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members])


class Pipeline(Base):
    """One sales process (retail, wholesale, projects…); one pipeline is the default for new deals."""

    __tablename__ = "sales_pipelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Stage(Base):
    """One column of a pipeline, in ``position`` order; ``probability`` is the chance (percent) a deal here closes."""

    __tablename__ = "sales_pipeline_stages"
    __table_args__ = (Index("ix_sales_pipeline_stages_pipeline", "pipeline_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("sales_pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    probability: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[StageKind] = mapped_column(_enum(StageKind), default=StageKind.open)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LostReason(Base):
    """A reason a deal is lost, from the list managers keep (price, competitor, no answer…)."""

    __tablename__ = "sales_lost_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Deal(Base):
    """An opportunity to sell to one customer: its stage in a pipeline, its value in whole đồng, who works it.

    ``status`` follows the stage's kind (kept on the row for the board's queries); ``closed_at`` is when it was
    won or lost (``won_at``/``lost_at`` keep each moment); ``lead_id`` names the lead it came from, if any.
    """

    __tablename__ = "sales_deals"
    # The board: a column's deals, latest changed first, and its count and value read from the index alone
    # (the scope's owner, branch and team columns are in it too).
    __table_args__ = (
        Index("ix_sales_deals_board", "stage_id", "status", "updated_at", "value", "owner_id", "store_id",
              "team_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    profile_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="SET NULL"),
                                                   index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("sales_pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("sales_pipeline_stages.id", ondelete="RESTRICT"))
    status: Mapped[StageKind] = mapped_column(_enum(StageKind), default=StageKind.open)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_close: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="SET NULL"), index=True)
    lead_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lost_reason_id: Mapped[int | None] = mapped_column(ForeignKey("sales_lost_reasons.id", ondelete="SET NULL"))
    lost_note: Mapped[str] = mapped_column(Text, default="")
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DealLine(Base):
    """A catalogue variant the deal would sell, with the unit price and total the pricing quote gave."""

    __tablename__ = "sales_deal_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("sales_deals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)


class StageChange(Base):
    """A deal's move from one stage to another (``from_stage_id`` empty when it was created), who and when."""

    __tablename__ = "sales_deal_stage_changes"
    __table_args__ = (Index("ix_sales_deal_stage_changes_to", "to_stage_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("sales_deals.id", ondelete="CASCADE"), index=True)
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("sales_pipeline_stages.id", ondelete="SET NULL"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("sales_pipeline_stages.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
