"""Stores and branches: the physical places a business sells from, and the scope of staff accounts."""
