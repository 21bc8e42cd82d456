"""Catalogue bodies and answers: products with variants and images, categories, channel listings, variant views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.commerce.catalogue.codes import ordered_options, variant_label
from xuyen.commerce.catalogue.models import (
    Category,
    ChannelListing,
    Product,
    ProductImage,
    ProductStatus,
    TaxClass,
    Variant,
)
from xuyen.commerce.channels import SalesChannel

MAX_VARIANTS = 300
MAX_IMAGES = 50
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class VariantView:
    """What other domains need to know about a variant, without reaching into the catalogue's tables."""

    variant_id: int
    sku: str
    barcode: str | None
    product_id: int
    product_code: str
    product_name: str
    variant_label: str  # "Đen / M"; empty for a product without options
    category_id: int | None
    tax_class: TaxClass
    is_sellable: bool  # the product is active and the variant too

    @property
    def display_name(self) -> str:
        """The product's name with the variant's options, as a receipt prints it."""
        return f"{self.product_name} ({self.variant_label})" if self.variant_label else self.product_name


@dataclass(frozen=True)
class ProductDetail:
    """A product with its category's path, variants (in order), pictures and every variant's listings."""

    product: Product
    category_path: str
    variants: list[Variant]
    images: list[ProductImage]
    listings: dict[int, list[ChannelListing]]  # by variant id


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageIn(_In):
    """A picture: a web address (https://…) or a path on this site (/static/…)."""

    url: str = Field(min_length=1, max_length=1000, examples=["https://cdn.luamay.vn/ao-thun-den.jpg"])
    alt: str = Field(default="", max_length=300)
    variant_sku: str | None = Field(default=None, max_length=64,
                                    description="The SKU of the variant it shows; none: the whole product.")


class VariantIn(_In):
    """One variant: its SKU, barcode and options (``{"Màu": "Đen", "Cỡ": "M"}``)."""

    sku: str = Field(min_length=1, max_length=64, examples=["AT-001-DEN-M"])
    barcode: str | None = Field(default=None, max_length=64, examples=["8938505970012"])
    options: dict[str, str] = Field(default_factory=dict, max_length=5, examples=[{"Màu": "Đen", "Cỡ": "M"}])
    weight_grams: int | None = Field(default=None, ge=0, le=1_000_000)
    is_active: bool = True


class VariantUpdate(_In):
    """What changes on a variant; fields left out stay as they are (send ``barcode: null`` to remove it)."""

    sku: str | None = Field(default=None, min_length=1, max_length=64)
    barcode: str | None = Field(default=None, max_length=64)
    options: dict[str, str] | None = Field(default=None, max_length=5)
    weight_grams: int | None = Field(default=None, ge=0, le=1_000_000)
    is_active: bool | None = None


class ProductIn(_In):
    """A new product with its variants (at least one) and pictures."""

    code: str = Field(min_length=1, max_length=64, examples=["AT-001"])
    name: str = Field(min_length=1, max_length=300, examples=["Áo thun cổ tròn cotton"])
    description: str = Field(default="", max_length=20_000)
    brand: str = Field(default="", max_length=100)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    tax_class: TaxClass = TaxClass.standard
    status: ProductStatus = ProductStatus.active
    variants: list[VariantIn] = Field(min_length=1, max_length=MAX_VARIANTS)
    images: list[ImageIn] = Field(default_factory=list, max_length=MAX_IMAGES)


class ProductUpdate(_In):
    """What changes on a product; fields left out stay as they are (``category_id: null`` takes it out)."""

    code: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    brand: str | None = Field(default=None, max_length=100)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    tax_class: TaxClass | None = None
    status: ProductStatus | None = None


class CategoryIn(_In):
    """A category, under a parent category or at the top."""

    name: str = Field(min_length=1, max_length=200, examples=["Áo thun"])
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    slug: str | None = Field(default=None, max_length=100, description="Made from the name when left out.")
    position: int = Field(default=0, ge=0, le=100_000)


class CategoryUpdate(_In):
    """What changes on a category; fields left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    position: int | None = Field(default=None, ge=0, le=100_000)


class ListingIn(_In):
    """A variant listed on a channel: the shop (``account``) and the ids the channel gives it."""

    channel: SalesChannel
    account: str = Field(default="", max_length=64, examples=["220314588"])
    external_item_id: str = Field(default="", max_length=64, examples=["23456789012"])
    external_model_id: str = Field(default="", max_length=64, examples=["180012345"])
    external_sku: str = Field(default="", max_length=128)


# Answers ------------------------------------------------------------------------------------------------


class ImageOut(BaseModel):
    """A picture of the product or of one variant."""

    id: int
    url: str
    alt: str
    variant_id: int | None
    position: int

    @classmethod
    def of(cls, image: ProductImage) -> ImageOut:
        return cls(id=image.id, url=image.url, alt=image.alt, variant_id=image.variant_id, position=image.position)


class ListingOut(BaseModel):
    """A variant's listing on a channel."""

    id: int
    variant_id: int
    channel: SalesChannel
    account: str
    external_item_id: str
    external_model_id: str
    external_sku: str
    is_active: bool
    listed_at: datetime

    @classmethod
    def of(cls, listing: ChannelListing) -> ListingOut:
        return cls(id=listing.id, variant_id=listing.variant_id, channel=listing.channel, account=listing.account,
                   external_item_id=listing.external_item_id, external_model_id=listing.external_model_id,
                   external_sku=listing.external_sku, is_active=listing.is_active, listed_at=listing.listed_at)


class VariantOut(BaseModel):
    """A variant with its label and listings."""

    id: int
    product_id: int
    sku: str
    barcode: str | None
    options: dict[str, Any]
    label: str
    weight_grams: int | None
    position: int
    is_active: bool
    listings: list[ListingOut] = Field(default_factory=list)


class CategoryOut(BaseModel):
    """A category and where it sits in the tree."""

    id: int
    name: str
    slug: str
    parent_id: int | None
    position: int
    path: str = Field(description="The names from the top, joined with ' > '.")

    @classmethod
    def of(cls, category: Category, *, path: str) -> CategoryOut:
        return cls(id=category.id, name=category.name, slug=category.slug, parent_id=category.parent_id,
                   position=category.position, path=path)


class ProductSummaryOut(BaseModel):
    """A product in a list."""

    id: int
    code: str
    name: str
    brand: str
    category_id: int | None
    status: ProductStatus
    tax_class: TaxClass
    variant_count: int
    updated_at: datetime

    @classmethod
    def of(cls, product: Product, *, variant_count: int) -> ProductSummaryOut:
        return cls(id=product.id, code=product.code, name=product.name, brand=product.brand,
                   category_id=product.category_id, status=product.status, tax_class=product.tax_class,
                   variant_count=variant_count, updated_at=product.updated_at)


class ProductOut(BaseModel):
    """A product with its variants, pictures and listings."""

    id: int
    code: str
    name: str
    description: str
    brand: str
    category_id: int | None
    category_path: str
    tax_class: TaxClass
    status: ProductStatus
    option_names: list[str]
    created_at: datetime
    updated_at: datetime
    variants: list[VariantOut]
    images: list[ImageOut]

    @classmethod
    def of(cls, detail: ProductDetail) -> ProductOut:
        product, names = detail.product, detail.product.option_names or []
        return cls(id=product.id, code=product.code, name=product.name, description=product.description,
                   brand=product.brand, category_id=product.category_id, category_path=detail.category_path,
                   tax_class=product.tax_class, status=product.status, option_names=names,
                   created_at=product.created_at, updated_at=product.updated_at,
                   variants=[variant_out(v, option_names=names, listings=detail.listings.get(v.id, []))
                             for v in detail.variants],
                   images=[ImageOut.of(image) for image in detail.images])


class VariantLookupOut(BaseModel):
    """A scanned or typed code's variant, as a till shows it."""

    variant_id: int
    sku: str
    barcode: str | None
    product_id: int
    product_code: str
    product_name: str
    variant_label: str
    category_id: int | None
    tax_class: TaxClass
    is_sellable: bool

    @classmethod
    def of(cls, view: VariantView) -> VariantLookupOut:
        return cls(variant_id=view.variant_id, sku=view.sku, barcode=view.barcode, product_id=view.product_id,
                   product_code=view.product_code, product_name=view.product_name, variant_label=view.variant_label,
                   category_id=view.category_id, tax_class=view.tax_class, is_sellable=view.is_sellable)


def variant_out(variant: Variant, *, option_names: list[str], listings: list[ChannelListing]) -> VariantOut:
    """A variant's answer with its listings."""
    options = variant.options or {}
    return VariantOut(id=variant.id, product_id=variant.product_id, sku=variant.sku, barcode=variant.barcode,
                      options=ordered_options(options, option_names), label=variant_label(options, option_names),
                      weight_grams=variant.weight_grams, position=variant.position, is_active=variant.is_active,
                      listings=[ListingOut.of(listing) for listing in listings])


class ProductListOut(BaseModel):
    """A page of products and how many match in all."""

    items: list[ProductSummaryOut]
    total: int


class RowErrorOut(BaseModel):
    """A row of an imported file that cannot be imported, and why."""

    row: int = Field(description="The row as the spreadsheet numbers it (the header is usually row 1).")
    column: str
    code: str
    message: str


class ImportReportOut(BaseModel):
    """What an import did, or would have done (a dry run, or a file with errors: nothing is kept then)."""

    format: str
    rows: int
    dry_run: bool
    applied: bool
    products_created: int
    products_updated: int
    variants_created: int
    variants_updated: int
    listings_set: int
    ignored_columns: list[str]
    errors: list[RowErrorOut]
