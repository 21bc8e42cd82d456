"""The shop's inbox routing: teams of its staff (online care and one per store), who is online and how many
conversations each takes, assignment rules by the store a customer asks about and by channel, labels put on by
source and by keywords, and shared saved replies. Everything goes through the routing helpers, so the
conversations the demo adds afterwards are labelled and assigned by these rules, as they would be live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.demo.registry import DemoContext
from xuyen.demo.shop import DEMO_EMAIL_DOMAIN, DEMO_OWNER_EMAIL
from xuyen.inbox.routing import canned, labels, service
from xuyen.inbox.routing.models import Availability, LabelRuleKind


def _email(local_part: str) -> str:
    return f"{local_part}@{DEMO_EMAIL_DOMAIN}"


ONLINE_CARE = "CSKH trực tuyến"
HANOI, DANANG, SAIGON = "Cửa hàng Hà Nội", "Cửa hàng Đà Nẵng", "Cửa hàng TP.HCM"

# Team -> (description, members by e-mail).
TEAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    ONLINE_CARE: ("Trả lời Zalo, Facebook, chat trên web, e-mail và SMS", (_email("cskh"), _email("banhang.hn01"))),
    HANOI: ("Khách hỏi về cửa hàng Hàng Gai", (_email("banhang.hn01"), _email("quanly.hn01"))),
    DANANG: ("Khách hỏi về cửa hàng Bạch Đằng", (_email("quanly.dn01"),)),
    SAIGON: ("Khách hỏi về cửa hàng Đồng Khởi", (_email("banhang.hcm01"), _email("quanly.hcm01"))),
}
# Who is online now, and how many open conversations each takes (None: the installation's default). Nobody of the
# Đà Nẵng team is online, so its conversations wait in the team's queue.
AGENTS: dict[str, tuple[Availability, int | None]] = {
    _email("cskh"): (Availability.online, 8),
    _email("banhang.hn01"): (Availability.online, 6),
    _email("quanly.hn01"): (Availability.busy, 3),
    _email("quanly.dn01"): (Availability.offline, 3),
    _email("banhang.hcm01"): (Availability.online, 5),
    _email("quanly.hcm01"): (Availability.online, 3),
}
# Labels for the store a customer asks about, besides the suggested ones (Facebook Ads, Zalo OA, Đổi trả…).
STORE_RULES: dict[str, str] = {HANOI: "Hỏi về cửa hàng Hàng Gai → Cửa hàng Hà Nội",
                               DANANG: "Hỏi về cửa hàng Bạch Đằng → Cửa hàng Đà Nẵng",
                               SAIGON: "Hỏi về cửa hàng Đồng Khởi → Cửa hàng TP.HCM"}
STORE_LABELS: dict[str, tuple[str, tuple[str, ...]]] = {
    HANOI: ("#b45309", ("hàng gai", "hà nội", "hoàn kiếm")),
    DANANG: ("#0e7490", ("đà nẵng", "bạch đằng", "hải châu")),
    SAIGON: ("#be185d", ("đồng khởi", "sài gòn", "hồ chí minh", "quận 1")),
}
SAVED_REPLIES: tuple[tuple[str, str], ...] = (
    ("chao", "Dạ {{ten_cua_hang}} xin chào {{ten_khach}}, em là {{ten_nhan_vien}}. Em có thể giúp gì cho anh/chị ạ?"),
    ("doisize", "Dạ shop hỗ trợ đổi size trong 7 ngày kể từ khi nhận hàng, sản phẩm còn tem mác ạ. "
                "Anh/chị mang hàng và hoá đơn ra cửa hàng gần nhất hoặc gửi lại qua bưu điện giúp em nhé."),
    ("hoantien", "Dạ shop đã ghi nhận yêu cầu hoàn tiền của {{ten_khach}}. Tiền sẽ về tài khoản trong 3–5 ngày làm "
                 "việc sau khi shop nhận lại hàng ạ."),
    ("giomocua", "Dạ các cửa hàng Lụa Mây mở cửa từ 8h30 đến 21h30 tất cả các ngày, kể cả cuối tuần ạ."),
    ("phiship", "Dạ phí giao hàng toàn quốc là 30.000 ₫, miễn phí cho đơn từ 1.000.000 ₫ ạ."),
    ("camon", "Dạ {{ten_cua_hang}} cảm ơn {{ten_khach}} đã tin chọn shop. Chúc anh/chị một ngày vui ạ!"),
)


@dataclass(frozen=True)
class RoutingSetup:
    """What the demo's routing step made: teams by name, labels by name."""

    teams: dict[str, int]
    labels: dict[str, int]


def _rules(teams: dict[str, int], label_ids: dict[str, int]) -> list[tuple[str, int, dict[str, Any]]]:
    """The assignment rules, in the order they are tried: the store asked about first, then by channel."""
    return [
        *[(STORE_RULES[team], teams[team], {"labels": [label_ids[team]]}) for team in STORE_LABELS],
        ("Zalo, Facebook, chat trên web → CSKH trực tuyến", teams[ONLINE_CARE],
         {"channel_kinds": ["zalo", "messenger", "webchat"]}),
        ("E-mail, SMS và còn lại → CSKH trực tuyến", teams[ONLINE_CARE], {}),
    ]


def set_up_routing(session: Session, context: DemoContext) -> RoutingSetup:
    """Teams, agents' availability and capacity, labels and their rules, assignment rules and saved replies."""
    users: dict[str, User] = context.users
    teams = {name: service.add_team(session, name=name, description=description,
                                    user_ids=[users[email].id for email in members if email in users]).id
             for name, (description, members) in TEAMS.items()}
    for email, (availability, capacity) in AGENTS.items():
        if email in users:
            service.put_agent_status(session, user_id=users[email].id, availability=availability, capacity=capacity)
    label_ids: dict[str, int] = {}
    for default in labels.DEFAULT_LABELS:
        label_ids[default.name] = labels.add_label(session, name=default.name, colour=default.colour).id
        labels.add_rule(session, label_id=label_ids[default.name], kind=default.kind, conditions=default.conditions)
    for name, (colour, keywords) in STORE_LABELS.items():
        label_ids[name] = labels.add_label(session, name=name, colour=colour).id
        labels.add_rule(session, label_id=label_ids[name], kind=LabelRuleKind.keyword,
                        conditions={"keywords": list(keywords)})
    for name, team_id, conditions in _rules(teams, label_ids):
        service.add_rule(session, name=name, team_id=team_id, conditions=conditions)
    owner = users.get(DEMO_OWNER_EMAIL)
    for shortcut, text in SAVED_REPLIES:
        canned.add_response(session, shortcut=shortcut, text=text, owner_id=None,
                            created_by_id=owner.id if owner else None)
    return RoutingSetup(teams=teams, labels=label_ids)
