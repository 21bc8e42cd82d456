"""The columns of a catalogue file, in English and Vietnamese, and the words accepted for tax classes and statuses.

Headers are matched without case, diacritics or punctuation ("Mã SKU", "ma sku", "SKU" are one column). Option
columns are named ``Option: NAME`` or ``Thuộc tính: NAME`` (``Thuộc tính: Màu``); one row is one variant.
"""

from __future__ import annotations

from dataclasses import dataclass

from xuyen.commerce.catalogue.models import ProductStatus, TaxClass
from xuyen.identity.names import fold_name

OPTION_PREFIXES = {"en": "Option: ", "vi": "Thuộc tính: "}
LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Column:
    """A column of the file: its field, its English and Vietnamese headers, and other headers accepted."""

    field: str
    en: str
    vi: str
    aliases: tuple[str, ...] = ()

    def header(self, language: str) -> str:
        """The header written in ``language``."""
        return self.vi if language == "vi" else self.en


COLUMNS = (
    Column("product_code", "Product code", "Mã sản phẩm", ("ma sp", "product", "style code", "ma kieu")),
    Column("product_name", "Product name", "Tên sản phẩm", ("ten sp", "ten hang", "name", "title")),
    Column("category", "Category", "Danh mục", ("nganh hang", "loai hang", "category path")),
    Column("brand", "Brand", "Thương hiệu", ("nhan hieu",)),
    Column("tax_class", "Tax class", "Loại thuế", ("thue", "vat")),
    Column("status", "Status", "Trạng thái", ()),
    Column("description", "Description", "Mô tả", ("mo ta san pham",)),
    Column("sku", "SKU", "Mã SKU", ("ma hang", "variant sku", "sku phan loai")),
    Column("barcode", "Barcode", "Mã vạch", ("ean", "gtin", "upc", "ma vach ean")),
    Column("weight_grams", "Weight (g)", "Khối lượng (g)", ("weight", "khoi luong", "can nang", "can nang g")),
    Column("product_images", "Product images", "Ảnh sản phẩm", ("images", "hinh anh", "anh")),
    Column("variant_images", "Variant images", "Ảnh phân loại", ("anh bien the", "variant image")),
    Column("shopee_shop", "Shopee shop ID", "Mã shop Shopee", ("shopee shop", "shop id shopee")),
    Column("shopee_item", "Shopee item ID", "Mã sản phẩm Shopee", ("shopee item", "item id shopee")),
    Column("shopee_model", "Shopee model ID", "Mã phân loại Shopee", ("shopee model", "model id shopee")),
    Column("lazada_seller", "Lazada seller ID", "Mã nhà bán Lazada", ("lazada seller", "seller id lazada")),
    Column("lazada_item", "Lazada item ID", "Mã sản phẩm Lazada", ("lazada item", "item id lazada")),
    Column("lazada_sku", "Lazada seller SKU", "SKU người bán Lazada", ("lazada sku", "sellersku lazada")),
)
REQUIRED = ("product_code", "sku")

_BY_HEADER: dict[str, str] = {}
for _column in COLUMNS:
    for _header in (_column.field, _column.en, _column.vi, *_column.aliases):
        _BY_HEADER.setdefault(fold_name(_header), _column.field)

STATUS_WORDS: dict[ProductStatus, tuple[str, ...]] = {
    ProductStatus.active: ("active", "đang bán", "bán", "hoạt động"),
    ProductStatus.draft: ("draft", "nháp", "chưa bán"),
    ProductStatus.archived: ("archived", "ngừng bán", "lưu trữ", "ngưng bán"),
}
TAX_WORDS: dict[TaxClass, tuple[str, ...]] = {
    TaxClass.standard: ("standard", "chuẩn", "tiêu chuẩn", "thông thường"),
    TaxClass.standard_not_reduced: ("standard_not_reduced", "chuẩn không giảm", "không giảm", "10% không giảm"),
    TaxClass.reduced: ("reduced", "giảm", "ưu đãi", "5%"),
    TaxClass.exempt: ("exempt", "miễn thuế", "không chịu thuế", "không chịu vat"),
}


def field_of(header: str) -> str | None:
    """The field a header names, ``option:NAME`` for an option column, or None for a column we do not read."""
    stripped = header.strip()
    for prefix in OPTION_PREFIXES.values():
        if fold_name(stripped).startswith(fold_name(prefix)) and ":" in stripped:
            name = stripped.split(":", 1)[1].strip()
            return f"option:{name}" if name else None
    return _BY_HEADER.get(fold_name(stripped))


def _parse(value: str, words: dict[str, tuple[str, ...]]) -> str | None:
    folded = fold_name(value)
    for key, accepted in words.items():
        if folded in {fold_name(word) for word in accepted}:
            return key
    return None


def parse_status(value: str) -> ProductStatus | None:
    """The status a cell names (English code or Vietnamese word), or None when it names none."""
    found = _parse(value, {status.value: words for status, words in STATUS_WORDS.items()})
    return ProductStatus(found) if found else None


def parse_tax_class(value: str) -> TaxClass | None:
    """The tax class a cell names (English code or Vietnamese word), or None when it names none."""
    found = _parse(value, {tax.value: words for tax, words in TAX_WORDS.items()})
    return TaxClass(found) if found else None


def status_word(status: ProductStatus, language: str) -> str:
    """How an export writes a status."""
    return STATUS_WORDS[status][1] if language == "vi" else status.value


def tax_word(tax_class: TaxClass, language: str) -> str:
    """How an export writes a tax class."""
    return TAX_WORDS[tax_class][1] if language == "vi" else tax_class.value


def accepted_words() -> dict[str, list[str]]:
    """Every word accepted for the status and tax-class columns (for help texts and the docs)."""
    return {"status": [word for words in STATUS_WORDS.values() for word in words],
            "tax_class": [word for words in TAX_WORDS.values() for word in words]}
