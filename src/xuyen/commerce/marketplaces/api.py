"""The marketplace sync's API: connected shops (managers see them, owners connect and disconnect), the activity
log, and asking for a recovery sync or a stock reconciliation now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.commerce.marketplaces import service
from xuyen.commerce.marketplaces.models import ActivityKind, ActivityLevel
from xuyen.commerce.marketplaces.schemas import ActivityOut, ConnectionIn, ConnectionOut
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(prefix="/marketplaces", tags=["marketplaces"])

Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Owner = Annotated[Principal, Depends(require_role(Role.owner))]
ConnectionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _out(session: Session, connection_id: int) -> ConnectionOut:
    status = next(s for s in service.shop_statuses(session) if s.connection.id == connection_id)
    return ConnectionOut.of(status)


@router.get("/kinds", summary="The marketplaces this installation can connect, and what each asks for")
def kinds(_caller: Manager) -> dict[str, Any]:
    return service.installed_kinds()


@router.get("/connections", summary="Connected shops and where their sync stands")
def list_connections(session: Db, _caller: Manager) -> list[ConnectionOut]:
    return [ConnectionOut.of(status) for status in service.shop_statuses(session)]


@router.post("/connections", status_code=201, summary="Connect a shop")
def connect(body: ConnectionIn, session: Db, caller: Owner) -> ConnectionOut:
    connection = service.connect(session, channel=body.channel, name=body.name, settings=body.settings,
                                 secrets=body.secrets, actor=actor_name(caller))
    return _out(session, connection.id)


@router.delete("/connections/{connection_id}", summary="Disconnect a shop (its history is kept)")
def disconnect(connection_id: ConnectionId, session: Db, caller: Owner) -> ConnectionOut:
    connection = service.disconnect(session, connection_id=connection_id, actor=actor_name(caller))
    return _out(session, connection.id)


@router.post("/connections/{connection_id}/sync", status_code=202, summary="Recover lost order pushes now")
def sync(connection_id: ConnectionId, session: Db, caller: Manager) -> dict[str, str]:
    service.request_sync(session, connection_id=connection_id, actor=actor_name(caller))
    return {"status": "queued"}


@router.post("/connections/{connection_id}/reconcile", status_code=202,
             summary="Compare the platform's stock with ours and repair drift now")
def reconcile(connection_id: ConnectionId, session: Db, caller: Manager) -> dict[str, str]:
    service.request_reconcile(session, connection_id=connection_id, actor=actor_name(caller))
    return {"status": "queued"}


@router.get("/activity", summary="The activity log, newest first")
def activity(session: Db, _caller: Manager,
             connection_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
             kind: ActivityKind | None = None, level: ActivityLevel | None = None,
             before_id: Annotated[int | None, Query(ge=1)] = None,
             limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ActivityOut]:
    entries = service.list_activity(session, connection_id=connection_id, kind=kind, level=level,
                                    before_id=before_id, limit=limit)
    return [ActivityOut.of(entry) for entry in entries]
