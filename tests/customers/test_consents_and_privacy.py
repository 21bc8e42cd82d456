"""Consents from calls and from staff, with proof; exporting and erasing a person; the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.customers.conftest import Channels, Send
from xuyen.audit import AuditEntry
from xuyen.customers.models import CustomerConsent, CustomerProfile, ErasedIdentity
from xuyen.events.models import Event
from xuyen.identity.graph import find_profile
from xuyen.identity.models import ProfileIdentifier

HOA = {"type": "identify", "userId": "KH001", "timestamp": "2026-11-01T03:00:00Z",
       "traits": {"name": "Nguyễn Thị Hoa", "phone": "0381234567", "email": "hoa@example.vn"},
       "context": {"ip": "203.0.113.7", "userAgent": "Mozilla/5.0"}}


def _consent(channel: str, granted: bool, at: str, purpose: str = "marketing", **extra: object) -> dict:
    return {"type": "track", "userId": "KH001", "event": "Consent Updated", "timestamp": at,
            "properties": {"channel": channel, "purpose": purpose, "granted": granted,
                           "proof": "Ô đánh dấu trên trang thanh toán, bản 3", **extra},
            "context": {"ip": "203.0.113.7", "userAgent": "Mozilla/5.0", "page": {"url": "https://luamay.vn/checkout"}}}


def _hoa(session: Session) -> int:
    session.rollback()
    session.expire_all()
    profile_id = find_profile(session, type="user_id", value="KH001")
    assert profile_id is not None
    return profile_id


def _statuses(browser: Browser, profile_id: int) -> dict[tuple[str, str], str]:
    answer = browser.request("GET", f"/customers/{profile_id}/consents")
    assert answer.status_code == 200, answer.text
    return {(c["channel"], c["purpose"]): c["status"] for c in answer.json()}


def test_consents_follow_the_newest_call_per_channel_and_purpose(keys: Channels, send: Send, agent: Browser,
                                                                   session: Session) -> None:
    send(keys.web, HOA, _consent("any", True, "2026-11-01T03:01:00Z"),
         _consent("sms", False, "2026-11-02T03:00:00Z"),
         _consent("email", True, "2026-11-02T03:00:00Z", purpose="care"),
         _consent("fax", True, "2026-11-03T03:00:00Z"),  # not a channel: kept in the log, not a consent
         _consent("email", True, "2026-11-03T03:00:00Z", purpose="spam"))
    statuses = _statuses(agent, _hoa(session))
    assert statuses[("sms", "marketing")] == "withdrawn"
    assert statuses[("zalo", "marketing")] == statuses[("email", "marketing")] == "granted"
    assert statuses[("email", "care")] == "granted"
    assert not any(channel == "fax" for channel, _ in statuses) and not any(p == "spam" for _, p in statuses)
    [zalo] = [c for c in agent.request("GET", f"/customers/{_hoa(session)}/consents").json()
              if (c["channel"], c["purpose"]) == ("zalo", "marketing")]
    assert zalo["proof"]["text"] == "Ô đánh dấu trên trang thanh toán, bản 3"
    assert zalo["proof"]["source"] == "Website" and zalo["proof"]["ip"] == "203.0.113.7"
    assert zalo["proof"]["page"] == "https://luamay.vn/checkout"
    stored = {(c.channel, c.purpose): c.status for c in session.scalars(select(CustomerConsent))}
    assert stored == statuses


def test_staff_record_a_consent_with_proof(keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    send(keys.pos, HOA)
    hoa = _hoa(session)
    answer = agent.request("POST", f"/customers/{hoa}/consents", json={
        "channel": "zalo", "purpose": "marketing", "granted": True, "proof": "Phiếu đăng ký ký tại HN01"})
    assert answer.status_code == 201, answer.text
    [consent] = answer.json()
    assert consent["status"] == "granted" and consent["proof"]["actor"] == f"user:{agent.user_id}"
    assert consent["proof"]["text"] == "Phiếu đăng ký ký tại HN01"
    timeline = agent.request("GET", f"/customers/{hoa}/timeline").json()["items"]
    assert timeline[0]["title"] == "Consent Updated" and timeline[0]["source"] == "Xuyên (nhân viên)"
    session.rollback()
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "consent.recorded")) is not None


def test_unclear_consents_are_refused_whole(keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    send(keys.pos, HOA)
    hoa = _hoa(session)
    for body, code in (({"channel": "fax", "purpose": "marketing", "granted": True, "proof": "x"}, "invalid_consent"),
                       ({"channel": "sms", "purpose": "spam", "granted": True, "proof": "x"}, "invalid_consent"),
                       ({"channel": "sms", "purpose": "marketing", "granted": True, "proof": "  "}, "proof_required")):
        assert_problem(agent.request("POST", f"/customers/{hoa}/consents", json=body), 422, code)
    assert agent.request("POST", f"/customers/{hoa}/consents", json={"channel": "sms"}).status_code == 422
    assert agent.request("POST", f"/customers/{hoa}/consents", json={
        "channel": "sms", "purpose": "marketing", "granted": True, "proof": "x" * 1001}).status_code == 422
    session.rollback()
    assert session.scalars(select(Event).where(Event.event == "Consent Updated")).all() == []


def test_a_manager_exports_everything_about_a_person(keys: Channels, send: Send, manager: Browser, agent: Browser,
                                                     session: Session) -> None:
    send(keys.web, HOA, _consent("email", True, "2026-11-01T03:01:00Z"))
    hoa = _hoa(session)
    assert_problem(agent.request("GET", f"/customers/{hoa}/export"), 403, "role_required")
    exported = manager.request("GET", f"/customers/{hoa}/export")
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert data["format"] == "xuyen.person-export.v1" and data["profile_id"] == hoa
    assert {(i["type"], i["value"]) for i in data["identifiers"]} >= {("phone", "+84381234567"),
                                                                      ("email", "hoa@example.vn")}
    assert data["traits"]["name"] == "Nguyễn Thị Hoa"
    assert [e["event"] for e in data["events"]] == [None, "Consent Updated"]
    assert data["consents"][0]["status"] == "granted"
    session.rollback()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.exported"))
    assert entry is not None and entry.actor == f"user:{manager.user_id}" and entry.detail == {"events": 2}


def test_an_owner_erases_a_person_and_an_import_cannot_bring_back_their_consent(
        keys: Channels, send: Send, owner: Browser, manager: Browser, session: Session) -> None:
    send(keys.web, HOA, _consent("sms", True, "2026-11-01T03:01:00Z"),
         {"type": "track", "userId": "KH001", "event": "Order Completed", "timestamp": "2026-11-01T04:00:00Z",
          "properties": {"order_id": "W1", "total": 350_000, "email": "hoa@example.vn",
                         "shipping_address": "12 Hàng Bông"}})
    hoa = _hoa(session)
    body = {"reason": "Yêu cầu qua e-mail ngày 20/11", "confirm": True}
    assert_problem(manager.request("POST", f"/customers/{hoa}/erase", json=body), 403, "role_required")
    assert_problem(owner.request("POST", f"/customers/{hoa}/erase", json={**body, "confirm": False}), 422,
                   "not_confirmed")
    erased = owner.request("POST", f"/customers/{hoa}/erase", json=body)
    assert erased.status_code == 201, erased.text
    assert erased.json()["counts"] == {"identifiers": 3, "events": 3, "profiles": 1}

    session.rollback()
    session.expire_all()
    assert session.scalars(select(ProfileIdentifier)).all() == []
    assert session.get(CustomerProfile, hoa) is None and session.scalars(select(CustomerConsent)).all() == []
    order = session.scalar(select(Event).where(Event.event == "Order Completed"))
    assert order is not None and order.user_id is None and order.properties == {"order_id": "W1", "total": 350_000}
    assert all(event.traits == {} and "ip" not in event.context for event in session.scalars(select(Event)))
    assert len(session.scalars(select(ErasedIdentity)).all()) == 3
    assert_problem(owner.request("GET", f"/customers/{hoa}"), 404, "customer_erased")
    assert_problem(owner.request("POST", f"/customers/{hoa}/erase", json=body), 409, "customer_erased")
    assert_problem(owner.request("POST", f"/customers/{hoa}/consents", json={
        "channel": "sms", "purpose": "marketing", "granted": True, "proof": "form"}), 404, "customer_erased")
    assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "customer.erased")) == \
        f"user:{owner.user_id}"

    # A later customer-list import with the same phone comes back as a new customer, without marketing consent.
    send(keys.web, {"type": "identify", "userId": "IMP-1", "traits": {"phone": "038 123 4567"},
                    "context": {"import": {"id": 1, "row": 2}}},
         {"type": "track", "userId": "IMP-1", "event": "Consent Updated", "context": {"import": {"id": 1, "row": 2}},
          "properties": {"channel": "sms", "purpose": "marketing", "granted": True, "proof": "import 1, row 2"}})
    session.rollback()
    again = find_profile(session, type="user_id", value="IMP-1")
    assert again is not None and again != hoa
    assert _statuses(owner, again) == {("sms", "marketing"): "blocked_erased"}
