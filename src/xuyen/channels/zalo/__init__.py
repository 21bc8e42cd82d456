"""Zalo Official Account (OA API v3) with ZNS template messages: see ``adapter.ZaloAdapter``."""

from xuyen.channels.zalo.adapter import ZaloAdapter

__all__ = ["ZaloAdapter"]
