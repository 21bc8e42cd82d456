"""Every leads test asks a local fake DNS server for MX records, never the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sales.leads.fake_dns import FakeDns
from xuyen.config import get_settings
from xuyen.sales.leads.capturing import forget_duplicate_checks
from xuyen.sales.leads.quality import forget_mx_answers


@pytest.fixture
def fake_dns() -> Iterator[FakeDns]:
    with FakeDns(mx={"gmail.com": ["gmail-smtp-in.l.google.com"], "shop.vn": ["mx1.shop.vn", "mx2.shop.vn"],
                     "nullmx.vn": [""]}, empty={"nomail.vn"}) as server:
        yield server


@pytest.fixture(autouse=True)
def local_dns(fake_dns: FakeDns, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XUYEN_LEADS_MX_NAMESERVER", fake_dns.address)
    monkeypatch.setenv("XUYEN_LEADS_MX_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    forget_mx_answers()
    forget_duplicate_checks()  # each test's database starts empty
    yield
    forget_mx_answers()
    get_settings.cache_clear()
