"""CSAT on the pages: the public rating page a survey links to (no sign-in: the signed token is the key; in the
customer's language, Vietnamese unless their browser prefers English), and the rating shown on a conversation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.http import get_session
from xuyen.inbox.csat import service
from xuyen.inbox.csat.models import Response as Survey
from xuyen.inbox.csat.schemas import survey_status
from xuyen.inbox.csat.service import SurveyExpired
from xuyen.routing import Router
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
Token = Annotated[str, PathParam(min_length=1, max_length=100)]
FormText = Annotated[str, Form(max_length=5000)]
# Kept from search engines and from the address bar of other sites: the token is the key to the survey.
HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}


def csat_context(session: Session, conversation_id: int) -> dict[str, Any]:
    """What ``inbox/_csat.html`` needs: the conversation's latest survey and its status."""
    surveys = service.conversation_surveys(session, conversation_id=conversation_id)
    latest = surveys[0] if surveys else None
    return {"csat": latest, "csat_status": survey_status(latest) if latest else None}


def _page(request: Request, state: str, *, token: str, survey: Survey | None = None, error: str = "",
          comment: str = "", status_code: int = 200) -> Response:
    return render(request, "csat/rate.html", {"state": state, "token": token, "survey": survey, "error": error,
                                              "comment": comment}, status_code=status_code, headers=HEADERS)


@router.get("/csat/{token}")
def rating_page(request: Request, session: DbSession, token: Token) -> Response:
    """The rating form, or the thanks when the survey was answered; 404 for a wrong link, 410 once expired."""
    try:
        survey = service.survey_for_token(session, token=token)
    except NotFound:
        return _page(request, "invalid", token="", status_code=404)
    except SurveyExpired:
        return _page(request, "expired", token="", status_code=410)
    return _page(request, "answered" if survey.answered_at else "form", token=token, survey=survey)


@router.post("/csat/{token}")
def rate(request: Request, session: DbSession, token: Token, rating: FormText = "",
         comment: FormText = "") -> Response:
    """Record the rating once; a second answer is refused politely."""
    try:
        service.rate(session, token=token, rating=int(rating) if rating.isdigit() and len(rating) == 1 else None,
                     comment=comment)
    except NotFound:
        return _page(request, "invalid", token="", status_code=404)
    except SurveyExpired:
        return _page(request, "expired", token="", status_code=410)
    except Conflict:
        return _page(request, "already", token=token, status_code=409)
    except ValidationFailed as exc:
        session.rollback()
        survey = service.survey_for_token(session, token=token)
        return _page(request, "form", token=token, survey=survey, error=exc.code, comment=comment[:2000],
                     status_code=422)
    return RedirectResponse(f"/csat/{token}", status_code=303, headers=HEADERS)
