"""Identity test fixtures: browsers signed in as an agent, a manager and an owner."""

from tests.api_client import agent, manager, owner  # noqa: F401
