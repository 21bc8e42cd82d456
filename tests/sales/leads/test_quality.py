"""Lead quality: phones and e-mails normalised (invalid ones flagged, not dropped) and e-mail domains checked for
mail exchangers over real DNS (a local server), with "unknown" when DNS cannot be reached."""

from __future__ import annotations

import socket

import pytest

from tests.sales.leads.fake_dns import FakeDns
from xuyen.config import get_settings
from xuyen.sales.leads.quality import MX_NONE, MX_OK, MX_UNKNOWN, check_contact, forget_mx_answers, mx_status


def test_mx_answers_from_dns(fake_dns: FakeDns) -> None:
    assert mx_status("gmail.com") == MX_OK
    assert mx_status("Shop.VN") == MX_OK
    assert mx_status("nomail.vn") == MX_NONE  # exists, no MX
    assert mx_status("nowhere.example") == MX_NONE  # NXDOMAIN
    assert mx_status("nullmx.vn") == MX_NONE  # RFC 7505 null MX
    asked = len(fake_dns.questions)
    assert mx_status("gmail.com") == MX_OK
    assert len(fake_dns.questions) == asked  # answered from the per-process cache


def _unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_resolver_gives_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LEADS_MX_NAMESERVER", f"127.0.0.1:{_unused_udp_port()}")
    monkeypatch.setenv("XUYEN_LEADS_MX_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    forget_mx_answers()
    assert mx_status("gmail.com") == MX_UNKNOWN
    quality = check_contact(email="lan@gmail.com")
    assert quality.email == "lan@gmail.com" and quality.email_mx == MX_UNKNOWN
    assert "email_no_mail_server" not in quality.flags


def test_the_check_can_be_switched_off(fake_dns: FakeDns, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LEADS_CHECK_MX", "false")
    get_settings.cache_clear()
    assert mx_status("gmail.com") == MX_UNKNOWN
    assert fake_dns.questions == []


def test_phones_normalised_with_the_prefix_change() -> None:
    quality = check_contact(phone="0168 123 4567")  # an old 11-digit Viettel number
    assert quality.phone == "+84381234567"  # 0168 became 038 in 2018
    assert quality.flags == []
    assert check_contact(phone="+84 912 345 678").phone == "+84912345678"


def test_invalid_values_are_kept_and_flagged() -> None:
    quality = check_contact(phone="12", email="lan at gmail")
    assert quality.phone is None and quality.email is None
    assert set(quality.flags) == {"phone_invalid", "email_invalid", "no_contact"}
    assert quality.as_json()["phone_raw"] == "12" and quality.as_json()["email_raw"] == "lan at gmail"


def test_domain_without_mail_server_is_flagged() -> None:
    quality = check_contact(phone="0912345678", email="an@nomail.vn")
    assert quality.email == "an@nomail.vn" and quality.email_mx == MX_NONE
    assert quality.flags == ["email_no_mail_server"]
