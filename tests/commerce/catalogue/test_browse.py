"""Finding products and the category tree: search by folded name, code, SKU, barcode; subcategories; paths."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.commerce.catalogue.helpers import ACTOR, ean, make_tshirt
from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.models import ProductStatus
from xuyen.commerce.catalogue.schemas import CategoryIn, CategoryUpdate
from xuyen.errors import Conflict, NotFound, ValidationFailed


def _codes(page: service.ProductPage) -> list[str]:
    return [product.code for product in page.products]


def test_search_by_name_code_sku_barcode_category_and_status(session: Session) -> None:
    women = categories.create_category(session, category=CategoryIn(name="Thời trang nữ"), actor=ACTOR)
    dresses = categories.create_category(session, category=CategoryIn(name="Váy đầm", parent_id=women.id),
                                         actor=ACTOR)
    make_tshirt(session, "VD-01", name="Đầm lụa suông", category_id=dresses.id)
    make_tshirt(session, "AT-01", first_barcode=10, name="Áo thun cổ tròn", category_id=women.id)
    make_tshirt(session, "AT-02", first_barcode=20, name="Áo thun dài tay")
    service.archive_product(session, product_id=service.get_product_by_code(session, code="AT-02").id, actor=ACTOR)

    assert _codes(service.search_products(session, query="dam LUA")) == ["VD-01"]
    assert _codes(service.search_products(session, query="áo thun")) == ["AT-01", "AT-02"]  # by folded name
    assert _codes(service.search_products(session, query="at-0")) == ["AT-01", "AT-02"]
    assert _codes(service.search_products(session, query="vd-01-tra")) == ["VD-01"]
    assert _codes(service.search_products(session, query=ean(12))) == ["AT-01"]
    assert _codes(service.search_products(session, query="100%_")) == []  # LIKE wildcards are plain text
    assert _codes(service.search_products(session, category_id=women.id)) == ["AT-01", "VD-01"]
    assert _codes(service.search_products(session, category_id=dresses.id)) == ["VD-01"]
    assert _codes(service.search_products(session, status=ProductStatus.archived)) == ["AT-02"]
    page = service.search_products(session, limit=1, offset=1)
    assert page.total == 3 and len(page.products) == 1 and page.variant_counts == {page.products[0].id: 4}
    with pytest.raises(NotFound):
        service.search_products(session, category_id=999)


def test_the_category_tree_paths_moves_and_deletes(session: Session) -> None:
    top = categories.create_category(session, category=CategoryIn(name="Phụ kiện"), actor=ACTOR)
    bags = categories.create_category(session, category=CategoryIn(name="Túi xách", parent_id=top.id), actor=ACTOR)
    other = categories.create_category(session, category=CategoryIn(name="Túi xách"), actor=ACTOR)
    assert (bags.slug, other.slug) == ("tui-xach", "tui-xach-2")
    assert categories.category_path(session, category_id=bags.id) == "Phụ kiện > Túi xách"
    assert [c.id for c in categories.list_categories(session)] == [top.id, bags.id, other.id]

    with pytest.raises(ValidationFailed):
        categories.update_category(session, category_id=top.id, changes=CategoryUpdate(parent_id=bags.id),
                                   actor=ACTOR)
    with pytest.raises(Conflict):
        categories.update_category(session, category_id=other.id, changes=CategoryUpdate(parent_id=top.id),
                                   actor=ACTOR)  # a second "Túi xách" under Phụ kiện
    moved = categories.update_category(session, category_id=other.id, actor=ACTOR,
                                       changes=CategoryUpdate(name="Ví", parent_id=top.id))
    assert categories.category_path(session, category_id=moved.id) == "Phụ kiện > Ví"

    found = categories.ensure_category_path(session, path="phu kien > Túi xách", actor=ACTOR)
    assert found is not None and found.id == bags.id  # found without diacritics, nothing added
    added = categories.ensure_category_path(session, path="Phụ kiện > Mũ nón", actor=ACTOR)
    session.commit()
    assert added is not None and added.parent_id == top.id

    make_tshirt(session, category_id=bags.id)
    with pytest.raises(Conflict) as in_use:
        categories.delete_category(session, category_id=bags.id, actor=ACTOR)
    assert in_use.value.code == "category_in_use"
    categories.delete_category(session, category_id=moved.id, actor=ACTOR)
    with pytest.raises(NotFound):
        categories.get_category(session, category_id=moved.id)
