"""Shared helpers of the page tests: seed staff and stores through the services, sign in through the form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from xuyen.auth import service as auth_service
from xuyen.auth.models import Role, User
from xuyen.events import service as events_service
from xuyen.events.models import ChannelType, Source
from xuyen.stores import service as stores_service
from xuyen.stores.models import Store

PASSWORD = "mật-khẩu-thật-dài-2026"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Shop:
    """A small business: two stores, staff of every role, and a few sources."""

    hanoi: Store
    saigon: Store
    owner: User
    hanoi_manager: User
    hanoi_agent: User
    saigon_agent: User
    pos: Source
    pos_write_key: str
    shopee: Source


def seed_shop(session: Session) -> Shop:
    """Create the shop through the store, auth and event services."""
    hanoi = stores_service.create(session, code="HN01", name="Xuyên Hoàn Kiếm", province="Hà Nội",
                                  address="12 Hàng Bạc, Hoàn Kiếm", phone="024 3825 1234")
    saigon = stores_service.create(session, code="SG01", name="Xuyên Quận 1", province="TP. Hồ Chí Minh",
                                   address="45 Lê Lợi, Bến Nghé", phone="028 3822 5678")
    owner = auth_service.create_user(session, email="lan@xuyen.example", name="Nguyễn Thị Lan",
                                     password=PASSWORD, role=Role.owner)
    manager = auth_service.create_user(session, email="minh@xuyen.example", name="Trần Văn Minh",
                                       password=PASSWORD, role=Role.manager, store_id=hanoi.id)
    hanoi_agent = auth_service.create_user(session, email="hoa@xuyen.example", name="Lê Thị Hoa",
                                           password=PASSWORD, role=Role.agent, store_id=hanoi.id)
    saigon_agent = auth_service.create_user(session, email="duc@xuyen.example", name="Phạm Minh Đức",
                                            password=PASSWORD, role=Role.agent, store_id=saigon.id)
    pos, pos_key = events_service.create_source(session, name="Quầy thu ngân Hoàn Kiếm", channel=ChannelType.pos,
                                                store_id=hanoi.id)
    shopee, _ = events_service.create_source(session, name="Gian hàng Shopee", channel=ChannelType.shopee)
    return Shop(hanoi=hanoi, saigon=saigon, owner=owner, hanoi_manager=manager, hanoi_agent=hanoi_agent,
                saigon_agent=saigon_agent, pos=pos, pos_write_key=pos_key, shopee=shopee)


def csrf_token(html: str) -> str:
    """The first CSRF token in a page's forms."""
    found = _TOKEN.search(html)
    assert found, "the page has no form with a csrf_token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/") -> Response:
    """Sign in through the form, as a browser does; returns the answer to the POST."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(form.text),
                                       "next": next_path}, follow_redirects=False)


def signed_in_token(client: TestClient, email: str) -> str:
    """Sign in and return the CSRF token of the new session (read from the overview's forms)."""
    assert sign_in(client, email).status_code == 303
    return csrf_token(client.get("/").text)
