"""Journeys: flows customers enter by a trigger and move through step by step."""
