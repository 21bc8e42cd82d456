"""Deals test fixtures: signed-in browsers for each role."""

from __future__ import annotations

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
