"""Payment gateway adapters: each signs its payment requests and verifies its callbacks, in its own protocol."""

from __future__ import annotations


class GatewayRefused(Exception):
    """The gateway did not create the payment (or could not be reached); the message says what it answered."""
