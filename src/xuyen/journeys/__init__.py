"""Journeys: triggered flows and the messaging policy every journey and campaign send goes through."""
