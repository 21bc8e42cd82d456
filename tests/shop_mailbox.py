"""The shop's staff mailbox for tests that mail staff (task reminders, scheduled reports): a real SMTP server on a
free local port (``tests.channels.test_email``'s) and the e-mail channel connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from tests.channels.test_email import ADDRESS, PASSWORD, SECRET, SmtpServer, run_smtp
from xuyen.inbox import connections


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server that takes the shop mailbox's login without TLS and keeps what it is sent."""
    yield from run_smtp(auth_require_tls=False)


def connect_mailbox(session: Session, port: int) -> None:
    """Connect the shop's e-mail channel, sending through the SMTP server on ``port``."""
    connections.add_channel(session, kind="email", name="Hộp thư CSKH", actor="test", settings={
        "address": ADDRESS, "display_name": "Shop Áo Dài", "smtp_host": "127.0.0.1", "smtp_port": str(port),
        "smtp_security": "none", "imap_host": "127.0.0.1", "imap_port": "1", "imap_security": "none"},
        secrets={"password": PASSWORD, "reply_token_secret": SECRET})
