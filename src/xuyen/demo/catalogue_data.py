"""The demo brand's catalogue as data: six categories of Lụa Mây clothes, shoes and accessories.

Fixed, like the stores: the same products, SKUs, barcodes and marketplace ids whatever the seed. SKUs are
``<product code>-<colour code>[-<size>]``; barcodes are EAN-13 under a made-up Vietnamese (893) company prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from xuyen.commerce.catalogue.codes import gtin_check_digit

BRAND = "Lụa Mây"
SHOPEE_SHOP_ID = "220314588"
LAZADA_SELLER_ID = "100354712"
COMPANY_PREFIX = "8938512"  # 893: Vietnam; the rest is made up, so the demo's barcodes belong to nobody

COLOURS: dict[str, str] = {  # colour → SKU code
    "Trắng": "TRA", "Đen": "DEN", "Xanh than": "XTH", "Xanh navy": "NAV", "Be": "BE", "Xám": "XAM",
    "Trắng ngà": "NGA", "Hồng phấn": "HPH", "Xanh pastel": "XPA", "Xanh rêu": "REU", "Xanh nhạt": "XNH",
    "Đỏ đô": "DDO", "Xanh đậm": "XDA", "Xanh ngọc": "XNG", "Hồng đất": "HDA", "Vàng chanh": "VCH", "Đỏ": "DO",
    "Kem": "KEM", "Nâu": "NAU", "Vàng": "VAN",
}
HEX: dict[str, str] = {
    "Trắng": "#f7f7f5", "Đen": "#1f1f1f", "Xanh than": "#1d2b3a", "Xanh navy": "#22305a", "Be": "#e6d5b8",
    "Xám": "#9a9a9a", "Trắng ngà": "#f3ecd9", "Hồng phấn": "#f4c6cc", "Xanh pastel": "#bfd8ee", "Xanh rêu": "#5b6b3d",
    "Xanh nhạt": "#8fb4d9", "Đỏ đô": "#6d1a24", "Xanh đậm": "#1f3f6e", "Xanh ngọc": "#2a9d8f", "Hồng đất": "#c07a6b",
    "Vàng chanh": "#e9e26a", "Đỏ": "#c0282d", "Kem": "#f1e5c8", "Nâu": "#7a4e2d", "Vàng": "#e7b93c",
}



@dataclass(frozen=True)
class WarehouseSpec:
    """The central warehouse, which ships the web, app and marketplace orders."""

    code: str
    name: str
    province: str
    address: str
    latitude: float
    longitude: float


WAREHOUSE = WarehouseSpec(
    code="KHO-BD", name="Kho tổng Bình Dương", province="Bình Dương",
    address="Lô C5, đường số 6, KCN Sóng Thần 2, phường Dĩ An, TP. Dĩ An, Bình Dương",
    latitude=10.9045, longitude=106.7562,
)

TOPS = ("S", "M", "L", "XL")
FITTED = ("S", "M", "L")
WAIST = ("27", "28", "29", "30")
FEET = ("36", "37", "38", "39", "40")


@dataclass(frozen=True)
class CategorySpec:
    """A category and its placeholder picture."""

    name: str
    image: str  # a file in xuyen/ui/static/catalogue/


@dataclass(frozen=True)
class ProductSpec:
    """A product: its colours × sizes make its variants."""

    code: str
    name: str
    category: str
    price: int  # the retail price in đồng, VAT included (for the pricing data)
    colours: tuple[str, ...]
    sizes: tuple[str, ...] = ()
    description: str = ""
    size_option: str = "Cỡ"
    shopee: bool = True
    lazada: bool = True


CATEGORIES = (
    CategorySpec("Áo thun", "ao-thun.svg"),
    CategorySpec("Áo sơ mi", "ao-so-mi.svg"),
    CategorySpec("Quần jeans", "quan-jeans.svg"),
    CategorySpec("Váy đầm", "vay-dam.svg"),
    CategorySpec("Giày dép", "giay-dep.svg"),
    CategorySpec("Phụ kiện", "phu-kien.svg"),
)

PRODUCTS = (
    ProductSpec("AT001", "Áo thun cổ tròn cotton", "Áo thun", 199_000, ("Trắng", "Đen", "Xanh than"), TOPS,
                "Cotton 100 % dệt kim, thấm hút tốt, form suông vừa."),
    ProductSpec("AT002", "Áo polo lụa pha", "Áo thun", 349_000, ("Xanh navy", "Be"), TOPS,
                "Lụa tơ tằm pha cotton, cổ bẻ, mát cho ngày hè."),
    ProductSpec("AT003", "Áo thun in họa tiết sen", "Áo thun", 259_000, ("Trắng",), TOPS,
                "Họa tiết hoa sen vẽ tay, in lụa thủ công.", lazada=False),
    ProductSpec("AT004", "Áo thun dài tay basic", "Áo thun", 229_000, ("Xám", "Đen"), TOPS),
    ProductSpec("SM001", "Áo sơ mi lụa tơ tằm", "Áo sơ mi", 890_000, ("Trắng ngà", "Hồng phấn", "Xanh pastel"),
                FITTED, "Lụa tơ tằm Vạn Phúc, cúc bọc vải."),
    ProductSpec("SM002", "Áo sơ mi linen tay ngắn", "Áo sơ mi", 450_000, ("Be", "Xanh rêu"), FITTED),
    ProductSpec("SM003", "Áo sơ mi kẻ sọc công sở", "Áo sơ mi", 390_000, ("Xanh nhạt",), FITTED, lazada=False),
    ProductSpec("SM004", "Áo blouse cổ nơ", "Áo sơ mi", 420_000, ("Đen", "Đỏ đô"), FITTED),
    ProductSpec("QJ001", "Quần jeans ống đứng", "Quần jeans", 550_000, ("Xanh đậm", "Xanh nhạt"), WAIST,
                "Denim 12 oz, co giãn nhẹ."),
    ProductSpec("QJ002", "Quần jeans ống suông nữ", "Quần jeans", 520_000, ("Xanh nhạt", "Đen"), WAIST),
    ProductSpec("QJ003", "Quần jeans skinny", "Quần jeans", 490_000, ("Đen",), WAIST),
    ProductSpec("QJ004", "Quần short jeans", "Quần jeans", 320_000, ("Xanh nhạt",), WAIST, lazada=False),
    ProductSpec("VD001", "Đầm lụa suông dáng dài", "Váy đầm", 1_250_000, ("Xanh ngọc", "Hồng đất"), FITTED,
                "Lụa tơ tằm nhuộm tay, dáng suông qua gối."),
    ProductSpec("VD002", "Váy midi xếp ly", "Váy đầm", 590_000, ("Be", "Đen"), FITTED),
    ProductSpec("VD003", "Đầm maxi hoa nhí", "Váy đầm", 680_000, ("Vàng chanh",), FITTED),
    ProductSpec("VD004", "Áo dài cách tân lụa", "Váy đầm", 1_450_000, ("Đỏ", "Trắng"), FITTED,
                "Áo dài cách tân tà ngắn, lụa tơ tằm, may tại Hà Nội.", shopee=False, lazada=False),
    ProductSpec("GD001", "Giày búp bê da mềm", "Giày dép", 650_000, ("Đen", "Kem"), FEET),
    ProductSpec("GD002", "Sandal quai mảnh", "Giày dép", 480_000, ("Nâu", "Đen"), FEET),
    ProductSpec("GD003", "Dép lê quai ngang", "Giày dép", 190_000, ("Trắng",), FEET, lazada=False),
    ProductSpec("GD004", "Giày sneaker vải canvas", "Giày dép", 720_000, ("Trắng", "Xanh navy"), FEET),
    ProductSpec("PK001", "Khăn lụa vuông họa tiết", "Phụ kiện", 350_000, ("Xanh ngọc", "Đỏ đô", "Vàng"),
                description="Khăn lụa 70 × 70 cm, viền cuốn tay."),
    ProductSpec("PK002", "Túi tote vải canvas", "Phụ kiện", 250_000, ("Be", "Đen"), lazada=False),
    ProductSpec("PK003", "Mũ bucket vải thô", "Phụ kiện", 180_000, ("Be", "Đen"), shopee=False),
    ProductSpec("PK004", "Thắt lưng da bò", "Phụ kiện", 390_000, ("Đen", "Nâu"), ("95", "105"),
                size_option="Dài (cm)"),
)


@dataclass(frozen=True)
class VariantSpec:
    """One variant of a demo product."""

    sku: str
    barcode: str
    options: dict[str, str]
    colour: str


def ean13(reference: int) -> str:
    """The demo's EAN-13 for item ``reference`` (under the company prefix, with its check digit)."""
    body = f"{COMPANY_PREFIX}{reference:05d}"
    return body + str(gtin_check_digit(body))


def variants(spec: ProductSpec, *, first_reference: int) -> list[VariantSpec]:
    """A product's variants, colour by colour then size by size, numbered from ``first_reference``."""
    found: list[VariantSpec] = []
    for colour in spec.colours:
        for size in spec.sizes or ("",):
            sku = "-".join(part for part in (spec.code, COLOURS[colour], size) if part)
            options = {"Màu": colour, spec.size_option: size} if size else {"Màu": colour}
            found.append(VariantSpec(sku=sku, barcode=ean13(first_reference + len(found)), options=options,
                                     colour=colour))
    return found


def shopee_item_id(index: int) -> str:
    """The Shopee item id of the ``index``-th product (Shopee's ids are 10-11 digits)."""
    return str(23_918_400_000 + index * 7_919)


def shopee_model_id(index: int, position: int) -> str:
    """The Shopee model id of a product's ``position``-th variant."""
    return str(180_000_000_000 + index * 1_000 + position)


def lazada_item_id(index: int) -> str:
    """The Lazada item id of the ``index``-th product."""
    return str(2_154_870_000 + index * 613)
