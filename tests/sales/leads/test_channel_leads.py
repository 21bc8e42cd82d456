"""Leads from the channels' own forms: Facebook Lead Ads (the Page webhook's ``leadgen`` change, the answers read
from the fake Graph API over real HTTP) and Zalo OA information requests (``user_submit_info``), posted to the
app signed as the providers sign them and taken through the workers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tests.api_client import Browser, owner  # noqa: F401  (the owner's browser, found by name)
from tests.factories import make_user
from tests.fakes.meta import GraphFake, leadgen_webhook, meta_json, sign
from tests.fakes.server import serving
from tests.fakes.zalo import ZaloFake
from tests.inbox.conftest import APP_SECRET, PAGE, PAGE_TOKEN, VERIFY, connect, graph, graph_server, post_meta, work
from tests.ui.helpers import csrf_token
from xuyen.auth.models import Role
from xuyen.clock import utcnow
from xuyen.inbox import connections
from xuyen.inbox.models import Channel, ChannelStatus, Conversation, Message, ReceiptStatus, WebhookReceipt
from xuyen.jobs import Job
from xuyen.sales.leads import channel_leads, service
from xuyen.sales.leads.models import (
    AssignmentRule,
    Lead,
    LeadCapture,
    LeadRetrieval,
    RetrievalStatus,
    SourceKind,
)

graph_fixtures = (graph, graph_server)  # the fake Graph API's fixtures, found by name
HTML = {"Accept": "text/html"}
LEAD_ID = "1053720931245566"
ANSWERS = {"full_name": "Nguyễn Thị Mai", "phone_number": "0912 345 678", "email": "Mai.Nguyen@Gmail.com",
           "city": "Hà Nội", "ban_muon_xem_mau_nao?": ["Áo dài đỏ", "Áo dài trắng"]}


@pytest.fixture
def page(owner: Browser, graph: GraphFake, graph_server: tuple[GraphFake, str]) -> int:  # noqa: F811
    """A Facebook Page connected as a Messenger channel, talking to the fake Graph API."""
    channel = connect(owner, "messenger", "Facebook Thời trang Xuyên",
                      {"page_id": PAGE, "graph_api_base": graph_server[1]},
                      {"app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN, "verify_token": VERIFY})
    return int(channel["id"])


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    found = int(session.scalar(select(func.count()).select_from(model)) or 0)
    session.commit()  # the test's read ends, so the workers and the app may write
    return found


def _lead_reads(graph: GraphFake, leadgen_id: str = LEAD_ID) -> list[Any]:
    return [item for item in graph.requests if item.method == "GET" and item.path.endswith("/" + leadgen_id)]


def _retrieval(session: Session) -> LeadRetrieval:
    session.expire_all()
    found = session.scalars(select(LeadRetrieval)).one()
    session.commit()
    return found


def _make_due(session: Session) -> None:
    """Time passes: the next try of every waiting lead reading is due now."""
    session.execute(update(Job).where(Job.name == channel_leads.FETCH_JOB, Job.status == "queued")
                    .values(run_at=utcnow()))
    session.commit()


# Facebook Lead Ads ------------------------------------------------------------------------------------


def test_a_leadgen_webhook_becomes_a_lead_with_its_answers(session: Session, client: TestClient, engine: Engine,
                                                            graph: GraphFake, page: int) -> None:
    seller = make_user(session, role=Role.agent, name="Trần Văn Bán")
    session.add(AssignmentRule(position=1, name="Facebook Ads", source=SourceKind.facebook_lead_ads,
                               assign_user_id=seller.id, active=True))
    session.commit()
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    response = post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID, ad_id="120208876543210"))
    assert response.status_code == 200
    assert _count(session, Lead) == 0  # nothing is read from Meta inside the webhook's request
    work(engine)
    lead = session.scalars(select(Lead)).one()
    assert (lead.source, lead.name, lead.phone, lead.email, lead.province) == (
        SourceKind.facebook_lead_ads, "Nguyễn Thị Mai", "+84912345678", "mai.nguyen@gmail.com", "Hà Nội")
    assert lead.labels == ["Facebook Ads"] and lead.campaign == "Tết 2027 - Áo dài"
    assert lead.owner_id == seller.id
    capture = session.scalars(select(LeadCapture)).one()
    assert capture.dedupe_key == f"fb:{LEAD_ID}"
    assert capture.fields == {**ANSWERS, "phone_number": "0912 345 678",
                              "ban_muon_xem_mau_nao?": "Áo dài đỏ, Áo dài trắng"}
    assert (capture.utm_source, capture.utm_medium, capture.utm_campaign, capture.utm_term, capture.utm_content) == (
        "facebook", "paid_social", "Tết 2027 - Áo dài", "Nữ 25-45 TP.HCM", "Quảng cáo áo dài Tết")
    assert "form 1250743692438731" in capture.source_detail and LEAD_ID in capture.source_detail
    [read] = _lead_reads(graph)
    assert read.headers["authorization"] == f"Bearer {PAGE_TOKEN}" and read.query["appsecret_proof"]
    assert read.query["fields"].split(",") == ["created_time", "field_data", "ad_id", "ad_name", "adset_id",
                                               "adset_name", "campaign_id", "campaign_name", "form_id", "platform",
                                               "is_organic"]
    retrieval = _retrieval(session)
    assert (retrieval.status, retrieval.lead_id, retrieval.attempts) == (RetrievalStatus.captured, lead.id, 0)


def test_a_lead_delivered_twice_is_captured_once(session: Session, client: TestClient, engine: Engine,
                                                 graph: GraphFake, page: int) -> None:
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    payload = leadgen_webhook(PAGE, LEAD_ID)
    assert post_meta(client, page, payload).status_code == 200
    assert post_meta(client, page, payload).status_code == 200  # Meta's retry of the same bytes
    work(engine)
    # Another delivery naming the same lead (other bytes: Meta batched it with a later time) after the capture.
    later = leadgen_webhook(PAGE, LEAD_ID)
    later["entry"][0]["time"] += 5
    assert post_meta(client, page, later).status_code == 200
    work(engine)
    assert (_count(session, Lead), _count(session, LeadCapture), _count(session, LeadRetrieval)) == (1, 1, 1)
    assert len(_lead_reads(graph)) == 1


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, None, "sha1=abc"])
def test_a_leadgen_webhook_with_a_bad_signature_writes_nothing(session: Session, client: TestClient,
                                                               engine: Engine, graph: GraphFake, page: int,
                                                               signature: str | None) -> None:
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    body = meta_json(leadgen_webhook(PAGE, LEAD_ID))
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = client.post(f"/webhooks/{page}", content=body, headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    signed_by_another_app = client.post(f"/webhooks/{page}", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, "another-app-secret")})
    assert signed_by_another_app.status_code == 401
    work(engine)
    assert (_count(session, WebhookReceipt), _count(session, LeadRetrieval), _count(session, Lead)) == (0, 0, 0)
    assert _lead_reads(graph) == []


@pytest.mark.parametrize("value", [{"page_id": PAGE, "form_id": "1"}, {"leadgen_id": "not-a-number"},
                                   {"leadgen_id": {"id": LEAD_ID}}, {"leadgen_id": "9" * 60}])
def test_a_malformed_leadgen_change_fails_its_delivery_with_the_reason(session: Session, client: TestClient,
                                                                       engine: Engine, graph: GraphFake,
                                                                       page: int, value: dict[str, Any]) -> None:
    payload = {"object": "page", "entry": [{"id": PAGE, "time": 1765000000,
                                            "changes": [{"field": "leadgen", "value": value}]}]}
    assert post_meta(client, page, payload).status_code == 200  # kept, to be read in the worker
    work(engine)
    receipt = session.scalars(select(WebhookReceipt)).one()
    assert receipt.status == ReceiptStatus.failed and "leadgen_id" in (receipt.error or "")
    assert (_count(session, LeadRetrieval), _count(session, Lead)) == (0, 0)


def test_leads_of_another_page_and_other_changes_are_left_out(session: Session, client: TestClient, engine: Engine,
                                                              graph: GraphFake, page: int) -> None:
    other = leadgen_webhook("999888777666555", LEAD_ID)
    other["entry"][0]["id"] = PAGE  # the entry is this Page's, the lead another's
    feed = {"object": "page", "entry": [{"id": PAGE, "time": 1765000000,
                                         "changes": [{"field": "feed", "value": {"item": "comment"}}]}]}
    for payload in (other, feed):
        assert post_meta(client, page, payload).status_code == 200
    work(engine)
    assert all(receipt.status == ReceiptStatus.processed for receipt in session.scalars(select(WebhookReceipt)))
    assert (_count(session, LeadRetrieval), _count(session, Lead)) == (0, 0)


def test_an_expired_token_is_retried_with_back_off_and_shown_on_the_channel(
        session: Session, client: TestClient, engine: Engine, graph: GraphFake, page: int,
        owner: Browser) -> None:  # noqa: F811
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    graph.revoke(PAGE_TOKEN)
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))
    work(engine)
    retrieval = _retrieval(session)
    assert (retrieval.status, retrieval.attempts, retrieval.error_code) == (
        RetrievalStatus.pending, 1, "credentials_revoked")
    assert retrieval.next_attempt_at is not None
    waited = (retrieval.next_attempt_at - retrieval.updated_at).total_seconds()
    assert 55 <= waited <= 65  # the first wait is a minute
    channel = session.get(Channel, page)
    assert channel is not None and channel.status == ChannelStatus.needs_attention
    assert "access token" in (channel.status_reason or "")
    assert _count(session, Lead) == 0  # (ends the test's read)
    shown = owner.client.get("/channels", headers=HTML)
    assert shown.status_code == 200
    assert "Cần kết nối lại" in shown.text and "1 khách hàng tiềm năng đang chờ lấy về" in shown.text

    # A second failure waits four minutes.
    _make_due(session)
    work(engine)
    retrieval = _retrieval(session)
    assert retrieval.attempts == 2 and retrieval.next_attempt_at is not None
    assert 3.5 * 60 <= (retrieval.next_attempt_at - retrieval.updated_at).total_seconds() <= 4.5 * 60

    # The owner pastes a new token and, rather than wait four minutes, has the lead read now.
    graph.add_page(PAGE, token="EAAG-new-page-token", app_secret=APP_SECRET)
    connections.update_secrets(session, channel_id=page, secrets={"page_access_token": "EAAG-new-page-token"},
                               actor="test")
    token = csrf_token(owner.client.get("/channels", headers=HTML).text)
    assert owner.client.post(f"/channels/{page}/leads/retry", data={"csrf_token": token}, headers=HTML,
                             follow_redirects=False).status_code == 303
    work(engine)
    retrieval = _retrieval(session)
    assert retrieval.status == RetrievalStatus.captured and retrieval.last_error is None
    assert session.scalars(select(Lead)).one().phone == "+84912345678"


def test_a_missing_leads_permission_flags_the_channel_and_the_lead_waits(
        session: Session, client: TestClient, engine: Engine, graph: GraphFake, page: int) -> None:
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    graph.without_leads_permission.add(PAGE)
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))
    work(engine)
    retrieval = _retrieval(session)
    assert (retrieval.status, retrieval.error_code) == (RetrievalStatus.pending, "permission_missing")
    channel = session.get(Channel, page)
    assert channel is not None and channel.status == ChannelStatus.needs_attention
    assert "leads_retrieval" in (channel.status_reason or "")
    session.commit()
    graph.without_leads_permission.clear()
    _make_due(session)
    work(engine)
    assert _retrieval(session).status == RetrievalStatus.captured


def test_an_unknown_lead_fails_at_once_with_its_reason(session: Session, client: TestClient, engine: Engine,
                                                        graph: GraphFake, page: int) -> None:
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))  # Meta knows no such lead
    work(engine)
    retrieval = _retrieval(session)
    assert (retrieval.status, retrieval.error_code, retrieval.attempts) == (RetrievalStatus.failed, "not_found", 1)
    assert "does not exist" in (retrieval.last_error or "")
    channel = session.get(Channel, page)
    assert channel is not None and channel.status == ChannelStatus.active  # the token is fine
    summary = channel_leads.retrieval_summary(session)
    assert summary[page]["failed"] == 1 and "does not exist" in summary[page]["last_error"]


def test_an_outage_is_retried_and_the_lead_captured_after(session: Session, client: TestClient, engine: Engine,
                                                          graph: GraphFake, page: int) -> None:
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    graph.lead_outages = 1
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))
    work(engine)
    assert (_retrieval(session).status, _retrieval(session).error_code) == (
        RetrievalStatus.pending, "provider_unavailable")
    channel = session.get(Channel, page)
    assert channel is not None and channel.status == ChannelStatus.active
    session.commit()
    _make_due(session)
    work(engine)
    assert _retrieval(session).status == RetrievalStatus.captured and _count(session, Lead) == 1


def test_a_lead_that_keeps_failing_ends_failed_and_can_be_retried(session: Session, client: TestClient,
                                                                  engine: Engine, graph: GraphFake,
                                                                  page: int, owner: Browser) -> None:  # noqa: F811
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    graph.lead_outages = 10_000
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))
    work(engine)
    for _ in range(channel_leads.MAX_ATTEMPTS):
        _make_due(session)
        work(engine)
    retrieval = _retrieval(session)
    assert (retrieval.status, retrieval.attempts) == (RetrievalStatus.failed, channel_leads.MAX_ATTEMPTS)
    assert retrieval.next_attempt_at is None and "Meta could not answer" in (retrieval.last_error or "")
    assert len(_lead_reads(graph)) == channel_leads.MAX_ATTEMPTS  # no try after the last
    graph.lead_outages = 0
    shown = owner.client.get("/channels", headers=HTML)
    assert "1 khách hàng tiềm năng không lấy về được" in shown.text and "Meta could not answer" in shown.text
    forged = owner.client.post(f"/channels/{page}/leads/retry", data={"csrf_token": "nope"}, headers=HTML,
                               follow_redirects=False)
    assert forged.status_code == 403 and _retrieval(session).status == RetrievalStatus.failed
    retried = owner.client.post(f"/channels/{page}/leads/retry", data={"csrf_token": csrf_token(shown.text)},
                                headers=HTML, follow_redirects=False)
    assert retried.status_code == 303
    work(engine)
    assert _retrieval(session).status == RetrievalStatus.captured and _count(session, Lead) == 1


def test_a_lost_reading_is_queued_again_by_the_sweep(session: Session, client: TestClient, engine: Engine,
                                                     graph: GraphFake, page: int) -> None:
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    graph.lead_outages = 1
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))
    work(engine)
    # The worker holding the next try died and its job is gone; the retrieval is long overdue.
    session.execute(update(Job).where(Job.name == channel_leads.FETCH_JOB, Job.status == "queued")
                    .values(status="dead"))
    session.execute(update(LeadRetrieval).values(next_attempt_at=utcnow() - channel_leads.OVERDUE * 2))
    session.commit()
    assert channel_leads.queue_overdue(session) == 1
    session.commit()
    work(engine)
    assert _retrieval(session).status == RetrievalStatus.captured


def test_a_facebook_lead_lands_on_the_existing_customer_with_the_same_phone(
        session: Session, client: TestClient, engine: Engine, graph: GraphFake, page: int) -> None:
    known = service.capture(session, source="store_visit", phone="+84 912 345 678", name="Chị Mai")
    graph.add_lead(PAGE, LEAD_ID, ANSWERS)
    post_meta(client, page, leadgen_webhook(PAGE, LEAD_ID))
    work(engine)
    session.expire_all()
    lead = session.scalars(select(Lead)).one()
    assert lead.id == known.lead.id and lead.profile_id == known.lead.profile_id
    assert lead.captures == 2 and lead.labels == ["Store visit", "Facebook Ads"]
    assert lead.email == "mai.nguyen@gmail.com"  # the contact it lacked is added


# Zalo OA information requests ---------------------------------------------------------------------------


@pytest.fixture
def zalo() -> ZaloFake:
    return ZaloFake()


@pytest.fixture
def zalo_oa(owner: Browser, zalo: ZaloFake) -> Any:  # noqa: F811
    with serving(zalo.app) as url:
        channel = connect(owner, "zalo", "Zalo OA Thời trang Xuyên",
                          {"oa_id": zalo.oa_id, "app_id": zalo.app_id, "api_base": url, "oauth_base": url,
                           "business_api_base": url},
                          {"oa_secret_key": zalo.oa_secret_key, "app_secret": zalo.app_secret,
                           "access_token": zalo.access_token, "refresh_token": zalo.refresh_token})
        yield int(channel["id"])


def _post_zalo(client: TestClient, channel_id: int, zalo: ZaloFake, payload: dict[str, Any]) -> httpx.Response:
    body, headers = zalo.signed(payload)
    return client.post(f"/webhooks/{channel_id}", content=body, headers=headers)


USER = "2512523625412515"
INFO = {"name": "Lê Thị Hoa", "phone": "0987654321", "address": "45 Trần Phú", "city": "Đà Nẵng",
        "district": "Hải Châu"}


def test_a_zalo_information_request_becomes_a_lead(session: Session, client: TestClient, engine: Engine,
                                                   zalo: ZaloFake, zalo_oa: int) -> None:
    assert _post_zalo(client, zalo_oa, zalo, zalo.submit_info(USER, INFO, timestamp_ms=1765000000000)
                      ).status_code == 200
    work(engine)
    lead = session.scalars(select(Lead)).one()
    assert (lead.source, lead.name, lead.phone, lead.province, lead.labels) == (
        SourceKind.zalo_form, "Lê Thị Hoa", "+84987654321", "Đà Nẵng", ["Zalo"])
    capture = session.scalars(select(LeadCapture)).one()
    assert capture.fields == INFO and capture.dedupe_key == f"zalo:{USER}:1765000000000"
    assert zalo.oa_id in capture.source_detail
    # The inbox keeps what it did with the event: the message on the customer's conversation, the same person.
    conversation = session.scalars(select(Conversation)).one()
    assert conversation.profile_id == lead.profile_id
    assert "+84987654321" in session.scalars(select(Message)).one().text


def test_a_repeated_zalo_submission_is_one_lead_and_a_redelivery_counts_once(
        session: Session, client: TestClient, engine: Engine, zalo: ZaloFake, zalo_oa: int) -> None:
    first = zalo.submit_info(USER, INFO, timestamp_ms=1765000000000)
    assert _post_zalo(client, zalo_oa, zalo, first).status_code == 200
    work(engine)
    # Zalo delivers the same event again (its retry), and the user sends the form again a day later.
    assert _post_zalo(client, zalo_oa, zalo, first).status_code == 200
    again = zalo.submit_info(USER, {**INFO, "address": "12 Bạch Đằng"}, timestamp_ms=1765086400000)
    assert _post_zalo(client, zalo_oa, zalo, again).status_code == 200
    work(engine)
    lead = session.scalars(select(Lead)).one()
    assert lead.captures == 2 and _count(session, LeadCapture) == 2


def test_a_zalo_submission_with_a_bad_signature_writes_nothing(session: Session, client: TestClient,
                                                               engine: Engine, zalo: ZaloFake, zalo_oa: int) -> None:
    body, headers = zalo.signed(zalo.submit_info(USER, INFO))
    headers["x-zevent-signature"] = "mac=" + "0" * 64
    assert client.post(f"/webhooks/{zalo_oa}", content=body, headers=headers).status_code == 401
    work(engine)
    assert (_count(session, WebhookReceipt), _count(session, Lead)) == (0, 0)
