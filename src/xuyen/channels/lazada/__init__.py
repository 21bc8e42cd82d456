"""Lazada Open Platform (orders, stock, pushes): see ``adapter.LazadaAdapter``."""

from xuyen.channels.lazada.adapter import LazadaAdapter

__all__ = ["LazadaAdapter"]
