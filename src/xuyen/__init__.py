"""Xuyên: a self-hosted omnichannel customer platform."""

__version__ = "0.1.0"
