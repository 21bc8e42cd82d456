"""Reading fetched e-mail: bodies, encodings, attachments, reply tokens, auto-replies, bounces, broken input."""

from __future__ import annotations

import base64
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from importlib.metadata import entry_points

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xuyen.channels.base import (
    AttachmentKind,
    ChannelError,
    DeliveryState,
    InboundMessage,
    PayloadInvalid,
    PolledItem,
    StatusUpdate,
)
from xuyen.channels.email import EmailAdapter

ADDRESS = "cskh@shop.vn"
SECRET = "k3y-for-reply-tokens-0123456789abcdef"
THREAD = "5f0c6a52-8a51-4c1e-9a55-3e2b8d7c1f00"


def make_adapter(secret: str = SECRET) -> EmailAdapter:
    return EmailAdapter(settings={"address": ADDRESS, "display_name": "Shop Áo Dài", "smtp_host": "smtp.shop.vn",
                                  "imap_host": "imap.shop.vn"},
                        secrets={"password": "x", "reply_token_secret": secret})


ADAPTER = make_adapter()


def crlf(text: str) -> bytes:
    return text.strip("\n").replace("\n", "\r\n").encode("utf-8") + b"\r\n"


def read(raw: bytes, provider_id: str = "") -> InboundMessage:
    [message] = ADAPTER.parse_polled(PolledItem(provider_id=provider_id, body=raw))
    assert isinstance(message, InboundMessage)
    return message


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# A Gmail reply: multipart/alternative, Vietnamese, the quoted history below, sent to our reply address.
GMAIL_REPLY = crlf(f"""
Delivered-To: {ADAPTER.reply_address(THREAD)}
Received: by 2002:a05:6a10:8e0d:b0:5a1:2b3c:4d5e with SMTP id x13csp123456pxb;
        Tue, 4 Jun 2024 02:20:11 -0700 (PDT)
Return-Path: <lan.nguyen@gmail.com>
MIME-Version: 1.0
References: <xuyen.aaaa@shop.vn> <xuyen.bbbb@shop.vn>
In-Reply-To: <xuyen.bbbb@shop.vn>
From: =?UTF-8?B?Tmd1eeG7hW4gVGjhu4sgTGFu?= <Lan.Nguyen@Gmail.com>
Date: Tue, 4 Jun 2024 16:20:00 +0700
Message-ID: <CAH7x+Qd2=kQ3sLkd9_9xYz@mail.gmail.com>
Subject: =?UTF-8?Q?Re=3A_H=E1=BB=8Fi_v=E1=BB=81_=C4=91=C6=A1n_h=C3=A0ng_=231042?=
To: Shop =?UTF-8?B?w4FvIETDoGk=?= <{ADAPTER.reply_address(THREAD)}>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64('''Dạ em nhận được rồi, cảm ơn shop ạ.
Khi nào hàng tới Đà Nẵng vậy shop?

Vào Th 3, 4 thg 6, 2024 vào lúc 15:02 Shop Áo Dài <
cskh@shop.vn> đã viết:

> Dạ, đơn hàng của chị đã được giao cho đơn vị vận chuyển.
>
''')}
--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64('''<div dir="ltr">Dạ em nhận được rồi, cảm ơn shop ạ.<div>Khi nào hàng tới Đà Nẵng vậy shop?</div></div><br>
<div class="gmail_quote"><div dir="ltr" class="gmail_attr">Vào Th 3, 4 thg 6, 2024 vào lúc 15:02 Shop Áo Dài
&lt;<a href="mailto:cskh@shop.vn">cskh@shop.vn</a>&gt; đã viết:<br></div><blockquote class="gmail_quote"
style="margin:0px 0px 0px 0.8ex">Dạ, đơn hàng của chị đã được giao cho đơn vị vận chuyển.</blockquote></div>''')}
--000000000000a1b2c3d4e5f60718--
""")


def test_a_gmail_reply() -> None:
    message = read(GMAIL_REPLY)
    assert message.provider_message_id == "CAH7x+Qd2=kQ3sLkd9_9xYz@mail.gmail.com"
    assert message.contact.address.type == "email"
    assert message.contact.address.value == "lan.nguyen@gmail.com"
    assert message.contact.name == "Nguyễn Thị Lan"
    assert message.subject == "Re: Hỏi về đơn hàng #1042"
    assert message.text == "Dạ em nhận được rồi, cảm ơn shop ạ.\nKhi nào hàng tới Đà Nẵng vậy shop?"
    assert "đã viết:" in message.thread_hints["full_text"]
    assert "> Dạ, đơn hàng của chị" in message.thread_hints["full_text"]
    assert message.sent_at == datetime(2024, 6, 4, 9, 20, tzinfo=UTC)
    assert message.thread_hints["thread_key"] == THREAD
    assert message.thread_hints["reply_token"] == "valid"
    assert message.thread_hints["in_reply_to"] == ["xuyen.bbbb@shop.vn"]
    assert message.thread_hints["references"] == ["xuyen.aaaa@shop.vn", "xuyen.bbbb@shop.vn"]
    assert message.reply_to_provider_id == "xuyen.bbbb@shop.vn"
    assert message.attachments == ()
    assert "auto_reply" not in message.thread_hints


def test_the_same_mail_gives_the_same_ids() -> None:
    assert read(GMAIL_REPLY) == read(GMAIL_REPLY, provider_id="something else")


HTML_ONLY = crlf("""
From: "Tran Minh Duc" <duc.tran@outlook.com>
To: cskh@shop.vn
Subject: =?utf-8?B?xJDhu5VpIHNpemUgw6FvIHNvIG1pIG5hbQ==?=
Date: Wed, 5 Jun 2024 08:00:00 +0000
Message-ID: <PH0PR11MB5000.namprd11.prod.outlook.com>
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<html><head><style>p {color: red}</style><title>x</title></head><body>
<p>Ch=C3=A0o shop,</p><p>M=C3=ACnh mu=E1=BB=91n =C4=91=E1=BB=95i size M sang L cho =
=C4=91=C6=A1n <b>#1042</b>.<br>Xem <a href=3D"https://shop.vn/don/1042">=C4=91=C6=A1n h=C3=A0ng</a>.</p>
<ul><li>=C3=81o s=C6=A1 mi</li><li>Qu=E1=BA=A7n t=C3=A2y</li></ul>
<script>alert(1)</script>
<div id=3D"appendonsend"></div><hr><div id=3D"divRplyFwdMsg"><b>From:</b> Shop &lt;cskh@shop.vn&gt;<br>
<b>Sent:</b> Tuesday<br></div><div>C=C5=A9 r=E1=BB=93i</div>
</body></html>
""")


def test_an_html_only_mail_becomes_text() -> None:
    message = read(HTML_ONLY)
    assert message.subject == "Đổi size áo so mi nam"
    assert message.contact.name == "Tran Minh Duc"
    assert message.text == ("Chào shop,\n\nMình muốn đổi size M sang L cho đơn #1042.\n"
                            "Xem đơn hàng <https://shop.vn/don/1042>.\n\n- Áo sơ mi\n- Quần tây")
    assert "alert" not in message.text and "color" not in message.text
    assert "Cũ rồi" in message.thread_hints["full_text"]


def _with_attachments() -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "Phạm Hoa <hoa.pham@yahoo.com.vn>"
    message["To"] = ADDRESS
    message["Subject"] = "Ảnh sản phẩm bị lỗi"
    message["Message-ID"] = "<1234.abcd@yahoo.com.vn>"
    message["Date"] = "Thu, 06 Jun 2024 10:00:00 +0700"
    message.set_content("Shop xem giúp em ảnh và hoá đơn nhé.")
    message.add_alternative("<p>Shop xem giúp em <b>ảnh</b> và hoá đơn nhé.</p><img src='cid:anh1'>",
                            subtype="html")
    html = message.get_payload()[1]
    html.add_related(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, maintype="image", subtype="png", cid="<anh1>",
                     filename="ảnh chụp.png")
    message.add_attachment(b"%PDF-1.7 " + b"x" * 5000, maintype="application", subtype="pdf",
                           filename="Hoá đơn số 1042.pdf")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="đơn.csv")
    return message.as_bytes()


def test_a_mail_with_attachments() -> None:
    raw = _with_attachments()
    message = read(raw)
    assert message.text == "Shop xem giúp em ảnh và hoá đơn nhé."
    by_name = {attachment.name: attachment for attachment in message.attachments}
    assert set(by_name) == {"ảnh chụp.png", "Hoá đơn số 1042.pdf", "đơn.csv"}
    image, pdf, csv = by_name["ảnh chụp.png"], by_name["Hoá đơn số 1042.pdf"], by_name["đơn.csv"]
    assert (image.kind, image.mime_type, image.size_bytes) == (AttachmentKind.IMAGE, "image/png", 308)
    assert image.meta["content_id"] == "anh1"
    assert (pdf.kind, pdf.mime_type, pdf.size_bytes) == (AttachmentKind.FILE, "application/pdf", 5009)
    assert (csv.kind, csv.mime_type) == (AttachmentKind.FILE, "text/csv")
    assert ADAPTER.attachment_content(raw, pdf.meta["section"]) == b"%PDF-1.7 " + b"x" * 5000
    assert ADAPTER.attachment_content(raw, image.meta["section"]) == b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
    assert ADAPTER.attachment_content(raw, "9.9") is None


def test_a_forwarded_mail_is_one_attachment() -> None:
    inner = EmailMessage(policy=policy.SMTP)
    inner["From"] = "noreply@giaohangnhanh.vn"
    inner["Subject"] = "Đơn hàng đã giao"
    inner.set_content("Giao thành công")
    outer = EmailMessage(policy=policy.SMTP)
    outer["From"] = "hoa.pham@yahoo.com.vn"
    outer["Subject"] = "Fwd: Đơn hàng đã giao"
    outer["Message-ID"] = "<fwd.1@yahoo.com.vn>"
    outer.set_content("Em chưa nhận được hàng mà báo giao rồi")
    outer.add_attachment(inner)
    message = read(outer.as_bytes())
    [attachment] = message.attachments
    assert attachment.name == "Đơn hàng đã giao.eml" and attachment.mime_type == "message/rfc822"
    assert message.text == "Em chưa nhận được hàng mà báo giao rồi"
    content = ADAPTER.attachment_content(outer.as_bytes(), attachment.meta["section"])
    assert content is not None and b"Giao th" in content


def test_legacy_charsets_and_raw_8bit_headers() -> None:
    windows_1258 = "Cho tôi ho\u0309i gia\u0301".encode("cp1258")  # Windows-1258 writes tones as combining marks
    raw = (b"From: Tr\xe1\xba\xa7n Th\xe1\xbb\x8b B\xc3\xadch <bich@fpt.vn>\r\n"
           b"Subject: =?windows-1258?Q?H=F3i_gi=E1?= =?utf-8?Q?_=C4=91=C6=A1n?=\r\n"
           b"Message-ID: <cp@fpt.vn>\r\nContent-Type: text/plain; charset=windows-1258\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + windows_1258 + b"\r\n")
    message = read(raw)
    assert message.contact.name == "Trần Thị Bích"
    assert message.subject is not None and message.subject.endswith(" đơn")
    assert message.text == "Cho tôi hỏi giá"


def test_an_unknown_charset_is_read_as_utf8() -> None:
    raw = crlf("""
From: a@b.vn
Message-ID: <u@b.vn>
Content-Type: text/plain; charset=x-no-such-charset

Chào shop
""")
    assert read(raw).text == "Chào shop"


def test_a_mail_without_message_id_or_date() -> None:
    raw = crlf("""
From: khach@gmail.com
Subject: hello

no id here
""")
    before = datetime.now(UTC)
    message = read(raw)
    assert message.provider_message_id.endswith("@xuyen.invalid")
    assert message.provider_message_id == read(raw).provider_message_id
    assert message.thread_hints["synthetic_message_id"] is True
    assert before <= message.sent_at <= datetime.now(UTC)
    assert read(raw, provider_id="given@x").provider_message_id == "given@x"


def test_a_date_without_a_zone_is_utc() -> None:
    raw = crlf("""
From: khach@gmail.com
Message-ID: <d@x>
Date: Tue, 04 Jun 2024 10:00:00 -0000

hi
""")
    assert read(raw).sent_at == datetime(2024, 6, 4, 10, tzinfo=UTC)


@pytest.mark.parametrize(("body", "expected"), [
    ("Cảm ơn shop!\n\nOn Tue, Jun 4, 2024 at 3:02 PM Shop Áo Dài <cskh@shop.vn> wrote:\n> Dạ vâng", "Cảm ơn shop!"),
    ("Ok ạ\n\nOn Tue, Jun 4, 2024 at 3:02 PM Shop Áo Dài <\ncskh@shop.vn> wrote:\n\n> Dạ", "Ok ạ"),
    ("Đồng ý\n\n-----Original Message-----\nFrom: Shop\nSent: Monday\nSubject: x\n\nold", "Đồng ý"),
    ("Vâng\n\n________________________________\nFrom: Shop <cskh@shop.vn>\nSent: Monday\nTo: me\nSubject: x\n",
     "Vâng"),
    ("Được ạ\n\nTừ: Shop <cskh@shop.vn>\nĐã gửi: Thứ Hai\nĐến: em\nChủ đề: Đơn hàng\n\ncũ", "Được ạ"),
    ("Mình lấy 2 cái.\n\n-- \nNguyễn Văn An\n0912 345 678", "Mình lấy 2 cái."),
    ("Mình lấy 2 cái.\n\nSent from my iPhone", "Mình lấy 2 cái."),
    ("Ý em là:\n> size M\ncòn không?\n> màu đỏ\ncó ạ", "Ý em là:\ncòn không?\ncó ạ"),
    ("From: Hà Nội\nTo: Sài Gòn\nGửi hàng đi giúp em", "From: Hà Nội\nTo: Sài Gòn\nGửi hàng đi giúp em"),
    ("> all of it is quoted\n> nothing new", "> all of it is quoted\n> nothing new"),
])
def test_quoted_history_and_signatures_are_set_apart(body: str, expected: str) -> None:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "khach@gmail.com"
    message["Message-ID"] = "<q@x>"
    message.set_content(body)
    result = read(message.as_bytes())
    assert result.text == expected
    if expected != body:
        assert result.thread_hints["full_text"] == "\n".join(line.rstrip() for line in body.strip().split("\n"))
    else:
        assert "full_text" not in result.thread_hints


def test_format_flowed_is_joined_back() -> None:
    raw = crlf("""
From: khach@icloud.com
Message-ID: <f@x>
Content-Type: text/plain; charset=utf-8; format=flowed; delsp=no

Dạ shop cho em hỏi áo này còn size M màu đỏ không ạ, em cần gấp để đi dự\x20
đám cưới cuối tuần này.

--\x20
Mai
""")
    assert read(raw).text == ("Dạ shop cho em hỏi áo này còn size M màu đỏ không ạ, em cần gấp để đi dự "
                              "đám cưới cuối tuần này.")


# Reply tokens -----------------------------------------------------------------------------------------


def to(address: str) -> bytes:
    return crlf(f"""
From: khach@gmail.com
To: {address}
Message-ID: <t@x>
In-Reply-To: <xuyen.cccc@shop.vn>

ok
""")


@pytest.mark.parametrize("thread_key", [THREAD, "1042", "0", "conv_2024/ab", "hội-thoại-1"])
def test_a_reply_token_carries_its_thread_key(thread_key: str) -> None:
    address = ADAPTER.reply_address(thread_key)
    assert ADAPTER.thread_key_from(address) == thread_key
    assert ADAPTER.thread_key_from(address.upper()) == thread_key  # mail systems may fold the case
    assert ADAPTER.thread_key_from(f"Shop <{address}>") == thread_key
    assert read(to(address)).thread_hints["thread_key"] == thread_key


def _forgeries() -> dict[str, str]:
    genuine = ADAPTER.reply_address(THREAD)
    local, domain = genuine.split("@")
    body, signature = local[:-13], local[-13:]
    other = ADAPTER.reply_address("1042").split("@")[0][-13:]
    flipped = ("b" if signature[0] != "b" else "c") + signature[1:]
    payload_changed = body[:-1] + ("a" if body[-1] != "a" else "b")
    return {
        "random signature": f"{body}{'a' * len(signature)}@{domain}",
        "another thread's signature": f"{body}{other}@{domain}",
        "tampered signature": f"{body}{flipped}@{domain}",
        "tampered thread key": f"{payload_changed}{signature}@{domain}",
        "short signature": f"{body}{signature[:-1]}@{domain}",
        "thread key written another way": f"cskh+r-s{base64.b32encode(b'1042').decode().rstrip('=').lower()}"
                                          f"{ADAPTER.reply_address('1042').split('@')[0][-13:]}@{domain}",
        "another secret": make_adapter("another-secret-0123456789").reply_address(THREAD),
        "garbage": "cskh+r-%%%@shop.vn",
        "empty token": "cskh+r-@shop.vn",
    }


@pytest.mark.parametrize("case", list(_forgeries()))
def test_a_forged_or_altered_token_gives_no_thread(case: str) -> None:
    address = _forgeries()[case]
    assert ADAPTER.thread_key_from(address) is None
    message = read(to(address))
    assert "thread_key" not in message.thread_hints
    assert message.thread_hints["reply_token"] == "invalid"
    assert message.thread_hints["in_reply_to"] == ["xuyen.cccc@shop.vn"]


def test_without_a_token_only_the_message_ids_hint_the_thread() -> None:
    message = read(to(ADDRESS))
    assert "thread_key" not in message.thread_hints and "reply_token" not in message.thread_hints
    assert message.reply_to_provider_id == "xuyen.cccc@shop.vn"


def test_a_genuine_token_anywhere_among_the_recipients_wins() -> None:
    raw = crlf(f"""
From: khach@gmail.com
To: {_forgeries()["random signature"]}
Cc: someone@else.vn, {ADAPTER.reply_address("77")}
Message-ID: <t2@x>

ok
""")
    assert read(raw).thread_hints["thread_key"] == "77"


def test_a_thread_key_too_long_for_an_address_is_refused() -> None:
    with pytest.raises(ChannelError):
        ADAPTER.reply_address("x" * 60)


# Machines writing: auto-replies, bounces, read receipts -----------------------------------------------


@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied",
    "Auto-Submitted: auto-generated; owner-email=\"it@corp.vn\"",
    "Precedence: bulk",
    "Precedence: auto_reply",
    "X-Autoreply: yes",
    "List-Unsubscribe: <mailto:unsub@news.vn>",
    "Return-Path: <>",
    "Subject: Automatic reply: Hỏi về đơn hàng",
    "Subject: Trả lời tự động: Hỏi về đơn hàng",
])
def test_auto_replies_are_flagged(header: str) -> None:
    raw = crlf(f"""
From: khach@corp.vn
Message-ID: <auto@x>
{header}

Tôi đang nghỉ phép đến thứ Hai.
""")
    message = read(raw)
    assert message.thread_hints["auto_reply"] is True
    assert message.thread_hints["auto_reply_reason"]


def test_auto_submitted_no_is_a_person() -> None:
    raw = crlf("""
From: khach@corp.vn
Message-ID: <person@x>
Auto-Submitted: no

Chào shop
""")
    assert "auto_reply" not in read(raw).thread_hints


BOUNCE = crlf("""
Return-Path: <>
From: MAILER-DAEMON@mail.shop.vn (Mail Delivery System)
To: cskh@shop.vn
Subject: Undelivered Mail Returned to Sender
Date: Fri, 7 Jun 2024 11:00:05 +0700 (ICT)
Message-Id: <20240607040005.1A2B3C@mail.shop.vn>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="1A2B3C.1717732805/mail.shop.vn"

--1A2B3C.1717732805/mail.shop.vn
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.shop.vn.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--1A2B3C.1717732805/mail.shop.vn
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.shop.vn
X-Postfix-Queue-ID: 1A2B3C
Arrival-Date: Fri,  7 Jun 2024 11:00:01 +0700 (ICT)

Final-Recipient: rfc822; khong.ton.tai@gmail.com
Original-Recipient: rfc822;khong.ton.tai@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
    not exist.

--1A2B3C.1717732805/mail.shop.vn
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Shop <cskh@shop.vn>
To: khong.ton.tai@gmail.com
Subject: Re: order
Message-ID: <xuyen.dddd@shop.vn>

--1A2B3C.1717732805/mail.shop.vn--
""")


def test_a_bounce_fails_the_original_message() -> None:
    [update] = ADAPTER.parse_polled(PolledItem(provider_id="", body=BOUNCE))
    assert isinstance(update, StatusUpdate)
    assert update.state is DeliveryState.FAILED
    assert update.provider_message_id == "xuyen.dddd@shop.vn"
    assert update.contact is not None and update.contact.address.value == "khong.ton.tai@gmail.com"
    assert update.error is not None and "5.1.1" in update.error and "does not exist" in update.error
    assert update.at == datetime(2024, 6, 7, 4, 0, 1, tzinfo=UTC)


def test_a_bounce_with_the_whole_message_returned_and_a_delay() -> None:
    raw = crlf("""
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: cskh@shop.vn
Message-ID: <dsn.1@mx.google.com>
Date: Fri, 7 Jun 2024 13:00:00 -0700
MIME-Version: 1.0
Content-Type: multipart/report; boundary="b1"; report-type=delivery-status

--b1
Content-Type: text/plain; charset="UTF-8"

Delivery incomplete: there was a temporary problem delivering your message.
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Fri, 07 Jun 2024 12:00:00 -0700

Final-Recipient: rfc822; a@b.vn
Action: delayed
Status: 4.4.1
Last-Attempt-Date: Fri, 07 Jun 2024 12:59:00 -0700

--b1
Content-Type: message/rfc822

From: Shop <cskh@shop.vn>
To: a@b.vn
Message-ID: <xuyen.eeee@shop.vn>
Subject: hello

hello
--b1--
""")
    assert ADAPTER.parse_polled(PolledItem(provider_id="", body=raw)) == []  # delayed: nothing to tell yet
    delivered = raw.replace(b"Action: delayed\r\nStatus: 4.4.1", b"Action: delivered\r\nStatus: 2.0.0")
    [update] = ADAPTER.parse_polled(PolledItem(provider_id="", body=delivered))
    assert isinstance(update, StatusUpdate)
    assert (update.state, update.provider_message_id) == (DeliveryState.DELIVERED, "xuyen.eeee@shop.vn")
    assert update.at == datetime(2024, 6, 7, 19, 59, tzinfo=UTC)
    assert update.error is None


def test_a_read_receipt_marks_the_message_read() -> None:
    raw = crlf("""
From: khach@corp.vn
To: cskh@shop.vn
Subject: Read: Re: order
Date: Fri, 7 Jun 2024 12:00:00 +0700
Message-ID: <mdn@corp.vn>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain

Your message was displayed.
--mdn
Content-Type: message/disposition-notification

Reporting-UA: corp.vn; Outlook
Final-Recipient: rfc822;khach@corp.vn
Original-Message-ID: <xuyen.ffff@shop.vn>
Disposition: manual-action/MDN-sent-manually; displayed

--mdn--
""")
    [update] = ADAPTER.parse_polled(PolledItem(provider_id="", body=raw))
    assert isinstance(update, StatusUpdate)
    assert (update.state, update.provider_message_id) == (DeliveryState.READ, "xuyen.ffff@shop.vn")
    assert update.at == datetime(2024, 6, 7, 5, tzinfo=UTC)


# Broken and huge input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"",
    b"\r\n\r\n",
    b"\x00\xff\xfe garbage \x89PNG",
    b"Subject: no sender here\r\n\r\nbody",
    b"From: not-an-address\r\n\r\nbody",
    b"From: <>\r\n\r\nbody",
    b"this is not\nan e-mail at all",
])
def test_unreadable_mail_is_payload_invalid(raw: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        ADAPTER.parse_polled(PolledItem(provider_id="x", body=raw))


def test_broken_structure_is_read_as_far_as_it_goes() -> None:
    raw = crlf("""
From: =?utf-8?B?!!!notbase64?= <khach@gmail.com>
Subject: =?x-unknown?Q?abc?=
Message-ID: <broken@x>
Date: not a date at all
In-Reply-To: garbage without brackets
Content-Type: multipart/mixed

this multipart has no boundary
""")
    message = read(raw)
    assert message.contact.address.value == "khach@gmail.com"
    assert "no boundary" in message.text
    assert message.reply_to_provider_id is None


def test_a_huge_mail_is_read_with_its_text_capped() -> None:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "khach@gmail.com"
    message["Message-ID"] = "<huge@x>"
    message.set_content("Dòng chữ rất dài. " * 20_000)
    message.add_attachment(bytes(12 * 1024 * 1024), maintype="video", subtype="mp4", filename="clip.mp4")
    started = datetime.now(UTC)
    result = read(message.as_bytes())
    assert datetime.now(UTC) - started < timedelta(seconds=20)
    assert len(result.text) <= 100_010 and result.text.endswith("[…]")
    assert result.thread_hints["text_truncated"] is True
    [video] = result.attachments
    assert (video.kind, video.size_bytes) == (AttachmentKind.VIDEO, 12 * 1024 * 1024)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash(raw: bytes) -> None:
    with contextlib.suppress(PayloadInvalid):
        ADAPTER.parse_polled(PolledItem(provider_id="x", body=raw))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_real_mail_never_crashes(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from([GMAIL_REPLY, HTML_ONLY, BOUNCE]))
    cut = data.draw(st.integers(min_value=0, max_value=len(source)))
    junk = data.draw(st.binary(max_size=40))
    raw = source[:cut] + junk + source[cut + len(junk):]
    with contextlib.suppress(PayloadInvalid):
        ADAPTER.parse_polled(PolledItem(provider_id="x", body=raw))


def test_adapter_settings_are_checked() -> None:
    base_settings = {"address": ADDRESS, "smtp_host": "h", "imap_host": "h"}
    good_secrets = {"password": "p", "reply_token_secret": SECRET}
    for settings_override, secrets_override in [
        ({"address": "not-an-address"}, {}),
        ({"smtp_security": "tls1.3"}, {}),
        ({"imap_port": "99999"}, {}),
        ({"mark_seen": "maybe"}, {}),
        ({}, {"reply_token_secret": "short"}),
        ({"imap_host": ""}, {}),
    ]:
        with pytest.raises(ChannelError):
            EmailAdapter(settings={**base_settings, **settings_override}, secrets={**good_secrets, **secrets_override})
    adapter = EmailAdapter(settings=base_settings, secrets=good_secrets)
    assert adapter.smtp_server.port == 587 and adapter.imap_server.port == 993
    assert adapter.smtp_server.username == ADDRESS and adapter.imap_server.folder == "INBOX"
    assert adapter.capabilities.subject and adapter.capabilities.attachments and adapter.capabilities.polled
    assert adapter.capabilities.reply_window is None
    rule = adapter.reply_rule(last_inbound_at=None, now=datetime.now(UTC))
    assert rule.free_text and rule.until is None


def test_the_adapter_is_the_email_entry_point() -> None:
    [point] = entry_points(group="xuyen.channels", name="email")
    assert point.load() is EmailAdapter and EmailAdapter.kind == "email"


def test_uuid_thread_keys_fit_long_mailbox_names() -> None:
    adapter = EmailAdapter(settings={"address": "cham.soc.khach.hang@shop.vn", "smtp_host": "h", "imap_host": "h"},
                           secrets={"password": "p", "reply_token_secret": SECRET})
    address = adapter.reply_address(str(uuid.uuid4()))
    assert len(address.split("@")[0]) <= 64
