"""The e-mail channel against real servers: aiosmtpd for SMTP, the IMAP fake over TCP, TLS with a test CA."""

from __future__ import annotations

import imaplib
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.imap import FakeImapServer
from tests.fakes.server import serving
from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    ContactIdentifier,
    InboundMessage,
    OutboundMessage,
    SendFailed,
    Template,
)
from xuyen.channels.email import EmailAdapter

ADDRESS = "cskh@shop.vn"
PASSWORD = "app-password-16c"
SECRET = "k3y-for-reply-tokens-0123456789abcdef"
UIDVALIDITY = 3857529045
CUSTOMER = "lan.nguyen@gmail.com"

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def adapter_for(*, smtp_port: int = 1, imap_port: int = 1, **overrides: str) -> EmailAdapter:
    """An adapter for the local servers; ``overrides`` replace settings, or the password."""
    settings = {
        "address": ADDRESS, "display_name": "Shop Áo Dài Hà Nội",
        "smtp_host": "127.0.0.1", "smtp_port": str(smtp_port), "smtp_security": "none",
        "imap_host": "127.0.0.1", "imap_port": str(imap_port), "imap_security": "none",
        "username": ADDRESS,
    }
    secrets = {"password": overrides.pop("password", PASSWORD), "reply_token_secret": SECRET}
    settings.update(overrides)
    return EmailAdapter(settings=settings, secrets=secrets)


# TLS: a test certificate authority and a certificate for 127.0.0.1 --------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    other_ca_file: Path
    server: ssl.SSLContext


def _authority(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    return key, certificate


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)
    ca_key, ca = _authority("Xuyen test CA")
    ca_name = ca.subject
    _other_key, other = _authority("Some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    other_ca_file = directory / "other-ca.pem"
    other_ca_file.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.pem"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return Certificates(ca_file=ca_file, other_ca_file=other_ca_file, server=server)


# SMTP: a real aiosmtpd server that records what arrived ------------------------------------------------


@dataclass
class Arrived:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: bytes | None

    def parsed(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps each message, or answers RCPT/DATA with a set reply."""

    arrived: list[Arrived] = field(default_factory=list)
    rcpt_answer: str | None = None
    data_answer: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_answer:
            return self.data_answer
        login = session.auth_data.login if session.authenticated and isinstance(session.auth_data, LoginPassword) \
            else None
        self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, login))
        return "250 2.0.0 Ok: queued"


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    """The SMTP server's password check."""
    good = isinstance(auth_data, LoginPassword) and auth_data == LoginPassword(ADDRESS.encode(), PASSWORD.encode())
    return AuthResult(success=good, handled=False, auth_data=auth_data)


class LocalController(Controller):
    """aiosmtpd's controller on a free port of 127.0.0.1."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder


def run_smtp(**kwargs: Any) -> Iterator[SmtpServer]:
    recorder = Recorder()
    controller = LocalController(recorder, hostname="127.0.0.1", port=0, authenticator=check_login,
                                 auth_required=True, **kwargs)
    controller.start()
    try:
        yield SmtpServer(controller.port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from run_smtp(auth_require_tls=False)


def reply(text: str = "Dạ, đơn hàng của chị đã được giao cho đơn vị vận chuyển.", **fields: Any) -> OutboundMessage:
    values: dict[str, Any] = {"idempotency_key": "msg-1", "to": ContactIdentifier("email", CUSTOMER), "text": text,
                              "subject": "Re: Hỏi về đơn hàng #1042"}
    values.update(fields)
    return OutboundMessage(**values)


def test_a_reply_arrives_as_a_proper_mime_message(smtp_server: SmtpServer) -> None:
    adapter = adapter_for(smtp_port=smtp_server.port)
    thread = str(uuid.uuid4())
    message = reply(headers={"X-Xuyen-Thread": thread, "References": "<first@gmail.com> <second@gmail.com>"},
                    reply_to_provider_id="<CAF=second.reply@mail.gmail.com>")
    result = adapter.send(message)
    [arrived] = smtp_server.recorder.arrived
    assert arrived.mail_from == ADDRESS
    assert arrived.rcpt_tos == [CUSTOMER]
    assert arrived.login == ADDRESS.encode()
    raw = arrived.content
    assert raw.isascii()  # 7-bit clean: encoded words in headers, a transfer encoding for the body
    assert b"X-Xuyen" not in raw
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in subject_line
    parsed = arrived.parsed()
    assert parsed["Subject"] == "Re: Hỏi về đơn hàng #1042"
    [sender] = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Shop Áo Dài Hà Nội", ADDRESS)
    assert parsed["To"].addresses[0].addr_spec == CUSTOMER
    [reply_to] = parsed["Reply-To"].addresses
    assert reply_to.username.startswith("cskh+r-") and reply_to.domain == "shop.vn"
    assert len(reply_to.username) <= 64
    assert adapter.thread_key_from(reply_to.addr_spec) == thread
    assert parsed["Message-ID"] == f"<{result.provider_message_id}>"
    assert result.provider_message_id.endswith("@shop.vn")
    assert parsed["In-Reply-To"] == "<CAF=second.reply@mail.gmail.com>"
    assert parsed["References"].split() == ["<first@gmail.com>", "<second@gmail.com>",
                                            "<CAF=second.reply@mail.gmail.com>"]
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    assert parsed.get_content().replace("\r\n", "\n").rstrip("\n") == message.text  # canonical CRLF text
    assert abs(parsed["Date"].datetime - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_retried_send_carries_the_same_message_id(smtp_server: SmtpServer) -> None:
    adapter = adapter_for(smtp_port=smtp_server.port)
    first = adapter.send(reply(idempotency_key="retry-me"))
    again = adapter.send(reply(idempotency_key="retry-me"))
    other = adapter.send(reply(idempotency_key="another"))
    ids = [item.parsed()["Message-ID"] for item in smtp_server.recorder.arrived]
    assert first.provider_message_id == again.provider_message_id != other.provider_message_id
    assert ids == [f"<{first.provider_message_id}>"] * 2 + [f"<{other.provider_message_id}>"]
    assert adapter.message_id_for("retry-me") == first.provider_message_id


def test_without_a_thread_key_there_is_no_reply_token(smtp_server: SmtpServer) -> None:
    adapter_for(smtp_port=smtp_server.port).send(reply(subject=None, text="Xin chào"))
    parsed = smtp_server.recorder.arrived[0].parsed()
    assert parsed["Reply-To"] is None
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed["Subject"] == "Shop Áo Dài Hà Nội"


def test_a_thread_key_too_long_for_an_address_still_sends(smtp_server: SmtpServer) -> None:
    adapter_for(smtp_port=smtp_server.port).send(reply(headers={"X-Xuyen-Thread": "x" * 80}))
    parsed = smtp_server.recorder.arrived[0].parsed()
    assert parsed["Reply-To"] is None
    assert b"X-Xuyen" not in smtp_server.recorder.arrived[0].content


def test_a_wrong_password_revokes_the_credentials(smtp_server: SmtpServer) -> None:
    with pytest.raises(SendFailed) as caught:
        adapter_for(smtp_port=smtp_server.port, password="old-password").send(reply())
    assert caught.value.credentials_revoked and not caught.value.retryable
    assert caught.value.provider_code == "535"
    assert smtp_server.recorder.arrived == []


@pytest.mark.parametrize("answer", ["rcpt_answer", "data_answer"])
def test_a_4xx_answer_is_retryable(smtp_server: SmtpServer, answer: str) -> None:
    setattr(smtp_server.recorder, answer, "451 4.3.0 Mail server temporarily busy, try again later")
    with pytest.raises(SendFailed) as caught:
        adapter_for(smtp_port=smtp_server.port).send(reply())
    assert caught.value.retryable and not caught.value.credentials_revoked
    assert caught.value.provider_code == "451"


@pytest.mark.parametrize(("answer", "reply_text"), [
    ("rcpt_answer", "550 5.1.1 <lan.nguyen@gmail.com>: Recipient address rejected: User unknown"),
    ("data_answer", "552 5.3.4 Message size exceeds fixed limit"),
])
def test_a_5xx_answer_is_permanent(smtp_server: SmtpServer, answer: str, reply_text: str) -> None:
    setattr(smtp_server.recorder, answer, reply_text)
    with pytest.raises(SendFailed) as caught:
        adapter_for(smtp_port=smtp_server.port).send(reply())
    assert not caught.value.retryable and not caught.value.credentials_revoked
    assert caught.value.provider_code == reply_text[:3]
    assert reply_text[4:] in caught.value.message


def test_an_unreachable_server_is_retryable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(SendFailed) as caught:
        adapter_for(smtp_port=port).send(reply())
    assert caught.value.retryable and caught.value.code == "smtp_unreachable"


def test_bad_messages_are_refused_before_connecting(smtp_server: SmtpServer) -> None:
    adapter = adapter_for(smtp_port=smtp_server.port)
    cases = [
        reply(to=ContactIdentifier("phone", "+84912345678")),
        reply(to=ContactIdentifier("email", "not an address")),
        reply(to=ContactIdentifier("email", "lan@gmail.com\r\nBcc: everyone@example.com")),
        reply(headers={"X-Campaign": "summer\r\nBcc: everyone@example.com"}),
        reply(headers={"Bad Name": "x"}),
        reply(template=Template(name="order_shipped")),
    ]
    for message in cases:
        with pytest.raises(SendFailed) as caught:
            adapter.send(message)
        assert not caught.value.retryable
    assert smtp_server.recorder.arrived == []


def test_own_headers_pass_but_ours_cannot_be_overridden(smtp_server: SmtpServer) -> None:
    adapter_for(smtp_port=smtp_server.port).send(reply(
        subject="Khuyến mãi\r\nBcc: x@example.com",
        headers={"Auto-Submitted": "auto-generated", "From": "ceo@shop.vn", "Message-ID": "<mine@x>",
                 "X-Xuyen-Journey": "j-1"}))
    arrived = smtp_server.recorder.arrived[0]
    parsed = arrived.parsed()
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["From"].addresses[0].addr_spec == ADDRESS
    assert parsed["Message-ID"] != "<mine@x>"
    assert parsed["Subject"] == "Khuyến mãi Bcc: x@example.com"
    assert parsed["Bcc"] is None and b"X-Xuyen" not in arrived.content


# Attachments: fetched from their URLs and attached ----------------------------------------------------

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 10 + b"\xff\xd9"


def _file_host() -> Starlette:
    async def pdf(request: Request) -> Response:
        return Response(PDF, media_type="application/pdf")

    async def photo(request: Request) -> Response:
        return Response(JPEG, media_type="image/jpeg")

    async def gone(request: Request) -> Response:
        return Response("Not Found", status_code=404)

    async def busy(request: Request) -> Response:
        return Response("Service Unavailable", status_code=503)

    return Starlette(routes=[Route("/files/hoa-don.pdf", pdf), Route("/files/anh sản phẩm.jpg", photo),
                             Route("/gone", gone), Route("/busy", busy)])


@pytest.fixture(scope="module")
def file_host() -> Iterator[str]:
    with serving(_file_host()) as base_url:
        yield base_url


def test_attachments_are_fetched_and_attached(smtp_server: SmtpServer, file_host: str) -> None:
    adapter = adapter_for(smtp_port=smtp_server.port)
    adapter.send(reply(attachments=(
        Attachment(AttachmentKind.FILE, url=f"{file_host}/files/hoa-don.pdf", name="Hóa đơn tháng 6.pdf"),
        Attachment(AttachmentKind.IMAGE, url=f"{file_host}/files/anh%20s%E1%BA%A3n%20ph%E1%BA%A9m.jpg"),
        Attachment(AttachmentKind.LINK, url="https://shop.vn/don-hang/1042", name="Theo dõi đơn hàng"),
    )))
    parsed = smtp_server.recorder.arrived[0].parsed()
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().rstrip().endswith("Theo dõi đơn hàng: https://shop.vn/don-hang/1042")
    files = {part.get_filename(): (part.get_content_type(), part.get_content()) for part in parsed.iter_attachments()}
    assert files == {"Hóa đơn tháng 6.pdf": ("application/pdf", PDF), "anh sản phẩm.jpg": ("image/jpeg", JPEG)}


def test_an_attachment_that_is_gone_fails_for_good_and_a_busy_host_is_retried(smtp_server: SmtpServer,
                                                                              file_host: str) -> None:
    adapter = adapter_for(smtp_port=smtp_server.port)
    with pytest.raises(SendFailed) as gone:
        adapter.send(reply(attachments=(Attachment(AttachmentKind.FILE, url=f"{file_host}/gone"),)))
    with pytest.raises(SendFailed) as busy:
        adapter.send(reply(attachments=(Attachment(AttachmentKind.FILE, url=f"{file_host}/busy"),)))
    with pytest.raises(SendFailed) as nowhere:
        adapter.send(reply(attachments=(Attachment(AttachmentKind.FILE, url="file:///etc/passwd"),)))
    assert (gone.value.retryable, busy.value.retryable, nowhere.value.retryable) == (False, True, False)
    assert smtp_server.recorder.arrived == []


# TLS: STARTTLS and implicit TLS, trusted only through the CA given in SSL_CERT_FILE --------------------


def test_starttls_with_a_trusted_certificate(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    for server in run_smtp(tls_context=certificates.server, require_starttls=True):
        adapter_for(smtp_port=server.port, smtp_security="starttls").send(reply())
        assert len(server.recorder.arrived) == 1


def test_implicit_tls_with_a_trusted_certificate(certificates: Certificates,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    # aiosmtpd offers AUTH only after STARTTLS, so over implicit TLS it is told TLS is not needed for AUTH.
    for server in run_smtp(ssl_context=certificates.server, auth_require_tls=False):
        adapter_for(smtp_port=server.port, smtp_security="ssl").send(reply())
        assert len(server.recorder.arrived) == 1


def test_an_untrusted_certificate_is_refused_for_good(certificates: Certificates, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.other_ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    for server in run_smtp(tls_context=certificates.server, require_starttls=True):
        with pytest.raises(SendFailed) as caught:
            adapter_for(smtp_port=server.port, smtp_security="starttls").send(reply())
        assert caught.value.code == "tls_untrusted" and not caught.value.retryable
        assert server.recorder.arrived == []


def test_starttls_missing_on_the_server_is_refused(smtp_server: SmtpServer) -> None:
    with pytest.raises(SendFailed) as caught:
        adapter_for(smtp_port=smtp_server.port, smtp_security="starttls").send(reply())
    assert caught.value.code == "tls_unavailable"
    assert smtp_server.recorder.arrived == []


# IMAP: polling the fake mailbox ------------------------------------------------------------------------


def customer_mail(number: int, *, message_id: str | None = None, size: int = 0) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"Khách {number} <khach{number}@gmail.com>"
    message["To"] = ADDRESS
    message["Subject"] = f"Câu hỏi số {number}"
    message["Date"] = "Tue, 04 Jun 2024 09:15:00 +0700"
    if message_id is not None:
        message["Message-ID"] = message_id
    elif number:
        message["Message-ID"] = f"<q{number}.CAH7x@mail.gmail.com>"
    message.set_content(f"Cho em hỏi câu số {number} ạ." + "\n" + "x" * size)
    return message.as_bytes()


@pytest.fixture
def imap_server() -> Iterator[FakeImapServer]:
    with FakeImapServer(users={ADDRESS: PASSWORD}) as server:
        yield server


def test_the_first_poll_fetches_everything_without_marking_it_read(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    raws = [customer_mail(number) for number in (1, 2, 3)]
    for raw in raws:
        inbox.add(raw)
    result = adapter_for(imap_port=imap_server.port).poll(cursor=None)
    assert [item.body for item in result.items] == raws
    assert [item.provider_id for item in result.items] == [f"q{n}.CAH7x@mail.gmail.com" for n in (1, 2, 3)]
    assert result.cursor == f"{UIDVALIDITY}:3"
    assert all(inbox.flags_of(uid) == set() for uid in (1, 2, 3))
    names = [name for name, _ in imap_server.commands]
    assert "EXAMINE" in names and "SELECT" not in names and "STORE" not in " ".join(a for _, a in imap_server.commands)
    assert ("LOGIN", f"{ADDRESS} ***") in imap_server.commands


def test_the_next_polls_fetch_only_what_is_new(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    for number in (1, 2):
        inbox.add(customer_mail(number))
    adapter = adapter_for(imap_port=imap_server.port)
    first = adapter.poll(cursor=None)
    # UID 3:* matches UID 2 too (the highest UID), so nothing must come back twice.
    nothing = adapter.poll(cursor=first.cursor)
    assert nothing.items == [] and nothing.cursor == first.cursor == f"{UIDVALIDITY}:2"
    inbox.add(customer_mail(3))
    inbox.add(customer_mail(4))
    later = adapter.poll(cursor=nothing.cursor)
    assert [item.provider_id for item in later.items] == ["q3.CAH7x@mail.gmail.com", "q4.CAH7x@mail.gmail.com"]
    assert later.cursor == f"{UIDVALIDITY}:4"


def test_a_new_uidvalidity_starts_over(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    for number in (1, 2, 3):
        inbox.add(customer_mail(number))
    adapter = adapter_for(imap_port=imap_server.port)
    first = adapter.poll(cursor=None)
    inbox.expunge(1)
    inbox.renumber(UIDVALIDITY + 1)
    again = adapter.poll(cursor=first.cursor)
    assert [item.provider_id for item in again.items] == ["q2.CAH7x@mail.gmail.com", "q3.CAH7x@mail.gmail.com"]
    assert again.cursor == f"{UIDVALIDITY + 1}:2"


def test_an_empty_mailbox(imap_server: FakeImapServer) -> None:
    adapter = adapter_for(imap_port=imap_server.port)
    result = adapter.poll(cursor=None)
    assert result.items == [] and result.cursor == f"{UIDVALIDITY}:0"
    assert adapter.poll(cursor=result.cursor).items == []


def test_a_garbled_cursor_starts_from_the_beginning(imap_server: FakeImapServer) -> None:
    imap_server.folder().add(customer_mail(1))
    result = adapter_for(imap_port=imap_server.port).poll(cursor="not a cursor")
    assert len(result.items) == 1


def test_a_poll_takes_at_most_one_batch(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    for number in range(1, 251):
        inbox.add(customer_mail(number))
    adapter = adapter_for(imap_port=imap_server.port)
    cursor = None
    sizes = []
    seen: list[str] = []
    for _ in range(4):
        result = adapter.poll(cursor=cursor)
        sizes.append(len(result.items))
        seen += [item.provider_id for item in result.items]
        cursor = result.cursor
    assert sizes == [100, 100, 50, 0]
    assert seen == [f"q{n}.CAH7x@mail.gmail.com" for n in range(1, 251)]


def test_mark_seen_flags_what_was_fetched(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    inbox.add(customer_mail(1))
    inbox.add(customer_mail(2))
    adapter_for(imap_port=imap_server.port, mark_seen="yes").poll(cursor=None)
    assert inbox.flags_of(1) == inbox.flags_of(2) == {"\\Seen"}
    assert "SELECT" in [name for name, _ in imap_server.commands]


def test_mail_without_a_message_id_keeps_one_id_across_fetches(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    inbox.add(customer_mail(0, message_id=None))
    adapter = adapter_for(imap_port=imap_server.port)
    first = adapter.poll(cursor=None).items[0]
    inbox.renumber(UIDVALIDITY + 7)
    again = adapter.poll(cursor=f"{UIDVALIDITY}:1").items[0]
    assert first.provider_id == again.provider_id
    assert first.provider_id.endswith("@xuyen.invalid")
    [message] = adapter.parse_polled(first)
    assert isinstance(message, InboundMessage)
    assert message.provider_message_id == first.provider_id
    assert message.thread_hints["synthetic_message_id"] is True


def test_new_mail_only_when_existing_mail_is_not_imported(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    for number in (1, 2, 3):
        inbox.add(customer_mail(number))
    adapter = adapter_for(imap_port=imap_server.port, import_existing="no")
    first = adapter.poll(cursor=None)
    assert first.items == [] and first.cursor == f"{UIDVALIDITY}:3"
    inbox.add(customer_mail(4))
    assert [item.provider_id for item in adapter.poll(cursor=first.cursor).items] == ["q4.CAH7x@mail.gmail.com"]


def test_a_folder_with_a_vietnamese_name(imap_server: FakeImapServer) -> None:
    imap_server.folder("Hộp thư khách & đối tác", uidvalidity=42).add(customer_mail(1))
    result = adapter_for(imap_port=imap_server.port, imap_folder="Hộp thư khách & đối tác").poll(cursor=None)
    assert len(result.items) == 1 and result.cursor == "42:1"
    assert ("EXAMINE", "H&Htk-p th&AbA- kh&AOE-ch &- &AREe0Q-i t&AOE-c") in imap_server.commands


def test_a_missing_folder_is_a_settings_error(imap_server: FakeImapServer) -> None:
    with pytest.raises(SendFailed) as caught:
        adapter_for(imap_port=imap_server.port, imap_folder="Archive").poll(cursor=None)
    assert caught.value.code == "imap_folder_missing" and not caught.value.retryable


def test_a_wrong_password_revokes_the_credentials_and_a_busy_server_is_retried(imap_server: FakeImapServer) -> None:
    with pytest.raises(SendFailed) as refused:
        adapter_for(imap_port=imap_server.port, password="old-password").poll(cursor=None)
    assert refused.value.credentials_revoked and not refused.value.retryable
    assert "AUTHENTICATIONFAILED" in refused.value.message
    imap_server.unavailable = True
    with pytest.raises(SendFailed) as busy:
        adapter_for(imap_port=imap_server.port).poll(cursor=None)
    assert busy.value.retryable and not busy.value.credentials_revoked


def test_an_unreachable_imap_server_is_retryable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(SendFailed) as caught:
        adapter_for(imap_port=port).poll(cursor=None)
    assert caught.value.retryable and caught.value.code == "imap_unreachable"


def test_a_message_over_the_size_limit_comes_as_its_header(imap_server: FakeImapServer) -> None:
    inbox = imap_server.folder()
    inbox.add(customer_mail(1))
    inbox.add(customer_mail(2, size=1_500_000))
    inbox.add(customer_mail(3))
    adapter = adapter_for(imap_port=imap_server.port, max_message_mb="1")
    items = adapter.poll(cursor=None).items
    assert [item.provider_id for item in items] == [f"q{n}.CAH7x@mail.gmail.com" for n in (1, 2, 3)]
    assert len(items[1].body) < 2000 and items[1].body.startswith(b"X-Xuyen-Truncated: ")
    [message] = adapter.parse_polled(items[1])
    assert isinstance(message, InboundMessage)
    assert message.subject == "Câu hỏi số 2"
    assert message.thread_hints["truncated_bytes"] > 1_500_000
    assert "Open it in the mailbox" in message.text


def test_imap_over_tls_and_starttls(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    with FakeImapServer(users={ADDRESS: PASSWORD}, tls=certificates.server) as server:
        server.folder().add(customer_mail(1))
        assert len(adapter_for(imap_port=server.port, imap_security="ssl").poll(cursor=None).items) == 1
    with FakeImapServer(users={ADDRESS: PASSWORD}, starttls=certificates.server, login_needs_tls=True) as server:
        server.folder().add(customer_mail(1))
        assert len(adapter_for(imap_port=server.port, imap_security="starttls").poll(cursor=None).items) == 1
        with pytest.raises(SendFailed) as caught:
            adapter_for(imap_port=server.port, imap_security="none").poll(cursor=None)
        assert caught.value.code == "imap_login_disabled"


def test_the_fake_reads_literals_and_answers_with_them(imap_server: FakeImapServer) -> None:
    raw = customer_mail(1)
    imap_server.folder().add(raw)
    client = imaplib.IMAP4("127.0.0.1", imap_server.port)
    client.literal = PASSWORD.encode()  # the password goes as a {n} literal after a continuation request
    status, _ = client._simple_command("LOGIN", f'"{ADDRESS}"')
    assert status == "OK"
    client.state = "AUTH"  # what imaplib's own login() would note
    client.select("INBOX")
    status, data = client.uid("FETCH", "1", "(FLAGS BODY[])")
    assert status == "OK"
    assert data[0][1] == raw and b"UID 1" in data[0][0]
    assert b"\\Seen" in data[1]  # BODY[] without PEEK sets \Seen, and the answer says so
    client.logout()


def test_the_fake_speaks_the_wire_protocol(imap_server: FakeImapServer) -> None:
    imap_server.folder().add(b"Subject: hi\r\n\r\nbody\r\n")
    with socket.create_connection(("127.0.0.1", imap_server.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"* OK [CAPABILITY IMAP4rev1 LITERAL+]")
        # A non-synchronising literal ({n+}) goes straight on; a synchronising one waits for "+".
        sock.sendall(f"a1 LOGIN {{{len(ADDRESS)}+}}\r\n{ADDRESS} {{{len(PASSWORD)}}}\r\n".encode())
        assert stream.readline().startswith(b"+ ")
        sock.sendall(PASSWORD.encode() + b"\r\n")
        assert stream.readline().startswith(b"a1 OK")
        sock.sendall(b"a2 FROB\r\n")
        assert stream.readline() == b"a2 BAD unknown command FROB\r\n"
        sock.sendall(b'a3 EXAMINE "INBOX\r\n')
        assert stream.readline().startswith(b"a3 BAD")
        sock.sendall(b"a4 EXAMINE inbox\r\n")
        lines = [stream.readline() for _ in range(7)]
        assert lines[2] == b"* 1 EXISTS\r\n" and lines[-1] == b"a4 OK [READ-ONLY] EXAMINE completed\r\n"
        sock.sendall(b"a5 UID FETCH 1:* (BODY.PEEK[HEADER] FLAGS)\r\n")
        assert stream.readline() == b"* 1 FETCH (UID 1 BODY[HEADER] {15}\r\n"
        assert stream.read(15) == b"Subject: hi\r\n\r\n"
        assert stream.readline() == b" FLAGS ())\r\n"
        assert stream.readline() == b"a5 OK UID FETCH completed\r\n"
        sock.sendall(b"a6 UID STORE 1 +FLAGS (\\Seen)\r\n")
        assert stream.readline() == b"a6 NO [READ-ONLY] Mailbox is read-only\r\n"
        sock.sendall(b"a7 LOGOUT\r\n")
        assert stream.readline().startswith(b"* BYE")
        assert stream.readline() == b"a7 OK LOGOUT completed\r\n"
