"""Shopee Open Platform v2 (orders, stock, pushes): see ``adapter.ShopeeAdapter``."""

from xuyen.channels.shopee.adapter import ShopeeAdapter

__all__ = ["ShopeeAdapter"]
