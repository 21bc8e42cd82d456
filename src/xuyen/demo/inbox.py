"""The shop's inbox: its Zalo OA, Facebook Page, mailbox, website chat and SMS brand name connected as sandbox
channels (replies are recorded, never sent), its routing (``xuyen.demo.routing``), and a fortnight of conversations.

Customers' messages go through the inbox's own intake (``apply_inbound``): each sender is resolved through the event
log and the identity graph, so a customer who writes on Zalo and then e-mails has one conversation, and the showcase
customer's conversation spans Zalo, Messenger, e-mail and the website's chat. Customers write mostly in the shop's
opening hours. Each new conversation is routed as it opens (labels by source and keywords, the first matching
assignment rule's team, the team's next available agent), and its agent's replies are recorded with their author
at the times they were written, so the SLA page shows met, at-risk and breached clocks. A few private notes
@mention the agents.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xuyen.auth.service import get_user, get_user_by_email
from xuyen.channels.base import Contact, ContactIdentifier, InboundMessage
from xuyen.clock import utcnow
from xuyen.db import session_factory
from xuyen.demo.customers import STEP as CUSTOMERS_STEP
from xuyen.demo.journeys import VIETNAM
from xuyen.demo.people import Customer
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.demo.routing import set_up_routing
from xuyen.demo.shop import DEMO_OWNER_EMAIL, FACEBOOK_PAGE_ID, ZALO_OA_ID
from xuyen.domains import load_handlers
from xuyen.inbox.connections import SANDBOX_SETTING, add_channel_helper
from xuyen.inbox.csat.models import Response as SurveyResponse
from xuyen.inbox.csat.service import rate, token_for
from xuyen.inbox.intake import apply_inbound
from xuyen.inbox.models import Channel, Conversation, ConversationStatus
from xuyen.inbox.routing import service as routing
from xuyen.inbox.service import add_note, list_conversations, record_sent_reply
from xuyen.inbox.sla.calendar import BusinessCalendar, add_business_time, business_time_between
from xuyen.inbox.sla.policies import default_calendar
from xuyen.inbox.threads import announce_status, current_conversation, find_contact_point
from xuyen.worker import Worker

STEP = "hộp thư"
DAYS = 14
CONVERSATIONS = 40
SHOP_MAILBOX = "cskh@luamay.vn"

# What customers ask, and how the shop answers (Vietnamese, as they write). Some name a store, or say "đổi size",
# "hoàn tiền", "khiếu nại", "giá bao nhiêu", "chưa nhận được hàng": the label rules pick them up.
EXCHANGES: tuple[tuple[str, str], ...] = (
    ("Shop ơi, áo sơ mi lụa trắng còn size M không ạ?", "Dạ còn size M ạ, chị đặt trên web hoặc ghé cửa hàng nhé."),
    ("Đơn hàng của em giao chưa vậy shop? Em chưa nhận được hàng.",
     "Dạ đơn của chị đã giao cho đơn vị vận chuyển, dự kiến mai tới ạ."),
    ("Em muốn đổi size váy sang L được không ạ?",
     "Dạ được ạ, chị mang váy và hoá đơn ra cửa hàng gần nhất trong 7 ngày."),
    ("Cửa hàng Hàng Gai mở cửa mấy giờ vậy ạ?", "Dạ cửa hàng mở từ 8h30 đến 21h30 mỗi ngày ạ."),
    ("Chương trình giảm giá tháng này áp dụng cho đồ mới không shop?", "Dạ áp dụng cho cả bộ sưu tập mới ạ."),
    ("Áo khoác dạ màu be giá bao nhiêu vậy shop?", "Dạ áo khoác dạ màu be giá 1.450.000 ₫ ạ, đang giảm 10%."),
    ("Cửa hàng Bạch Đằng còn áo dài lụa size M không ạ?", "Dạ cửa hàng Bạch Đằng còn 2 chiếc size M ạ."),
    ("Em nhận hàng bị lỗi đường may, em muốn khiếu nại ạ.",
     "Dạ shop xin lỗi chị, shop đổi sản phẩm mới và chịu phí ship ạ."),
    ("Cửa hàng Đồng Khởi còn váy lụa đỏ size S không shop?", "Dạ còn ạ, chị ghé cửa hàng Đồng Khởi thử nhé."),
    ("Em muốn hoàn tiền đơn hôm qua vì đặt nhầm màu ạ.",
     "Dạ shop đã ghi nhận, tiền sẽ về tài khoản chị trong 3–5 ngày làm việc ạ."),
)
FOLLOW_UPS = ("Cảm ơn shop nhiều ạ!", "Vâng em cảm ơn.", "Ok shop, em đặt luôn nhé.", "Dạ em hiểu rồi ạ.")
CLOSINGS = ("Dạ không có gì ạ, chị cần gì cứ nhắn shop nhé.", "Dạ shop cảm ơn chị ạ!")
AD_REFERRAL = {"source": "ADS", "type": "OPEN_THREAD", "ad_id": "120210456789012345",
               "ad_title": "Bộ sưu tập lụa thu đông"}
# A few conversations are this many business minutes old and still unanswered: one nearly due (at risk), one in
# good time and one overdue, whatever the hour the demo is loaded at.
WAITING_MINUTES = (52, 20, 95)
PENDING_AFTER = timedelta(minutes=10)


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


def _say(session: Session, channel: Channel, contact: Contact, text: str, at: datetime, *,
         subject: str | None = None, hints: dict[str, Any] | None = None) -> None:
    """The customer writes, through the inbox's own intake."""
    message = InboundMessage(provider_message_id=f"demo-{uuid.uuid4().hex}", contact=contact, sent_at=at, text=text,
                             subject=subject, thread_hints=hints or {})
    apply_inbound(session, channel=channel, item=message, receipt_id=None)


def _conversation(session: Session, channel: Channel, contact: Contact) -> Conversation | None:
    point = find_contact_point(session, channel=channel, contact=contact)
    return current_conversation(session, profile_id=point.profile_id) if point else None


def _answer(session: Session, conversation: Conversation, text: str, at: datetime, channel: Channel) -> bool:
    """The conversation's agent answers at ``at``; False when nobody holds it (it waits in its team's queue)."""
    if conversation.assignee_id is None:
        return False
    record_sent_reply(session, conversation_id=conversation.id, text=text, author_id=conversation.assignee_id,
                      sent_at=at, channel_id=channel.id)
    return True


def business_minutes_ago(calendar: BusinessCalendar, now: datetime, minutes: float) -> datetime:
    """The moment ``minutes`` of the shop's opening hours before ``now`` (to the second)."""
    wanted = timedelta(minutes=minutes)
    low, high = now - timedelta(days=60), now
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        low, high = (low, middle) if business_time_between(calendar, middle, now) < wanted else (middle, high)
    return low


def _customer_moment(rng: random.Random, calendar: BusinessCalendar, now: datetime) -> datetime:
    """When a customer writes: mostly in the shop's opening hours over the last ``DAYS`` days, now and then in the
    evening."""
    if rng.random() < 0.85:
        total = business_time_between(calendar, now - timedelta(days=DAYS), now).total_seconds() / 60
        return business_minutes_ago(calendar, now, rng.uniform(120, total))
    day = (now - timedelta(days=rng.uniform(1, DAYS))).astimezone(VIETNAM)
    return day.replace(hour=rng.randrange(19, 22), minute=rng.randrange(60)).astimezone(UTC)


def _reply_delay(rng: random.Random) -> timedelta:
    """How long of the shop's opening hours an agent takes to answer: mostly well within the hour's target."""
    return timedelta(minutes=rng.choices((rng.uniform(3, 40), rng.uniform(40, 58), rng.uniform(70, 180)),
                                         weights=(70, 15, 15))[0])


def _exchange(session: Session, rng: random.Random, calendar: BusinessCalendar, channel: Channel, contact: Contact,
              start: datetime, now: datetime, *, answered: bool = True) -> Conversation | None:
    """A question, routed when it arrives (labels, team, agent); the agent's answer in business time, now and then
    a thank-you and the agent's closing word. The conversation, settled later."""
    question, answer = rng.choice(EXCHANGES)
    subject = "Hỏi về sản phẩm" if channel.kind == "email" else None
    hints = {"referral": AD_REFERRAL} if channel.kind == "messenger" and rng.random() < 0.6 else None
    _say(session, channel, contact, question, start, subject=subject, hints=hints)
    conversation = _conversation(session, channel, contact)
    if conversation is None:
        return None
    routing.route_conversation(session, conversation_id=conversation.id)
    replied = add_business_time(calendar, start, _reply_delay(rng))
    if not answered or replied >= now or not _answer(session, conversation, answer, replied, channel):
        return conversation
    if rng.random() < 0.45 and (thanked := replied + timedelta(minutes=rng.randrange(2, 20))) < now:
        _say(session, channel, contact, rng.choice(FOLLOW_UPS), thanked)
        closed = thanked + timedelta(minutes=rng.randrange(1, 15))
        if rng.random() < 0.7 and closed < now:
            _answer(session, conversation, rng.choice(CLOSINGS), closed, channel)
    return conversation


def _settle(session: Session, rng: random.Random, conversation: Conversation, now: datetime) -> None:
    """An agent resolved most answered conversations older than a day, a little after the last message; some wait
    on the customer (pending); the rest stay open. ``announce_settled`` tells the other domains later."""
    last = conversation.last_message_at
    if conversation.assignee_id is None or conversation.first_reply_at is None:
        return
    if now - last > timedelta(days=1) and rng.random() < 0.85:
        conversation.status = ConversationStatus.resolved
        conversation.resolved_at = last + timedelta(minutes=rng.randrange(5, 50))
    elif rng.random() < 0.4 and last + PENDING_AFTER < now:
        conversation.status = ConversationStatus.pending


def announce_settled(session: Session) -> int:
    """Announce the demo's resolved and pending conversations at the moments they were settled, once the worker
    handled their messages: each domain handles its events in order, but not in order with another's, so a
    status change announced with the messages could be handled before them. How many (helper)."""
    settled = list(session.scalars(select(Conversation).where(Conversation.status != ConversationStatus.open)
                                   .order_by(Conversation.id)))
    for conversation in settled:
        at = conversation.resolved_at or conversation.last_message_at + PENDING_AFTER
        announce_status(session, conversation, previous=ConversationStatus.open,
                        actor=f"user:{conversation.assignee_id}", at=at)
    return len(settled)


def _showcase_thread(session: Session, channels: dict[str, Channel], customer: Customer, now: datetime) -> None:
    """The showcase customer asks on Zalo, follows up on Messenger, sends the receipt by e-mail and asks once more
    in the website's chat (the same cookie the website's tracking knows): one thread, answered by its agent."""
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
        _say(session, channels[kind], contact, question, at, subject=subject)
        conversation = _conversation(session, channels[kind], contact)
        if conversation is not None:
            routing.route_conversation(session, conversation_id=conversation.id)
            if answer:
                _answer(session, conversation, answer, at + timedelta(minutes=12), channels[kind])


@demo_step(STEP, order=45)
def add_inbox(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The shop's channels and routing, and about ``CONVERSATIONS`` conversations of the last ``DAYS`` days, in
    the order they happened: each routed when it opens, answered by its agent, settled."""
    channels = _connect(session, context)
    setup = set_up_routing(session, context)
    calendar = default_calendar()
    people: list[Customer] = context.extra.get(CUSTOMERS_STEP, {}).get("people", [])
    now = utcnow()
    chatty = [customer for customer in people if not customer.showcase and (customer.ids or customer.email)]
    chosen = rng.sample(chatty, min(CONVERSATIONS, len(chatty)))
    waiting = {index: minutes for index, minutes in enumerate(WAITING_MINUTES) if index < len(chosen)}
    plans = sorted(((business_minutes_ago(calendar, now, waiting[index]) if index in waiting
                     else _customer_moment(rng, calendar, now)), index, customer)
                   for index, customer in enumerate(chosen))
    for start, index, customer in plans:
        kinds = [kind for kind in ("zalo", "messenger", "webchat", "email", "sms")
                 if _contact(kind, customer) is not None]
        contact = _contact(kind := rng.choice(kinds), customer)
        assert contact is not None
        conversation = _exchange(session, rng, calendar, channels[kind], contact, start, now,
                                 answered=index not in waiting)
        session.flush()
        if conversation is not None:
            _settle(session, rng, conversation, now)
    showcase = next((customer for customer in people if customer.showcase), None)
    if showcase is not None:
        _showcase_thread(session, channels, showcase, now)
    context.extra[STEP] = {"channels": len(channels), "teams": setup.teams, "labels": setup.labels}


def showcase_conversation(session: Session, *, profile_id: int) -> int | None:
    """The showcase customer's conversation, the one to open in the inbox."""
    found = list_conversations(session, status=None, profile_id=profile_id, limit=1)
    return found[0].id if found else None


NOTES = ("@{name} khách này hỏi lần hai rồi, em gọi điện lại giúp chị trong hôm nay nhé.",
         "@{name} nhờ em kiểm tra giúp chị mẫu này còn hàng ở cửa hàng không rồi báo khách nhé.")
SURVEY_COMMENTS = ("Tư vấn nhiệt tình, cảm ơn shop!", "Trả lời hơi chậm nhưng giải quyết ổn.", "", "Rất hài lòng.",
                   "Nhân viên dễ thương.", "")


def add_notes(session: Session) -> int:
    """The owner asks the agents holding two open conversations for something, in private notes that @mention
    them; how many notes."""
    owner = get_user_by_email(session, email=DEMO_OWNER_EMAIL)
    held = list(session.scalars(select(Conversation).where(Conversation.status == ConversationStatus.open,
                                                           Conversation.assignee_id.is_not(None))
                                .order_by(Conversation.last_message_at.desc(), Conversation.id).limit(len(NOTES))))
    for conversation, note in zip(held, NOTES, strict=False):
        assert conversation.assignee_id is not None
        name = get_user(session, user_id=conversation.assignee_id).name
        add_note(session, conversation_id=conversation.id, text=note.format(name=name),
                 author_id=owner.id if owner else None)
    return len(held)


def finish_inbox(engine: Engine, *, seed: int) -> int:
    """Let a worker build what the demo inbox's events lead to (SLA clocks, satisfaction surveys sent on the
    sandbox channels), then have most customers answer their survey; how many answered. The minutely SLA check is
    left to the server's worker: run now, it would judge clocks whose stopping events wait for a later pass."""
    load_handlers()  # every domain's subscribers, before anything is dispatched
    Worker(engine=engine, periodic=False).run_until_idle()  # the messages: routing, SLA clocks, search
    with session_factory(engine)() as session:
        announce_settled(session)
        session.commit()
        add_notes(session)
    Worker(engine=engine, periodic=False).run_until_idle()  # statuses, surveys, mentions
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
