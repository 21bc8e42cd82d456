"""Money, numbers and times the way Vietnamese and English readers expect them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ui.helpers import PASSWORD, sign_in
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.events import service as events_service
from xuyen.events.models import ChannelType
from xuyen.i18n import activated
from xuyen.ui.formatting import format_local_time, format_money
from xuyen.ui.rendering import environment

NBSP = "\u00a0"


def render(source: str, *, locale: str = "vi", timezone: str = "Asia/Ho_Chi_Minh", **values: object) -> str:
    with activated(locale, timezone):
        return environment().from_string(source).render(**values)


@pytest.mark.parametrize(("amount", "locale", "expected"), [
    (1_250_000, "vi", f"1.250.000{NBSP}₫"),
    (1_250_000, "en", "₫1,250,000"),
    (Decimal("99000"), "vi", f"99.000{NBSP}₫"),
    (0, "vi", f"0{NBSP}₫"),
    (-350_000, "vi", f"-350.000{NBSP}₫"),
])
def test_money_filter(amount: object, locale: str, expected: str) -> None:
    assert render("{{ amount|money }}", locale=locale, amount=amount) == expected


def test_money_has_no_decimals_in_dong() -> None:
    assert format_money(Decimal("1250000.40"), "vi") == f"1.250.000{NBSP}₫"
    assert format_money(None, "vi") == "—"


def test_money_in_another_currency() -> None:
    assert render("{{ amount|money('USD') }}", locale="en", amount=Decimal("19.5")) == "$19.50"


def test_number_filter() -> None:
    assert render("{{ 1234567|number }}", locale="vi") == "1.234.567"
    assert render("{{ 1234567|number }}", locale="en") == "1,234,567"


def test_local_time_filter_shows_utc_in_the_viewers_time_zone() -> None:
    moment = datetime(2026, 1, 5, 17, 30, tzinfo=UTC)
    assert render("{{ moment|local_time }}", moment=moment) == "06/01/2026 00:30"
    assert render("{{ moment|local_time }}", timezone="Europe/London", moment=moment) == "05/01/2026 17:30"
    assert render("{{ moment|local_time }}", moment=None) == "—"


def test_local_time_takes_naive_values_as_utc_and_survives_an_unknown_zone() -> None:
    assert format_local_time(datetime(2026, 2, 14, 1, 5), "Asia/Ho_Chi_Minh") == "14/02/2026 08:05"
    assert format_local_time(datetime(2026, 2, 14, 1, 5, tzinfo=UTC), "Mars/Olympus") == "14/02/2026 08:05"


def test_pages_show_times_in_the_signed_in_users_time_zone(browser: TestClient, session: Session) -> None:
    auth_service.create_user(session, email="kenji@xuyen.example", name="Kenji", password=PASSWORD,
                             role=Role.owner, timezone="Asia/Tokyo")
    source, _ = events_service.create_source(session, name="Website", channel=ChannelType.web)
    sign_in(browser, "kenji@xuyen.example")
    page = browser.get("/sources").text
    tokyo = format_local_time(source.created_at, "Asia/Tokyo")
    saigon = format_local_time(source.created_at, "Asia/Ho_Chi_Minh")
    assert tokyo != saigon
    assert f">{tokyo}</time>" in page
    assert f">{saigon}</time>" not in page
