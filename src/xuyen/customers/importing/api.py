"""The customer import API: upload a list, preview it, start, follow progress, read the report.

Managers and above import (an import creates and changes customers in bulk; agents do not).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.config import Settings
from xuyen.customers.importing import service
from xuyen.customers.importing.mapping import parse_map_option
from xuyen.customers.importing.schemas import MAX_ID, ImportOut, PreviewOut, ReportLineOut, StartIn
from xuyen.errors import BadRequest, PayloadTooLarge
from xuyen.http import get_session
from xuyen.routing import Router

router = Router(prefix="/customer-imports", tags=["customer imports"])

API_PATH = "/api/v1/customer-imports"
PAGE_PATH = "/customers/imports"
MULTIPART_OVERHEAD = 64 * 1024
MAX_LIMIT = 500

def app_settings(request: Request) -> Settings:
    """The settings of the application serving the request."""
    settings: Settings = request.app.state.settings
    return settings


Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
AppSettings = Annotated[Settings, Depends(app_settings)]
ImportId = Annotated[int, Path(ge=1, le=MAX_ID, description="The import's id.")]
Lang = Annotated[str | None, Query(pattern="^(vi|en)$", description="The report's language (default: yours).")]
Upload = Annotated[UploadFile, File(description="The CSV, .xlsx or .xls file.")]
Sheet = Annotated[str | None, Form(max_length=200, description="The Excel sheet (default: the first).")]
MappingJson = Annotated[str | None, Form(max_length=20_000, description='A JSON object {"COLUMN": "FIELD", …}.')]
MapOptions = Annotated[list[str] | None, Form(alias="map", description="COLUMN=FIELD, repeatable (as the CLI's "
                                                                       "--map).")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such import (code import_not_found)"}}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The file is larger than XUYEN_CUSTOMER_IMPORT_MAX_BYTES (file_too_large)"},
    422: {"description": "Not a CSV or Excel file, no header, an unknown column or field, or no identifier column "
                         "(not_a_spreadsheet, unknown_column, unknown_field, no_identifier_column, …)"},
}


def body_limits(settings: Settings) -> dict[str, int]:
    """Uploads to the import API and the import page may be as large as an import file (plus the form)."""
    limit = settings.customer_import_max_bytes + MULTIPART_OVERHEAD
    return {API_PATH: limit, PAGE_PATH: limit}


def read_upload(upload: UploadFile, settings: Settings) -> bytes:
    """The uploaded file's bytes, refusing more than the import limit without reading it all."""
    limit = settings.customer_import_max_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit / 1_048_576:.0f} MB, the most an import takes. "
                              "Split the list into smaller files and import each.", code="file_too_large",
                              details={"limit_bytes": limit})
    return data


def form_mapping(mapping_json: str | None, options: list[str] | None) -> dict[str, str] | None:
    """The explicit mapping of an upload form: a JSON object, ``map=COLUMN=FIELD`` fields, or both."""
    mapping: dict[str, str] = {}
    if mapping_json:
        try:
            loaded = json.loads(mapping_json)
        except json.JSONDecodeError:
            loaded = None
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise BadRequest('mapping must be a JSON object of column names to fields, e.g. {"Số ĐT": "phone"}.',
                             code="bad_mapping")
        mapping.update({str(key): value for key, value in loaded.items()})
    for option in options or []:
        column, field_name = parse_map_option(option)
        mapping[column] = field_name
    return mapping or None


def _actor(principal: Principal) -> service.Actor:
    return service.Actor(name=principal.name, user_id=principal.user_id)


@router.post("", status_code=202, summary="Upload a customer list and import it",
             responses={**_UPLOAD_ERRORS, 202: {"description": "Accepted: a worker imports it; follow its status"}})
def upload_import(
    session: Db, caller: Manager, settings: AppSettings, file: Upload, sheet: Sheet = None, mapping: MappingJson = None,
    map_options: MapOptions = None,
    source_id: Annotated[int | None, Form(ge=1, le=MAX_ID, description="The source the events go to (default: "
                                                                       "the import source).")] = None,
    dry_run: Annotated[bool, Form(description="Only check the file and write the report.")] = False,
    start: Annotated[bool, Form(description="false: keep it as a draft to map on the import page first.")] = True,
) -> ImportOut:
    """Store the file and queue its import; answers at once with the import (queued, or draft)."""
    data = read_upload(file, settings)
    row = service.upload(session, data=data, file_name=file.filename, actor=_actor(caller), sheet=sheet,
                         mapping=form_mapping(mapping, map_options), source_id=source_id, dry_run=dry_run,
                         start=start)
    return ImportOut.of(service.view(session, row))


@router.post("/preview", summary="Preview how a file reads and maps", responses=_UPLOAD_ERRORS)
def preview_file(_caller: Manager, settings: AppSettings, file: Upload, sheet: Sheet = None,
                 mapping: MappingJson = None, map_options: MapOptions = None) -> PreviewOut:
    """The detected format, encoding, delimiter and header row, each column's guessed field, the first rows."""
    data = read_upload(file, settings)
    return PreviewOut.of(service.preview_file(data=data, file_name=file.filename or "", sheet=sheet,
                                              mapping=form_mapping(mapping, map_options)))


@router.get("", summary="List imports")
def list_imports(session: Db, _caller: Manager,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50) -> list[ImportOut]:
    """The newest imports first."""
    return [ImportOut.of(view) for view in service.list_views(session, limit=limit)]


@router.get("/{import_id}", summary="Read an import", responses=_NOT_FOUND)
def read_import(import_id: ImportId, session: Db, _caller: Manager) -> ImportOut:
    """Status, progress and counts of an import."""
    return ImportOut.of(service.get_view(session, import_id=import_id))


@router.post("/{import_id}/start", status_code=202, summary="Start a draft import", responses={
    **_NOT_FOUND, 409: {"description": "Already started (import_not_startable)"}, 422: _UPLOAD_ERRORS[422]})
def start_import(import_id: ImportId, session: Db, _caller: Manager, body: StartIn | None = None) -> ImportOut:
    """Queue a draft import (or a finished dry run, for real) with the mapping given."""
    body = body or StartIn()
    row = service.start(session, import_id=import_id, mapping=body.mapping, source_id=body.source_id,
                        dry_run=body.dry_run)
    return ImportOut.of(service.view(session, row))


@router.post("/{import_id}/retry", status_code=202, summary="Retry a failed import", responses={
    **_NOT_FOUND, 409: {"description": "Not failed (import_not_failed)"}})
def retry_import(import_id: ImportId, session: Db, _caller: Manager) -> ImportOut:
    """Carry on with a failed import from its last committed batch."""
    return ImportOut.of(service.view(session, service.retry(session, import_id=import_id)))


@router.get("/{import_id}/report", summary="Read an import's report", responses=_NOT_FOUND)
def read_report(import_id: ImportId, session: Db, caller: Manager, lang: Lang = None) -> list[ReportLineOut]:
    """The rejected and flagged rows with their reasons, in your language (or ``lang``)."""
    lines = service.report(session, import_id=import_id, locale=lang or caller.locale)
    return [ReportLineOut.of(line) for line in lines]


@router.get("/{import_id}/report.csv", summary="Download an import's report as CSV", response_class=Response,
            responses={**_NOT_FOUND, 200: {"content": {"text/csv": {}}}})
def download_report(import_id: ImportId, session: Db, caller: Manager, lang: Lang = None) -> Response:
    """The report as a CSV file that opens in Excel, with each row's cells so they can be fixed and re-imported."""
    content = service.report_csv(session, import_id=import_id, locale=lang or caller.locale)
    return Response(content, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{import_id}-report.csv"'})
