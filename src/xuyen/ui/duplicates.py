"""The duplicate review pages: the queue with scores and reasons, a pair side by side, and the decisions.

Agents and above see the queue; managers and above merge, mark "not the same", undo a merge and start a
detection run. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.customers.duplicates import service
from xuyen.customers.duplicates.models import SuggestionStatus
from xuyen.customers.duplicates.reasons import FIELD_LABELS, LEVEL_LABELS
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role, page_user
from xuyen.ui.formatting import number
from xuyen.ui.rendering import render

MAX_ID = 2**63 - 1
PAGE_SIZE = 50
MAX_PAGE = 100_000

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
PageViewer = Annotated[Viewer, Depends(page_user)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
SuggestionId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form()]

# The words the pages show for fields, levels and statuses (English msgids, translated when shown).
FIELD_NAMES: dict[str, str] = {
    "given_name": N_("Given name"), "family_name": N_("Family name"), "middle_name": N_("Middle name"),
    "birth_date": N_("Birth date"), "national_id": N_("ID number"), "phone": N_("Phone"), "email": N_("E-mail"),
    "address": N_("Address"), "area": N_("Ward or province"),
}
LEVEL_NAMES: dict[str, str] = {
    "missing": N_("not known on both"), "same": N_("same"), "same_words_other_order": N_("same words, another order"),
    "similar": N_("similar"), "similar_other_order": N_("similar, another order"),
    "somewhat_similar": N_("somewhat similar"), "one_typo": N_("one typo apart"), "two_typos": N_("two typos apart"),
    "day_month_swapped": N_("day and month swapped"), "shared": N_("shared with other profiles"),
    "same_user": N_("same name before the @"), "same_ward": N_("same ward"), "same_province": N_("same province"),
    "different": N_("different"),
}
STATUS_NAMES: dict[str, str] = {
    "open": N_("Open"), "merged": N_("Merged"), "not_same": N_("Not the same"), "stale": N_("Stale"),
}
RUN_STATUS_NAMES: dict[str, str] = {
    "queued": N_("Queued"), "running": N_("Running"), "done": N_("Done"), "failed": N_("Failed"),
}
assert set(FIELD_NAMES) == set(FIELD_LABELS) and set(LEVEL_NAMES) == set(LEVEL_LABELS)


def _labels() -> dict[str, Any]:
    return {"field_name": lambda name: FIELD_NAMES.get(name, name),
            "level_name": lambda code: LEVEL_NAMES.get(code, code),
            "status_name": lambda status: STATUS_NAMES.get(str(status), str(status)),
            "run_status_name": lambda status: RUN_STATUS_NAMES.get(str(status), str(status)),
            "percent": lambda score: f"{number(math.floor(score * 1000) / 10)} %"}


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


@router.get("/duplicates")
def queue_page(
    request: Request, session: DbSession, viewer: PageViewer,
    status: Annotated[SuggestionStatus, Query()] = SuggestionStatus.open,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """The review queue: suggested pairs best first, with score and reasons, and the latest run."""
    found = service.list_suggestions(session, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    runs = service.list_runs(session, limit=1)
    return render(request, "duplicates.html", {
        "rows": found.items, "total": found.total, "status": status.value, "statuses": list(STATUS_NAMES),
        "page": page, "pages": max(math.ceil(found.total / PAGE_SIZE), 1), "last_run": runs[0] if runs else None,
        "customers": service.customers_of(session, suggestions=found.items), "can_decide": viewer.can(Role.manager),
        **_labels()})


@router.get("/duplicates/{suggestion_id}")
def pair_page(request: Request, session: DbSession, viewer: PageViewer, suggestion_id: SuggestionId) -> Response:
    """One suggested pair side by side, with each field's level and weight, and the decision buttons."""
    view = service.get_suggestion(session, suggestion_id=suggestion_id)
    return render(request, "duplicate.html", {"view": view, "can_decide": viewer.can(Role.manager), **_labels()})


@router.post("/duplicates/{suggestion_id}/merge")
def merge_pair(session: DbSession, viewer: ManagerViewer, suggestion_id: SuggestionId, csrf_token: FormText = "",
               note: FormText = "") -> Response:
    """Merge the pair (the older profile survives) and go back to the queue."""
    check_csrf(viewer.auth_session, csrf_token)
    service.merge_suggestion(session, suggestion_id=suggestion_id, actor=actor_name(viewer.principal),
                             principal=viewer.principal, note=note)
    return _see_other(f"/duplicates/{suggestion_id}")


@router.post("/duplicates/{suggestion_id}/not-same")
def not_same(session: DbSession, viewer: ManagerViewer, suggestion_id: SuggestionId, csrf_token: FormText = "",
             note: FormText = "") -> Response:
    """Keep the two profiles apart for good and go back to the pair."""
    check_csrf(viewer.auth_session, csrf_token)
    service.mark_not_same(session, suggestion_id=suggestion_id, actor=actor_name(viewer.principal), note=note)
    return _see_other(f"/duplicates/{suggestion_id}")


@router.post("/duplicates/{suggestion_id}/unmerge")
def unmerge_pair(session: DbSession, viewer: ManagerViewer, suggestion_id: SuggestionId,
                 csrf_token: FormText = "") -> Response:
    """Undo the pair's merge; it is open for review again."""
    check_csrf(viewer.auth_session, csrf_token)
    service.unmerge_suggestion(session, suggestion_id=suggestion_id, actor=actor_name(viewer.principal))
    return _see_other(f"/duplicates/{suggestion_id}")


@router.post("/duplicate-runs")
def start_run(session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "") -> Response:
    """Queue a detection run for the workers and go back to the queue."""
    check_csrf(viewer.auth_session, csrf_token)
    service.request_run(session, requested_by=actor_name(viewer.principal))
    return _see_other("/duplicates")
