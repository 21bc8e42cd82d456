"""The customers pages: search, the customer 360 with its timeline, recording consent, export and erasure.

Agents and above search and read customers and record consent; managers download a person's data; only
owners erase a person. Every read of a customer is audited by the service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.models import Role
from xuyen.customers import privacy, service
from xuyen.customers.consents import ANY_CHANNEL, CHANNELS, MAX_PROOF_TEXT, PURPOSES, InvalidConsent, granted_of
from xuyen.customers.models import CustomerProfile
from xuyen.customers.service import Customer360
from xuyen.customers.timeline import TimelineItem
from xuyen.customers.traits import Observation, address_text
from xuyen.errors import NotFound, ValidationFailed
from xuyen.events.profiles import CONSENT_EVENT
from xuyen.fields import customers as customer_fields
from xuyen.fields import filters as field_filters
from xuyen.fields import service as field_service
from xuyen.http import get_session
from xuyen.identity.schemas import MAX_ID, MAX_REASON
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui import custom_fields as custom_field_pages
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.panels import panels_for
from xuyen.ui.rendering import render, request_locale

SEARCH_RESULTS = 50
MAX_EXPORT = 10_000
TIMELINE_PAGE = 30
MAX_SHOWN_VALUE = 300
FIRST_TRAITS = ("name", "phone", "email", "birthday", "gender", "address")
CONSENT_CHANNELS = (*CHANNELS, ANY_CHANNEL)
CONSENT_STATUSES = ("granted", "withdrawn")

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
OwnerViewer = Annotated[Viewer, Depends(page_role(Role.owner))]
CustomerId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form()]


# What the pages show -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcedValue:
    """A trait value and the source, channel and time it came from."""

    value: str
    source: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class TraitRow:
    """A trait's winning value and the other values other sources sent."""

    name: str
    current: SourcedValue
    others: list[SourcedValue]


@dataclass(frozen=True)
class TimelineEntry:
    """A timeline item and the few facts worth showing at a glance (order, amount, products, consent)."""

    item: TimelineItem
    type: str
    event: str
    name: str
    order_id: str = ""
    total: float | int | None = None
    currency: str = "VND"
    products: list[str] = field(default_factory=list)
    consent: dict[str, str] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelUse:
    """How many events a customer has on one channel, and when the last one was."""

    channel: str
    events: int
    last_at: datetime | None


@dataclass(frozen=True)
class ConsentForm:
    """What was typed into the consent form, and why it was refused (an error code), if it was."""

    channel: str = ""
    purpose: str = ""
    status: str = "granted"
    proof: str = ""
    error: str = ""


def shown(value: Any) -> str:
    """A trait value as one short line of text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        text = address_text(value) or ", ".join(f"{key}: {shown(item)}" for key, item in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(shown(item) for item in value)
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= MAX_SHOWN_VALUE else text[:MAX_SHOWN_VALUE - 1] + "…"


def _sourced(observation: Observation, names: Mapping[int, str]) -> SourcedValue:
    return SourcedValue(value=shown(observation.value), source=names.get(observation.source_id, ""),
                        channel=observation.channel, at=observation.at)


def trait_rows(customer: Customer360) -> list[TraitRow]:
    """Each trait's value with its source and time, and other sources' values; well-known traits first."""
    state, names = customer.state, customer.source_names
    order = sorted(state.traits, key=lambda name: (FIRST_TRAITS.index(name) if name in FIRST_TRAITS
                                                   else len(FIRST_TRAITS), name))
    rows = []
    for name in order:
        winner = state.traits[name]
        others = [_sourced(o, names) for o in state.trait_history.get(name, [])
                  if o.source_id != winner.source_id and o.value not in (None, "")]
        rows.append(TraitRow(name=name, current=_sourced(winner, names), others=others))
    return rows


def _text(value: Any) -> str:
    return value.strip()[:MAX_SHOWN_VALUE] if isinstance(value, str) else ""


def _amount(properties: Mapping[str, Any]) -> float | int | None:
    for key in ("total", "revenue", "value"):
        raw = properties.get(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return raw
    return None


def _product_names(properties: Mapping[str, Any]) -> list[str]:
    products = properties.get("products")
    if isinstance(products, list):
        return [name for name in (_text(p.get("name")) for p in products if isinstance(p, dict)) if name][:5]
    name = _text(properties.get("name")) or _text(properties.get("product_name"))
    return [name] if name else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _consent_facts(properties: Mapping[str, Any]) -> dict[str, str]:
    try:
        granted = granted_of(dict(properties))
    except InvalidConsent:
        return {}
    return {"channel": _text(properties.get("channel")).lower(), "purpose": _text(properties.get("purpose")).lower(),
            "status": "granted" if granted else "withdrawn"}


def timeline_entry(item: TimelineItem) -> TimelineEntry:
    """A timeline item with its key properties picked out."""
    data = item.data
    kind = str(data.get("type") or item.kind)
    if item.kind != "event":
        return TimelineEntry(item=item, type=kind, event="", name=item.title)
    properties = _mapping(data.get("properties"))
    event = _text(data.get("event"))
    consent = _consent_facts(properties) if event == CONSENT_EVENT else {}
    traits = _mapping(data.get("traits"))
    return TimelineEntry(
        item=item, type=kind, event=event, name=_text(data.get("name")),
        order_id=_text(str(properties.get("order_id") or properties.get("orderId") or "")),
        total=_amount(properties), currency=(_text(properties.get("currency")) or "VND").upper()[:3],
        products=[] if kind != "track" else _product_names(properties), consent=consent,
        traits=sorted(traits)[:8] if kind == "identify" else [])


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def channels_used(customer: Customer360) -> list[ChannelUse]:
    """The channels the customer used, with their event counts, the most recently used first."""
    return [ChannelUse(channel=str(item.get("channel", "")), events=int(item.get("events", 0)),
                       last_at=_moment(item.get("last_at")))
            for item in customer.state.computed.channels]


def contacts(customer: Customer360, kind: str) -> list[str]:
    """The customer's identifiers of one kind (phone, email), most recently seen first."""
    found = [i for i in customer.view.identifiers if i.type == kind]
    return [i.value for i in sorted(found, key=lambda i: i.last_seen_at, reverse=True)]


# Pages -------------------------------------------------------------------------------------------------


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _custom_filters(request: Request, session: Session, viewer: Viewer) -> tuple[list[Any], list[dict[str, Any]], str]:
    """The custom-field conditions of the list's filter form as clauses, the form's inputs, and why the
    conditions were refused (then no clause applies)."""
    fields = field_service.list_fields(session, entity=customer_fields.ENTITY)
    inputs = custom_field_pages.filter_inputs(fields, request.query_params, locale=request_locale(request, viewer))
    try:
        clauses = field_filters.conditions_clauses(
            session, entity=customer_fields.ENTITY, id_column=CustomerProfile.profile_id, form=True,
            conditions=custom_field_pages.filter_conditions(fields, request.query_params))
    except ValidationFailed as exc:
        return [], inputs, exc.message
    return clauses, inputs, ""


@router.get("/customers")
def customers_page(request: Request, session: DbSession, viewer: AgentViewer,
                   q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """Search customers by name, phone, e-mail or identifier, and by custom fields; the most recently seen when
    there is no query."""
    query = " ".join(q.split())
    where, filters, filter_error = _custom_filters(request, session, viewer)
    rows = service.search_customers(session, query=query, limit=SEARCH_RESULTS, where=where)
    return render(request, "customers/list.html", {"query": query, "rows": rows,
                                                   "total": service.count_customers(session),
                                                   "filters": filters, "filtered": bool(where),
                                                   "filter_error": filter_error,
                                                   "export_query": str(request.query_params)})


@router.get("/customers/export.csv")
def export_customers(request: Request, session: DbSession, viewer: ManagerViewer,
                     q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The customers the list's search and filters find, as CSV with a column per custom field."""
    where, _filters, filter_error = _custom_filters(request, session, viewer)
    if filter_error:
        raise ValidationFailed(filter_error, code="invalid_condition")
    rows = service.search_customers(session, query=" ".join(q.split()), limit=MAX_EXPORT, where=where)
    audit.record(session, actor=actor_name(viewer.principal), action="customers.exported", subject_type="profile",
                 subject_id="*", detail={"rows": len(rows), "q": q})
    session.commit()
    return Response(customer_fields.customers_csv(session, rows=rows, locale=viewer.principal.locale),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


def _customer_page(request: Request, session: Session, viewer: Viewer, *, customer_id: int,
                   cursor: str | None = None, notice: str = "", consent_form: ConsentForm | None = None,
                   erase_error: str = "", status_code: int = 200) -> Response:
    try:
        customer = service.get_customer(session, profile_id=customer_id, actor=actor_name(viewer.principal))
    except NotFound as exc:
        if exc.code != "customer_erased":
            raise
        return render(request, "customers/erased.html", {"customer_id": customer_id}, status_code=410)
    timeline = service.customer_timeline(session, profile_id=customer.state.profile_id, cursor=cursor,
                                         limit=TIMELINE_PAGE, viewer=viewer.principal)
    return render(request, "customers/customer.html", {
        "customer": customer, "state": customer.state, "view": customer.view, "names": customer.source_names,
        "channels": channels_used(customer), "phones": contacts(customer, "phone"),
        "emails": contacts(customer, "email"),
        "traits": trait_rows(customer), "timeline": [timeline_entry(item) for item in timeline.items],
        "next_cursor": timeline.next_cursor, "cursor": cursor or "", "notice": notice,
        "consent_form": consent_form or ConsentForm(), "consent_channels": CONSENT_CHANNELS,
        "consent_purposes": PURPOSES, "max_proof": MAX_PROOF_TEXT, "erase_error": erase_error,
        "max_reason": MAX_REASON,
        "panels": panels_for(session, profile_id=customer.state.profile_id, viewer=viewer),
    }, status_code=status_code)


@router.get("/customers/{customer_id:int}")
def customer_page(request: Request, session: DbSession, viewer: AgentViewer, customer_id: CustomerId,
                  cursor: Annotated[str | None, Query(max_length=500)] = None,
                  recorded: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The customer 360: contacts, computed traits, traits with their sources, identity, consents, timeline."""
    return _customer_page(request, session, viewer, customer_id=customer_id, cursor=cursor,
                          notice="consent_recorded" if recorded == "consent" else "")


@router.post("/customers/{customer_id:int}/consents")
def record_consent(request: Request, session: DbSession, viewer: AgentViewer, customer_id: CustomerId,
                   csrf_token: FormText = "", channel: FormText = "", purpose: FormText = "",
                   status: FormText = "", proof: FormText = "") -> Response:
    """Record a consent given or withdrawn in front of staff, then show the customer again."""
    check_csrf(viewer.auth_session, csrf_token)
    form = ConsentForm(channel=channel[:40], purpose=purpose[:40], status=status[:20], proof=proof[:MAX_PROOF_TEXT])
    try:
        if status not in CONSENT_STATUSES:
            raise ValidationFailed("Choose granted or withdrawn.", code="invalid_consent")
        if len(proof) > MAX_PROOF_TEXT:
            raise ValidationFailed("The proof is too long.", code="proof_too_long")
        service.record_consent(session, profile_id=customer_id, channel=channel, purpose=purpose,
                               granted=status == "granted", proof=proof, actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _customer_page(request, session, viewer, customer_id=customer_id, status_code=422,
                              consent_form=replace(form, error=exc.code))
    return _see_other(f"/customers/{customer_id}?recorded=consent#consents")


@router.get("/customers/{customer_id:int}/export")
def export_customer(session: DbSession, viewer: ManagerViewer, customer_id: CustomerId) -> Response:
    """Download everything held about the person as a JSON file (managers and above; audited)."""
    data = privacy.export_person(session, profile_id=customer_id, actor=actor_name(viewer.principal))
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    filename = f"xuyen-customer-{data['profile_id']}.json"
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


@router.post("/customers/{customer_id:int}/erase")
def erase_customer(request: Request, session: DbSession, viewer: OwnerViewer, customer_id: CustomerId,
                   csrf_token: FormText = "", reason: FormText = "", confirm: FormText = "") -> Response:
    """Erase the person for good (owners only, with a reason and a confirmation), then show that it is done."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        if confirm != "yes":
            raise ValidationFailed("Erasure cannot be undone: tick the confirmation.", code="not_confirmed")
        if len(reason) > MAX_REASON:
            raise ValidationFailed("The reason is too long.", code="reason_too_long")
        privacy.erase_person(session, profile_id=customer_id, actor=actor_name(viewer.principal), reason=reason)
    except ValidationFailed as exc:
        session.rollback()
        return _customer_page(request, session, viewer, customer_id=customer_id, erase_error=exc.code,
                              status_code=422)
    return _see_other(f"/customers/{customer_id}")


