"""E-mail in the inbox, through a real SMTP server (aiosmtpd) and the IMAP fake: the reply carries a signed reply
address; the customer's answer to it comes back to the same conversation, even from another address; a forged
In-Reply-To naming someone else's message cannot attach mail to their conversation."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid

import pytest
from sqlalchemy import Engine

from tests.api_client import Browser
from tests.channels.test_email import ADDRESS, PASSWORD, SmtpServer, run_smtp
from tests.fakes.imap import FakeImapServer
from tests.inbox.conftest import connect, work
from xuyen.config import get_settings

CUSTOMER = "ngoc.anh@example.vn"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from run_smtp(auth_require_tls=False)


@pytest.fixture
def imap() -> Iterator[FakeImapServer]:
    server = FakeImapServer(users={ADDRESS: PASSWORD}).start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(owner: Browser, smtp: SmtpServer, imap: FakeImapServer) -> int:
    channel = connect(owner, "email", "E-mail CSKH", {
        "address": ADDRESS, "display_name": "Shop Áo Dài", "smtp_host": "127.0.0.1", "smtp_port": str(smtp.port),
        "smtp_security": "none", "imap_host": "127.0.0.1", "imap_port": str(imap.port), "imap_security": "none",
        "username": ADDRESS}, {"password": PASSWORD, "reply_token_secret": "a-long-reply-token-secret"})
    return int(channel["id"])


def mail(sender: str, to: str, subject: str, text: str, **headers: str) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = make_msgid(domain="example.vn")
    message["Date"] = formatdate(usegmt=True)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


def poll(owner: Browser, engine: Engine) -> None:
    from xuyen.db import session_factory
    from xuyen.inbox import intake

    with session_factory(engine)() as session:
        for channel_id in intake.polled_channel_ids(session):
            intake.poll_channel(session, channel_id=channel_id)
            session.commit()
    work(engine)


def test_a_reply_to_our_reply_address_comes_back_to_its_conversation(
        owner: Browser, agent: Browser, mailbox: int, smtp: SmtpServer, imap: FakeImapServer, engine: Engine) -> None:
    imap.folder().add(mail(f"Ngọc Anh <{CUSTOMER}>", ADDRESS, "Hỏi về đơn hàng #1042", "Đơn của em đến đâu rồi ạ?"))
    poll(owner, engine)
    (conversation,) = agent.request("GET", "/conversations").json()
    assert agent.request("POST", f"/conversations/{conversation['id']}/replies",
                         json={"text": "Dạ đơn đang được giao ạ."}).status_code == 202
    work(engine)
    (arrived,) = smtp.recorder.arrived
    sent = BytesParser(policy=policy.default).parsebytes(arrived.content)
    reply_to = str(sent["Reply-To"])
    assert "+r-" in reply_to and sent["To"].addresses[0].addr_spec == CUSTOMER
    resolved = agent.request("POST", f"/conversations/{conversation['id']}/status", json={"status": "resolved"})
    assert resolved.status_code == 200

    address = reply_to[reply_to.index("<") + 1:-1] if "<" in reply_to else reply_to
    imap.folder().add(mail("Ngọc Anh <ngocanh.work@example.vn>", address, "Re: Hỏi về đơn hàng #1042",
                           "Em nhận được rồi, cảm ơn shop!"))  # from her work address, to the signed reply address
    poll(owner, engine)
    detail = agent.request("GET", f"/conversations/{conversation['id']}").json()
    assert "Em nhận được rồi, cảm ơn shop!" in [message["text"] for message in detail["messages"]]
    assert detail["status"] == "open"  # reopened by the answer


def test_a_forged_in_reply_to_cannot_join_someone_elses_conversation(
        owner: Browser, agent: Browser, mailbox: int, smtp: SmtpServer, imap: FakeImapServer, engine: Engine) -> None:
    first = mail(f"Ngọc Anh <{CUSTOMER}>", ADDRESS, "Đổi size", "Em muốn đổi size ạ")
    imap.folder().add(first)
    poll(owner, engine)
    victim_message_id = BytesParser(policy=policy.default).parsebytes(first)["Message-ID"]
    imap.folder().add(mail("Kẻ lạ <stranger@example.vn>", ADDRESS, "Re: Đổi size", "Cho xem đơn của chị ấy",
                           In_Reply_To=victim_message_id, References=victim_message_id))
    poll(owner, engine)
    found = agent.request("GET", "/conversations").json()
    assert len(found) == 2 and len({item["customer_id"] for item in found}) == 2
    for item in found:
        texts = [message["text"] for message in agent.request("GET", f"/conversations/{item['id']}").json()["messages"]]
        assert texts in (["Em muốn đổi size ạ"], ["Cho xem đơn của chị ấy"])


def test_a_reply_and_a_new_mail_fetched_together_join_the_conversation_the_reply_reopens(
        owner: Browser, agent: Browser, mailbox: int, smtp: SmtpServer, imap: FakeImapServer, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_INBOX_REOPEN_DAYS", "0")  # only the reply's signed address can reopen it
    get_settings.cache_clear()
    imap.folder().add(mail(f"Ngọc Anh <{CUSTOMER}>", ADDRESS, "Áo lụa", "Áo lụa còn màu xanh không ạ?"))
    poll(owner, engine)
    (conversation,) = agent.request("GET", "/conversations").json()
    assert agent.request("POST", f"/conversations/{conversation['id']}/replies",
                         json={"text": "Dạ còn ạ."}).status_code == 202
    work(engine)
    sent = BytesParser(policy=policy.default).parsebytes(smtp.recorder.arrived[0].content)
    reply_to = str(sent["Reply-To"])
    address = reply_to[reply_to.index("<") + 1:-1] if "<" in reply_to else reply_to
    assert agent.request("POST", f"/conversations/{conversation['id']}/status",
                         json={"status": "resolved"}).status_code == 200

    imap.folder().add(mail(f"Ngọc Anh <{CUSTOMER}>", address, "Re: Áo lụa", "Em lấy một cái size M."))
    imap.folder().add(mail(f"Ngọc Anh <{CUSTOMER}>", ADDRESS, "Địa chỉ giao", "Giao về 12 Hàng Gai giúp em."))
    poll(owner, engine)  # both parsed in one batch
    (now_open,) = agent.request("GET", "/conversations").json()
    assert now_open["id"] == conversation["id"]
    detail = agent.request("GET", f"/conversations/{conversation['id']}").json()
    texts = [message["text"] for message in detail["messages"]]
    assert "Em lấy một cái size M." in texts and "Giao về 12 Hàng Gai giúp em." in texts
