"""Fixtures of the duplicate tests: the page tests' browser and seeded shop."""

from __future__ import annotations

from tests.ui.conftest import browser, shop  # noqa: F401  (re-exported fixtures)
