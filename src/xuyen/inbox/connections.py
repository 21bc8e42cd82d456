"""Connected channels: adding one (its settings checked by its adapter, its secrets sealed, an event source of
its own), building its adapter, and flagging it for the owner when the provider refuses our credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.channels.base import ChannelAdapter, ChannelError
from xuyen.channels.registry import adapter_class, adapters
from xuyen.clock import utcnow
from xuyen.errors import NotFound, ValidationFailed
from xuyen.events.models import ChannelType
from xuyen.events.service import add_source, get_source
from xuyen.inbox.models import Channel, ChannelStatus
from xuyen.sealing import seal, unseal

# The event-log channel type of each adapter kind (web chat is the website's).
_EVENT_CHANNEL = {"webchat": ChannelType.web}


def _event_channel(kind: str) -> ChannelType:
    try:
        return _EVENT_CHANNEL.get(kind) or ChannelType(kind)
    except ValueError:
        return ChannelType.api


def _check_adapter(kind: str, settings: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    """Refuse a connection its adapter cannot be built from, with the adapter's own explanation."""
    try:
        adapter_class(kind)(settings=settings, secrets=secrets, http=httpx.Client()).close()
    except ChannelError as exc:
        raise ValidationFailed(exc.message, code="channel_settings_invalid") from exc


def add_channel(session: Session, *, kind: str, name: str, settings: Mapping[str, str],
                secrets: Mapping[str, str], actor: str, source_id: int | None = None) -> Channel:
    """Connect a channel: check its settings with its adapter, seal its secrets, log its messages under an event
    source (``source_id``: the source the shop already tracks that account with; else a new one)."""
    channel = add_channel_helper(session, kind=kind, name=name, settings=settings, secrets=secrets,
                                 source_id=source_id)
    audit.record(session, actor=actor, action="channel.added", subject_type="channel", subject_id=channel.id,
                 detail={"kind": channel.kind, "name": channel.name})
    session.commit()
    return channel


def add_channel_helper(session: Session, *, kind: str, name: str, settings: Mapping[str, str],
                       secrets: Mapping[str, str], source_id: int | None = None) -> Channel:
    """``add_channel`` without the audit entry and the commit (helper: the demo loader connects its own)."""
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Give the channel a name staff will recognise, e.g. 'Zalo OA Cửa hàng'.",
                               code="channel_name_required")
    try:
        adapter_class(kind)
    except ChannelError as exc:
        raise ValidationFailed(exc.message, code="channel_kind_unknown") from exc
    clean_settings = {key: str(value).strip() for key, value in settings.items()}
    clean_secrets = {key: str(value) for key, value in secrets.items()}
    _check_adapter(kind, clean_settings, clean_secrets)
    if source_id is None:
        source_id = add_source(session, name=name, channel=_event_channel(kind))[0].id
    else:
        get_source(session, source_id=source_id)
    channel = Channel(kind=kind, name=name, settings=clean_settings, sealed_secrets=seal(clean_secrets),
                      source_id=source_id, status=ChannelStatus.active, created_at=utcnow())
    session.add(channel)
    session.flush()
    return channel


def update_secrets(session: Session, *, channel_id: int, secrets: Mapping[str, str], actor: str) -> Channel:
    """Replace some of a channel's secrets (a new token after reconnecting) and make it active again."""
    channel = get_channel(session, channel_id=channel_id)
    merged = unseal(channel.sealed_secrets) | {key: str(value) for key, value in secrets.items()}
    _check_adapter(channel.kind, channel.settings, merged)
    channel.sealed_secrets = seal(merged)
    _set_status(channel, ChannelStatus.active, reason=None)
    audit.record(session, actor=actor, action="channel.secrets_updated", subject_type="channel",
                 subject_id=channel.id, detail={"fields": sorted(secrets)})
    session.commit()
    return channel


def get_channel(session: Session, *, channel_id: int) -> Channel:
    """The channel with ``channel_id``; NotFound when there is none."""
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"There is no channel {channel_id}; the Channels page lists them.", code="channel_not_found")
    return channel


def list_channels(session: Session) -> list[Channel]:
    """Every connected channel, by name."""
    return list(session.scalars(select(Channel).order_by(Channel.name, Channel.id)))


def staff_mailbox(session: Session) -> Channel | None:
    """The shop's first active mailbox: the e-mail channel staff reminders and reports go out through, if any."""
    return next((channel for channel in list_channels(session)
                 if channel.kind == "email" and channel.status is ChannelStatus.active), None)


def installed_kinds() -> dict[str, dict[str, Any]]:
    """The channel kinds this installation can connect, with what each asks for."""
    return {kind: {"label": adapter.label, "settings": dict(adapter.settings_fields),
                   "secrets": dict(adapter.secret_fields), "optional": sorted(adapter.optional_fields())}
            for kind, adapter in adapters().items()}


SANDBOX_SETTING = "sandbox"


def is_sandbox(channel: Channel) -> bool:
    """Whether the channel is a sandbox (demos, training): replies are recorded as delivered, never sent, and
    nothing is fetched from the provider."""
    return str(channel.settings.get(SANDBOX_SETTING, "")).strip().lower() in ("true", "yes", "1", "on")


def build_adapter(channel: Channel, *, http: httpx.Client | None = None) -> ChannelAdapter:
    """The channel's adapter, with its secrets unsealed."""
    return adapter_class(channel.kind)(settings=channel.settings, secrets=unseal(channel.sealed_secrets), http=http)


def store_rotated_secrets(channel: Channel, rotated: Mapping[str, str]) -> None:
    """Keep tokens the provider rotated during a call (Zalo's single-use refresh tokens) (helper: no commit)."""
    if rotated:
        channel.sealed_secrets = seal(unseal(channel.sealed_secrets) | dict(rotated))


def flag_credentials(channel: Channel, *, reason: str) -> None:
    """Mark the channel as needing its owner: the provider no longer accepts its credentials (helper)."""
    _set_status(channel, ChannelStatus.needs_attention, reason=reason)


def _set_status(channel: Channel, status: ChannelStatus, *, reason: str | None) -> None:
    if channel.status != status or channel.status_reason != reason:
        channel.status, channel.status_reason, channel.status_changed_at = status, reason, utcnow()
