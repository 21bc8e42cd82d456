"""Shared steps of the SLA and CSAT tests: customers writing through the fake providers' signed webhooks, moments
in Vietnamese local time, and reading a conversation's clocks and surveys through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.fakes.meta import messenger_message, messenger_webhook, whatsapp_contact, whatsapp_message, whatsapp_webhook
from tests.inbox.conftest import NUMBER, PAGE, Channels, post_meta, post_sms, work
from xuyen.outbox import OutboxEvent

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment on the wall clock in Vietnam."""
    return datetime(year, month, day, hour, minute, tzinfo=VN)


def next_year_monday() -> date:
    """The first Monday of March next year: an ordinary working week, still ahead (so the minutely check run by
    the workers leaves its deadlines alone), inside the default calendar's years."""
    day = date(datetime.now(UTC).year + 1, 3, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def on_monday(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """A time on next year's first Monday of March (or ``days`` after it), Vietnamese wall clock."""
    day = next_year_monday() + timedelta(days=days)
    return local(day.year, day.month, day.day, hour, minute)


def messenger_says(client: TestClient, channels: Channels, psid: str, mid: str, text: str, at: datetime) -> None:
    """The customer ``psid`` writes on the Page at ``at`` (the provider's timestamp)."""
    payload = messenger_webhook(PAGE, messenger_message(PAGE, psid, mid, at, text=text))
    assert post_meta(client, channels.messenger, payload).status_code == 200


def whatsapp_says(client: TestClient, channels: Channels, wa_id: str, wamid: str, text: str, at: datetime) -> None:
    """The customer ``wa_id`` writes on WhatsApp at ``at``."""
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111", contacts=[whatsapp_contact(wa_id, "Lan")],
                               messages=[whatsapp_message(wa_id, wamid, at, "text", {"body": text})])
    assert post_meta(client, channels.whatsapp, payload).status_code == 200


def sms_says(client: TestClient, channels: Channels, phone: str, message_id: str, text: str, at: datetime) -> None:
    """The customer ``phone`` sends an SMS at ``at``."""
    event = {"type": "mo", "from": phone, "to": "8077", "text": text, "message_id": message_id,
             "timestamp": at.astimezone(UTC).isoformat()}
    assert post_sms(client, channels.sms, event).status_code == 200


def newest_conversation(browser: Browser, engine: Engine) -> int:
    """Run the workers, then the id of the newest conversation."""
    work(engine)
    found = browser.request("GET", "/conversations", params={"limit": 200}).json()
    assert found, "no conversation was made"
    return max(int(item["id"]) for item in found)


def clocks(browser: Browser, conversation_id: int) -> list[dict[str, Any]]:
    """The conversation's clocks as the API gives them."""
    response = browser.request("GET", f"/conversations/{conversation_id}/sla")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["clocks"]
    return found


def clock(browser: Browser, conversation_id: int, kind: str, *, index: int = -1) -> dict[str, Any]:
    """The conversation's clock of ``kind`` (the newest unless ``index`` says otherwise)."""
    return [item for item in clocks(browser, conversation_id) if item["kind"] == kind][index]


def at_local(value: str) -> datetime:
    """An API time in Vietnamese wall-clock time."""
    return datetime.fromisoformat(value).astimezone(VN)


def events(session: Session, topic: str) -> list[dict[str, Any]]:
    """The payloads of the domain events of ``topic`` written so far."""
    session.rollback()
    return [event.payload for event in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)
                                                       .order_by(OutboxEvent.id))]
