"""The catalogue pages: list with search and filters, product detail, forms, variants, listings, files."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.commerce.catalogue.helpers import ACTOR, ean, make_tshirt
from tests.ui.conftest import browser, shop  # noqa: F401  (fixtures of the page tests)
from tests.ui.helpers import Shop, csrf_token, sign_in
from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.schemas import CategoryIn
from xuyen.commerce.channels import SalesChannel


def test_agents_search_filter_and_read_a_product_but_see_no_forms(browser: TestClient, shop: Shop,  # noqa: F811
                                                                  session: Session) -> None:
    shirts = categories.create_category(session, category=CategoryIn(name="Áo thun"), actor=ACTOR)
    product = make_tshirt(session, category_id=shirts.id)
    make_tshirt(session, "QJ-1", first_barcode=50, name="Quần jeans ống đứng")
    sign_in(browser, shop.hanoi_agent.email)

    page = browser.get("/catalogue")
    assert page.status_code == 200
    assert '<a href="/catalogue" aria-current="page">Sản phẩm</a>' in page.text
    assert "Áo thun cổ tròn" in page.text and "Quần jeans ống đứng" in page.text
    assert "/catalogue/products/new" not in page.text
    searched = browser.get("/catalogue", params={"q": "quan jeans"}).text
    assert "Quần jeans ống đứng" in searched and "Áo thun cổ tròn" not in searched
    by_category = browser.get("/catalogue", params={"category": shirts.id}).text
    assert "Áo thun cổ tròn" in by_category and "Quần jeans ống đứng" not in by_category
    assert "Không có sản phẩm nào phù hợp" in browser.get("/catalogue", params={"q": "không có"}).text

    detail = browser.get(f"/catalogue/products/{product.id}")
    assert detail.status_code == 200
    assert "AT-001-DEN-M" in detail.text and "Đen / M" in detail.text and ean(1) in detail.text
    assert 'src="/static/catalogue/ao-thun.svg"' in detail.text
    assert "Thêm phân loại" not in detail.text
    assert browser.get("/catalogue/products/new").status_code == 403
    assert browser.get("/catalogue/import").status_code == 403
    assert browser.get("/catalogue/products/99999").status_code == 404


def test_a_manager_creates_edits_archives_and_adds_a_variant(browser: TestClient, shop: Shop,  # noqa: F811
                                                             session: Session) -> None:
    sign_in(browser, shop.hanoi_manager.email)
    form = browser.get("/catalogue/products/new")
    assert form.status_code == 200
    token = csrf_token(form.text)
    rows = {"sku": ["vd-1-do-s", "VD-1-DO-M", ""], "barcode": [ean(71), "", ""], "value1": ["Đỏ", "Đỏ", ""],
            "value2": ["S", "M", ""]}
    created = browser.post("/catalogue/products/new", data={
        "csrf_token": token, "code": "VD-1", "name": "Váy lụa", "category_id": "", "brand": "Lụa Mây",
        "tax_class": "standard", "status": "active", "description": "", "option1": "Màu", "option2": "Cỡ",
        "images": "https://cdn.example.vn/vd1.jpg\n", **rows})
    assert created.status_code == 303, created.text
    product_url = created.headers["location"].split("?")[0]
    page = browser.get(created.headers["location"])
    assert "Đã tạo sản phẩm." in page.text and "VD-1-DO-S" in page.text and "Đỏ / M" in page.text

    refused = browser.post("/catalogue/products/new", data={
        "csrf_token": token, "code": "VD-2", "name": "Váy", "option1": "Màu", "option2": "",
        "sku": ["VD-1-DO-S"], "barcode": [""], "value1": ["Xanh"], "value2": [""]})
    assert refused.status_code == 409 or refused.status_code == 422
    assert "VD-1-DO-S" in refused.text and 'value="VD-2"' in refused.text  # the form comes back, filled in

    product_id = int(product_url.rsplit("/", 1)[1])
    edit = browser.get(f"{product_url}/edit")
    assert "https://cdn.example.vn/vd1.jpg" in edit.text
    saved = browser.post(f"{product_url}/edit", data={
        "csrf_token": token, "code": "VD-1", "name": "Váy lụa tơ tằm", "category_id": "", "brand": "Lụa Mây",
        "tax_class": "reduced", "status": "active", "description": "Mềm", "images": ""})
    assert saved.status_code == 303
    session.rollback()
    product = service.get_product(session, product_id=product_id)
    assert (product.name, product.tax_class.value) == ("Váy lụa tơ tằm", "reduced")
    assert service.images_of(session, product_id=product_id) == []
    session.rollback()

    archived = browser.post(f"{product_url}/status", data={"csrf_token": token, "action": "archive"})
    assert "ngừng bán trên mọi kênh" in browser.get(archived.headers["location"]).text
    added = browser.post(f"{product_url}/variants", data={"csrf_token": token, "sku": "VD-1-DO-L",
                                                          "name": ["Màu", "Cỡ"], "value": ["Đỏ", "L"]})
    assert added.status_code == 303
    bad = browser.post(f"{product_url}/variants", data={"csrf_token": token, "sku": "VD-1-DO-XL",
                                                        "barcode": "123", "name": ["Màu", "Cỡ"],
                                                        "value": ["Đỏ", "XL"]})
    assert bad.status_code == 422 and "123" in bad.text
    forged = browser.post(f"{product_url}/status", data={"csrf_token": "nope", "action": "activate"})
    assert forged.status_code == 403


def test_a_manager_edits_a_variant_and_lists_and_unlists_it(browser: TestClient, shop: Shop,  # noqa: F811
                                                            session: Session) -> None:
    make_tshirt(session)
    variant_id = service.get_variant_by_sku(session, sku="AT-001-DEN-M").id
    session.rollback()
    sign_in(browser, shop.hanoi_manager.email)
    page = browser.get(f"/catalogue/variants/{variant_id}")
    assert page.status_code == 200 and "chưa được đăng bán" in page.text
    token = csrf_token(page.text)
    saved = browser.post(f"/catalogue/variants/{variant_id}", data={
        "csrf_token": token, "sku": "AT-001-DEN-M", "barcode": ean(1), "weight_grams": "180", "is_active": "on",
        "name": ["Màu", "Cỡ"], "value": ["Đen", "M"]})
    assert saved.status_code == 303
    listed = browser.post(f"/catalogue/variants/{variant_id}/listings", data={
        "csrf_token": token, "channel": "shopee", "account": "220314588", "external_item_id": "123",
        "external_model_id": "456", "external_sku": ""})
    assert listed.status_code == 303
    page = browser.get(listed.headers["location"]).text
    assert "đã được đăng bán trên kênh" in page and "456" in page
    refused = browser.post(f"/catalogue/variants/{variant_id}/listings", data={
        "csrf_token": token, "channel": "lazada", "account": "", "external_item_id": ""})
    assert refused.status_code == 422
    session.rollback()
    listing_id = service.listings_of(session, channel=SalesChannel.shopee)[0].id
    session.rollback()
    unlisted = browser.post(f"/catalogue/listings/{listing_id}/unlist", data={"csrf_token": token})
    assert "không còn được đăng bán" in browser.get(unlisted.headers["location"]).text
    session.rollback()
    assert service.get_variant(session, variant_id=variant_id).weight_grams == 180


def test_import_and_export_pages(browser: TestClient, shop: Shop, session: Session) -> None:  # noqa: F811
    sign_in(browser, shop.hanoi_manager.email)
    page = browser.get("/catalogue/import")
    assert page.status_code == 200 and "Nhập từ tệp" in page.text
    token = csrf_token(page.text)
    good = f"Mã sản phẩm,Tên sản phẩm,Mã SKU,Mã vạch\nPK-1,Khăn lụa,PK-1,{ean(81)}\n".encode()
    checked = browser.post("/catalogue/import", data={"csrf_token": token, "dry_run": "on"},
                           files={"file": ("sp.csv", good, "text/csv")})
    assert checked.status_code == 200 and "Đây chỉ là kiểm tra" in checked.text
    done = browser.post("/catalogue/import", data={"csrf_token": token}, files={"file": ("sp.csv", good, "text/csv")})
    assert done.status_code == 200 and "Đã nhập tệp." in done.text
    bad = "Mã sản phẩm,Tên sản phẩm,Mã SKU\nPK-2,,PK-2\n".encode()
    refused = browser.post("/catalogue/import", data={"csrf_token": token},
                           files={"file": ("loi.csv", bad, "text/csv")})
    assert refused.status_code == 422 and "chưa nhập gì cả" in refused.text and "PK-2" in refused.text
    unreadable = browser.post("/catalogue/import", data={"csrf_token": token},
                              files={"file": ("x.csv", b"", "text/csv")})
    assert unreadable.status_code == 422
    exported = browser.get("/catalogue/export.csv")
    assert exported.status_code == 200 and "PK-1" in exported.content.decode("utf-8-sig")
    assert browser.get("/catalogue/export.xlsx?lang=en").status_code == 200
