"""The shop's inbox: its Zalo OA, Facebook Page, mailbox, website chat and SMS brand name connected as sandbox
channels (replies are recorded, never sent), and a fortnight of conversations.

Messages go through the inbox's own intake (``apply_inbound``): each sender is resolved through the event log and
the identity graph, so a customer who writes on Zalo and then e-mails has one conversation, and the showcase
customer's conversation spans Zalo, Messenger, e-mail and the website's chat. The shop's replies are recorded as
echoes (as if sent from the providers' own apps) at the times they were written.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xuyen.channels.base import Contact, ContactIdentifier, InboundMessage
from xuyen.clock import utcnow
from xuyen.db import session_factory
from xuyen.demo.customers import STEP as CUSTOMERS_STEP
from xuyen.demo.people import Customer
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.demo.shop import FACEBOOK_PAGE_ID, ZALO_OA_ID
from xuyen.domains import load_handlers
from xuyen.inbox.connections import SANDBOX_SETTING, add_channel_helper
from xuyen.inbox.csat.models import Response as SurveyResponse
from xuyen.inbox.csat.service import rate, token_for
from xuyen.inbox.intake import apply_inbound
from xuyen.inbox.models import Channel, Conversation, ConversationStatus
from xuyen.inbox.service import list_conversations
from xuyen.inbox.threads import announce_status, current_conversation
from xuyen.worker import Worker

STEP = "hộp thư"
DAYS = 14
CONVERSATIONS = 40
SHOP_MAILBOX = "cskh@luamay.vn"

# What customers ask, and how the shop answers (Vietnamese, as they write).
EXCHANGES: tuple[tuple[str, str], ...] = (
    ("Shop ơi, áo sơ mi lụa trắng còn size M không ạ?", "Dạ còn size M ạ, chị đặt trên web hoặc ghé cửa hàng nhé."),
    ("Đơn hàng của em giao chưa vậy shop?", "Dạ đơn của chị đã giao cho đơn vị vận chuyển, dự kiến mai tới ạ."),
    ("Em muốn đổi váy sang size L được không ạ?",
     "Dạ được ạ, chị mang váy và hoá đơn ra cửa hàng gần nhất trong 7 ngày."),
    ("Cửa hàng Hàng Gai mở cửa mấy giờ vậy ạ?", "Dạ cửa hàng mở từ 8h30 đến 21h30 mỗi ngày ạ."),
    ("Chương trình giảm giá tháng này áp dụng cho đồ mới không shop?", "Dạ áp dụng cho cả bộ sưu tập mới ạ."),
    ("Áo khoác dạ có màu be không ạ?", "Dạ có màu be và màu ghi, chị xem ảnh trên web nhé."),
    ("Shop có ship COD ra Đà Nẵng không?", "Dạ có ạ, phí ship 30.000 ₫, miễn phí cho đơn từ 500.000 ₫."),
    ("Em nhận hàng bị lỗi đường may, xử lý giúp em với.",
     "Dạ shop xin lỗi chị, shop đổi sản phẩm mới và chịu phí ship ạ."),
)
FOLLOW_UPS = ("Cảm ơn shop nhiều ạ!", "Vâng em cảm ơn.", "Ok shop, em đặt luôn nhé.", "Dạ em hiểu rồi ạ.")


def _sandbox(settings: dict[str, str]) -> dict[str, str]:
    return settings | {SANDBOX_SETTING: "true"}


def _connect(session: Session, context: DemoContext) -> dict[str, Channel]:
    """The shop's chat, e-mail and SMS channels, as sandboxes: nothing reaches a real provider. The Zalo OA and the
    Facebook page keep the event sources the shop already tracks them with."""
    demo_secret = "demo-" + uuid.UUID(int=0).hex
    sources = {source.channel.value: source.id for source in context.sources.values()}
    return {
        "zalo": add_channel_helper(session, kind="zalo", name="Zalo OA Lụa Mây", settings=_sandbox(
            {"oa_id": ZALO_OA_ID, "app_id": "4143287930275820001"}), source_id=sources["zalo"], secrets={
            "oa_secret_key": demo_secret, "app_secret": demo_secret, "access_token": demo_secret,
            "refresh_token": demo_secret}),
        "messenger": add_channel_helper(
            session, kind="messenger", name="Fanpage Facebook Lụa Mây", source_id=sources["messenger"],
            settings=_sandbox({"page_id": FACEBOOK_PAGE_ID}),
            secrets={"app_secret": demo_secret, "page_access_token": demo_secret, "verify_token": demo_secret}),
        "email": add_channel_helper(session, kind="email", name="E-mail CSKH", settings=_sandbox({
            "address": SHOP_MAILBOX, "display_name": "Lụa Mây CSKH", "smtp_host": "smtp.luamay.vn.invalid",
            "imap_host": "imap.luamay.vn.invalid", "username": SHOP_MAILBOX}), secrets={
            "password": demo_secret, "reply_token_secret": demo_secret}),
        "webchat": add_channel_helper(
            session, kind="webchat", name="Chat trên website", source_id=sources["web"],
            settings=_sandbox({"allowed_origins": "https://luamay.vn, https://www.luamay.vn"}),
            secrets={"widget_secret": demo_secret}),
        "sms": add_channel_helper(session, kind="sms", name="SMS LUAMAY", settings=_sandbox({
            "brand_name": "LUAMAY", "send_url": "https://sms.luamay.vn.invalid/v1/sms"}),
            secrets={"api_key": demo_secret, "webhook_secret": demo_secret}),
    }


def _contact(kind: str, customer: Customer) -> Contact | None:
    """How the customer appears on a channel, when they use it."""
    if kind == "zalo" and "zalo" in customer.ids:
        value = customer.ids["zalo"].split("-", 1)[1]
        return Contact(identifiers=(ContactIdentifier("zalo_id", value, scope=ZALO_OA_ID),), name=customer.typed_name)
    if kind == "messenger" and "messenger" in customer.ids:
        value = customer.ids["messenger"].split("-", 1)[1]
        return Contact(identifiers=(ContactIdentifier("facebook_psid", value, scope=FACEBOOK_PAGE_ID),),
                       name=customer.name.full)
    if kind == "email" and customer.email:
        return Contact(identifiers=(ContactIdentifier("email", customer.email),), name=customer.name.full)
    if kind == "sms":
        return Contact(identifiers=(ContactIdentifier("phone", customer.phone),))
    if kind == "webchat" and "web" in customer.ids:
        return Contact(identifiers=(ContactIdentifier("anonymous_id", customer.ids["web"]),))
    return None


def _say(session: Session, channel: Channel, contact: Contact, text: str, at: datetime, *, shop: bool,
         subject: str | None = None) -> None:
    message = InboundMessage(provider_message_id=f"demo-{uuid.uuid4().hex}", contact=contact, sent_at=at, text=text,
                             echo=shop, subject=subject)
    apply_inbound(session, channel=channel, item=message, receipt_id=None)


def _exchange(session: Session, rng: random.Random, channel: Channel, contact: Contact, start: datetime,
              *, subject: str | None = None) -> datetime:
    """A question, the shop's answer some minutes later, and now and then a thank-you; the last time."""
    question, answer = rng.choice(EXCHANGES)
    _say(session, channel, contact, question, start, shop=False, subject=subject)
    answered = start + timedelta(minutes=rng.randrange(3, 95))
    _say(session, channel, contact, answer, answered, shop=True, subject=f"Re: {subject}" if subject else None)
    if rng.random() < 0.5:
        answered += timedelta(minutes=rng.randrange(2, 30))
        _say(session, channel, contact, rng.choice(FOLLOW_UPS), answered, shop=False)
    return answered


def _settle(session: Session, rng: random.Random, conversation: Conversation | None, last: datetime,
            now: datetime, agent: str) -> None:
    """Older conversations were resolved by the agent; some recent ones wait on the customer; the rest stay open.
    The status changes are announced like the inbox's own, so SLA clocks and surveys follow them."""
    if conversation is None:
        return
    age = now - last
    if age > timedelta(days=2) and rng.random() < 0.85:
        conversation.status, conversation.resolved_at = ConversationStatus.resolved, last + timedelta(hours=1)
    elif rng.random() < 0.3:
        conversation.status = ConversationStatus.pending
    else:
        return
    announce_status(session, conversation, previous=ConversationStatus.open, actor=agent)


def _showcase_thread(session: Session, channels: dict[str, Channel], customer: Customer, now: datetime) -> None:
    """The showcase customer asks on Zalo, follows up on Messenger, sends the receipt by e-mail and asks once more
    in the website's chat (the same cookie the website's tracking knows): one thread."""
    moments = [now - timedelta(days=1, hours=3), now - timedelta(hours=20), now - timedelta(hours=2),
               now - timedelta(minutes=40)]
    psid = f"{5_900_000_000_000_000 + customer.number}"  # new on Messenger; gives the phone in the chat
    messenger = Contact(identifiers=(ContactIdentifier("facebook_psid", psid, scope=FACEBOOK_PAGE_ID),
                                     ContactIdentifier("phone", customer.phone)), name=customer.name.full)
    steps = (("zalo", "Shop ơi, váy lụa xanh mã LM-V21 còn size S không ạ?",
              "Dạ còn 2 chiếc size S ở cửa hàng Hàng Gai ạ."),
             ("messenger", "Em đặt online rồi nhưng chưa thấy tin nhắn xác nhận ạ.",
              "Dạ shop đã xác nhận đơn, chị kiểm tra giúp shop e-mail nhé."),
             ("email", "Em gửi shop ảnh hoá đơn chuyển khoản ạ.", None),
             ("webchat", "Em vừa xem trên web, váy này có bản dài hơn không shop?", None))
    for (kind, question, answer), at in zip(steps, moments, strict=True):
        contact = messenger if kind == "messenger" else _contact(kind, customer)
        if contact is None:
            continue
        subject = "Xác nhận chuyển khoản đơn hàng" if kind == "email" else None
        _say(session, channels[kind], contact, question, at, shop=False, subject=subject)
        if answer:
            _say(session, channels[kind], contact, answer, at + timedelta(minutes=12), shop=True)


@demo_step(STEP, order=45)
def add_inbox(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The shop's channels and about ``CONVERSATIONS`` conversations of the last ``DAYS`` days."""
    channels = _connect(session, context)
    agent = next((f"user:{user.id}" for email, user in context.users.items() if email.startswith("cskh@")), "demo")
    people: list[Customer] = context.extra.get(CUSTOMERS_STEP, {}).get("people", [])
    now = utcnow()
    showcase = next((customer for customer in people if customer.showcase), None)
    if showcase is not None:
        _showcase_thread(session, channels, showcase, now)
    chatty = [customer for customer in people if not customer.showcase and (customer.ids or customer.email)]
    for customer in rng.sample(chatty, min(CONVERSATIONS, len(chatty))):
        kinds = [kind for kind in ("zalo", "messenger", "email", "sms") if _contact(kind, customer) is not None]
        kind = rng.choice(kinds)
        contact = _contact(kind, customer)
        assert contact is not None
        start = now - timedelta(days=rng.uniform(0.05, DAYS))
        subject = "Hỏi về sản phẩm" if kind == "email" else None
        last = _exchange(session, rng, channels[kind], contact, start, subject=subject)
        session.flush()
        profile = _profile_of(session, channels[kind], contact)
        _settle(session, rng, current_conversation(session, profile_id=profile) if profile else None, last, now,
                agent=agent)
    context.extra[STEP] = {"channels": len(channels)}


def _profile_of(session: Session, channel: Channel, contact: Contact) -> int | None:
    from xuyen.inbox.threads import find_contact_point

    point = find_contact_point(session, channel=channel, contact=contact)
    return point.profile_id if point else None


def showcase_conversation(session: Session, *, profile_id: int) -> int | None:
    """The showcase customer's conversation, the one to open in the inbox."""
    found = list_conversations(session, status=None, profile_id=profile_id, limit=1)
    return found[0].id if found else None


SURVEY_COMMENTS = ("Tư vấn nhiệt tình, cảm ơn shop!", "Trả lời hơi chậm nhưng giải quyết ổn.", "", "Rất hài lòng.",
                   "Nhân viên dễ thương.", "")


def finish_inbox(engine: Engine, *, seed: int) -> int:
    """Let a worker build what the demo inbox's events lead to (SLA clocks, satisfaction surveys sent on the
    sandbox channels), then have most customers answer their survey; how many answered."""
    load_handlers()  # every domain's subscribers, before anything is dispatched
    Worker(engine=engine).run_until_idle()
    rng = random.Random(f"{seed}:surveys")
    answered = 0
    with session_factory(engine)() as session:
        waiting = list(session.scalars(select(SurveyResponse.id).where(SurveyResponse.sent_at.is_not(None),
                                                                        SurveyResponse.answered_at.is_(None))
                                       .order_by(SurveyResponse.id)))
        for response_id in waiting:
            if rng.random() < 0.7:
                rating = rng.choices((5, 4, 3, 2, 1), weights=(50, 30, 12, 5, 3))[0]
                rate(session, token=token_for(response_id), rating=rating,
                     comment=rng.choice(SURVEY_COMMENTS) or None)
                answered += 1
    return answered
