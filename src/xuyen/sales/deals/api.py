"""The deals and pipelines API: deals within the caller's sales scope (list, create, read, edit, move, convert a
won deal to an order), and pipelines with their stages and the lost reasons (managers edit them).

A deal outside the caller's scope (another branch's, another agent's) answers 404, as an unknown one does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.commerce.orders.schemas import OrderOut
from xuyen.commerce.orders.service import order_detail
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.sales import custom_fields
from xuyen.sales.deals import exporting, pipelines, service
from xuyen.sales.deals.converting import convert_to_order
from xuyen.sales.deals.models import Deal, StageKind
from xuyen.sales.deals.schemas import (
    ConvertIn,
    DealIn,
    DealOut,
    DealPageOut,
    DealPatch,
    LostReasonIn,
    LostReasonOut,
    LostReasonPatch,
    MoveIn,
    PipelineIn,
    PipelineOut,
    PipelinePatch,
)
from xuyen.sales.deals.service import Actor
from xuyen.sales.scope import SalesScope, scope_of

router = Router(tags=["deals"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such deal (or not one the caller may see), pipeline, stage, customer or lost reason"},
    409: {"description": "Converting a deal that is not won, short stock, a pipeline name taken"},
    422: {"description": "Bad title, value, lines, stage, a lost stage without a reason, a custom field value that "
                         "does not fit (invalid_custom_fields) or a custom-field condition that does not fit its "
                         "field (invalid_condition, unknown_field)"},
}
FieldConditions = Annotated[list[str], Query(
    alias="field", max_length=10, description="Custom-field conditions written key:operator:value, as on "
                                              "/customers: e.g. `thanh_toan:any_of:chuyen_khoan`.")]


def _actor(caller: Principal) -> Actor:
    return Actor(name=actor_name(caller), user_id=caller.user_id)


def _scope(session: Session, caller: Principal) -> SalesScope:
    return scope_of(session, principal=caller)


def _full(session: Session, deal_id: int, scope: SalesScope) -> DealOut:
    deal = service.get_deal(session, deal_id=deal_id, scope=scope)
    return DealOut.of(deal, lines=service.lines_of(session, deal_id=deal.id),
                      history=service.history_of(session, deal_id=deal.id),
                      custom_fields=service.deal_values(session, deal_ids=[deal.id])[deal.id])


def _conditions(session: Session, conditions: list[str]) -> list[Any]:
    return custom_fields.condition_clauses(session, entity=custom_fields.DEAL, conditions=conditions,
                                           id_column=Deal.id)


# Before /deals/{deal_id}, which would take the path otherwise.
@router.get("/deals/lost-reasons", summary="The lost reasons to pick from")
def list_lost_reasons(session: Db, _caller: Agent, include_archived: bool = False) -> list[LostReasonOut]:
    """The managed list, in order (the archived ones too when asked)."""
    pipelines.list_pipelines(session)
    return [LostReasonOut.of(reason) for reason in pipelines.lost_reasons(session, active_only=not include_archived)]


@router.post("/deals/lost-reasons", status_code=201, summary="Add a lost reason", responses=_ERRORS)
def add_lost_reason(body: LostReasonIn, session: Db, caller: Manager) -> LostReasonOut:
    """A new reason at the end of the list."""
    return LostReasonOut.of(pipelines.add_lost_reason(session, actor=actor_name(caller), name=body.name))


@router.patch("/deals/lost-reasons/{reason_id}", summary="Rename, archive or move a lost reason",
              responses=_ERRORS)
def update_lost_reason(reason_id: RowId, body: LostReasonPatch, session: Db, caller: Manager) -> LostReasonOut:
    """Deals lost for an archived reason keep it; it is no longer offered."""
    return LostReasonOut.of(pipelines.update_lost_reason(session, reason_id=reason_id, actor=actor_name(caller),
                                                         name=body.name, is_active=body.is_active,
                                                         position=body.position))


@router.get("/deals", summary="Deals the caller may see", responses=_ERRORS)
def list_deals(session: Db, caller: Agent, pipeline_id: OptionalId = None, stage_id: OptionalId = None,
               status: StageKind | None = None, owner_id: OptionalId = None, store_id: OptionalId = None,
               profile_id: OptionalId = None, conditions: FieldConditions = [],  # noqa: B006
               limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> DealPageOut:
    """Newest change first, filtered by pipeline, stage, status, owner, branch, customer or custom fields; each
    deal carries its custom field values."""
    rows, total = service.list_deals(session, scope=_scope(session, caller), pipeline_id=pipeline_id,
                                     stage_id=stage_id, status=status, owner_id=owner_id, store_id=store_id,
                                     profile_ids=[profile_id] if profile_id is not None else None, limit=limit,
                                     offset=offset, where=_conditions(session, conditions))
    values = service.deal_values(session, deal_ids=[deal.id for deal in rows])
    return DealPageOut(items=[DealOut.of(deal, custom_fields=values[deal.id]) for deal in rows], total=total)


@router.get("/deals/export.csv", summary="Export deals as CSV", response_class=Response,
            responses={**_ERRORS, 200: {"content": {"text/csv": {}}}})
def export_deals(session: Db, caller: Manager, pipeline_id: OptionalId = None, stage_id: OptionalId = None,
                 status: StageKind | None = None, owner_id: OptionalId = None, store_id: OptionalId = None,
                 conditions: FieldConditions = []) -> Response:  # noqa: B006
    """The deals the caller may see matching the filters (at most 10,000, newest change first), with a column per
    custom field."""
    rows, _total = service.list_deals(session, scope=_scope(session, caller), pipeline_id=pipeline_id,
                                      stage_id=stage_id, status=status, owner_id=owner_id, store_id=store_id,
                                      limit=custom_fields.MAX_EXPORT, max_page=custom_fields.MAX_EXPORT,
                                      where=_conditions(session, conditions))
    audit.record(session, actor=actor_name(caller), action="deals.exported", subject_type="deal", subject_id="*",
                 detail={"rows": len(rows), "conditions": conditions})
    session.commit()
    return exporting.csv_response(exporting.deals_csv(session, deals=rows, locale=caller.locale), "deals.csv")


@router.post("/deals", status_code=201, summary="Open a deal for a customer", responses=_ERRORS)
def create_deal(body: DealIn, session: Db, caller: Agent) -> DealOut:
    """In the default pipeline's first stage unless told otherwise; with lines its value is their quote."""
    scope = _scope(session, caller)
    deal = service.create_deal(
        session, actor=_actor(caller), scope=scope, title=body.title, profile_id=body.profile_id,
        pipeline_id=body.pipeline_id, stage_id=body.stage_id, value=body.value, expected_close=body.expected_close,
        team_id=body.team_id, lead_id=body.lead_id, lines=[line.to_line() for line in body.lines], note=body.note,
        custom_values=body.custom_fields or {},
        **{name: getattr(body, name) for name in ("owner_id", "store_id") if name in body.model_fields_set})
    return _full(session, deal.id, scope)


@router.get("/deals/{deal_id}", summary="One deal with its lines and history", responses=_ERRORS)
def get_deal(deal_id: RowId, session: Db, caller: Agent) -> DealOut:
    """The deal, its lines as priced and its stage history."""
    return _full(session, deal_id, _scope(session, caller))


@router.patch("/deals/{deal_id}", summary="Edit a deal", responses=_ERRORS)
def update_deal(deal_id: RowId, body: DealPatch, session: Db, caller: Agent) -> DealOut:
    """Change the fields given; new lines replace the old ones and set the value."""
    scope = _scope(session, caller)
    given = body.model_fields_set
    optional = {name: getattr(body, name) for name in ("expected_close", "owner_id", "store_id", "team_id")
                if name in given}
    service.update_deal(session, deal_id=deal_id, actor=_actor(caller), scope=scope, title=body.title,
                        value=body.value, note=body.note,
                        lines=[line.to_line() for line in body.lines] if body.lines is not None else None,
                        custom_values=body.custom_fields, **optional)
    return _full(session, deal_id, scope)


@router.post("/deals/{deal_id}/move", summary="Move a deal to another stage", responses=_ERRORS)
def move_deal(deal_id: RowId, body: MoveIn, session: Db, caller: Agent) -> DealOut:
    """Won needs nothing more; lost needs ``lost_reason_id``; leaving won or lost reopens the deal."""
    scope = _scope(session, caller)
    service.move_deal(session, deal_id=deal_id, stage_id=body.stage_id, actor=_actor(caller), scope=scope,
                      lost_reason_id=body.lost_reason_id, lost_note=body.lost_note)
    return _full(session, deal_id, scope)


@router.post("/deals/{deal_id}/convert", summary="Make the order of a won deal", responses=_ERRORS)
def convert(deal_id: RowId, body: ConvertIn, session: Db, caller: Agent) -> OrderOut:
    """The order of the deal's lines for its customer, on the chat channel; the same order when asked again."""
    order = convert_to_order(session, deal_id=deal_id, actor=_actor(caller), scope=_scope(session, caller),
                             payment_method=body.payment_method, shipping_address=dict(body.shipping_address),
                             note=body.note)
    return OrderOut.of_detail(order_detail(session, order_id=order.id))


@router.get("/pipelines", summary="Pipelines and their stages")
def list_pipelines(session: Db, _caller: Agent) -> list[PipelineOut]:
    """The default pipeline first (made with its Vietnamese stages on first use)."""
    return [PipelineOut.of(p, pipelines.stages_of(session, pipeline_id=p.id))
            for p in pipelines.list_pipelines(session)]


@router.post("/pipelines", status_code=201, summary="Add a pipeline", responses=_ERRORS)
def create_pipeline(body: PipelineIn, session: Db, caller: Manager) -> PipelineOut:
    """A pipeline with its stages in order: open ones, one won and one lost."""
    pipeline = pipelines.create_pipeline(session, actor=actor_name(caller), name=body.name,
                                         is_default=body.is_default,
                                         stages=[stage.to_stage() for stage in body.stages])
    return PipelineOut.of(pipeline, pipelines.stages_of(session, pipeline_id=pipeline.id))


@router.patch("/pipelines/{pipeline_id}", summary="Rename a pipeline or edit its stages", responses=_ERRORS)
def update_pipeline(pipeline_id: RowId, body: PipelinePatch, session: Db, caller: Manager) -> PipelineOut:
    """Stages given with their id are kept (renamed, reordered); a left-out stage must hold no deals."""
    pipeline = pipelines.update_pipeline(
        session, pipeline_id=pipeline_id, actor=actor_name(caller), name=body.name, is_default=body.is_default,
        stages=[stage.to_stage() for stage in body.stages] if body.stages is not None else None)
    return PipelineOut.of(pipeline, pipelines.stages_of(session, pipeline_id=pipeline.id))
