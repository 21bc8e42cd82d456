"""Segments: a rule language over customers, its evaluation as one SQL query, and kept membership."""
