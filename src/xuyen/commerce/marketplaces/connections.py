"""Connected shops: connecting one (its settings checked by its adapter, its keys and tokens sealed), building its
adapter, keeping the tokens the platform rotates, and flagging it when the platform refuses them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.channels.marketplace import (
    ChannelError,
    MarketplaceAdapter,
    marketplace_adapter_class,
    marketplace_adapters,
)
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import activity
from xuyen.commerce.marketplaces.models import (
    ActivityKind,
    ActivityLevel,
    ConnectionStatus,
    MarketplaceConnection,
)
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.jobs import URGENT, add_job
from xuyen.sealing import seal, unseal

SYNC_JOB = "marketplaces.sync_orders"


def installed_kinds() -> dict[str, dict[str, Any]]:
    """The marketplaces this installation can connect, with what each asks for."""
    return {kind: {"label": adapter.label, "settings": dict(adapter.settings_fields),
                   "secrets": dict(adapter.secret_fields), "optional": sorted(adapter.optional_fields())}
            for kind, adapter in marketplace_adapters().items()}


def _channel(kind: str) -> SalesChannel:
    try:
        channel = SalesChannel(kind)
        marketplace_adapter_class(kind)
    except (ValueError, ChannelError) as exc:
        raise ValidationFailed(f"There is no {kind!r} marketplace to connect; choose one of "
                               f"{', '.join(marketplace_adapters())}.", code="marketplace_unknown") from exc
    return channel


def connect(session: Session, *, channel: str, name: str, settings: Mapping[str, str], secrets: Mapping[str, str],
            actor: str, is_demo: bool = False) -> MarketplaceConnection:
    """Connect a shop: check its settings with its adapter, seal its keys and tokens, start syncing it."""
    connection = connect_helper(session, channel=channel, name=name, settings=settings, secrets=secrets,
                                is_demo=is_demo)
    audit.record(session, actor=actor, action="marketplace.connected", subject_type="marketplace_connection",
                 subject_id=connection.id, detail={"channel": connection.channel.value, "account": connection.account})
    if is_syncable(connection):  # bring in the last days' orders at once
        add_job(session, name=SYNC_JOB, payload={"connection_id": connection.id}, priority=URGENT)
    session.commit()
    return connection


def connect_helper(session: Session, *, channel: str, name: str, settings: Mapping[str, str],
                   secrets: Mapping[str, str], is_demo: bool = False) -> MarketplaceConnection:
    """``connect`` without the audit entry and the commit (helper: the demo connects its own shops)."""
    sales_channel = _channel(channel)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValidationFailed("Give the shop a name staff will recognise (at most 200 characters), e.g. "
                               "'Shopee – Cửa hàng chính'.", code="marketplace_name_required")
    clean_settings = {key: str(value).strip() for key, value in settings.items() if str(value).strip()}
    clean_secrets = {key: str(value).strip() for key, value in secrets.items() if str(value).strip()}
    adapter_class = marketplace_adapter_class(channel)
    try:
        adapter = adapter_class(settings=clean_settings, secrets=clean_secrets, http=httpx.Client())
    except ChannelError as exc:
        raise ValidationFailed(exc.message, code="marketplace_settings_invalid") from exc
    account = adapter.account
    adapter.close()
    existing = session.scalar(select(MarketplaceConnection).where(MarketplaceConnection.channel == sales_channel,
                                                                  MarketplaceConnection.account == account))
    if existing is not None and existing.status != ConnectionStatus.disconnected:
        raise Conflict(f"The {adapter_class.label} shop {account} is connected already as '{existing.name}'; "
                       "disconnect it first to connect it again.", code="marketplace_already_connected")
    connection = existing or MarketplaceConnection(channel=sales_channel, account=account, created_at=utcnow())
    connection.app_id = adapter_class.app_id(clean_settings)
    connection.name, connection.settings, connection.sealed_secrets = name, clean_settings, seal(clean_secrets)
    connection.status, connection.status_reason, connection.is_demo = ConnectionStatus.active, None, is_demo
    connection.disconnected_at, connection.last_sync_error = None, None
    session.add(connection)
    session.flush()
    activity.log(session, connection_id=connection.id, kind=ActivityKind.connected,
                 message=f"{adapter_class.label} shop {account} connected as '{name}'.")
    return connection


def disconnect(session: Session, *, connection_id: int, actor: str) -> MarketplaceConnection:
    """Stop syncing a shop: its tokens are forgotten, its history kept."""
    connection = get_connection(session, connection_id=connection_id)
    if connection.status != ConnectionStatus.disconnected:
        connection.status, connection.disconnected_at = ConnectionStatus.disconnected, utcnow()
        connection.sealed_secrets = seal({})
        activity.log(session, connection_id=connection.id, kind=ActivityKind.disconnected,
                     message=f"Shop '{connection.name}' disconnected; nothing is synced with it any more.")
        audit.record(session, actor=actor, action="marketplace.disconnected", subject_type="marketplace_connection",
                     subject_id=connection.id, detail={"channel": connection.channel.value})
    session.commit()
    return connection


def get_connection(session: Session, *, connection_id: int) -> MarketplaceConnection:
    """The connected shop with ``connection_id``; NotFound when there is none."""
    connection = session.get(MarketplaceConnection, connection_id)
    if connection is None:
        raise NotFound(f"There is no connected shop {connection_id}; the Marketplaces page lists them.",
                       code="marketplace_connection_not_found")
    return connection


def list_connections(session: Session, *, active_only: bool = False) -> list[MarketplaceConnection]:
    """Every connected shop, by channel and name."""
    query = select(MarketplaceConnection).order_by(MarketplaceConnection.channel, MarketplaceConnection.name,
                                                   MarketplaceConnection.id)
    if active_only:
        query = query.where(MarketplaceConnection.status == ConnectionStatus.active)
    return list(session.scalars(query))


def connection_for(session: Session, *, channel: SalesChannel, account: str) -> MarketplaceConnection | None:
    """The shop connected for ``account`` on ``channel``, if any (disconnected ones too)."""
    return session.scalar(select(MarketplaceConnection).where(MarketplaceConnection.channel == channel,
                                                              MarketplaceConnection.account == account))


def is_syncable(connection: MarketplaceConnection) -> bool:
    """Whether the sync may call the platform for this shop (active, and not a demo shop)."""
    return connection.status == ConnectionStatus.active and not connection.is_demo


def build_adapter(connection: MarketplaceConnection, *, http: httpx.Client | None = None) -> MarketplaceAdapter:
    """The shop's adapter, with its keys and tokens unsealed."""
    adapter = marketplace_adapter_class(connection.channel.value)(
        settings=connection.settings, secrets=unseal(connection.sealed_secrets), http=http)
    adapter.expires_at = connection.token_expires_at
    return adapter


def keep_rotated(session: Session, connection: MarketplaceConnection, adapter: MarketplaceAdapter) -> None:
    """Store the tokens the adapter was given by a refresh during its calls (helper: no commit)."""
    rotated = adapter.rotated
    if rotated is None:
        return
    connection.sealed_secrets = seal(unseal(connection.sealed_secrets) | {
        "access_token": rotated.access_token, "refresh_token": rotated.refresh_token})
    connection.token_expires_at = rotated.expires_at
    adapter.rotated = None
    activity.log(session, connection_id=connection.id, kind=ActivityKind.tokens_refreshed,
                 message="The platform's access token expired; a new one was obtained with the refresh token.")


def flag_credentials(session: Session, connection: MarketplaceConnection, *, reason: str) -> None:
    """Mark the shop as needing its owner: the platform refuses its tokens (helper: no commit)."""
    if connection.status == ConnectionStatus.active:
        connection.status, connection.status_reason = ConnectionStatus.needs_attention, reason
        activity.log(session, connection_id=connection.id, kind=ActivityKind.credentials_refused,
                     level=ActivityLevel.error, message=f"{reason} Authorise the shop again and reconnect it.")
