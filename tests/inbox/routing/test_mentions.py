"""@mentions in private notes: by e-mail local part or full name (with or without diacritics), notifications for
the people named (not the author), the ``inbox.mention.created`` event, reading them, and bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem, bearer
from tests.inbox.conftest import Channels
from tests.inbox.routing.conftest import Staff, conversation_of, customer_writes, settle
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.inbox.routing import mentions
from xuyen.inbox.routing.mentions import Person, parse_mentions
from xuyen.inbox.routing.models import Mention
from xuyen.outbox import OutboxEvent

PEOPLE = [
    Person(1, "hoa@shop.vn", "Lê Thị Hoa"),
    Person(2, "duc.pham@shop.vn", "Phạm Minh Đức"),
    Person(3, "an@shop.vn", "Trần Văn An"),
    Person(4, "an@kho.shop.vn", "An"),
    Person(5, "lan@shop.vn", "Lan"),
    Person(6, "lan.nguyen@shop.vn", "Nguyễn Thị Lan"),
    Person(7, "minh.le@shop.vn", "Minh"),
    Person(8, "minh.vo@shop.vn", "Minh"),
]


def test_mentions_by_local_part_and_by_full_name() -> None:
    assert parse_mentions("@hoa xem giúp em đơn này", PEOPLE) == [1]
    assert parse_mentions("Nhờ @Phạm Minh Đức và @tran van an gọi lại", PEOPLE) == [2, 3]
    assert parse_mentions("@duc.pham, @HOA. @hoa again", PEOPLE) == [2, 1]
    assert parse_mentions("(@lan.nguyen) và @Lan", PEOPLE) == [6, 5]
    assert parse_mentions("@Nguyen Thi Lan ơi", PEOPLE) == [6]  # the longer full name wins over "Lan"


def test_no_mention_in_addresses_ambiguous_or_unknown_names() -> None:
    assert parse_mentions("Gửi về lan@shop.vn nhé", PEOPLE) == []  # an e-mail address is not a mention
    assert parse_mentions("@minh", PEOPLE) == []  # two people are called Minh: nobody is guessed
    assert parse_mentions("@an", PEOPLE) == [4]  # two addresses start with "an", but one person is called An
    assert parse_mentions("@ hoa, @@hoa, @khongai, @", PEOPLE) == []
    assert parse_mentions("", PEOPLE) == [] and parse_mentions("@hoa", []) == []


def test_a_note_notifies_the_people_it_mentions(client: TestClient, channels: Channels, engine: Engine,
                                                session: Session, staff: Staff) -> None:
    hoa, duc, an = staff.agents
    psid = customer_writes(client, channels, "Shop ơi em cần gấp")
    settle(engine)
    cid = conversation_of(session, psid).id
    note = hoa.request("POST", f"/conversations/{cid}/notes",
                       json={"text": "@duc xem giúp, cả @Trần Văn An nữa. Mình là @hoa thôi"})
    assert note.status_code == 201
    settle(engine)
    for browser in (duc, an):
        page = browser.request("GET", "/inbox/mentions").json()
        assert page["unread"] == 1
        (item,) = page["items"]
        assert item["conversation_id"] == cid and item["message_id"] == note.json()["id"]
        assert item["author_id"] == hoa.user_id and item["read_at"] is None
    assert hoa.request("GET", "/inbox/mentions").json() == {"items": [], "unread": 0}  # not the author
    session.rollback()
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "inbox.mention.created")).all()
    assert sorted(event.payload["user_id"] for event in events) == sorted([duc.user_id, an.user_id])
    assert all(event.payload["conversation_id"] == cid for event in events)

    assert mentions.record_mentions(session, message_id=note.json()["id"]) == []  # a redelivery adds nothing
    session.rollback()
    assert len(session.scalars(select(Mention)).all()) == 2

    mention_id = duc.request("GET", "/inbox/mentions").json()["items"][0]["id"]
    read = duc.request("POST", f"/inbox/mentions/{mention_id}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert duc.request("GET", "/inbox/mentions", params={"unread": "true"}).json() == {"items": [], "unread": 0}
    assert len(duc.request("GET", "/inbox/mentions").json()["items"]) == 1
    assert_problem(an.request("POST", f"/inbox/mentions/{mention_id}/read"), 404, "mention_not_found")
    assert an.request("POST", "/inbox/mentions/read", json={"conversation_id": cid}).json() == {"marked": 1}
    assert an.request("POST", "/inbox/mentions/read", json={}).json() == {"marked": 0}


def test_replies_and_customer_messages_mention_nobody(client: TestClient, channels: Channels, engine: Engine,
                                                      session: Session, staff: Staff) -> None:
    psid = customer_writes(client, channels, "Cho em gặp @hoa")
    settle(engine)
    cid = conversation_of(session, psid).id
    hoa = staff.agents[0]
    assert hoa.request("POST", f"/conversations/{cid}/replies", json={"text": "@hoa đây ạ"}).status_code == 202
    settle(engine)
    assert hoa.request("GET", "/inbox/mentions").json()["unread"] == 0


def test_mentions_bad_input_and_permissions(client: TestClient, session: Session, agent: Browser) -> None:
    assert_problem(agent.request("POST", "/inbox/mentions/0/read"), 422, "validation_failed")
    assert_problem(agent.request("POST", "/inbox/mentions/999999/read"), 404, "mention_not_found")
    assert_problem(agent.request("GET", "/inbox/mentions", params={"limit": 1000}), 422, "validation_failed")
    assert_problem(agent.request("POST", "/inbox/mentions/read", json={"conversation_id": "all"}), 422,
                   "validation_failed")
    assert client.get("/api/v1/inbox/mentions").status_code == 401
    _row, key = auth_service.create_api_key(session, name="Báo cáo", role=Role.agent)
    assert_problem(client.get("/api/v1/inbox/mentions", headers=bearer(key)), 403, "user_required")
