"""Lead and deal custom field tests: signed-in browsers for each role, and the leads tests' local fake DNS."""

from __future__ import annotations

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
from tests.sales.leads.conftest import fake_dns, local_dns  # noqa: F401  (leads ask a local DNS for MX records)
