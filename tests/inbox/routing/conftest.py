"""Routing fixtures: customers writing on Messenger through the real adapter (each a different person), agents
signed in with browsers of their own, teams made through the API."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.factories import make_user
from tests.fakes.meta import messenger_message, messenger_webhook, whatsapp_contact, whatsapp_message, whatsapp_webhook
from tests.inbox.conftest import NUMBER, PAGE, Channels, ago, post_meta, work
from xuyen.auth.models import Role, User
from xuyen.inbox.models import Conversation, Message

_psids = itertools.count(7_100_000_000_000_001)


def new_psid() -> str:
    """A page-scoped id nobody used yet: a new customer."""
    return str(next(_psids))


def customer_writes(client: TestClient, channels: Channels, text: str, *, psid: str | None = None,
                    **extra: Any) -> str:
    """A customer writes to the Page on Messenger (signed as Meta signs it); their PSID."""
    psid = psid or new_psid()
    mid = f"m_{psid}_{next(_psids)}"
    payload = messenger_webhook(PAGE, messenger_message(PAGE, psid, mid, ago(seconds=30), text=text, **extra))
    response = post_meta(client, channels.messenger, payload)
    assert response.status_code == 200, response.text
    return psid


def customer_writes_on_whatsapp(client: TestClient, channels: Channels, wa_id: str, name: str, text: str, *,
                                referral: dict[str, Any] | None = None) -> None:
    """A customer writes on WhatsApp under their profile name (optionally from a Click-to-WhatsApp ad)."""
    message = whatsapp_message(wa_id, f"wamid.{wa_id}.{next(_psids)}", ago(seconds=20), "text", {"body": text})
    if referral is not None:
        message["referral"] = referral
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111", contacts=[whatsapp_contact(wa_id, name)],
                               messages=[message])
    response = post_meta(client, channels.whatsapp, payload)
    assert response.status_code == 200, response.text


def conversation_of(session: Session, psid: str) -> Conversation:
    """The conversation of the customer writing as ``psid`` (a PSID, or a WhatsApp id)."""
    session.rollback()
    session.expire_all()
    found = session.scalar(select(Conversation).join(Message, Message.conversation_id == Conversation.id)
                           .where(Message.provider_message_id.like(f"m_{psid}_%")
                                  | Message.provider_message_id.like(f"wamid.{psid}.%")))
    assert found is not None, psid
    return found


@dataclass
class Staff:
    """Agents with browsers of their own, and a manager."""

    agents: list[Browser]
    manager: Browser

    def ids(self) -> list[int]:
        return [browser.user_id for browser in self.agents]


@pytest.fixture
def staff(session: Session, browser_for: Callable[[User], Browser], manager: Browser) -> Staff:
    agents = [browser_for(make_user(session, role=Role.agent, name=name, email=email))
              for name, email in (("Lê Thị Hoa", "hoa@shop.vn"), ("Phạm Minh Đức", "duc@shop.vn"),
                                  ("Trần Văn An", "an@shop.vn"))]
    return Staff(agents=agents, manager=manager)


def make_team(manager: Browser, name: str, user_ids: list[int]) -> int:
    """A team made through the API."""
    response = manager.request("POST", "/inbox/teams", json={"name": name, "user_ids": user_ids})
    assert response.status_code == 201, response.text
    team_id: int = response.json()["id"]
    return team_id


def make_rule(manager: Browser, team_id: int, **conditions: Any) -> dict[str, Any]:
    """An assignment rule made through the API."""
    response = manager.request("POST", "/inbox/assignment-rules", json={
        "name": f"To team {team_id}", "team_id": team_id, "conditions": conditions})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def go(browser: Browser, availability: str) -> None:
    """The agent sets their own availability."""
    response = browser.request("PUT", "/inbox/agents/me/availability", json={"availability": availability})
    assert response.status_code == 200, response.text


def capacity(manager: Browser, user_id: int, value: int | None) -> None:
    response = manager.request("PUT", f"/inbox/agents/{user_id}/capacity", json={"capacity": value})
    assert response.status_code == 200, response.text


def settle(engine: Engine) -> None:
    """Let the workers parse, route and label everything due."""
    work(engine)
