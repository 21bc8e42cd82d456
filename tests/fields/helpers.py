"""Custom field test helpers: a shop's customer fields, and customers to put values on."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.customers.duplicates.helpers import add_customer
from xuyen.fields import service
from xuyen.fields.models import CustomField
from xuyen.fields.service import OptionSpec

ACTOR = "user:1 quanly@shop.vn"


def shop_fields(session: Session, entity: str = "customer") -> dict[str, CustomField]:
    """One field of each kind: note (text), spend (number), joined (date), tier (choice), likes (multi)."""
    made = [
        service.define_field(session, entity=entity, label_vi="Ghi chú", label_en="Note", kind="text",
                             key="note", actor=ACTOR),
        service.define_field(session, entity=entity, label_vi="Chi tiêu dự kiến", kind="number", key="spend",
                             actor=ACTOR),
        service.define_field(session, entity=entity, label_vi="Ngày tham gia", kind="date", key="joined",
                             actor=ACTOR),
        service.define_field(session, entity=entity, label_vi="Hạng", kind="choice", key="tier", actor=ACTOR,
                             options=[OptionSpec("bac", "Bạc", "Silver"), OptionSpec("vang", "Vàng", "Gold"),
                                      OptionSpec("kim_cuong", "Kim cương", "Diamond")]),
        service.define_field(session, entity=entity, label_vi="Sở thích", kind="multi_choice", key="likes",
                             actor=ACTOR, options=[OptionSpec("ao", "Áo"), OptionSpec("giay", "Giày"),
                                                   OptionSpec("tui", "Túi xách")]),
    ]
    return {field.key: field for field in made}


def customers(session: Session, count: int) -> list[int]:
    """``count`` committed customers; their profile ids."""
    names = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Hoàng Minh Em", "Vũ Thị Phương"]
    return [add_customer(session, name=names[i % len(names)]) for i in range(count)]
