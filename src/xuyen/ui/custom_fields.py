"""Custom fields on the pages: the settings page where managers define each entity's fields, the customer 360
panel and its edit form, and the helpers any entity's pages use for custom-field inputs and list filters.

Form inputs are named ``cf.<key>`` (a multi-choice sends one ``cf.<key>`` per ticked option); filter inputs
``cf.<key>`` (text contains, choice any of) and ``cf.<key>.from`` / ``cf.<key>.to`` (number and date ranges).
Values are read as Vietnamese write them: 1.500.000 and dd/mm/yyyy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams

from xuyen.auth.models import Role
from xuyen.errors import Conflict, ValidationFailed
from xuyen.fields import customers as customer_fields
from xuyen.fields import filters, service
from xuyen.fields.filters import Condition
from xuyen.fields.models import ENTITIES, KINDS, CustomField
from xuyen.fields.service import OptionSpec
from xuyen.fields.values import MAX_TEXT, vietnamese_number
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.schemas import MAX_ID
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.panels import customer_panel
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=500)]
OptionsText = Annotated[str, Form(max_length=20_000)]
FieldId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
CustomerId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
SETTINGS_PATH = "/settings/fields"
PREFIX = "cf."

ENTITY_LABELS: dict[str, str] = {"customer": N_("Customers"), "lead": N_("Leads"), "deal": N_("Deals")}
KIND_LABELS: dict[str, str] = {"text": N_("Text"), "number": N_("Number"), "date": N_("Date"),
                               "choice": N_("Choice (one)"), "multi_choice": N_("Choice (several)")}
ERRORS: dict[str, str] = {
    "label_required": N_("Give the field a Vietnamese label."),
    "label_too_long": N_("A label is at most 200 characters."),
    "invalid_key": N_("A key starts with a letter and holds only a-z, 0-9 and _ (at most 64)."),
    "duplicate_field": N_("There is a field with this key already."),
    "unknown_kind": N_("Choose the kind of field."),
    "options_required": N_("A choice field needs at least one option in use."),
    "options_not_allowed": N_("Only choice fields have options."),
    "duplicate_option": N_("Two options have the same key."),
    "too_many_options": N_("A field takes at most 100 options."),
    "too_many_fields": N_("This record type has as many custom fields as it can take (100)."),
    "field_not_archived": N_("Archive the field before deleting it."),
}


# Inputs and filters any entity's pages use --------------------------------------------------------------


@dataclass(frozen=True)
class FieldInput:
    """One custom field as a form shows it: its definition, the options to offer, what to show in the input
    (text as typed; numbers and dates as Vietnamese write them; the chosen option keys) and its error."""

    field: CustomField
    options: list[tuple[str, str, str]]
    text: str = ""
    chosen: list[str] = dataclasses.field(default_factory=list)
    error: str = ""

    @property
    def name(self) -> str:
        """The input's name."""
        return PREFIX + self.field.key


def shown_value(custom: CustomField, value: Any) -> str:
    """A stored value as a form or a page shows it (1.500.000; dd/mm/yyyy; option keys as given)."""
    if value is None or value == []:
        return ""
    if custom.kind == "number":
        return vietnamese_number(Decimal(str(value)))
    if custom.kind == "date":
        day = date.fromisoformat(str(value))
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return str(value)


def option_labels(custom: CustomField, value: Any, locale: str) -> list[str]:
    """The labels of the options a choice value holds."""
    chosen = [str(key) for key in (value if isinstance(value, list) else [value] if value else [])]
    labels = {option.key: option.label(locale) for option in custom.options}
    return [labels.get(key) or key for key in chosen]


def field_inputs(fields: Sequence[CustomField], values: Mapping[str, Any], *, locale: str,
                 errors: Mapping[str, str] | None = None, typed: Mapping[str, Any] | None = None) -> list[FieldInput]:
    """The inputs of ``fields`` filled with stored ``values`` (or what was ``typed`` when a save was refused)."""
    inputs = []
    for custom in fields:
        value = (typed or {}).get(custom.key, values.get(custom.key)) if typed is not None else values.get(custom.key)
        chosen = [str(item) for item in (value if isinstance(value, list) else [value] if value else [])]
        options = [(option.key, option.label(locale), "retired" if option.retired else "")
                   for option in custom.options if not option.retired or option.key in chosen]
        text = value if typed is not None and isinstance(value, str) else shown_value(custom, value)
        inputs.append(FieldInput(field=custom, options=options, text=text if custom.kind not in ("choice",
                                 "multi_choice") else "", chosen=chosen, error=(errors or {}).get(custom.key, "")))
    return inputs


def form_values(fields: Sequence[CustomField], form: FormData) -> dict[str, Any]:
    """The custom field values a submitted form holds, by key (a multi-choice as a list; fields the form did
    not carry are left out)."""
    found: dict[str, Any] = {}
    for custom in fields:
        name = PREFIX + custom.key
        if custom.kind == "multi_choice":
            if name in form or f"{name}.present" in form:
                found[custom.key] = [str(item) for item in form.getlist(name)]
        elif name in form:
            found[custom.key] = str(form[name])
    return found


def filter_conditions(fields: Sequence[CustomField], params: QueryParams) -> list[Condition]:
    """The custom-field conditions a list page's filter form sent (empty inputs ignored)."""
    conditions = []
    for custom in fields:
        name = PREFIX + custom.key
        if custom.kind in ("number", "date"):
            low, high = params.get(f"{name}.from", "").strip(), params.get(f"{name}.to", "").strip()
            if low or high:
                conditions.append(Condition(custom.key, "between", (low or None, high or None)))
        elif custom.kind in ("choice", "multi_choice"):
            chosen = [item for item in params.getlist(name) if item.strip()]
            if chosen:
                conditions.append(Condition(custom.key, "any_of", chosen))
        elif params.get(name, "").strip():
            conditions.append(Condition(custom.key, "contains", params[name][:MAX_TEXT]))
    return conditions


def filter_inputs(fields: Sequence[CustomField], params: QueryParams, *, locale: str) -> list[dict[str, Any]]:
    """What the filter form shows: each field with what was asked for."""
    return [{"field": custom, "name": PREFIX + custom.key, "text": params.get(PREFIX + custom.key, ""),
             "low": params.get(f"{PREFIX}{custom.key}.from", ""), "high": params.get(f"{PREFIX}{custom.key}.to", ""),
             "chosen": params.getlist(PREFIX + custom.key),
             "options": [(option.key, option.label(locale)) for option in custom.options if not option.retired]}
            for custom in fields]


def record_values(session: Session, *, entity: str, entity_id: int) -> list[tuple[CustomField, Any]]:
    """A record's active fields with their values, in form order, for its page."""
    values = service.values_of(session, entity=entity, entity_id=entity_id)
    return [(custom, values.get(custom.key)) for custom in service.list_fields(session, entity=entity)]


@dataclass(frozen=True)
class ListFilters:
    """A list page's custom-field filters: the WHERE clauses, the form's inputs, and why the conditions were
    refused (then no clause applies)."""

    clauses: list[Any]
    inputs: list[dict[str, Any]]
    error: str = ""


def list_filters(session: Session, *, entity: str, params: QueryParams, locale: str, id_column: Any) -> ListFilters:
    """The custom-field filters a list page's GET form sent, as clauses on ``id_column``."""
    fields = service.list_fields(session, entity=entity)
    inputs = filter_inputs(fields, params, locale=locale)
    try:
        clauses = filters.conditions_clauses(session, entity=entity, id_column=id_column, form=True,
                                             conditions=filter_conditions(fields, params))
    except ValidationFailed as exc:
        return ListFilters(clauses=[], inputs=inputs, error=exc.message)
    return ListFilters(clauses=clauses, inputs=inputs)


def record_form(request: Request, session: Session, *, entity: str, entity_id: int, viewer: Viewer, title: str,
                back: str, errors: Mapping[str, str] | None = None, typed: Mapping[str, Any] | None = None,
                status_code: int = 200) -> Response:
    """The custom fields form of a lead or a deal (posting to the page's own address)."""
    fields = service.list_fields(session, entity=entity)
    values = service.values_of(session, entity=entity, entity_id=entity_id)
    return render(request, "fields/record_edit.html", {
        "title": title, "back": back, "action": str(request.url.path), "entity": entity,
        "inputs": field_inputs(fields, values, locale=viewer.principal.locale, errors=errors, typed=typed),
        "has_errors": bool(errors)}, status_code=status_code)


async def submitted_values(request: Request, viewer: Viewer, *, entity: str, session: Session) -> dict[str, Any]:
    """The custom field values a posted form holds (after its CSRF token is checked)."""
    form = await request.form()
    check_csrf(viewer.auth_session, str(form.get("csrf_token", "")))
    return form_values(service.list_fields(session, entity=entity), form)


def refused_problems(exc: ValidationFailed) -> dict[str, str]:
    """Each field's problem in a refused save (or the whole message under ``""``)."""
    problems = dict((exc.details or {}).get("fields", {}))
    return problems or {"": exc.message}


# The customer 360 panel and its edit form -------------------------------------------------------------


@customer_panel("custom-fields", label=N_("Custom fields"), template="fields/_customer_panel.html", order=40)
def custom_fields_panel(session: Session, profile_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The customer's custom field values (nothing when the shop has defined no field)."""
    fields = service.list_fields(session, entity=customer_fields.ENTITY)
    if not fields:
        return None
    values = service.values_of(session, entity=customer_fields.ENTITY, entity_id=profile_id)
    return {"rows": [(custom, values.get(custom.key)) for custom in fields], "profile_id": profile_id,
            "shown_value": shown_value, "option_labels": option_labels}


def _edit_page(request: Request, session: Session, *, profile_id: int, viewer: Viewer,
               errors: Mapping[str, str] | None = None, typed: Mapping[str, Any] | None = None,
               status_code: int = 200) -> Response:
    locale = viewer.principal.locale
    fields = service.list_fields(session, entity=customer_fields.ENTITY)
    values = customer_fields.customer_values(session, profile_id=profile_id)
    return render(request, "fields/customer_edit.html", {
        "profile_id": profile_id, "inputs": field_inputs(fields, values, locale=locale, errors=errors, typed=typed),
        "has_errors": bool(errors)}, status_code=status_code)


@router.get("/customers/{customer_id:int}/custom-fields")
def edit_customer_fields(request: Request, session: DbSession, viewer: AgentViewer,
                         customer_id: CustomerId) -> Response:
    """The form for the customer's custom fields."""
    return _edit_page(request, session, profile_id=customer_id, viewer=viewer)


@router.post("/customers/{customer_id:int}/custom-fields")
async def save_customer_fields(request: Request, session: DbSession, viewer: AgentViewer,
                               customer_id: CustomerId) -> Response:
    """Save the customer's custom fields, all or nothing; a refused save shows each field's problem."""
    form = await request.form()
    check_csrf(viewer.auth_session, str(form.get("csrf_token", "")))
    fields = service.list_fields(session, entity=customer_fields.ENTITY)
    typed = form_values(fields, form)
    try:
        customer_fields.set_customer_values(session, profile_id=customer_id, values=typed, form=True,
                                            actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        problems = dict((exc.details or {}).get("fields", {}))
        return _edit_page(request, session, profile_id=customer_id, viewer=viewer, errors=problems, typed=typed,
                          status_code=422)
    return RedirectResponse(f"/customers/{customer_id}#custom-fields", status_code=303)


# The settings page ------------------------------------------------------------------------------------


def _entity(value: str) -> str:
    return value if value in ENTITIES else "customer"


def _parse_options(text: str) -> list[OptionSpec]:
    """Options written one a line: ``key = Nhãn | English label`` (the key may be left out: it is made from the
    Vietnamese label)."""
    specs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, labels = line.partition("=")
        if not sep:
            key, labels = "", line
        label_vi, _bar, label_en = labels.partition("|")
        specs.append(OptionSpec(key=key.strip() or service.slug(label_vi), label_vi=label_vi.strip(),
                                label_en=label_en.strip()))
    return specs


def options_text(custom: CustomField) -> str:
    """A field's options in use as the settings form writes them."""
    return "\n".join(f"{o.key} = {o.label_vi}" + (f" | {o.label_en}" if o.label_en else "")
                     for o in custom.options if not o.retired)


def _settings_page(request: Request, session: Session, *, entity: str, error: str = "",
                   editing: CustomField | None = None, typed: Mapping[str, str] | None = None,
                   status_code: int = 200) -> Response:
    return render(request, "fields/settings.html", {
        "entity": entity, "entities": ENTITY_LABELS, "kinds": KIND_LABELS, "editing": editing,
        "fields": service.list_fields(session, entity=entity, include_archived=True),
        "error": ERRORS.get(error, error), "typed": dict(typed or {}), "options_text": options_text,
    }, status_code=status_code)


def _refused(request: Request, session: Session, exc: ValidationFailed | Conflict, *, entity: str,
             editing: CustomField | None = None, typed: Mapping[str, str] | None = None) -> Response:
    session.rollback()
    if editing is not None:
        session.refresh(editing)
    return _settings_page(request, session, entity=entity, error=exc.code or "", editing=editing, typed=typed,
                          status_code=409 if isinstance(exc, Conflict) else 422)


def _back(entity: str) -> RedirectResponse:
    return RedirectResponse(f"{SETTINGS_PATH}?entity={entity}", status_code=303)


@router.get(SETTINGS_PATH)
def settings_page(request: Request, session: DbSession, viewer: ManagerViewer,
                  entity: Annotated[str, Query(max_length=16)] = "customer",
                  edit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """Each entity's custom fields: add, change, reorder, archive, and manage the options of choices."""
    editing = None
    if edit is not None:
        editing = service.get_field(session, field_id=edit)
        entity = editing.entity
    return _settings_page(request, session, entity=_entity(entity), editing=editing)


@router.post(SETTINGS_PATH)
def add_field(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
              entity: FormText = "customer", label_vi: FormText = "", label_en: FormText = "", key: FormText = "",
              kind: FormText = "", required: FormText = "", options: OptionsText = "") -> Response:
    """Add a field."""
    check_csrf(viewer.auth_session, csrf_token)
    entity = _entity(entity)
    typed = {"label_vi": label_vi, "label_en": label_en, "key": key, "kind": kind, "options": options}
    try:
        service.define_field(session, entity=entity, label_vi=label_vi, label_en=label_en, key=key.strip(),
                             kind=kind if kind in KINDS else "", required=bool(required),
                             options=_parse_options(options) if kind in ("choice", "multi_choice") else (),
                             actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, session, exc, entity=entity, typed=typed)
    return _back(entity)


@router.post(SETTINGS_PATH + "/{field_id}")
def change_field(request: Request, session: DbSession, viewer: ManagerViewer, field_id: FieldId,
                 csrf_token: FormText = "", label_vi: FormText = "", label_en: FormText = "",
                 required: FormText = "", options: OptionsText = "") -> Response:
    """Change a field's labels, whether it is required, and its options (options left out are retired)."""
    check_csrf(viewer.auth_session, csrf_token)
    custom = service.get_field(session, field_id=field_id)
    choice = custom.kind in ("choice", "multi_choice")
    try:
        service.change_field(session, field_id=field_id, label_vi=label_vi, label_en=label_en,
                             required=bool(required), options=_parse_options(options) if choice else None,
                             actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, session, exc, entity=custom.entity, editing=custom,
                        typed={"label_vi": label_vi, "label_en": label_en, "options": options})
    return _back(custom.entity)


@router.post(SETTINGS_PATH + "/{field_id}/move")
def move_field(session: DbSession, viewer: ManagerViewer, field_id: FieldId, csrf_token: FormText = "",
               offset: Annotated[int, Form(ge=-1, le=1)] = 0) -> Response:
    """Move a field one place up or down."""
    check_csrf(viewer.auth_session, csrf_token)
    custom = service.get_field(session, field_id=field_id)
    service.move_field(session, field_id=field_id, offset=offset, actor=actor_name(viewer.principal))
    return _back(custom.entity)


@router.post(SETTINGS_PATH + "/{field_id}/archive")
def archive_field(session: DbSession, viewer: ManagerViewer, field_id: FieldId, csrf_token: FormText = "",
                  archived: FormText = "yes") -> Response:
    """Archive a field (its values are kept), or restore it."""
    check_csrf(viewer.auth_session, csrf_token)
    custom = service.archive_field(session, field_id=field_id, actor=actor_name(viewer.principal),
                                   archived=archived != "no")
    return _back(custom.entity)


@router.post(SETTINGS_PATH + "/{field_id}/delete")
def delete_field(request: Request, session: DbSession, viewer: ManagerViewer, field_id: FieldId,
                 csrf_token: FormText = "") -> Response:
    """Delete an archived field for good, with every value it holds."""
    check_csrf(viewer.auth_session, csrf_token)
    custom = service.get_field(session, field_id=field_id)
    entity = custom.entity
    try:
        service.delete_field(session, field_id=field_id, actor=actor_name(viewer.principal))
    except Conflict as exc:
        return _refused(request, session, exc, entity=entity)
    return _back(entity)
