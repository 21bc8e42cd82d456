"""``xuyen.routing.Router``: a request passes by every router none of whose routes can match its path, and still
reaches the route it is for, with FastAPI's 404, 405 and trailing-slash answers unchanged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Match
from starlette.types import Scope

from xuyen.app import API_PREFIX, create_app
from xuyen.config import Settings
from xuyen.domains import api_modules, page_modules, public_api_modules
from xuyen.routing import Router, route_path

tried: Counter[str] = Counter()


class CountedRoute(APIRoute):
    """FastAPI's route, counting each time a request is tried against it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        tried[self.path] += 1
        return super().matches(scope)


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    tried.clear()
    yield
    tried.clear()


def _app(*routers: tuple[APIRouter, str]) -> TestClient:
    app = FastAPI()
    for router, prefix in routers:
        app.include_router(router, prefix=prefix)
        if isinstance(router, Router):
            router.serve_under(prefix)
    return TestClient(app)


def _orders() -> Router:
    router = Router(route_class=CountedRoute)

    @router.get("/orders/{order_id}")
    def order(order_id: int) -> dict[str, int]:
        return {"order": order_id}

    @router.post("/orders")
    def create() -> dict[str, str]:
        return {"created": "yes"}

    return router


def _customers() -> Router:
    router = Router(prefix="/customers", route_class=CountedRoute)

    @router.get("/{customer_id}")
    def customer(customer_id: int) -> dict[str, int]:
        return {"customer": customer_id}

    @router.get("/search/by-phone")
    def search() -> dict[str, str]:
        return {"search": "phone"}

    return router


def test_a_request_passes_by_the_routers_that_cannot_match_it() -> None:
    client = _app((_orders(), "/api"), (_customers(), "/api"))
    assert client.get("/api/customers/7").json() == {"customer": 7}
    assert tried["/orders/{order_id}"] == 0 and tried["/orders"] == 0, "the orders router was not passed by"
    customer_tries = tried["/customers/{customer_id}"]
    assert customer_tries > 0
    assert client.get("/api/orders/3").json() == {"order": 3}
    assert client.post("/api/orders").json() == {"created": "yes"}
    assert tried["/customers/{customer_id}"] == customer_tries, "the customers router was not passed by"


def test_missing_paths_wrong_methods_and_trailing_slashes_answer_as_before() -> None:
    client = _app((_orders(), "/api"), (_customers(), "/api"))
    assert client.get("/api/stock/1").status_code == 404
    assert client.get("/orders/3").status_code == 404, "the prefix the router is served under counts"
    assert sum(tried.values()) == 0
    assert client.delete("/api/orders/3").status_code == 405
    redirected = client.get("/api/customers/search/by-phone/", follow_redirects=False)
    assert redirected.status_code == 307 and redirected.headers["location"].endswith("/api/customers/search/by-phone")


def test_routers_included_in_a_router_are_passed_by_too() -> None:
    pages = Router()
    pages.include_router(_orders(), prefix="/shop")
    pages.include_router(_customers())
    client = _app((pages, ""))
    assert pages.fixed_beginnings("") == ("/shop/orders/", "/shop/orders", "/customers/", "/customers/search/by-phone")
    assert client.get("/customers/5").json() == {"customer": 5}
    assert tried["/orders/{order_id}"] == 0, "the orders router, included first, was not passed by"
    assert client.get("/shop/orders/5").json() == {"order": 5}
    assert tried["/orders/{order_id}"] > 0


def test_a_router_holding_a_plain_router_tries_every_route() -> None:
    plain = APIRouter(route_class=CountedRoute)

    @plain.get("/anything/{name}")
    def anything(name: str) -> dict[str, str]:
        return {"name": name}

    outer = Router()
    outer.include_router(plain)
    client = _app((outer, "/api"))
    assert outer.fixed_beginnings("/api") is None
    assert client.get("/api/anything/x").json() == {"name": "x"}


def test_a_route_added_after_the_app_included_the_router_is_reached() -> None:
    router = _orders()
    client = _app((router, "/api"))
    assert client.get("/api/returns").status_code == 404

    @router.get("/returns")
    def returns() -> dict[str, str]:
        return {"returns": "none"}

    assert client.get("/api/returns").json() == {"returns": "none"}


def test_a_route_added_to_an_included_router_later_is_reached() -> None:
    child = _orders()
    pages = Router()
    pages.include_router(child, prefix="/shop")
    client = _app((pages, ""))
    assert client.get("/shop/returns").status_code == 404

    @child.get("/returns")
    def returns() -> dict[str, str]:
        return {"returns": "none"}

    assert client.get("/shop/returns").json() == {"returns": "none"}


def test_the_route_path_leaves_out_the_root_path() -> None:
    assert route_path({"path": "/shop/api/orders", "root_path": "/shop"}) == "/api/orders"
    assert route_path({"path": "/shop", "root_path": "/shop"}) == ""
    assert route_path({"path": "/shopping", "root_path": "/shop"}) == "/shopping"
    assert route_path({"path": "/api/orders"}) == "/api/orders"


def test_every_domain_router_is_passed_by_in_the_app() -> None:
    create_app(Settings(database_url="sqlite://", env="test"))
    modules = [*api_modules(), *public_api_modules(), *page_modules()]
    plain = [module.__name__ for module in modules if not isinstance(module.router, Router)]
    assert plain == [], "declare these routers as xuyen.routing.Router"
    unknown = [module.__name__ for module in modules if module.router.fixed_beginnings(API_PREFIX) is None]
    assert unknown == [], "these routers include a router whose paths are not known, so every request tries them"
