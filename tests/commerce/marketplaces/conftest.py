"""Marketplace sync fixtures: the Shopee and Lazada fakes over real HTTP, connected shops, listed variants, and
stand-ins for the stock and orders contracts the sync calls (to set exactly what a channel may sell; the end-to-end
tests use the real domains)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for the API tests)
from tests.fakes.lazada import FakeLazada
from tests.fakes.server import serving
from tests.fakes.shopee import FakeShopee

from xuyen.commerce.catalogue.models import ChannelListing, Product, Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import ports, service
from xuyen.commerce.marketplaces.models import MarketplaceConnection
from xuyen.commerce.orders.external import ExternalOrder

SHOP = 880_001
SELLER = "200045"


@dataclass
class Contracts:
    """What the stock and orders domains answer the sync, by their contracts: ``stock`` is what each channel
    may sell of a variant (``available_for_channel``), ``orders`` every ``ExternalOrder`` handed over."""

    stock: dict[tuple[SalesChannel, int], int] = field(default_factory=dict)
    orders: list[ExternalOrder] = field(default_factory=list)
    stock_reads: list[tuple[SalesChannel, tuple[int, ...]]] = field(default_factory=list)

    def available_for_channel(self, session: Session, *, channel: SalesChannel,
                              variant_ids: Collection[int]) -> dict[int, int]:
        self.stock_reads.append((channel, tuple(sorted(variant_ids))))
        return {variant_id: max(self.stock.get((channel, variant_id), 0), 0) for variant_id in variant_ids}

    def upsert_external_order(self, session: Session, *, order: ExternalOrder) -> int | None:
        self.orders.append(order)
        return len(self.orders)


@pytest.fixture
def contracts(monkeypatch: pytest.MonkeyPatch) -> Contracts:
    made = Contracts()
    monkeypatch.setattr(ports, "available_for_channel", made.available_for_channel)
    monkeypatch.setattr(ports, "upsert_external_order", made.upsert_external_order)
    return made


@pytest.fixture
def real_stock(monkeypatch: pytest.MonkeyPatch) -> Contracts:
    """The catalogue and stock domains answer for themselves; only orders are stood in for."""
    made = Contracts()
    monkeypatch.setattr(ports, "upsert_external_order", made.upsert_external_order)
    return made


@pytest.fixture
def shopee() -> Iterator[tuple[FakeShopee, str]]:
    fake = FakeShopee()
    with serving(fake.app()) as url:
        yield fake, url


@pytest.fixture
def lazada() -> Iterator[tuple[FakeLazada, str]]:
    fake = FakeLazada()
    with serving(fake.app()) as url:
        yield fake, url


def connect_shopee(session: Session, fake: FakeShopee, url: str, *, shop_id: int = SHOP) -> MarketplaceConnection:
    """Authorise a shop at the fake and connect it."""
    tokens = fake.authorise(shop_id)
    return service.connect(session, channel="shopee", name="Shopee – Thời trang Xuyên",
                           settings={"partner_id": str(fake.partner_id), "shop_id": str(shop_id), "api_base": url},
                           secrets={"partner_key": fake.partner_key, **tokens}, actor="test")


def connect_lazada(session: Session, fake: FakeLazada, url: str, *, seller_id: str = SELLER) -> MarketplaceConnection:
    """Authorise a seller at the fake and connect it."""
    tokens = fake.authorise(seller_id)
    return service.connect(session, channel="lazada", name="Lazada – Thời trang Xuyên",
                           settings={"app_key": fake.app_key, "seller_id": seller_id, "api_base": f"{url}/rest",
                                     "auth_base": f"{url}/rest"},
                           secrets={"app_secret": fake.app_secret, **tokens}, actor="test")


_codes = iter(range(1, 10**9))


def make_variant(session: Session, sku: str) -> Variant:
    """A product with one variant (committed)."""
    number = next(_codes)
    product = Product(code=f"P{number}", name=f"Áo thun {number}")
    session.add(product)
    session.flush()
    variant = Variant(product_id=product.id, sku=sku, options={"Màu": "Đen"})
    session.add(variant)
    session.commit()
    return variant


def list_variant(session: Session, variant: Variant, *, channel: SalesChannel, account: str, item_id: str,
                 model_id: str = "", sku: str = "", active: bool = True) -> ChannelListing:
    """List a variant on a channel (committed)."""
    listing = ChannelListing(variant_id=variant.id, channel=channel, account=account, external_item_id=item_id,
                             external_model_id=model_id, external_sku=sku, is_active=active)
    session.add(listing)
    session.commit()
    return listing


def fresh(session: Session, row: Any) -> Any:
    """The row as the database has it now (a new transaction sees what others committed)."""
    session.rollback()
    return session.get(type(row), row.id)
