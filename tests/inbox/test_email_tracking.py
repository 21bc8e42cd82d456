"""E-mail open and click tracking, end to end: an outreach e-mail with HTML goes out over real SMTP (aiosmtpd) with
its links rewritten and an open pixel; the public pixel and links count opens and clicks, announce the first of each
once, and the messaging policy learns from them. Forged, borrowed, out-of-range and oversized tokens are refused
plainly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.channels.test_email import SmtpServer, run_smtp
from tests.inbox.outreach_support import connect, events
from tests.journeys.policy.conftest import customer
from xuyen.channels.base import Capabilities
from xuyen.config import get_settings
from xuyen.inbox.beacons import PIXEL
from xuyen.inbox.engagement import (
    ENGAGED,
    MAX_LINKS,
    click_token,
    open_token,
    read_click_token,
    read_open_token,
    tracked_html,
)
from xuyen.inbox.models import Message, MessageTracking
from xuyen.inbox.outreach import queue_outreach
from xuyen.inbox.threads import erase_messages_of
from xuyen.journeys.policy.models import ChannelEngagement
from xuyen.worker import Worker

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

CUSTOMER = "lan@example.vn"
HTML = ('<html><body><h1>Bộ sưu tập Tết</h1>'
        '<p><a href="https://shop.vn/tet?utm_source=email&amp;utm_campaign=tet">Xem bộ sưu tập</a></p>'
        '<p><a href="mailto:cskh@shop.vn">Hỏi shop</a> · <a href="#top">Lên đầu</a></p>'
        '<p><a class="btn" href="http://shop.vn/ao-dai/lua">Áo dài lụa</a></p></body></html>')
TEXT = "Bộ sưu tập Tết: https://shop.vn/tet\nÁo dài lụa: http://shop.vn/ao-dai/lua"
JOURNEY = {"journey_id": 3, "enrolment_id": 77, "node": "tet-mail"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from run_smtp(auth_require_tls=False)


def _mail(session: Session, smtp: SmtpServer, profile_id: int, *, key: str = "j3:e77:tet",
          track: bool = True) -> Message:
    message = queue_outreach(session, profile_id=profile_id, channel_kind="email", address_type="email",
                             address=CUSTOMER, text=TEXT, subject="Bộ sưu tập Tết", html=HTML, idempotency_key=key,
                             meta=JOURNEY, track=track)
    session.commit()
    return message


def _sent(smtp: SmtpServer, engine: Engine) -> EmailMessage:
    Worker(engine=engine).run_until_idle()
    return smtp.recorder.arrived[-1].parsed()


def _html_of(parsed: EmailMessage) -> str:
    part = parsed.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _paths(html: str, prefix: str) -> list[str]:
    return [urlsplit(url).path for url in re.findall(r'(?:href|src)="([^"]+)"', html) if prefix in url]


@pytest.fixture
def mailbox(session: Session, smtp: SmtpServer) -> int:
    return connect(session, "email", sandbox=False, smtp_port=str(smtp.port)).id


def test_opens_and_clicks_are_counted_and_the_first_of_each_announced(
        session: Session, engine: Engine, client: TestClient, smtp: SmtpServer, mailbox: int) -> None:
    lan = customer(session, email=CUSTOMER)
    message = _mail(session, smtp, lan)
    parsed = _sent(smtp, engine)
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    html = _html_of(parsed)
    assert "https://shop.vn/tet" not in html and "http://shop.vn/ao-dai/lua" not in html
    assert 'href="mailto:cskh@shop.vn"' in html and 'href="#top"' in html and 'class="btn"' in html
    clicks, pixels = _paths(html, "/t/c/"), _paths(html, "/t/o/")
    assert len(clicks) == 2 and len(pixels) == 1
    assert html.index(pixels[0].rsplit("/", 1)[1]) < html.index("</body>")
    session.rollback()
    stored = session.get(Message, message.id)
    assert stored is not None and stored.html is not None and stored.html.replace("\r\n", "\n") == \
        html.replace("\r\n", "\n").rstrip("\n")

    for _ in range(2):
        opened = client.get(pixels[0])
        assert opened.status_code == 200 and opened.content == PIXEL
        assert opened.headers["content-type"] == "image/gif" and "no-store" in opened.headers["cache-control"]
    first = client.get(clicks[0], follow_redirects=False)
    assert first.status_code == 302
    assert first.headers["location"] == "https://shop.vn/tet?utm_source=email&utm_campaign=tet"
    assert client.get(clicks[1], follow_redirects=False).headers["location"] == "http://shop.vn/ao-dai/lua"
    assert client.get(clicks[0], follow_redirects=False).status_code == 302

    engaged = events(session, ENGAGED)
    assert [(item["kind"], item["url"]) for item in engaged] == \
        [("opened", None), ("clicked", "https://shop.vn/tet?utm_source=email&utm_campaign=tet")]
    for item in engaged:
        assert (item["message_id"], item["conversation_id"]) == (message.id, message.conversation_id)
        assert (item["profile_id"], item["channel_kind"], item["meta"]["node"]) == (lan, "email", "tet-mail")
        assert item["meta"]["outreach"] is True and item["at"]
    tracking = session.get(MessageTracking, message.id)
    assert tracking is not None and (tracking.opens, tracking.clicks) == (2, 3)
    assert tracking.first_opened_at is not None and tracking.first_clicked_at is not None

    Worker(engine=engine).run_until_idle()
    session.rollback()
    counters = session.get(ChannelEngagement, (lan, "email"))
    assert counters is not None and (counters.opened, counters.clicked) == (1, 1)


def test_without_tracking_the_html_goes_as_written(
        session: Session, engine: Engine, smtp: SmtpServer, mailbox: int) -> None:
    lan = customer(session, email=CUSTOMER)
    message = _mail(session, smtp, lan, track=False)
    html = _html_of(_sent(smtp, engine))
    assert html.replace("\r\n", "\n").rstrip("\n") == HTML
    assert session.get(MessageTracking, message.id) is None


def test_bad_tokens_are_refused_plainly(
        session: Session, engine: Engine, client: TestClient, smtp: SmtpServer, mailbox: int) -> None:
    lan = customer(session, email=CUSTOMER)
    tracked = _mail(session, smtp, lan)
    other = _mail(session, smtp, lan, key="j3:e77:reminder")
    untracked = _mail(session, smtp, lan, key="j3:e77:plain", track=False)
    good_click, good_open = click_token(tracked.id, 0), open_token(tracked.id)
    forged = good_click[:-1] + ("A" if good_click[-1] != "A" else "B")
    borrowed_click = f"{other.id}.0.{good_click.rsplit('.', 1)[1]}"  # the signature of another message's link
    borrowed_open = f"{other.id}.{good_open.rsplit('.', 1)[1]}"
    bad_clicks = [forged, borrowed_click, click_token(tracked.id, 2), click_token(tracked.id, 999),
                  click_token(untracked.id, 0), "1." + "9" * 5000 + ".x", "x" * 60_000, "0.0.AAAAAAAAAAAAAAAAAAAAAA",
                  good_open, "%3Cscript%3E", "1.0.%00", f"{tracked.id}.-1.{good_click.rsplit('.', 1)[1]}"]
    for token in bad_clicks:
        answer = client.get(f"/t/c/{token}", follow_redirects=False)
        assert answer.status_code == 400, token
        assert answer.headers["content-type"].startswith("text/plain") and "location" not in answer.headers
        assert answer.text == "This link is not valid."
    bad_opens = [good_open[:-1] + ("A" if good_open[-1] != "A" else "B"), borrowed_open, open_token(untracked.id),
                 good_click, "9" * 70, "é.gif"]
    for token in bad_opens:
        assert client.get(f"/t/o/{token}.gif").status_code == 404, token
    assert client.get(f"/t/o/{good_open}").status_code == 404  # without .gif: no such address
    assert events(session, ENGAGED) == []
    assert client.get(f"/t/c/{good_click}", follow_redirects=False).status_code == 302  # the real one still works


def test_an_erased_customers_links_stop_working(
        session: Session, client: TestClient, smtp: SmtpServer, mailbox: int) -> None:
    lan = customer(session, email=CUSTOMER)
    message = _mail(session, smtp, lan)
    erase_messages_of(session, profile_ids=[lan])
    session.commit()
    assert session.get(MessageTracking, message.id) is None
    assert client.get(f"/t/c/{click_token(message.id, 0)}", follow_redirects=False).status_code == 400
    assert client.get(f"/t/o/{open_token(message.id)}.gif").status_code == 404


def test_html_only_goes_to_channels_that_send_it(session: Session) -> None:
    lan = customer(session)
    connect(session, "sms")
    message = queue_outreach(session, profile_id=lan, channel_kind="sms", address_type="phone", address="+84912345678",
                             text="Tết sale", html="<p>Tết sale</p>", idempotency_key="sms-1", track=True)
    session.commit()
    assert message.html is None and session.get(MessageTracking, message.id) is None
    assert Capabilities().html is False


# Rewriting, on its own ----------------------------------------------------------------------------------


def test_only_web_links_are_rewritten_and_entities_are_read() -> None:
    html = ('<p>x</p>\n<!-- <a href="https://hidden.vn">no</a> -->\n<a title="href=nope" href=\'https://a.vn/?q=1&amp;r=2\''
            '>a</a><A HREF=http://b.vn/p>b</A>\n<a href="tel:+84912345678">t</a><a href=" javascript:alert(1)">j</a>'
            '<area shape="rect" href="https://c.vn/map"><a name="top">n</a><a href="https://d.vn/ space">s</a>')
    rewritten, links = tracked_html(html, message_id=42)
    assert links == ["https://a.vn/?q=1&r=2", "http://b.vn/p", "https://c.vn/map"]
    assert '<!-- <a href="https://hidden.vn">no</a> -->' in rewritten and 'title="href=nope"' in rewritten
    assert 'href="tel:+84912345678"' in rewritten and "javascript:alert(1)" in rewritten
    assert 'href="https://d.vn/ space"' in rewritten  # not a usable address: left alone
    assert rewritten.count("/t/c/42.") == 3 and rewritten.endswith('border:0" />')  # no body: the pixel goes last


def test_a_message_with_very_many_links_tracks_the_first_ones() -> None:
    html = "<body>" + "".join(f'<a href="https://shop.vn/p/{n}">{n}</a>' for n in range(MAX_LINKS + 5)) + "</body>"
    rewritten, links = tracked_html(html, message_id=7)
    assert len(links) == MAX_LINKS and f"https://shop.vn/p/{MAX_LINKS + 4}" in rewritten
    assert rewritten.endswith("</body>")


def test_tokens_survive_a_secret_key_change_while_the_old_key_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = "an-old-secret-key-of-at-least-32-characters", "a-new-secret-key-of-at-least-32-characters!"
    monkeypatch.setenv("XUYEN_SECRET_KEY", old)
    get_settings.cache_clear()
    click, pixel = click_token(81, 1), open_token(81)
    monkeypatch.setenv("XUYEN_SECRET_KEY", new)
    get_settings.cache_clear()
    assert read_click_token(click) is None and read_open_token(pixel) is None
    monkeypatch.setenv("XUYEN_PREVIOUS_SECRET_KEYS", old)
    get_settings.cache_clear()
    assert read_click_token(click) == (81, 1) and read_open_token(pixel) == 81
    assert click_token(81, 1) != click  # new links are signed with the new key
    get_settings.cache_clear()
