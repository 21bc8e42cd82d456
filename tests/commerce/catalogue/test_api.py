"""The catalogue API: products with variants, search, the till's lookup, listings, categories; and refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.commerce.catalogue.helpers import ean, tshirt
from tests.factories import make_user
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.commerce.catalogue.models import Product, Variant

BrowserFor = Callable[[User], Browser]


@pytest.fixture
def manager(session: Session, browser_for: BrowserFor) -> Browser:
    return browser_for(make_user(session, role=Role.manager))


@pytest.fixture
def agent(session: Session, browser_for: BrowserFor) -> Browser:
    return browser_for(make_user(session, role=Role.agent))


def _body(code: str = "AT-001", *, first_barcode: int = 1) -> dict[str, Any]:
    return tshirt(code, first_barcode=first_barcode).model_dump(mode="json")


def _count(session: Session, model: type[Product] | type[Variant]) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_manager_creates_a_product_and_an_agent_reads_searches_and_scans_it(manager: Browser,
                                                                             agent: Browser) -> None:
    category = manager.request("POST", "/catalogue/categories", json={"name": "Áo thun"})
    assert category.status_code == 201, category.text
    body = _body() | {"category_id": category.json()["id"]}
    created = manager.request("POST", "/catalogue/products", json=body)
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["code"], product["category_path"], product["option_names"]) == (
        "AT-001", "Áo thun", ["Màu", "Cỡ"])
    assert [v["sku"] for v in product["variants"]] == ["AT-001-DEN-M", "AT-001-DEN-L", "AT-001-TRA-M", "AT-001-TRA-L"]
    assert product["variants"][0]["label"] == "Đen / M"
    assert list(product["variants"][0]["options"]) == ["Màu", "Cỡ"]
    assert len(product["images"]) == 2

    read = agent.request("GET", f"/catalogue/products/{product['id']}")
    assert read.status_code == 200 and read.json() == product
    found = agent.request("GET", "/catalogue/products", params={"q": "ao THUN co"}).json()
    assert found["total"] == 1 and found["items"][0]["variant_count"] == 4
    assert agent.request("GET", "/catalogue/products", params={"q": "at-001-tra"}).json()["total"] == 1
    assert agent.request("GET", "/catalogue/products", params={"q": "quần"}).json()["total"] == 0

    scanned = agent.request("GET", "/catalogue/variants/lookup", params={"code": ean(3)})
    assert scanned.status_code == 200
    assert (scanned.json()["sku"], scanned.json()["variant_label"], scanned.json()["is_sellable"]) == (
        "AT-001-TRA-M", "Trắng / M", True)
    assert_problem(agent.request("GET", "/catalogue/variants/lookup", params={"code": "KHONG-CO"}), 404,
                   "variant_not_found")


def test_changing_archiving_variants_images_and_listings(manager: Browser) -> None:
    product = manager.request("POST", "/catalogue/products", json=_body()).json()
    pid = product["id"]
    changed = manager.request("PATCH", f"/catalogue/products/{pid}", json={"name": "Áo thun 2026",
                                                                          "tax_class": "standard_not_reduced"})
    assert changed.status_code == 200 and changed.json()["name"] == "Áo thun 2026"
    assert manager.request("POST", f"/catalogue/products/{pid}/archive").json()["status"] == "archived"
    assert manager.request("POST", f"/catalogue/products/{pid}/activate").json()["status"] == "active"

    added = manager.request("POST", f"/catalogue/products/{pid}/variants",
                            json={"sku": "at-001-den-xl", "options": {"Cỡ": "XL", "Màu": "Đen"}})
    assert added.status_code == 201 and added.json()["sku"] == "AT-001-DEN-XL"
    assert added.json()["label"] == "Đen / XL"
    vid = added.json()["id"]
    patched = manager.request("PATCH", f"/catalogue/variants/{vid}", json={"barcode": ean(9), "is_active": False})
    assert patched.status_code == 200 and (patched.json()["barcode"], patched.json()["is_active"]) == (ean(9), False)

    images = manager.request("PUT", f"/catalogue/products/{pid}/images",
                             json=[{"url": "https://cdn.example.vn/1.jpg", "variant_sku": "AT-001-DEN-XL"}])
    assert images.status_code == 200 and images.json()[0]["variant_id"] == vid

    listed = manager.request("POST", f"/catalogue/variants/{vid}/listings", json={
        "channel": "shopee", "account": "220314588", "external_item_id": "1", "external_model_id": "2"})
    assert listed.status_code == 201, listed.text
    assert [row["id"] for row in manager.request("GET", "/catalogue/listings?channel=shopee").json()] == [
        listed.json()["id"]]
    assert manager.request("GET", f"/catalogue/variants/{vid}").json()["listings"][0]["external_model_id"] == "2"
    unlisted = manager.request("DELETE", f"/catalogue/listings/{listed.json()['id']}")
    assert unlisted.status_code == 200 and not unlisted.json()["is_active"]
    assert manager.request("GET", "/catalogue/listings?channel=shopee").json() == []


def test_duplicates_and_malformed_bodies_are_refused_and_nothing_is_written(manager: Browser,
                                                                          session: Session) -> None:
    assert manager.request("POST", "/catalogue/products", json=_body()).status_code == 201
    variants = _count(session, Variant)

    assert_problem(manager.request("POST", "/catalogue/products", json=_body("AT-001", first_barcode=50)), 409,
                   "product_code_taken")
    same_sku = _body("AT-002", first_barcode=50)
    same_sku["variants"][0]["sku"] = "at-001-den-m"
    assert_problem(manager.request("POST", "/catalogue/products", json=same_sku), 409, "sku_taken")
    assert_problem(manager.request("POST", "/catalogue/products", json=_body("AT-003")), 409, "barcode_taken")
    bad_barcode = _body("AT-004", first_barcode=60)
    bad_barcode["variants"][0]["barcode"] = "8930000000601"
    body = assert_problem(manager.request("POST", "/catalogue/products", json=bad_barcode), 422, "invalid_barcode")
    assert "check digit" in body["detail"]
    for broken in ({"code": "X", "name": "X", "variants": []},  # no variant
                   {"code": "X", "name": "X", "variants": [{"sku": "X"}], "price": 1},  # unknown field
                   {"code": "X" * 65, "name": "X", "variants": [{"sku": "X"}]},
                   {"code": "X", "name": "X", "variants": [{"sku": f"X-{n}"} for n in range(301)]}):
        assert manager.request("POST", "/catalogue/products", json=broken).status_code == 422
    not_json = manager.request("POST", "/catalogue/products", content=b"{not json",
                               headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    huge = manager.request("POST", "/catalogue/products", content=b"x" * (2 * 1024 * 1024),
                           headers={"content-type": "application/json"})
    assert huge.status_code == 413
    assert_problem(manager.request("GET", "/catalogue/products/999999"), 404, "product_not_found")
    assert manager.request("GET", "/catalogue/products/0").status_code == 422

    assert _count(session, Product) == 1
    assert _count(session, Variant) == variants


def test_agents_read_but_do_not_change_and_strangers_get_nothing(agent: Browser, client: TestClient,
                                                                 session: Session) -> None:
    assert_problem(agent.request("POST", "/catalogue/products", json=_body()), 403, "role_required")
    assert_problem(agent.request("POST", "/catalogue/categories", json={"name": "Áo"}), 403, "role_required")
    assert agent.request("GET", "/catalogue/products").status_code == 200
    assert_problem(client.get(f"{API}/catalogue/products"), 401, "not_authenticated")
    assert_problem(client.get(f"{API}/catalogue/variants/lookup?code=X"), 401, "not_authenticated")
    assert _count(session, Product) == 0


def test_an_api_key_with_the_manager_role_writes(session: Session, client: TestClient) -> None:
    owner = make_user(session, role=Role.owner)
    _row, key = create_api_key(session, name="ERP", role=Role.manager, created_by_id=owner.id)
    created = client.post(f"{API}/catalogue/products", json=_body(), headers=bearer(key))
    assert created.status_code == 201, created.text


def test_categories_tree_moves_and_deletes(manager: Browser) -> None:
    women = manager.request("POST", "/catalogue/categories", json={"name": "Thời trang nữ"}).json()
    dresses = manager.request("POST", "/catalogue/categories",
                              json={"name": "Váy đầm", "parent_id": women["id"]}).json()
    assert (dresses["path"], dresses["slug"]) == ("Thời trang nữ > Váy đầm", "vay-dam")
    assert_problem(manager.request("POST", "/catalogue/categories", json={"name": "váy đầm",
                                                                          "parent_id": women["id"]}),
                   409, "category_exists")
    assert_problem(manager.request("PATCH", f"/catalogue/categories/{women['id']}",
                                   json={"parent_id": dresses["id"]}), 422, "invalid_category")
    assert_problem(manager.request("DELETE", f"/catalogue/categories/{women['id']}"), 409, "category_in_use")
    listed = manager.request("GET", "/catalogue/categories").json()
    assert [c["path"] for c in listed] == ["Thời trang nữ", "Thời trang nữ > Váy đầm"]
    assert manager.request("DELETE", f"/catalogue/categories/{dresses['id']}").status_code == 204
    assert [c["name"] for c in manager.request("GET", "/catalogue/categories").json()] == ["Thời trang nữ"]
