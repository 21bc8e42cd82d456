"""The demo shop's ready-made journeys, each from a common omnichannel practice, published and run over the shop's
own last weeks so every step of every journey shows its figures.

1. Giỏ hàng bỏ quên (abandoned cart): a checkout not completed within an hour gets a reminder; a valued customer's
   cart also alerts the store manager. Goal: the order.
2. Chăm sóc sau mua hàng (post-purchase care): two days after an order, care tips that promote nothing; two days
   later, suggestions that leave out what the order held.
3. Quà sinh nhật (birthday): a single-use coupon at 09:00 on the customer's birthday.
4. Mã chỉ dùng tại cửa hàng (store-only coupon): online shoppers who never bought in a store get, by e-mail, a
   coupon of a promotion that only the tills accept.
5. Khách sắp rời bỏ (win-back): the RFM "at risk" and "cannot lose them" groups get a note; no order within 14
   days, a coupon.
6. Chăm sóc sau khi sửa đồ (care after an in-store service): care instructions the day after an alteration.
7. Ưu đãi gần cửa hàng (near a store): an offer for the customers within 3 km of the Hàng Gai store.
8. Trạng thái đơn hàng (order status): "shipped" and "delivered" notices, transactional.

Leaves ``context.extra["hành trình mẫu"]``: ``journeys`` (id by name), ``history`` (what was added to the event
log), ``window_days``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.pricing.promotions import add_promotion
from xuyen.demo.journey_replay import Replay
from xuyen.demo.journeys import VIETNAM
from xuyen.demo.ready_history import DELIVERED, SERVICE, SHIPPED, add_history
from xuyen.demo.ready_templates import TEMPLATES
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.demo.segments import SEGMENTS as SHOP_SEGMENTS
from xuyen.events.models import Event, EventType
from xuyen.identity.graph import resolve_profile_ids
from xuyen.journeys.flows import service as journeys
from xuyen.journeys.flows.models import Journey
from xuyen.journeys.templates.models import MessageTemplate
from xuyen.journeys.templates.service import add_template
from xuyen.segments.models import Segment, SegmentMember
from xuyen.segments.service import add_segment

STEP = "hành trình mẫu"
ACTOR = "demo"
WINDOW_DAYS = 7  # how far back the journeys are played, as if published then (a week keeps `make demo` quick)
AT_RISK_GROUPS = ("at_risk", "cannot_lose")  # the RFM groups of good customers who stopped buying
AT_RISK_DAYS = 60  # how long after their last order the nightly scores first count them at risk, in the demo
VALUED_REVENUE = 3_000_000  # VND spent in all: the customers whose forgotten cart the store manager hears about
NEAR_STORE = SHOP_SEGMENTS[2][0]  # "Khách gần cửa hàng Hàng Gai 3 km", made by the segments step

PROMOTIONS: tuple[dict[str, Any], ...] = (
    {"name": "Quà sinh nhật giảm 15%", "kind": "percent", "params": {"percent": 15}, "requires_coupon": True,
     "description": "Mã dùng một lần, gửi vào ngày sinh nhật khách."},
    {"name": "Mã khách online giảm 10% tại cửa hàng", "kind": "percent", "params": {"percent": 10},
     "requires_coupon": True, "channels": ["pos"],
     "description": "Chỉ áp dụng khi thanh toán tại quầy của cửa hàng (kênh POS)."},
    {"name": "Quay lại Lụa Mây giảm 10%", "kind": "percent", "params": {"percent": 10}, "requires_coupon": True,
     "description": "Mã dùng một lần cho khách lâu không mua."},
)
ONLINE_SHOPPERS = "Khách mua online chưa mua tại cửa hàng"
AT_RISK = "Khách có nguy cơ rời bỏ"


def _segments(store_codes: list[str]) -> tuple[tuple[str, str, dict[str, Any]], ...]:
    return (
        (ONLINE_SHOPPERS, "Đã đặt hàng trên website hoặc ứng dụng trong 120 ngày qua, chưa mua tại cửa hàng nào.",
         {"all": [{"did": "Checkout Started", "days": 120},
                  *[{"did_not": "Order Completed", "days": 365, "where": {"store_code": code}}
                    for code in store_codes]]}),
        (AT_RISK, "Nhóm RFM “Có nguy cơ rời bỏ” và “Không thể để mất”: từng mua nhiều, chi nhiều nhưng đã lâu "
                  "không quay lại (theo điểm RFM tính mỗi đêm).",
         {"all": [{"rfm": list(AT_RISK_GROUPS)}]}),
    )


def _flow(trigger: dict[str, Any], start: str, nodes: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"trigger": trigger, "settings": {"entry": "once", "holdout_percent": 0, "conversion_days": 7,
                                             **settings}, "start": start, "nodes": nodes}


def _send(template: int, purpose: str, next_: str | None, *, channel: str | None = None,
          label: str = "") -> dict[str, Any]:
    node = {"type": "send", "template_id": template, "channel": channel, "purpose": purpose, "on_cap": "defer",
            "next": next_}
    return node | ({"label": label} if label else {})


def _definitions(t: dict[str, int], p: dict[str, int], s: dict[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, description, definition) of the eight journeys, from template, promotion and segment ids by name."""
    order_placed = {"event": "Order Completed", "where": {}}
    return [
        ("Giỏ hàng bỏ quên",
         "Khách bắt đầu thanh toán mà sau 1 giờ chưa đặt hàng: nhắc giỏ hàng; khách quen (đã chi từ "
         f"{VALUED_REVENUE:,} đ hoặc hạng Vàng, Kim cương) thì báo thêm cho quản lý cửa hàng. Mục tiêu: đặt hàng. "
         "Điều kiện xét giá trị của khách, không phải của giỏ: điều kiện chưa đọc được thuộc tính của sự kiện "
         "khởi động.".replace(",", "."),
         _flow({"type": "event", "event": "Checkout Started", "where": {}}, "wait", {
             "wait": {"type": "wait_event", "event": "Order Completed", "where": {},
                      "timeout": {"hours": 1}, "next": None, "timeout_next": "valued", "label": "Chờ 1 giờ"},
             "valued": {"type": "condition", "label": "Khách quen?", "yes": "alert", "no": "remind",
                        "rule": {"any": [{"computed": "revenue", "op": "gte", "value": VALUED_REVENUE},
                                         {"tier": ["gold", "diamond"]}]}},
             "alert": {"type": "notify", "text": "Khách quen bỏ quên giỏ hàng, nên gọi hỏi thăm",
                       "to": "store_manager", "next": "remind"},
             "remind": _send(t["Nhắc giỏ hàng bỏ quên"], "marketing", "buy", label="Nhắc giỏ hàng"),
             "buy": {"type": "wait_event", "event": "Order Completed", "where": {}, "timeout": {"days": 3},
                     "next": None, "timeout_next": None, "label": "Chờ đặt hàng 3 ngày"}},
             entry="again", reentry_days=7, goal=order_placed, holdout_percent=10, conversion_days=7)),
        ("Chăm sóc sau mua hàng",
         "2 ngày sau khi mua: cảm ơn và cách bảo quản lụa, không quảng cáo gì. 2 ngày sau nữa: gợi ý món phối "
         "cùng, bỏ qua mọi món có trong đơn (theo SKU), chỉ cho khách đồng ý nhận tin. Mục tiêu: khách đánh giá "
         "sản phẩm.",
         _flow({"type": "event", "event": "Order Completed", "where": {}}, "wait", {
             "wait": {"type": "delay", "for": {"days": 2}, "next": "care"},
             "care": _send(t["Chăm sóc sau mua hàng"], "care", "later", label="Cảm ơn và bảo quản"),
             "later": {"type": "delay", "for": {"days": 2}, "next": "suggest"},
             "suggest": _send(t["Gợi ý sau mua hàng"], "marketing", None, label="Gợi ý món khác")},
             entry="again", reentry_days=14, goal={"event": "Product Reviewed", "where": {}}, conversion_days=14)),
        ("Quà sinh nhật",
         "9 giờ sáng ngày sinh nhật (giờ của khách): tạo mã giảm 15% dùng một lần và gửi cho khách.",
         _flow({"type": "date", "trait": "birthday", "offset_days": 0, "at": "09:00"}, "gift", {
             "gift": {"type": "coupon", "promotion_id": p["Quà sinh nhật giảm 15%"], "next": "wish"},
             "wish": _send(t["Quà sinh nhật"], "marketing", None, label="Chúc mừng sinh nhật")},
             conversion_days=14)),
        ("Mã chỉ dùng tại cửa hàng",
         "Gửi tay cho khách mua online chưa từng mua tại cửa hàng: một mã giảm 10% mà chỉ quầy thu ngân nhận "
         "(khuyến mãi giới hạn kênh POS), qua e-mail.",
         _flow({"type": "broadcast", "segment_id": s[ONLINE_SHOPPERS]}, "code", {
             "code": {"type": "coupon", "promotion_id": p["Mã khách online giảm 10% tại cửa hàng"], "next": "mail"},
             "mail": _send(t["Mã giảm giá chỉ dùng tại cửa hàng"], "marketing", None, channel="email")},
             holdout_percent=10, conversion_days=30)),
        ("Khách sắp rời bỏ",
         f"Khách vào nhóm “{AT_RISK}” (nhóm RFM có nguy cơ rời bỏ): nhắn hỏi thăm; 14 ngày chưa mua thì tặng mã "
         "giảm 10%. Mục tiêu: đặt hàng.",
         _flow({"type": "segment_entered", "segment_id": s[AT_RISK]}, "hello", {
             "hello": _send(t["Lâu rồi không gặp"], "marketing", "wait", label="Hỏi thăm"),
             "wait": {"type": "wait_event", "event": "Order Completed", "where": {}, "timeout": {"days": 14},
                      "next": None, "timeout_next": "code"},
             "code": {"type": "coupon", "promotion_id": p["Quay lại Lụa Mây giảm 10%"], "next": "gift"},
             "gift": _send(t["Quà để quay lại"], "marketing", None, label="Tặng mã")},
             goal=order_placed, holdout_percent=10, conversion_days=30)),
        ("Chăm sóc sau khi sửa đồ",
         "Một ngày sau khi cửa hàng sửa áo dài cho khách (sự kiện từ máy POS): cách giữ áo đẹp và lời hẹn sửa "
         "lại miễn phí. Tin chăm sóc, không quảng cáo.",
         _flow({"type": "event", "event": SERVICE, "where": {}}, "d1", {
             "d1": {"type": "delay", "for": {"days": 1}, "next": "tips"},
             "tips": _send(t["Bảo quản áo dài sau khi sửa"], "care", None, label="Cách bảo quản")},
             entry="again", reentry_days=1)),
        ("Ưu đãi gần cửa hàng",
         "Gửi tay cho khách trong bán kính 3 km quanh cửa hàng Hàng Gai (theo vị trí khách chia sẻ trên ứng "
         "dụng): lời mời cuối tuần.",
         _flow({"type": "broadcast", "segment_id": s[NEAR_STORE]}, "invite", {
             "invite": _send(t["Ưu đãi gần cửa hàng Hàng Gai"], "marketing", None, label="Lời mời")},
             holdout_percent=10)),
        ("Trạng thái đơn hàng",
         "Khi hãng vận chuyển nhận đơn: báo đang giao; khi báo đã giao (trong 7 ngày): báo đã giao. Tin giao "
         "dịch, gửi cả trong giờ yên lặng.",
         _flow({"type": "event", "event": SHIPPED, "where": {}}, "shipped", {
             "shipped": _send(t["Cập nhật trạng thái đơn hàng"], "transactional", "arrive", label="Đang giao"),
             "arrive": {"type": "wait_event", "event": DELIVERED, "where": {}, "timeout": {"days": 7},
                        "next": "delivered", "timeout_next": None},
             "delivered": _send(t["Đơn hàng đã giao"], "transactional", None, label="Đã giao")},
             entry="again", reentry_days=1)),
    ]


@demo_step(STEP, order=100)
def add_ready_journeys(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Templates, promotions, segments and the eight journeys, published and played over the last weeks."""
    now = utcnow()
    start = now - timedelta(days=WINDOW_DAYS)
    history = add_history(session, rng, context, now=now, since=start - timedelta(days=5))
    templates = dict(session.execute(select(MessageTemplate.name, MessageTemplate.id)).all())
    templates |= {name: add_template(session, name=name, purpose=purpose, description=description,
                                     variants=variants, actor=ACTOR).id
                  for name, purpose, description, variants in TEMPLATES}
    promotions = {spec["name"]: add_promotion(session, changes=spec, actor=ACTOR).id for spec in PROMOTIONS}
    segments = dict(session.execute(select(Segment.name, Segment.id)).all())
    segments |= {name: add_segment(session, name=name, description=description, definition=definition,
                                   actor=ACTOR).id
                 for name, description, definition in _segments(sorted(context.stores))}
    made: dict[str, Journey] = {}
    for name, description, definition in _definitions(templates, promotions, segments):
        journey = journeys.add_journey(session, name=name, description=description, definition=definition,
                                       actor=ACTOR)
        journeys.add_version(session, journey=journey, actor=ACTOR)
        made[name] = journey
    _play(session, rng, made, segments, start=start, now=now)
    context.extra[STEP] = {"journeys": {name: journey.id for name, journey in made.items()}, "history": history,
                           "window_days": WINDOW_DAYS}


def _local(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.astimezone(VIETNAM).replace(hour=hour, minute=minute, second=0, microsecond=0)


def _play(session: Session, rng: random.Random, made: dict[str, Journey], segments: dict[str, int], *,
          start: datetime, now: datetime) -> None:
    """Play the window: events, birthday mornings, the at-risk entries and the two broadcasts."""
    replay = Replay(session, list(made.values()))
    replay.events(start=start, end=now)
    replay.birthdays(_local(start + timedelta(days=day), 9) for day in range(1, WINDOW_DAYS + 1))
    for profile_id, entered in _at_risk_entries(session, segments[AT_RISK], start=start, now=now).items():
        replay.entries(made["Khách sắp rời bỏ"], [profile_id], when=entered,
                       context={"segment_id": segments[AT_RISK]})
    for name, segment, days_ago, hour in (("Mã chỉ dùng tại cửa hàng", ONLINE_SHOPPERS, 6, 10),
                                          ("Ưu đãi gần cửa hàng", NEAR_STORE, 3, 16)):
        replay.entries(made[name], _members(session, segments[segment]),
                       when=_local(now - timedelta(days=days_ago), hour, rng.randrange(60)),
                       context={"segment_id": segments[segment]})
    replay.run(until=now)


def _members(session: Session, segment_id: int) -> list[int]:
    return list(session.scalars(select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment_id)
                                .order_by(SegmentMember.profile_id)))


def _at_risk_entries(session: Session, segment_id: int, *, start: datetime, now: datetime) -> dict[int, datetime]:
    """When each member of the at-risk group entered it: the nightly scoring after their last order became
    ``AT_RISK_DAYS`` old (no earlier than the window, no later than now)."""
    members = set(_members(session, segment_id))
    if not members:
        return {}
    rows: Any = session.execute(select(Event.profile_id, func.max(Event.timestamp)).where(
        Event.type == EventType.track, Event.event == "Order Completed", Event.profile_id.is_not(None))
        .group_by(Event.profile_id)).all()
    roots = resolve_profile_ids(session, profile_ids={profile_id for profile_id, _ in rows} | members)
    wanted = {roots[member] for member in members}
    last: dict[int, datetime] = {}
    for profile_id, moment in rows:
        root = roots[profile_id]
        if root in wanted:
            last[root] = max(last.get(root, moment), moment)
    return {root: min(max(moment + timedelta(days=AT_RISK_DAYS), start), now) for root, moment in last.items()}
