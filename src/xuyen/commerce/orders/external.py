"""An order as a marketplace reports it, before it becomes one of ours.

The marketplace adapters (``xuyen.channels.shopee``, ``xuyen.channels.lazada``) only speak their platform's
protocol; the marketplace sync turns what they fetched into an ``ExternalOrder`` and hands it to the orders
service, which creates or updates our order idempotently on (channel, account, external id).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xuyen.commerce.channels import SalesChannel


class ExternalStatus(enum.StrEnum):
    """A marketplace order's state, as every marketplace's own states map onto it.

    Stock is reserved while an order is ``unpaid`` or ``to_ship``, consumed when it is ``shipped``; a
    ``cancelled`` order releases what it held; ``returned`` puts it back where the platform returns it.
    """

    unpaid = "unpaid"
    to_ship = "to_ship"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    returned = "returned"


@dataclass(frozen=True)
class ExternalLine:
    """One line of a marketplace order, named by the platform's ids for the listed variant."""

    external_item_id: str
    quantity: int
    unit_price: int  # whole đồng, what the buyer paid per unit before order-level vouchers
    external_model_id: str = ""
    external_sku: str = ""
    name: str = ""
    discount: int = 0  # whole đồng off the line (seller vouchers given to the line)


@dataclass(frozen=True)
class ExternalOrder:
    """A marketplace order: who bought what, for how much, and where it stands."""

    channel: SalesChannel
    account: str  # the shop on the marketplace (Shopee shop_id, Lazada seller id)
    external_id: str
    status: ExternalStatus
    placed_at: datetime
    updated_at: datetime
    lines: list[ExternalLine]
    total: int  # whole đồng the buyer pays
    shipping_fee: int = 0
    payment_method: str = "cod"  # one of the orders domain's payment methods
    buyer_identifiers: list[tuple[str, str, str | None]] = field(default_factory=list)  # (type, value, scope)
    buyer_name: str = ""
    shipping_address: dict[str, str] = field(default_factory=dict)
    raw_status: str = ""  # the platform's own word for the status (READY_TO_SHIP, packed, …)
    raw: dict[str, Any] = field(default_factory=dict)
