"""Catalogue tables: categories, products, variants (each one SKU), images, and each channel's listings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.db import Base, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=24, values_callable=lambda members: [m.value for m in members])


class ProductStatus(enum.StrEnum):
    """Only active products are sold; drafts are being prepared, archived ones kept for old orders."""

    draft = "draft"
    active = "active"
    archived = "archived"


class TaxClass(enum.StrEnum):
    """Which VAT rate applies: the pricing domain keeps each class's rates with their effective dates.

    ``standard`` goods take the 10 % rate and the temporary reductions to 8 % decided for most goods;
    ``standard_not_reduced`` goods take 10 % always (the goods the reductions leave out); ``reduced`` goods 5 %;
    ``exempt`` goods carry no VAT.
    """

    standard = "standard"
    standard_not_reduced = "standard_not_reduced"
    reduced = "reduced"
    exempt = "exempt"


class Category(Base):
    """A category of products (Áo, Quần, Phụ kiện…), possibly under a parent category."""

    __tablename__ = "catalogue_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_categories.id", ondelete="SET NULL"))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    """A product as the customer sees it (a style: "Áo thun cổ tròn"), sold as one or more variants.

    ``option_names`` lists the names of its variants' options in the order the business gave them (``["Màu",
    "Cỡ"]``: JSON objects do not keep their keys' order on PostgreSQL); ``name_folded`` is the name without
    diacritics, lower-case, for search.
    """

    __tablename__ = "catalogue_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(100), default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_categories.id", ondelete="SET NULL"),
                                                    index=True)
    tax_class: Mapped[TaxClass] = mapped_column(_enum(TaxClass), default=TaxClass.standard)
    status: Mapped[ProductStatus] = mapped_column(_enum(ProductStatus), default=ProductStatus.active)
    option_names: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default=text("'[]'"))
    name_folded: Mapped[str] = mapped_column(String(300), default="", server_default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Variant(Base):
    """One sellable thing: a product in one combination of options (Đen / M), with its own SKU and barcode.

    ``options`` holds the option names and values (``{"Màu": "Đen", "Cỡ": "M"}``), shown in the order of the
    product's ``option_names``. Stock, prices, listings and order lines all name a variant.
    """

    __tablename__ = "catalogue_variants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalogue_products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductImage(Base):
    """A picture of a product, or of one of its variants (the black one), in display order."""

    __tablename__ = "catalogue_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalogue_products.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(1000))
    alt: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class ChannelListing(Base):
    """A variant listed on a sales channel, under the ids that channel gives it.

    ``account`` names the shop on the channel (a Shopee ``shop_id``, a Lazada seller id; empty for our own
    channels). On Shopee a variant is an item's model (``external_item_id`` + ``external_model_id``); on Lazada a
    SKU (``external_item_id`` + ``external_sku``). Only listed, active variants are sold on, and told the stock
    of, that channel.
    """

    __tablename__ = "catalogue_channel_listings"
    __table_args__ = (
        UniqueConstraint("channel", "account", "variant_id"),
        UniqueConstraint("channel", "account", "external_item_id", "external_model_id", "external_sku",
                         name="uq_catalogue_channel_listings_external"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"), index=True)
    channel: Mapped[SalesChannel] = mapped_column(_enum(SalesChannel))
    account: Mapped[str] = mapped_column(String(64), default="")
    external_item_id: Mapped[str] = mapped_column(String(64), default="")
    external_model_id: Mapped[str] = mapped_column(String(64), default="")
    external_sku: Mapped[str] = mapped_column(String(128), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
