"""Tasks test helpers: customers known by a phone, staff in branches and teams, principals, fixed times."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
from xuyen.auth.models import User
from xuyen.auth.service import Principal, principal_for_user
from xuyen.events.models import ChannelType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.worker import Worker

_numbers = itertools.count(1)
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội


def make_customer(session: Session, engine: Engine, *, phone: str | None = None, name: str = "Nguyễn Văn An") -> int:
    """A committed customer known by a phone number (shown as a customer: the worker ran); their profile id."""
    number = next(_numbers)
    source = add_source(session, name=f"Thử nghiệm công việc {number}", channel=ChannelType.web)[0]
    call = channel_call(event="Signed Up", message_id=f"task-signup-{number}",
                        identifiers=[("phone", phone or f"09{number + 70_000_000:08d}", None)], timestamp=NOW,
                        traits={"name": name})
    profile_id = record_channel_calls(session, calls=[(source.id, call)])[0]
    session.commit()
    Worker(engine=engine).run_until_idle()
    session.rollback()
    assert profile_id is not None
    return profile_id


def as_principal(user: User) -> Principal:
    """The principal of a signed-in user."""
    return principal_for_user(user)
