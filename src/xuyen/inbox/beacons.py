"""The public addresses an outreach e-mail's open pixel and tracked links point to, under ``/t``, answered without
signing in: ``GET /t/o/{token}.gif`` the 1×1 pixel (404 for a token that is not genuine), ``GET /t/c/{token}``
a redirect to the address the link stands for (400 with a plain sentence for a link that is not genuine)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.errors import BadRequest
from xuyen.http import get_session
from xuyen.inbox import engagement
from xuyen.routing import Router

router = Router(prefix="/t", tags=["e-mail tracking (public)"])
Db = Annotated[Session, Depends(get_session)]

# A transparent 1×1 GIF.
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
         b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache", "Expires": "0"}


@router.get("/o/{token}.gif", summary="An e-mail's open pixel", response_class=Response,
            responses={200: {"content": {"image/gif": {}}}, 404: {"description": "Not a genuine pixel"}})
def open_pixel(token: str, session: Db) -> Response:
    if not engagement.record_open(session, token=token):
        return PlainTextResponse("Not found.", status_code=404, headers=NO_CACHE)
    return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)


@router.get("/c/{token}", summary="A tracked link of an e-mail: redirects to the address it stands for",
            response_class=RedirectResponse, status_code=302,
            responses={400: {"description": "Not a genuine link"}})
def tracked_link(token: str, session: Db) -> Response:
    try:
        url = engagement.record_click(session, token=token)
    except BadRequest as exc:
        return PlainTextResponse(exc.message, status_code=400, headers=NO_CACHE)
    return RedirectResponse(url, status_code=302, headers={**NO_CACHE, "Referrer-Policy": "no-referrer"})
