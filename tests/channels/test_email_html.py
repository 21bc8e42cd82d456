"""HTML e-mail through a real SMTP server (aiosmtpd): a message with HTML arrives as multipart/alternative, the plain
text first and the HTML second, both in UTF-8; a message without HTML stays a single text/plain part."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.test_email import SmtpServer, adapter_for, reply, run_smtp
from xuyen.channels.base import Attachment, AttachmentKind

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

HTML = ('<html><body><h1>Ưu đãi tháng 12</h1><p>Giảm <b>20%</b> cho áo dài lụa.</p>'
        '<a href="https://shop.vn/ao-dai?utm=email&amp;x=1">Xem ngay</a></body></html>')
TEXT = "Ưu đãi tháng 12\n\nGiảm 20% cho áo dài lụa.\n\nXem ngay: https://shop.vn/ao-dai"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from run_smtp(auth_require_tls=False)


def test_html_goes_as_an_alternative_after_the_plain_text(smtp_server: SmtpServer) -> None:
    adapter_for(smtp_port=smtp_server.port).send(reply(text=TEXT, html=HTML, subject="Ưu đãi tháng 12"))
    [arrived] = smtp_server.recorder.arrived
    assert arrived.content.isascii()  # still 7-bit clean
    parsed = arrived.parsed()
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parts)
    assert parts[0].get_content().replace("\r\n", "\n").rstrip("\n") == TEXT
    assert parts[1].get_content().replace("\r\n", "\n").rstrip("\n") == HTML
    body = parsed.get_body(preferencelist=("html",))
    assert body is not None and "Giảm <b>20%</b>" in body.get_content()
    assert parsed["Subject"] == "Ưu đãi tháng 12"


def test_without_html_the_message_stays_plain_text(smtp_server: SmtpServer) -> None:
    adapter_for(smtp_port=smtp_server.port).send(reply(text=TEXT, html=None))
    adapter_for(smtp_port=smtp_server.port).send(reply(text=TEXT, html="", idempotency_key="msg-2"))
    for arrived in smtp_server.recorder.arrived:
        parsed = arrived.parsed()
        assert parsed.get_content_type() == "text/plain"
        assert not parsed.is_multipart()


def test_links_added_to_an_html_message_go_in_its_plain_text(smtp_server: SmtpServer) -> None:
    link = Attachment(kind=AttachmentKind.LINK, url="https://shop.vn/don-hang/1042", name="Đơn hàng")
    adapter_for(smtp_port=smtp_server.port).send(reply(text=TEXT, html=HTML, attachments=(link,)))
    parsed = smtp_server.recorder.arrived[0].parsed()
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and "Đơn hàng: https://shop.vn/don-hang/1042" in plain.get_content()
    assert html is not None and html.get_content().replace("\r\n", "\n").rstrip("\n") == HTML
