"""Push intake: a platform's push is verified over its raw bytes, kept raw, deduplicated and queued, then answered.

Pushes are sent at least once: the same push delivered again finds its row and does nothing more. Verifying and
keeping take one short transaction; fetching the order is left to the ``marketplaces.import_order`` job.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.channels.marketplace import (
    ChannelError,
    PayloadInvalid,
    SignatureInvalid,
    WebhookAnswer,
    WebhookRequest,
    marketplace_adapter_class,
)
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import activity
from xuyen.commerce.marketplaces.connections import build_adapter, connection_for
from xuyen.commerce.marketplaces.models import (
    ActivityKind,
    ConnectionStatus,
    MarketplaceConnection,
    MarketplacePush,
)
from xuyen.commerce.marketplaces.orders_sync import IMPORT_JOB
from xuyen.db import is_postgres
from xuyen.errors import NotFound, Unauthorized, ValidationFailed
from xuyen.jobs import URGENT, add_job


def receive_push(session: Session, *, channel: str, app_id: str, request: WebhookRequest,
                 callback_url: str) -> WebhookAnswer:
    """Verify, keep and queue one push; answer what the platform expects. A repeated push is answered the same."""
    try:
        sales_channel = SalesChannel(channel)
        marketplace_adapter_class(channel)
    except (ValueError, ChannelError) as exc:
        raise NotFound(f"There is no {channel!r} marketplace.", code="marketplace_unknown") from exc
    signer = _app_connection(session, channel=sales_channel, app_id=app_id)
    adapter = build_adapter(signer)
    try:
        adapter.verify_push(request, callback_url=callback_url)
        notice = adapter.parse_push(request)
    except SignatureInvalid as exc:
        raise Unauthorized(exc.message, code="push_signature_invalid") from exc
    except PayloadInvalid as exc:
        raise ValidationFailed(exc.message, code="push_invalid") from exc
    finally:
        adapter.close()
    connection = connection_for(session, channel=sales_channel, account=notice.account) if notice.account else None
    if connection is None or connection.status == ConnectionStatus.disconnected or connection.app_id != app_id:
        raise NotFound(f"The push is for shop {notice.account or '(none)'}, which is not connected through this app; "
                       "connect the shop on the Marketplaces page.", code="marketplace_shop_unknown")
    push_id = _keep(session, connection=connection, request=request, dedupe_key=notice.dedupe_key,
                    kind=notice.kind, order_id=notice.order_id)
    if push_id is not None and notice.kind == "order" and notice.order_id:
        # one order's pushes are imported one after the other, never by two workers at once
        key = f"{IMPORT_JOB}|{connection.id}|{notice.order_id}"
        add_job(session, name=IMPORT_JOB, priority=URGENT, ordering_key=key[:300], sequence=push_id,
                payload={"connection_id": connection.id, "order_ids": [notice.order_id], "source": "push"})
        activity.log(session, connection_id=connection.id, kind=ActivityKind.push_received,
                     message=f"Push: order {notice.order_id} is now {notice.raw_status}.",
                     details={"order_id": notice.order_id, "status": notice.raw_status})
    answer = adapter.push_answer()
    session.commit()
    return answer


def _app_connection(session: Session, *, channel: SalesChannel, app_id: str) -> MarketplaceConnection:
    """A connected shop of the app, whose app key signs the app's pushes."""
    connection = session.scalar(select(MarketplaceConnection).where(
        MarketplaceConnection.channel == channel, MarketplaceConnection.app_id == app_id,
        MarketplaceConnection.status != ConnectionStatus.disconnected).order_by(MarketplaceConnection.id).limit(1))
    if connection is None:
        raise NotFound(f"No shop is connected through the {channel.value} app {app_id!r}; check the callback URL "
                       "set in the platform's console.", code="marketplace_app_unknown")
    return connection


def _keep(session: Session, *, connection: MarketplaceConnection, request: WebhookRequest, dedupe_key: str,
          kind: str, order_id: str | None) -> int | None:
    """Store the raw push unless it was stored already; its id when it is new."""
    values = {"connection_id": connection.id, "dedupe_key": dedupe_key[:200], "kind": kind,
              "external_order_id": order_id, "body": request.body.decode("utf-8", errors="replace"),
              "received_at": utcnow()}
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    kept: int | None = session.execute(insert(MarketplacePush).values(**values)
                           .on_conflict_do_nothing(index_elements=["connection_id", "dedupe_key"])
                           .returning(MarketplacePush.id)).scalar_one_or_none()
    return kept
