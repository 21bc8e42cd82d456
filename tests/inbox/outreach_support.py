"""Outreach test helpers: customers made from the event log, channels connected as sandboxes (or to the local SMTP
server), and the outbox events the inbox wrote."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.inbox.connections import add_channel_helper
from xuyen.inbox.models import Channel
from xuyen.outbox import OutboxEvent

_numbers = itertools.count(1)
MAILBOX = "cskh@shop.vn"

SETTINGS: dict[str, dict[str, str]] = {
    "email": {"address": MAILBOX, "display_name": "Shop Áo Dài", "smtp_host": "127.0.0.1", "smtp_security": "none",
              "imap_host": "127.0.0.1", "imap_security": "none", "username": MAILBOX},
    "sms": {"brand_name": "XUYEN", "send_url": "http://127.0.0.1:1/send"},
    "zalo": {"oa_id": "2718281828", "app_id": "31415"},
}
SECRETS: dict[str, dict[str, str]] = {
    "email": {"password": "app-password-16c", "reply_token_secret": "a-long-reply-token-secret"},
    "sms": {"api_key": "test-api-key", "webhook_secret": "test-webhook-secret"},
    "zalo": {"oa_secret_key": "s", "app_secret": "s", "access_token": "t", "refresh_token": "r"},
}


def connect(session: Session, kind: str, *, sandbox: bool = True, **settings: str) -> Channel:
    """A channel of ``kind`` (a sandbox unless told), committed."""
    values = {**SETTINGS.get(kind, {}), **settings, **({"sandbox": "true"} if sandbox else {})}
    channel = add_channel_helper(session, kind=kind, name=f"Kênh {kind} {next(_numbers)}", settings=values,
                                 secrets=SECRETS.get(kind, {}))
    session.commit()
    return channel


def events(session: Session, topic: str) -> list[dict[str, Any]]:
    """The payloads of the outbox events of ``topic``, oldest first (what was written meanwhile included: the
    session's transaction ends first)."""
    session.commit()
    return [event.payload for event in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)
                                                       .order_by(OutboxEvent.id))]
