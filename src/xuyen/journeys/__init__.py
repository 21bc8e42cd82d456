"""Journeys: triggered, personalised flows across channels, and the message templates they send."""
