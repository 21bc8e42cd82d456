"""The sales channels an order, a price override, a promotion or a stock buffer can name."""

from __future__ import annotations

import enum


class SalesChannel(enum.StrEnum):
    """Where a sale happens: the website or app, a store's till, a chat conversation, or a marketplace."""

    web = "web"
    app = "app"
    pos = "pos"
    chat = "chat"
    shopee = "shopee"
    lazada = "lazada"
    tiktok_shop = "tiktok_shop"

    @property
    def is_marketplace(self) -> bool:
        """Whether the channel is a marketplace that keeps its own copy of the stock and must be told it."""
        return self in MARKETPLACES


MARKETPLACES = frozenset({SalesChannel.shopee, SalesChannel.lazada, SalesChannel.tiktok_shop})
