"""Auth tests use the shared API helpers (tests/api_client.py); ``browser_for`` comes from tests/conftest.py."""
