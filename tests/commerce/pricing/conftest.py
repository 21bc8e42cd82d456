"""Fixtures of the pricing tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for the API and page tests)
from tests.commerce.pricing.support import Shop, make_shop


@pytest.fixture
def shop(session: Session) -> Shop:
    """The small catalogue with base prices and the default VAT rates."""
    return make_shop(session)
