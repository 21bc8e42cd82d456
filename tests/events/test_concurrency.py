"""Many clients at once on PostgreSQL: one customer stays one profile, nothing is lost or doubled."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.live_server import LiveServer
from xuyen.config import Settings
from xuyen.events.models import ChannelType, Event
from xuyen.events.service import create_source
from xuyen.identity.models import Profile, ProfileIdentifier

CLIENTS = 8
ROUNDS = 6


@pytest.fixture
def live_server(settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    server = LiveServer(settings, engine)
    server.start()
    yield server
    server.stop()


@pytest.mark.postgres_only
def test_concurrent_requests_for_the_same_new_customer_make_one_profile(
    session: Session, live_server: LiveServer
) -> None:
    _, key = create_source(session, name="Website", channel=ChannelType.web)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}

    def send(client_number: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            for round_number in range(ROUNDS):
                body = {"batch": [
                    {"type": "identify", "userId": f"KH-{round_number}",
                     "messageId": f"c{client_number}-r{round_number}",
                     "traits": {"phone": f"0912 000 00{round_number}", "email": f"kh{round_number}@shop.vn"}},
                    {"type": "track", "anonymousId": f"cookie-{round_number}", "event": "Product Viewed",
                     "messageId": f"c{client_number}-r{round_number}-view",
                     "context": {"traits": {"email": f"KH{round_number}@shop.vn"}}},
                ]}
                statuses.append(http.post("/v1/batch", json=body, headers=auth).status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(send, range(CLIENTS)))
    assert all(status == 200 for statuses in results for status in statuses), results
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Event)) == CLIENTS * ROUNDS * 2
    live = session.scalar(select(func.count()).select_from(Profile).where(Profile.merged_into_id.is_(None)))
    assert live == ROUNDS, "one profile per customer, however the requests interleaved"
    per_type = dict(session.execute(select(ProfileIdentifier.type, func.count())
                                    .group_by(ProfileIdentifier.type)).all())
    assert per_type == {"user_id": ROUNDS, "phone": ROUNDS, "email": ROUNDS, "anonymous_id": ROUNDS}
