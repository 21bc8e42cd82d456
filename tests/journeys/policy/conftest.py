"""Messaging policy test helpers: customers made from the event log like any shop's, consents recorded as staff
record them, channels connected as sandboxes, and where the customer last wrote on each."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
from xuyen.customers.service import record_consent, refresh_customers
from xuyen.events.models import ChannelType, EventType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.inbox.connections import add_channel_helper
from xuyen.inbox.models import Channel, ContactPoint

_numbers = itertools.count(1)
SETTINGS = {"messenger": {"page_id": "104729384756102"}, "zalo": {"oa_id": "2718281828", "app_id": "31415"},
            "whatsapp": {"phone_number_id": "109876543210", "business_account_id": "209876543210"}}
SECRETS = {"messenger": {"app_secret": "s", "page_access_token": "t", "verify_token": "v"},
           "zalo": {"oa_secret_key": "s", "app_secret": "s", "access_token": "t", "refresh_token": "r"},
           "whatsapp": {"app_secret": "s", "access_token": "t", "verify_token": "v"}}


def utc(text: str) -> datetime:
    """A UTC moment from ``YYYY-MM-DD HH:MM``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def customer(session: Session, *, phone: str | None = "0912345678", email: str | None = "lan@example.vn",
             traits: dict[str, Any] | None = None) -> int:
    """A committed customer with this phone and e-mail (and traits), built as the worker would; their profile id."""
    number = next(_numbers)
    source = add_source(session, name=f"Cửa hàng thử nghiệm {number}", channel=ChannelType.api)[0]
    identifiers = [(kind, value, None) for kind, value in (("phone", phone), ("email", email)) if value]
    call = channel_call(event="Identify", message_id=f"policy-{number}", identifiers=identifiers,
                        timestamp=utc("2026-11-01 08:00"))
    call = replace(call, type=EventType.identify, event=None, traits={"name": "Nguyễn Thị Lan", **(traits or {})})
    profile_id = record_channel_calls(session, calls=[(source.id, call)])[0]
    assert profile_id is not None
    refresh_customers(session, profile_ids=[profile_id])
    session.commit()
    return profile_id


def consent(session: Session, profile_id: int, channel: str, purpose: str = "marketing", granted: bool = True) -> None:
    """A consent given (or withdrawn) in front of staff, committed."""
    record_consent(session, profile_id=profile_id, channel=channel, purpose=purpose, granted=granted,
                   proof="Phiếu đăng ký tại cửa hàng HN01", actor="user:1")


def connected(session: Session, kind: str) -> Channel:
    """A sandbox channel of ``kind``, committed."""
    channel = add_channel_helper(session, kind=kind, name=f"Kênh {kind} {next(_numbers)}",
                                 settings={**SETTINGS.get(kind, {}), "sandbox": "true"},
                                 secrets=SECRETS.get(kind, {}))
    session.commit()
    return channel


def wrote(session: Session, profile_id: int, channel: Channel, *, at: datetime | None,
          value: str | None = None) -> ContactPoint:
    """The customer's contact point on ``channel``, last written on at ``at`` (None: never wrote), committed."""
    types = {"messenger": "facebook_psid", "zalo": "zalo_id", "whatsapp": "whatsapp_id"}
    point = ContactPoint(profile_id=profile_id, channel_id=channel.id, type=types.get(channel.kind, "phone"),
                         value=value or f"{channel.kind}-{next(_numbers)}", last_inbound_at=at)
    session.add(point)
    session.commit()
    return point
