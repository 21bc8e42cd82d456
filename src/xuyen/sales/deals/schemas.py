"""Deals and pipelines API bodies and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xuyen.commerce.orders.models import PaymentMethod
from xuyen.fields.schemas import custom_fields_field
from xuyen.sales.deals.models import Deal, DealLine, LostReason, Pipeline, Stage, StageChange, StageKind
from xuyen.sales.deals.pipelines import MAX_STAGES, StageIn
from xuyen.sales.deals.service import MAX_LINES, MAX_VALUE, LineWanted

Id = Field(ge=1, le=2**31 - 1)
OptionalId = Field(default=None, ge=1, le=2**31 - 1)


class DealLineIn(BaseModel):
    """A product of the deal: a SKU or a variant id, and a quantity (priced by the pricing quote)."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(default=None, min_length=1, max_length=64)
    variant_id: int | None = OptionalId
    quantity: int = Field(ge=1, le=999)

    @model_validator(mode="after")
    def _one_key(self) -> DealLineIn:
        if (self.sku is None) == (self.variant_id is None):
            raise ValueError("give either sku or variant_id")
        return self

    def to_line(self) -> LineWanted:
        """The line as the service takes it."""
        return LineWanted(quantity=self.quantity, sku=self.sku, variant_id=self.variant_id)


class DealIn(BaseModel):
    """A new deal for a customer; with lines its value is their quote, else ``value``. The owner is the caller and
    the branch the caller's unless given (``null``: none)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    profile_id: int = Id
    pipeline_id: int | None = OptionalId
    stage_id: int | None = OptionalId
    value: int | None = Field(default=None, ge=0, le=MAX_VALUE, description="Whole đồng.")
    expected_close: date | None = None
    owner_id: int | None = OptionalId
    store_id: int | None = OptionalId
    team_id: int | None = OptionalId
    lead_id: int | None = OptionalId
    lines: list[DealLineIn] = Field(default_factory=list, max_length=MAX_LINES)
    note: str = Field(default="", max_length=2000)
    custom_fields: dict[str, Any] | None = custom_fields_field()


class DealPatch(BaseModel):
    """Fields of a deal to change; ``null`` clears the expected close date, the owner, branch or team."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    value: int | None = Field(default=None, ge=0, le=MAX_VALUE)
    expected_close: date | None = None
    owner_id: int | None = OptionalId
    store_id: int | None = OptionalId
    team_id: int | None = OptionalId
    note: str | None = Field(default=None, max_length=2000)
    lines: list[DealLineIn] | None = Field(default=None, max_length=MAX_LINES)
    custom_fields: dict[str, Any] | None = custom_fields_field()


class MoveIn(BaseModel):
    """The stage to move the deal to; a lost stage needs a lost reason."""

    model_config = ConfigDict(extra="forbid")

    stage_id: int = Id
    lost_reason_id: int | None = OptionalId
    lost_note: str = Field(default="", max_length=1000)


class ConvertIn(BaseModel):
    """How the customer pays for the order made from the deal, and where it goes."""

    model_config = ConfigDict(extra="forbid")

    payment_method: PaymentMethod = PaymentMethod.cod
    shipping_address: dict[str, str] = Field(default_factory=dict, max_length=20)
    note: str = Field(default="", max_length=1000)


class DealLineOut(BaseModel):
    """A line as priced."""

    variant_id: int
    sku: str
    name: str
    quantity: int
    unit_price: int
    discount: int
    total: int

    @classmethod
    def of(cls, line: DealLine) -> DealLineOut:
        """The answer for one line."""
        return cls(variant_id=line.variant_id, sku=line.sku, name=line.name, quantity=line.quantity,
                   unit_price=line.unit_price, discount=line.discount, total=line.total)


class StageChangeOut(BaseModel):
    """One move of the deal."""

    from_stage_id: int | None
    to_stage_id: int
    actor: str
    at: datetime

    @classmethod
    def of(cls, change: StageChange) -> StageChangeOut:
        """The answer for one move."""
        return cls(from_stage_id=change.from_stage_id, to_stage_id=change.to_stage_id, actor=change.actor,
                   at=change.at)


class DealOut(BaseModel):
    """A deal; ``lines`` and ``history`` only on the one-deal answers."""

    id: int
    title: str
    profile_id: int | None
    pipeline_id: int
    stage_id: int
    status: StageKind
    value: int
    currency: str = "VND"
    expected_close: date | None
    owner_id: int | None
    store_id: int | None
    team_id: int | None
    lead_id: int | None
    lost_reason_id: int | None
    lost_note: str
    won_at: datetime | None
    lost_at: datetime | None
    order_id: int | None
    note: str
    created_at: datetime
    updated_at: datetime
    lines: list[DealLineOut] | None = None
    history: list[StageChangeOut] | None = None
    custom_fields: dict[str, Any] | None = custom_fields_field()

    @classmethod
    def of(cls, deal: Deal, *, lines: list[DealLine] | None = None, history: list[StageChange] | None = None,
           custom_fields: dict[str, Any] | None = None) -> DealOut:
        """The answer for one deal."""
        return cls(id=deal.id, title=deal.title, profile_id=deal.profile_id, pipeline_id=deal.pipeline_id,
                   stage_id=deal.stage_id, status=deal.status, value=deal.value, expected_close=deal.expected_close,
                   owner_id=deal.owner_id, store_id=deal.store_id, team_id=deal.team_id, lead_id=deal.lead_id,
                   lost_reason_id=deal.lost_reason_id, lost_note=deal.lost_note, won_at=deal.won_at,
                   lost_at=deal.lost_at, order_id=deal.order_id, note=deal.note, created_at=deal.created_at,
                   updated_at=deal.updated_at,
                   lines=[DealLineOut.of(line) for line in lines] if lines is not None else None,
                   history=[StageChangeOut.of(change) for change in history] if history is not None else None,
                   custom_fields=custom_fields)


class DealPageOut(BaseModel):
    """A page of deals and how many match in all."""

    items: list[DealOut]
    total: int


class StageBody(BaseModel):
    """A stage of a pipeline as given; ``id`` keeps an existing stage (with its deals)."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = OptionalId
    name: str = Field(min_length=1, max_length=80)
    probability: int = Field(ge=0, le=100)
    kind: StageKind = StageKind.open

    def to_stage(self) -> StageIn:
        """The stage as the service takes it."""
        return StageIn(name=self.name, probability=self.probability, kind=self.kind, id=self.id)


class PipelineIn(BaseModel):
    """A new pipeline with its stages in order."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    is_default: bool = False
    stages: list[StageBody] = Field(min_length=3, max_length=MAX_STAGES)


class PipelinePatch(BaseModel):
    """A new name, the default flag, or the whole list of stages in order."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    is_default: bool | None = None
    stages: list[StageBody] | None = Field(default=None, min_length=3, max_length=MAX_STAGES)


class StageOut(BaseModel):
    """A stage of a pipeline."""

    id: int
    name: str
    position: int
    probability: int
    kind: StageKind

    @classmethod
    def of(cls, stage: Stage) -> StageOut:
        """The answer for one stage."""
        return cls(id=stage.id, name=stage.name, position=stage.position, probability=stage.probability,
                   kind=stage.kind)


class PipelineOut(BaseModel):
    """A pipeline and its stages in order."""

    id: int
    name: str
    is_default: bool
    stages: list[StageOut]

    @classmethod
    def of(cls, pipeline: Pipeline, stages: list[Stage]) -> PipelineOut:
        """The answer for one pipeline."""
        return cls(id=pipeline.id, name=pipeline.name, is_default=pipeline.is_default,
                   stages=[StageOut.of(stage) for stage in stages])


class LostReasonIn(BaseModel):
    """A new lost reason."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)


class LostReasonPatch(BaseModel):
    """A new name, archiving (``is_active`` false) or bringing back, or a new place in the list (0 is the top)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    is_active: bool | None = None
    position: int | None = Field(default=None, ge=0, le=1000)


class LostReasonOut(BaseModel):
    """A lost reason of the managed list; an archived one (``is_active`` false) is no longer offered."""

    id: int
    name: str
    position: int
    is_active: bool

    @classmethod
    def of(cls, reason: LostReason) -> LostReasonOut:
        """The answer for one reason."""
        return cls(id=reason.id, name=reason.name, position=reason.position, is_active=reason.is_active)
