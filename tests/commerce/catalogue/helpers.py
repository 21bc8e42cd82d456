"""Products to test with: a T-shirt in two colours and two sizes, with valid EAN-13 barcodes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import service
from xuyen.commerce.catalogue.codes import gtin_check_digit
from xuyen.commerce.catalogue.models import Product
from xuyen.commerce.catalogue.schemas import ImageIn, ProductIn, VariantIn

ACTOR = "user:1"


def ean(reference: int) -> str:
    """A valid EAN-13 under a test company prefix."""
    body = f"893000{reference:06d}"
    return body + str(gtin_check_digit(body))


def tshirt(code: str = "AT-001", *, first_barcode: int = 1, category_id: int | None = None,
           name: str = "Áo thun cổ tròn") -> ProductIn:
    """A T-shirt in Đen/Trắng × M/L."""
    variants = [VariantIn(sku=f"{code}-{colour_code}-{size}".lower(), barcode=ean(first_barcode + index),
                          options={"Màu": colour, "Cỡ": size})
                for index, (colour, colour_code, size) in enumerate(
                    [("Đen", "DEN", "M"), ("Đen", "DEN", "L"), ("Trắng", "TRA", "M"), ("Trắng", "TRA", "L")])]
    return ProductIn(code=code, name=name, brand="Lụa Mây", category_id=category_id, variants=variants,
                     images=[ImageIn(url="https://cdn.example.vn/ao.jpg", alt="Áo"),
                             ImageIn(url="/static/catalogue/ao-thun.svg", variant_sku=f"{code}-TRA-M")])


def make_tshirt(session: Session, code: str = "AT-001", *, first_barcode: int = 1, category_id: int | None = None,
                name: str = "Áo thun cổ tròn") -> Product:
    """A committed T-shirt."""
    product = tshirt(code, first_barcode=first_barcode, category_id=category_id, name=name)
    return service.create_product(session, product=product, actor=ACTOR)
