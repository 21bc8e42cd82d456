"""The import pages: upload a customer list, check the detected columns and their fields, start, watch the
progress and read the report; and the list of past imports (managers and above)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.customers.importing import service
from xuyen.customers.importing.api import read_upload
from xuyen.customers.importing.mapping import (
    CONSENT_CHANNELS,
    CONSENT_PREFIX,
    FIELD_NAMES,
    IGNORE,
    TRAIT_PREFIX,
)
from xuyen.customers.importing.models import ImportStatus
from xuyen.customers.importing.schemas import MAX_ID
from xuyen.errors import XuyenError
from xuyen.events import service as events_service
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.identity.normalise import fold_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render, request_locale
from xuyen.ui.security import settings_of

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

BASE = "/customers/imports"
REPORT_SHOWN = 200
REFRESH_SECONDS = 2

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
ImportId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form()]

FIELD_LABELS: dict[str, str] = {
    IGNORE: N_("Do not import"),
    "external_id": N_("Customer code (user id)"),
    "name": N_("Full name"),
    "first_name": N_("Given name"),
    "last_name": N_("Family name"),
    "phone": N_("Phone number"),
    "email": N_("E-mail"),
    "birthday": N_("Date of birth"),
    "gender": N_("Gender"),
    "address": N_("Address"),
    "city": N_("Province or city"),
    "loyalty_card": N_("Loyalty card"),
}
CONSENT_LABELS: dict[str, str] = {
    "any": N_("Consent to marketing (any channel)"),
    "email": N_("Consent to marketing e-mail"),
    "sms": N_("Consent to marketing SMS"),
    "zalo": N_("Consent to marketing on Zalo"),
    "messenger": N_("Consent to marketing on Messenger"),
    "whatsapp": N_("Consent to marketing on WhatsApp"),
    "phone": N_("Consent to marketing calls"),
}


STATUS_LABELS: dict[str, str] = {
    ImportStatus.draft: N_("Waiting for the columns to be checked"),
    ImportStatus.queued: N_("Queued"),
    ImportStatus.running: N_("Running"),
    ImportStatus.done: N_("Done"),
    ImportStatus.failed: N_("Failed"),
}


def import_status_label(status: str) -> str:
    """The human name of an import's status, translated."""
    label = STATUS_LABELS.get(status)
    return gettext(label) if label else str(status)


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return render(request, template, {**context, "import_status_label": import_status_label},
                  status_code=status_code)


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def trait_name(header: str) -> str:
    """A custom trait name made from a header: "Ghi chú" → ``ghi_chu``."""
    slug = "_".join(fold_name(header).split())[:60]
    return slug if slug[:1].isalpha() else f"column_{slug}".rstrip("_")


def field_choices(header: str, current: str) -> list[dict[str, Any]]:
    """The options of a column's field list: ignore, the named fields, the consents, and a custom trait."""
    choices: list[dict[str, Any]] = [{"value": name, "label": FIELD_LABELS[name]} for name in (IGNORE, *FIELD_NAMES)]
    choices += [{"value": f"{CONSENT_PREFIX}{channel}:marketing", "label": CONSENT_LABELS[channel]}
                for channel in CONSENT_CHANNELS]
    custom = current if current.startswith(TRAIT_PREFIX) else f"{TRAIT_PREFIX}{trait_name(header)}"
    choices.append({"value": custom, "label": N_("Custom trait"), "suffix": custom[len(TRAIT_PREFIX):]})
    known = {choice["value"] for choice in choices}
    if current not in known:  # e.g. consent:sms:care chosen through the API
        choices.append({"value": current, "label": current})
    for choice in choices:
        choice["selected"] = choice["value"] == current
    return choices


def _list_page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    return _render(request, "customer_imports.html", {
        "imports": service.list_views(session), "error": error, "sources": events_service.list_sources(session),
        "default_source": service.DEFAULT_SOURCE_NAME,
        "max_mb": settings_of(request).customer_import_max_bytes // 1_048_576,
    }, status_code=status_code)


@router.get(BASE)
def imports_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The upload form and the past imports."""
    return _list_page(request, session)


@router.post(BASE)
def upload_page(request: Request, session: DbSession, viewer: ManagerViewer,
                file: Annotated[UploadFile, File()], csrf_token: FormText = "", sheet: FormText = "") -> Response:
    """Store the uploaded file as a draft and show its columns to map."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        data = read_upload(file, settings_of(request))
        row = service.upload(session, data=data, file_name=file.filename, sheet=sheet or None, start=False,
                             actor=service.Actor(name=viewer.principal.name, user_id=viewer.principal.user_id))
    except XuyenError as exc:
        session.rollback()
        return _list_page(request, session, error=exc.message, status_code=exc.status)
    return _see_other(f"{BASE}/{row.id}")


def _import_page(request: Request, session: Session, *, import_id: int, error: str = "",
                 mapping: dict[str, str] | None = None, status_code: int = 200) -> Response:
    current = service.get_view(session, import_id=import_id)
    row = current.customer_import
    context: dict[str, Any] = {"view": current, "item": row, "error": error, "refresh": None, "preview": None,
                               "report": [], "report_total": 0, "sources": events_service.list_sources(session),
                               "default_source": service.DEFAULT_SOURCE_NAME}
    if current.status in (ImportStatus.queued, ImportStatus.running):
        context["refresh"] = REFRESH_SECONDS
    if row.status == ImportStatus.draft or (row.status == ImportStatus.done and row.dry_run):
        preview = service.preview_import(session, import_id=import_id)
        chosen = mapping or row.mapping
        context["preview"] = preview
        context["columns"] = [{"column": column, "choices": field_choices(column.header, chosen.get(column.header,
                                                                                                   IGNORE))}
                              for column in preview.columns]
    if row.status in (ImportStatus.done, ImportStatus.failed) or current.status == ImportStatus.failed:
        locale = request_locale(request, getattr(request.state, "viewer", None))
        lines = service.report(session, import_id=import_id, locale=locale)
        context.update(report=lines[:REPORT_SHOWN], report_total=len(lines), report_lang=locale)
    return _render(request, "customer_import.html", context, status_code=status_code)


@router.get(BASE + "/{import_id}")
def import_page(request: Request, session: DbSession, import_id: ImportId, viewer: ManagerViewer) -> Response:
    """A draft's columns to map, a running import's progress, a finished import's counts and report."""
    return _import_page(request, session, import_id=import_id)


@router.post(BASE + "/{import_id}/start")
def start_page(request: Request, session: DbSession, import_id: ImportId, viewer: ManagerViewer,
               csrf_token: FormText = "", field: Annotated[list[str] | None, Form()] = None,
               source_id: FormText = "", dry_run: FormText = "") -> Response:
    """Start the import with the fields chosen for its columns (one ``field`` per column, in order)."""
    check_csrf(viewer.auth_session, csrf_token)
    headers = service.get_import(session, import_id=import_id).headers
    mapping = dict(zip(headers, field or [], strict=False))
    try:
        service.start(session, import_id=import_id, mapping=mapping, dry_run=dry_run == "on",
                      source_id=int(source_id) if source_id.isdigit() else None)
    except XuyenError as exc:
        session.rollback()
        return _import_page(request, session, import_id=import_id, error=exc.message, mapping=mapping,
                            status_code=exc.status)
    return _see_other(f"{BASE}/{import_id}")


@router.post(BASE + "/{import_id}/retry")
def retry_page(session: DbSession, import_id: ImportId, viewer: ManagerViewer, csrf_token: FormText = "") -> Response:
    """Carry on with a failed import from its last committed batch."""
    check_csrf(viewer.auth_session, csrf_token)
    service.retry(session, import_id=import_id)
    return _see_other(f"{BASE}/{import_id}")
