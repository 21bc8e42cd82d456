"""The website lead form: its script, its token, CORS for the allowed sites only, and the spam checks (honeypot,
too fast, expired, replayed or forged tokens, too many from one address), each a clear 4xx answer."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import assert_problem
from tests.factories import make_user
from xuyen.config import get_settings
from xuyen.sales.leads import configuration, forms
from xuyen.sales.leads.models import Lead, LeadCapture, LeadForm

SITE = "https://shop.vn"


@pytest.fixture
def form(session: Session) -> LeadForm:
    rep = make_user(session)
    return configuration.create_form(session, name="Tư vấn", allowed_origins=[SITE], campaign="Website Tết",
                                     labels=["Tư vấn"], owner_id=rep.id)


def _token(form: LeadForm, *, age: float = 5.0) -> str:
    return forms.issue_token(form_key=form.key, now=time.time() - age)


def _post(client: TestClient, form: LeadForm, data: dict[str, str], *, origin: str = SITE,
          as_json: bool = True) -> httpx.Response:
    headers = {"Origin": origin}
    if as_json:
        return client.post(f"/forms/leads/{form.key}", json=data, headers={**headers, "Accept": "application/json"})
    return client.post(f"/forms/leads/{form.key}", data=data, headers=headers, follow_redirects=False)


def test_the_script_is_served_for_any_site(client: TestClient) -> None:
    response = client.get("/forms/lead.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "data-form" in response.text and response.headers["access-control-allow-origin"] == "*"
    again = client.get("/forms/lead.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_a_submission_from_an_allowed_site_becomes_a_lead(client: TestClient, session: Session,
                                                         form: LeadForm) -> None:
    token = client.get(f"/forms/leads/{form.key}/token", headers={"Origin": SITE})
    assert token.status_code == 200 and token.headers["access-control-allow-origin"] == SITE
    assert token.json()["honeypot"] == forms.HONEYPOT
    preflight = client.options(f"/forms/leads/{form.key}", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == SITE
    response = _post(client, form, {"_token": _token(form), "name": "Hồ Ngọc", "phone": "0916000111",
                                    "email": "ngoc@gmail.com", "message": "Gọi em sau 5h",
                                    "page": "https://shop.vn/khuyen-mai", "utm_source": "zalo",
                                    "utm_campaign": "tet", "size": "M", forms.HONEYPOT: ""})
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == SITE
    lead = session.scalar(select(Lead))
    assert lead is not None and lead.phone == "+84916000111" and lead.owner_id == form.owner_id
    assert lead.labels == ["Website", "Tư vấn"] and lead.campaign == "Website Tết"
    capture = session.scalar(select(LeadCapture))
    assert capture is not None and capture.form_id == form.id and capture.utm_source == "zalo"
    assert capture.source_detail == "https://shop.vn/khuyen-mai"
    assert capture.fields == {"message": "Gọi em sau 5h", "size": "M"}


def test_a_plain_html_form_is_sent_back_to_the_site(client: TestClient, session: Session, form: LeadForm) -> None:
    response = _post(client, form, {"_token": _token(form), "phone": "0916000222",
                                    "_redirect": "https://shop.vn/cam-on"}, as_json=False)
    assert response.status_code == 303
    assert response.headers["location"] == "https://shop.vn/cam-on"
    elsewhere = _post(client, form, {"_token": _token(form), "phone": "0916000223",
                                     "_redirect": "https://evil.example/"}, as_json=False)
    assert elsewhere.status_code == 201


def test_spam_and_bad_submissions_are_refused(client: TestClient, session: Session, form: LeadForm) -> None:
    lead = {"phone": "0916000333"}
    other_site = _post(client, form, {"_token": _token(form), **lead}, origin="https://evil.example")
    body = assert_problem(other_site, 403, "origin_not_allowed")
    assert body and "access-control-allow-origin" not in other_site.headers
    assert_problem(_post(client, form, {"_token": _token(form), forms.HONEYPOT: "http://spam", **lead}),
                   422, "form_spam")
    assert_problem(_post(client, form, lead), 422, "form_token_missing")
    fresh = client.get(f"/forms/leads/{form.key}/token", headers={"Origin": SITE}).json()["token"]
    assert_problem(_post(client, form, {"_token": fresh, **lead}), 422, "form_too_fast")
    assert_problem(_post(client, form, {"_token": _token(form, age=3 * 86_400), **lead}),
                   422, "form_token_expired")
    forged = _token(form)[:-4] + "abcd"
    assert_problem(_post(client, form, {"_token": forged, **lead}), 422, "form_token_invalid")
    other_form = configuration.create_form(session, name="Khác", allowed_origins=[SITE])
    assert_problem(_post(client, form, {"_token": _token(other_form), **lead}),
                   422, "form_token_invalid")
    assert_problem(_post(client, form, {"_token": _token(form), "name": "Không số"}),
                   422, "contact_required")
    token = _token(form)
    assert _post(client, form, {"_token": token, **lead}).status_code == 201
    assert_problem(_post(client, form, {"_token": token, **lead}), 409, "form_token_used")
    missing = client.post("/forms/leads/nosuchform123", json=lead, headers={"Origin": SITE})
    assert_problem(missing, 404, "lead_form_not_found")
    xml = client.post(f"/forms/leads/{form.key}", content=b"<a/>",
                      headers={"Origin": SITE, "Content-Type": "application/xml"})
    assert_problem(xml, 415, "unsupported_media_type")
    assert session.scalar(select(LeadCapture.id).where(LeadCapture.form_id == other_form.id)) is None


def test_one_address_is_limited(client: TestClient, form: LeadForm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LEADS_FORM_RATE_PER_MINUTE", "2")
    get_settings.cache_clear()
    for phone in ("0916000401", "0916000402"):
        assert _post(client, form, {"_token": _token(form), "phone": phone}).status_code == 201
    limited = _post(client, form, {"_token": _token(form), "phone": "0916000403"})
    assert_problem(limited, 429, "form_rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
