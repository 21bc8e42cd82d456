"""Journeys: triggered flows across channels, the messaging policy every journey and campaign send goes through,
and the message templates they send."""
