"""The deals pages: the pipeline board (columns per stage, totals, filters, drag and drop with a form that works
without JavaScript), one column's deals page by page, a deal with its lines and history, the forms that create,
move (asking the lost reason), price and convert a deal, and the customer 360 panel of the customer's deals."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth import service as auth
from xuyen.auth.models import Role
from xuyen.customers.service import display_names
from xuyen.errors import NotFound, ValidationFailed, XuyenError
from xuyen.fields import service as field_service
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name, merged_profile_ids
from xuyen.routing import Router
from xuyen.sales.custom_fields import DEAL, MAX_EXPORT
from xuyen.sales.deals import board as boards
from xuyen.sales.deals import exporting, pipelines, service
from xuyen.sales.deals.converting import convert_to_order
from xuyen.sales.deals.models import Deal, StageKind
from xuyen.sales.deals.service import Actor, LineWanted
from xuyen.sales.scope import SalesScope, scope_of
from xuyen.stores import service as stores
from xuyen.ui import custom_fields as custom_field_pages
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.panels import customer_panel
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=2000)]
MAX_ID = 2**31 - 1
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
IdText = Annotated[str, Query(max_length=12)]
COLUMN_PAGE = 50
PANEL_DEALS = 10

KIND_LABELS = {"open": N_("In progress"), "won": N_("Won"), "lost": N_("Lost")}
ERRORS: dict[str, str] = {
    "invalid_title": N_("Give the deal a title (at most 200 characters)."),
    "invalid_value": N_("The value is a whole number of đồng, 0 or more."),
    "value_from_lines": N_("This deal takes its value from its products; change the products instead."),
    "customer_not_found": N_("There is no such customer."),
    "lost_reason_required": N_("Say why the deal is lost: pick a reason."),
    "lost_reason_not_found": N_("Pick a lost reason from the list."),
    "stage_not_found": N_("There is no such stage."),
    "stage_of_other_pipeline": N_("That stage belongs to another pipeline."),
    "deal_has_order": N_("This deal became an order; it stays won."),
    "deal_not_won": N_("Only a won deal becomes an order: move it to the won stage first."),
    "deal_has_no_lines": N_("The deal has no products: add them before making the order."),
    "out_of_stock": N_("Not enough stock to make the order: lower the quantities or receive stock first."),
    "unknown_sku": N_("No product has that SKU."),
    "invalid_quantity": N_("The quantity is a whole number from 1 to 999."),
    "invalid_custom_fields": N_("Nothing was saved: correct the fields marked below."),
    "outside_scope": N_("You would no longer see this deal: keep yourself, your branch or your team on it."),
}


def _scope(session: Session, viewer: Viewer) -> SalesScope:
    return scope_of(session, principal=viewer.principal)


def _actor(viewer: Viewer) -> Actor:
    return Actor(name=actor_name(viewer.principal), user_id=viewer.principal.user_id)


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def _error(code: str) -> str:
    return ERRORS.get(code, code)


def _names(session: Session, deals: list[Deal]) -> dict[str, dict[int, str]]:
    """Customer, owner and branch names for the deals shown."""
    owners = {user.id: user.name for user in auth.list_users(session)}
    branches = {store.id: store.name for store in stores.list_all(session)}
    customers = display_names(session, profile_ids={d.profile_id for d in deals if d.profile_id is not None})
    return {"customers": customers, "owners": owners, "stores": branches}


# The board ---------------------------------------------------------------------------------------------


def _custom_filters(request: Request, session: Session, viewer: Viewer) -> custom_field_pages.ListFilters:
    return custom_field_pages.list_filters(session, entity=DEAL, params=request.query_params,
                                           locale=viewer.principal.locale, id_column=Deal.id)


def _custom_query(request: Request) -> list[tuple[str, str]]:
    """The custom-field filters of the address, to carry to the column pages and the export."""
    return [(key, value) for key, value in request.query_params.multi_items()
            if key.startswith(custom_field_pages.PREFIX) and value]


@router.get("/deals")
def board_page(request: Request, session: DbSession, viewer: AgentViewer, pipeline: IdText = "",
               owner: IdText = "", store: IdText = "", error: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The board of the chosen pipeline: a column per stage with its count, value and first deals, filtered by
    owner, branch and custom fields."""
    scope = _scope(session, viewer)
    all_pipelines = pipelines.list_pipelines(session)
    chosen = _id(pipeline)
    custom = _custom_filters(request, session, viewer)
    try:
        loaded = boards.load_board(session, scope=scope, pipeline_id=chosen, owner_id=_id(owner),
                                   store_id=_id(store), where=custom.clauses)
    except NotFound:
        loaded = boards.load_board(session, scope=scope, owner_id=_id(owner), store_id=_id(store),
                                   where=custom.clauses)
    shown = [deal for column in loaded.columns for deal in column.deals]
    filters = {"pipeline": pipeline if chosen else "", "owner": owner if _id(owner) else "",
               "store": store if _id(store) else ""}
    own = [(k, v) for k, v in filters.items() if v]
    query = urlencode([*own, *_custom_query(request)])
    export = urlencode([*(("pipeline_id" if k == "pipeline" else f"{k}_id", v) for k, v in own),
                        *_custom_query(request)])
    return render(request, "deals/board.html", {
        "board": loaded, "pipelines": all_pipelines, "filters": filters, "query": query,
        "names": _names(session, shown), "users": auth.list_users(session), "stores": stores.list_all(session),
        "stages": [column.stage for column in loaded.columns], "kind_labels": KIND_LABELS,
        "back": "/deals" + (f"?{query}" if query else ""), "error": _error(error) if error else "",
        "custom_filters": custom.inputs, "filter_error": custom.error, "export_query": export,
        "can_export": viewer.principal.can(Role.manager), "custom_filtered": bool(_custom_query(request)),
    })


@router.get("/deals/export.csv")
def export_deals(request: Request, session: DbSession, viewer: ManagerViewer, pipeline_id: IdText = "",
                 owner_id: IdText = "", store_id: IdText = "") -> Response:
    """The deals the board's filters find (every stage, within the viewer's scope), as CSV with a column per
    custom field."""
    custom = _custom_filters(request, session, viewer)
    if custom.error:
        raise ValidationFailed(custom.error, code="invalid_condition")
    deals, _total = service.list_deals(session, scope=_scope(session, viewer), pipeline_id=_id(pipeline_id),
                                       owner_id=_id(owner_id), store_id=_id(store_id), limit=MAX_EXPORT,
                                       max_page=MAX_EXPORT, where=custom.clauses)
    audit.record(session, actor=actor_name(viewer.principal), action="deals.exported", subject_type="deal",
                 subject_id="*", detail={"rows": len(deals)})
    session.commit()
    return exporting.csv_response(exporting.deals_csv(session, deals=deals, locale=viewer.principal.locale),
                                  "deals.csv")


@router.get("/deals/stages/{stage_id}")
def column_page(request: Request, session: DbSession, viewer: AgentViewer, stage_id: ItemId, owner: IdText = "",
                store: IdText = "", page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """All the deals of one column of the board, page by page."""
    stage = pipelines.get_stage(session, stage_id=stage_id)
    deals = boards.column_deals(session, stage=stage, scope=_scope(session, viewer), owner_id=_id(owner),
                                store_id=_id(store), limit=COLUMN_PAGE + 1, offset=(page - 1) * COLUMN_PAGE,
                                where=_custom_filters(request, session, viewer).clauses)
    query = urlencode([*((k, v) for k, v in {"owner": owner, "store": store}.items() if _id(v)),
                       *_custom_query(request)])
    return render(request, "deals/column.html", {
        "stage": stage, "deals": deals[:COLUMN_PAGE], "has_next": len(deals) > COLUMN_PAGE, "page": page,
        "query": query, "names": _names(session, deals), "pipeline": pipelines.get_pipeline(
            session, pipeline_id=stage.pipeline_id)})


# Moving ------------------------------------------------------------------------------------------------


def _safe_back(back: str, deal_id: int) -> str:
    return back if back.startswith("/deals") and "//" not in back and "\\" not in back else f"/deals/{deal_id}"


@router.post("/deals/{deal_id}/move")
def move(request: Request, session: DbSession, viewer: AgentViewer, deal_id: ItemId, csrf_token: FormText = "",
         stage_id: FormText = "", lost_reason_id: FormText = "", lost_note: FormText = "",
         back: FormText = "") -> Response:
    """Move a deal from the board or its page; a lost stage without a reason asks for the reason first."""
    check_csrf(viewer.auth_session, csrf_token)
    scope = _scope(session, viewer)
    deal = service.get_deal(session, deal_id=deal_id, scope=scope)
    target = pipelines.get_stage(session, stage_id=_id(stage_id) or 0)
    if target.kind is StageKind.lost and not _id(lost_reason_id):
        return _lost_form(request, session, deal, target.id, back, status_code=200 if not lost_reason_id else 422)
    try:
        service.move_deal(session, deal_id=deal.id, stage_id=target.id, actor=_actor(viewer), scope=scope,
                          lost_reason_id=_id(lost_reason_id), lost_note=lost_note)
    except XuyenError as exc:
        session.rollback()
        if exc.code.startswith("lost_reason"):
            return _lost_form(request, session, deal, target.id, back, status_code=exc.status, error=exc.code)
        return RedirectResponse(_with_error(_safe_back(back, deal_id), exc.code), status_code=303)
    return RedirectResponse(_safe_back(back, deal_id), status_code=303)


def _with_error(url: str, code: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({"error": code})


def _lost_form(request: Request, session: Session, deal: Deal, stage_id: int, back: str, *, status_code: int,
               error: str = "") -> Response:
    return render(request, "deals/lost.html", {
        "deal": deal, "stage_id": stage_id, "reasons": pipelines.lost_reasons(session), "back": back,
        "error": _error(error) if error else ""}, status_code=status_code)


# One deal ----------------------------------------------------------------------------------------------


def _deal_page(request: Request, session: Session, viewer: Viewer, deal_id: int, *, error: str = "",
               status_code: int = 200) -> Response:
    deal = service.get_deal(session, deal_id=deal_id, scope=_scope(session, viewer))
    stages = pipelines.stages_of(session, pipeline_id=deal.pipeline_id)
    history = service.history_of(session, deal_id=deal.id)
    reasons = {reason.id: reason.name for reason in pipelines.lost_reasons(session, active_only=False)}
    return render(request, "deals/detail.html", {
        "deal": deal, "lines": service.lines_of(session, deal_id=deal.id), "history": history, "stages": stages,
        "stage_names": {stage.id: stage.name for stage in stages}, "names": _names(session, [deal]),
        "pipeline": pipelines.get_pipeline(session, pipeline_id=deal.pipeline_id), "lost_reasons": reasons,
        "kind_labels": KIND_LABELS, "error": _error(error) if error else "",
        "custom_rows": custom_field_pages.record_values(session, entity=DEAL, entity_id=deal.id),
        "custom_edit_url": f"/deals/{deal.id}/custom-fields"}, status_code=status_code)


@router.get("/deals/new")
def new_deal_page(request: Request, session: DbSession, viewer: AgentViewer,
                  profile_id: IdText = "") -> Response:
    """The form that opens a deal for a customer."""
    return _new_form(request, session, viewer, profile_id=_id(profile_id))


def _new_form(request: Request, session: Session, viewer: Viewer, *, profile_id: int | None,
              values: dict[str, str] | None = None, error: str = "", status_code: int = 200,
              typed: dict[str, Any] | None = None, problems: dict[str, str] | None = None) -> Response:
    names = display_names(session, profile_ids=[profile_id]) if profile_id else {}
    fields = field_service.list_fields(session, entity=DEAL)
    return render(request, "deals/new.html", {
        "profile_id": profile_id, "customer_name": names.get(profile_id or 0, ""), "values": values or {},
        "pipelines": pipelines.list_pipelines(session), "users": auth.list_users(session),
        "stores": stores.list_all(session), "error": _error(error) if error else "",
        "custom_inputs": custom_field_pages.field_inputs(fields, {}, locale=viewer.principal.locale,
                                                         errors=problems, typed=typed)}, status_code=status_code)


def _whole(text: str) -> int | None:
    cleaned = text.replace(".", "").replace(",", "").replace(" ", "").strip()
    return int(cleaned) if cleaned.isdigit() and len(cleaned) <= 15 else None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.post("/deals/new")
async def create(request: Request, session: DbSession, viewer: AgentViewer, csrf_token: FormText = "",
           profile_id: FormText = "", title: FormText = "", value: FormText = "", expected_close: FormText = "",
           pipeline_id: FormText = "", owner_id: FormText = "", store_id: FormText = "", sku: FormText = "",
           quantity: FormText = "") -> Response:
    """Open the deal, with a first product and its custom fields when given (required ones must be)."""
    check_csrf(viewer.auth_session, csrf_token)
    typed = custom_field_pages.form_values(field_service.list_fields(session, entity=DEAL), await request.form())
    values = {"title": title, "value": value, "expected_close": expected_close, "sku": sku, "quantity": quantity,
              "owner_id": owner_id, "store_id": store_id, "pipeline_id": pipeline_id}
    customer = _id(profile_id)
    amount = _whole(value) if value.strip() else 0
    lines = [LineWanted(sku=sku.strip(), quantity=_whole(quantity) or 1)] if sku.strip() else []
    try:
        if customer is None:
            raise NotFound("There is no such customer.", code="customer_not_found")
        if amount is None:
            raise ValidationFailed("The value is a whole number of đồng.", code="invalid_value")
        owner: dict[str, Any] = {"owner_id": _id(owner_id)} if owner_id else {}
        branch: dict[str, Any] = {"store_id": _id(store_id)} if store_id else {}
        deal = service.create_deal(session, actor=_actor(viewer), scope=_scope(session, viewer), title=title,
                                   profile_id=customer, pipeline_id=_id(pipeline_id), value=amount,
                                   expected_close=_day(expected_close), lines=lines, custom_values=typed,
                                   form=True, **owner, **branch)
    except XuyenError as exc:
        session.rollback()
        problems = dict((exc.details or {}).get("fields", {})) if exc.code == "invalid_custom_fields" else None
        return _new_form(request, session, viewer, profile_id=customer, values=values, error=exc.code,
                         status_code=exc.status, typed=typed, problems=problems)
    return RedirectResponse(f"/deals/{deal.id}", status_code=303)


@router.get("/deals/{deal_id}")
def deal_page(request: Request, session: DbSession, viewer: AgentViewer, deal_id: ItemId,
              error: Annotated[str, Query(max_length=40)] = "") -> Response:
    """A deal: its customer, value, stage, products, history, and its order once converted."""
    return _deal_page(request, session, viewer, deal_id, error=error)


@router.post("/deals/{deal_id}/lines")
def add_line(request: Request, session: DbSession, viewer: AgentViewer, deal_id: ItemId, csrf_token: FormText = "",
             sku: FormText = "", quantity: FormText = "", remove: FormText = "") -> Response:
    """Add a product to the deal (or take one out); the value becomes the products' quote."""
    check_csrf(viewer.auth_session, csrf_token)
    scope = _scope(session, viewer)
    deal = service.get_deal(session, deal_id=deal_id, scope=scope)
    current = [LineWanted(quantity=line.quantity, variant_id=line.variant_id)
               for line in service.lines_of(session, deal_id=deal.id)]
    position = _id(remove)
    if remove:
        wanted = [line for index, line in enumerate(current, start=1) if index != position]
    else:
        count = _whole(quantity)
        if not sku.strip() or count is None or not 1 <= count <= 999:
            return _deal_page(request, session, viewer, deal_id, error="invalid_quantity" if sku.strip()
                              else "unknown_sku", status_code=422)
        wanted = [*current, LineWanted(quantity=count, sku=sku.strip())]
    try:
        service.update_deal(session, deal_id=deal.id, actor=_actor(viewer), scope=scope, lines=wanted)
    except XuyenError as exc:
        session.rollback()
        return _deal_page(request, session, viewer, deal_id, error=exc.code, status_code=exc.status)
    return RedirectResponse(f"/deals/{deal_id}", status_code=303)


@router.get("/deals/{deal_id}/custom-fields")
def edit_deal_fields(request: Request, session: DbSession, viewer: AgentViewer, deal_id: ItemId) -> Response:
    """The form for the deal's custom fields."""
    deal = service.get_deal(session, deal_id=deal_id, scope=_scope(session, viewer))
    return custom_field_pages.record_form(request, session, entity=DEAL, entity_id=deal.id, viewer=viewer,
                                          title=deal.title, back=f"/deals/{deal.id}")


@router.post("/deals/{deal_id}/custom-fields")
async def save_deal_fields(request: Request, session: DbSession, viewer: AgentViewer, deal_id: ItemId) -> Response:
    """Save the deal's custom fields, all or nothing; a refused save shows each field's problem."""
    scope = _scope(session, viewer)
    deal = service.get_deal(session, deal_id=deal_id, scope=scope)
    typed = await custom_field_pages.submitted_values(request, viewer, entity=DEAL, session=session)
    try:
        service.update_deal(session, deal_id=deal.id, actor=_actor(viewer), scope=scope, custom_values=typed,
                            form=True)
    except ValidationFailed as exc:
        session.rollback()
        deal = service.get_deal(session, deal_id=deal_id, scope=scope)
        return custom_field_pages.record_form(request, session, entity=DEAL, entity_id=deal.id, viewer=viewer,
                                              title=deal.title, back=f"/deals/{deal.id}", typed=typed,
                                              errors=custom_field_pages.refused_problems(exc), status_code=422)
    return RedirectResponse(f"/deals/{deal_id}#custom-fields", status_code=303)


@router.post("/deals/{deal_id}/convert")
def convert(request: Request, session: DbSession, viewer: AgentViewer, deal_id: ItemId,
            csrf_token: FormText = "") -> Response:
    """Make the won deal's order and open it."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        order = convert_to_order(session, deal_id=deal_id, actor=_actor(viewer), scope=_scope(session, viewer))
    except NotFound:
        raise
    except XuyenError as exc:
        session.rollback()
        return _deal_page(request, session, viewer, deal_id, error=exc.code, status_code=exc.status)
    return RedirectResponse(f"/orders/{order.id}", status_code=303)


# The customer 360 panel --------------------------------------------------------------------------------


@customer_panel("deals", label=N_("Deals"), template="deals/_customer_panel.html", order=45)
def deals_panel(session: Session, profile_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The customer's deals the viewer sees, the latest changed first, and the link that opens a new one."""
    ids = [profile_id, *merged_profile_ids(session, profile_id=profile_id)]
    deals, total = service.list_deals(session, scope=_scope(session, viewer), profile_ids=ids, limit=PANEL_DEALS)
    stage_names = {stage.id: stage.name for p in pipelines.list_pipelines(session)
                   for stage in pipelines.stages_of(session, pipeline_id=p.id)}
    return {"deals": deals, "total": total, "stage_names": stage_names, "profile_id": profile_id,
            "kind_labels": KIND_LABELS}
