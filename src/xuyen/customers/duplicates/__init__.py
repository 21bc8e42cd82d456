"""Duplicate customers: profiles no strong key links, found by probabilistic matching and reviewed by staff."""
