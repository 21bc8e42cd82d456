"""The API application: one factory that wires the frame and mounts every domain's routers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from starlette.exceptions import HTTPException as StarletteHTTPException

from xuyen import __version__
from xuyen.config import Settings, get_settings
from xuyen.db import make_engine, session_factory
from xuyen.domains import api_modules, load_handlers, page_modules, public_api_modules
from xuyen.errors import XuyenError
from xuyen.http import (
    BodySizeLimit,
    RequestContext,
    handle_http_error,
    handle_unexpected_error,
    handle_validation_error,
    handle_xuyen_error,
    problem,
)
from xuyen.logs import configure_logging
from xuyen.migrate import current_revision, head_revision
from xuyen.routing import Router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the application for ``settings`` (by default read from the environment)."""
    settings = settings or get_settings()
    settings.check_production_ready()
    engine = engine or make_engine(settings.database_url)
    load_handlers()

    app = FastAPI(
        title="Xuyên",
        version=__version__,
        description="One customer, one conversation, one stock, one price and one journey across every channel.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, overrides=_body_limits(settings))
    app.add_middleware(RequestContext)  # added last, so it wraps everything: every answer has an id
    app.add_exception_handler(XuyenError, handle_xuyen_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_unexpected_error)

    _add_health(app)
    for module in api_modules():
        _include(app, module.router, prefix=API_PREFIX)
    for module in public_api_modules():
        _include(app, module.router)
    for module in page_modules():
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
        _include(app, module.router)
    return app


def _include(app: FastAPI, router: APIRouter, *, prefix: str = "") -> None:
    """Include a domain's router; a ``Router`` is told where, so requests for other paths pass it by at once."""
    app.include_router(router, prefix=prefix)
    if isinstance(router, Router):
        router.serve_under(prefix)


def create_served_app() -> FastAPI:
    """The app as each of several server processes builds it (``xuyen serve --workers N``), logging included."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    return create_app(settings)


def _body_limits(settings: Settings) -> dict[str, int]:
    """Per-path request body limits that domains declare (``body_limits(settings)`` in their module)."""
    limits: dict[str, int] = {}
    for module in [*api_modules(), *public_api_modules()]:
        declare = getattr(module, "body_limits", None)
        if declare is not None:
            limits.update(declare(settings))
    return limits


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"], summary="The database is reachable and fully migrated",
             responses={503: {"description": "Not ready"}})
    def readyz(request: Request) -> Any:
        engine: Engine = request.app.state.engine
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            revision = current_revision(engine)
        except Exception as exc:
            return problem(503, code="database_unreachable", title="Not ready", request=request,
                           detail=f"The database cannot be reached ({type(exc).__name__}). Check "
                                  "XUYEN_DATABASE_URL and that the database server is running.")
        head = head_revision()
        if revision != head:
            return problem(503, code="migrations_pending", title="Not ready", request=request,
                           detail=f"The database is at revision {revision or 'none'} but the code expects "
                                  f"{head}. Run `xuyen migrate`.",
                           extra={"revision": revision, "expected": head})
        return JSONResponse({"status": "ready", "database": engine.dialect.name, "revision": revision})
