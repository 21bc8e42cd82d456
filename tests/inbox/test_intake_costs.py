"""What taking a webhook costs: verifying and parsing deliveries calls no provider, so it builds no HTTP client per
delivery (building one loads the CA certificates: about 20 ms, more than all the rest of a webhook)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.fakes.meta import messenger_message, messenger_webhook
from tests.inbox.conftest import PAGE, Channels, ago, post_meta, post_sms, work
from xuyen.inbox.models import Message, ReceiptStatus, WebhookReceipt


@pytest.fixture
def clients_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every ``httpx.Client`` built from now on."""
    built: list[int] = []
    original = httpx.Client.__init__

    def counting(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", counting)
    return built


def test_webhooks_are_taken_and_parsed_without_an_http_client_each(client: TestClient, channels: Channels,
                                                                    engine: Engine, session: Session,
                                                                    clients_built: list[int]) -> None:
    for number in range(3):
        payload = messenger_webhook(PAGE, messenger_message(PAGE, f"60248293716422{number}", f"m_cost_{number}",
                                                            ago(minutes=1), text="Shop ơi còn áo không?"))
        assert post_meta(client, channels.messenger, payload).status_code == 200
        event = {"type": "mo", "from": f"091234567{number}", "to": "8077", "text": "Con hang khong shop",
                 "message_id": uuid.uuid4().hex}
        assert post_sms(client, channels.sms, event).status_code == 200
    work(engine)
    assert len(clients_built) <= 1  # one shared client at most, however many deliveries
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message)) == 6
    statuses = set(session.scalars(select(WebhookReceipt.status)))
    assert statuses == {ReceiptStatus.processed}


def test_a_forged_webhook_is_still_refused_with_the_shared_client(client: TestClient, channels: Channels,
                                                                  session: Session) -> None:
    payload = messenger_webhook(PAGE, messenger_message(PAGE, "6024829371642213", "m_forged", ago(minutes=1),
                                                        text="hi"))
    assert post_meta(client, channels.messenger, payload, secret="not-the-app-secret").status_code == 401
    assert post_meta(client, channels.messenger, payload).status_code == 200
    session.rollback()
    assert session.scalar(select(func.count()).select_from(WebhookReceipt)) == 1
