"""Cross-channel attribution on a small known data set, every model computed by hand; the lookback window; a
merged customer's touchpoints; paths; the page's parameters and who may see it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests import api_client
from tests.analytics.journey_data import MARCH, Shop, at, before
from tests.api_client import Browser
from xuyen.analytics import attribution
from xuyen.analytics.filters import Filters
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderStatus
from xuyen.errors import ValidationFailed
from xuyen.identity.graph import merge
from xuyen.stores import service as stores

agent, manager = api_client.agent, api_client.manager

X, Y, Z, Z_EMAIL = "0902000001", "0902000002", "0902000003", "z@luamay.vn"
X_ORDER, Z_ORDER = at(20), at(5)


@pytest.fixture
def orders(session: Session) -> Shop:
    """X: an e-mail click 43 days before (outside 30 days), a Zalo promotion click 10 days before, a web page 3 days
    before, then 1,000,000 at the till. Y: 200,000 on the website with no touchpoint before. Z (two profiles
    merged: the e-mail one and the phone one): web page 4 days before, a Messenger message 2 days before, a web
    product view 1 day before, then 600,000 at the till."""
    shop = Shop(session)
    shop.record("email", before(X_ORDER, 43), "Email Link Clicked", phone=X)
    shop.record("zalo", before(X_ORDER, 10), "Promotion Clicked", phone=X)
    shop.page("web", before(X_ORDER, 3), phone=X)
    shop.record("pos", X_ORDER, "Order Completed", phone=X, total=1_000_000, order_id="X1")
    shop.record("web", at(25), "Order Completed", phone=Y, total=200_000, order_id="Y1")
    absorbed = shop.page("web", before(Z_ORDER, 4), email=Z_EMAIL)
    shop.record("messenger", before(Z_ORDER, 2), "Message Received", phone=Z)
    shop.record("web", before(Z_ORDER, 1), "Product Viewed", email=Z_EMAIL)
    survivor = shop.record("pos", Z_ORDER, "Order Completed", phone=Z, total=600_000, order_id="Z1")
    merge(session, survivor_id=survivor, absorbed_id=absorbed, actor="test", reason="the same person")
    session.commit()
    return shop


def _revenue(result: attribution.Attribution, model: str) -> dict[str, int]:
    return {channel: round(credit.revenue) for channel, credit in result.credit[model].items()}


def test_the_five_models_share_each_order_among_its_touchpoints(session: Session, orders: Shop) -> None:
    result = attribution.compute(session, filters=MARCH, lookback_days=30)
    assert (result.orders, result.revenue) == (3, 1_800_000)
    # X: zalo (−10 d), web (−3 d); the e-mail click is 43 days before, outside 30 days. Y: none (direct).
    # Z: web (−4 d), messenger (−2 d), web (−1 d).
    assert _revenue(result, "first_touch") == {"zalo": 1_000_000, "direct": 200_000, "web": 600_000}
    assert _revenue(result, "last_touch") == {"web": 1_600_000, "direct": 200_000}
    # Linear: X 500,000 each; Z 200,000 per touchpoint, two of them on the web.
    assert _revenue(result, "linear") == {"zalo": 500_000, "web": 900_000, "direct": 200_000, "messenger": 200_000}
    # Time decay, w = 2^(−d/7): X: zalo 2^(−10/7) / (2^(−10/7) + 2^(−3/7)) = 1 / (1 + 2) = 1/3 → 333,333.33,
    # web 2/3 → 666,666.67. Z: w = 0.673617, 0.820335, 0.905724 (sum 2.399676): messenger 0.341948 → 205,168.55,
    # web 0.280512 + 0.377541 → 394,831.45.
    assert _revenue(result, "time_decay") == {"zalo": 333_333, "web": 666_667 + 394_831, "direct": 200_000,
                                              "messenger": 205_169}
    # Position-based: two touchpoints get half each (X); three get 40/20/40 (Z: web 480,000, messenger 120,000).
    assert _revenue(result, "position_based") == {"zalo": 500_000, "web": 980_000, "direct": 200_000,
                                                  "messenger": 120_000}
    linear_orders = {channel: round(credit.orders, 4) for channel, credit in result.credit["linear"].items()}
    assert linear_orders == {"zalo": 0.5, "web": round(0.5 + 2 / 3, 4), "direct": 1.0, "messenger": round(1 / 3, 4)}


def test_paths_collapse_repeats_and_end_on_the_order_channel(session: Session, orders: Shop) -> None:
    result = attribution.compute(session, filters=MARCH, lookback_days=30)
    # One order each: the most revenue first.
    assert [(path.channels, path.orders, path.revenue) for path in result.paths] == [
        (("zalo", "web", "pos"), 1, 1_000_000), (("web", "messenger", "web", "pos"), 1, 600_000),
        (("web",), 1, 200_000)]


def test_events_in_a_row_on_one_channel_are_one_touchpoint(session: Session) -> None:
    shop = Shop(session)
    order = at(15)
    shop.page("web", before(order, 2 / 24), phone=Y)
    shop.record("web", before(order, 1 / 24), "Product Viewed", phone=Y)
    shop.record("web", order, "Order Completed", phone=Y, total=500_000)
    result = attribution.compute(session, filters=MARCH, lookback_days=30)
    (found,) = attribution.attributed_orders(session, filters=MARCH, lookback_days=30)
    assert [(point.channel, point.at) for point in found.points] == [("web", before(order, 1 / 24))]
    assert result.credit["linear"]["web"].orders == 1.0
    assert [(path.channels, path.orders) for path in result.paths] == [(("web",), 1)]


def test_a_longer_lookback_reaches_older_touchpoints(session: Session, orders: Shop) -> None:
    result = attribution.compute(session, filters=MARCH, lookback_days=60)
    # X's e-mail click (43 days before) is now X's first touch.
    assert _revenue(result, "first_touch") == {"email": 1_000_000, "direct": 200_000, "web": 600_000}
    assert ("email", "zalo", "web", "pos") in [path.channels for path in result.paths]


def test_the_channel_filter_chooses_the_orders(session: Session, orders: Shop) -> None:
    pos = Filters(first=MARCH.first, last=MARCH.last, channel=SalesChannel.pos, timezone=MARCH.timezone)
    result = attribution.compute(session, filters=pos, lookback_days=30)
    assert (result.orders, result.revenue) == (2, 1_600_000)
    assert "direct" not in result.credit["linear"]


def test_a_cancelled_order_is_left_out(session: Session, orders: Shop) -> None:
    orders.record("web", at(26), "Order Cancelled", phone=Y, total=200_000, order_id="Y1")
    result = attribution.compute(session, filters=MARCH, lookback_days=30)
    assert (result.orders, result.revenue) == (2, 1_600_000)
    assert "direct" not in result.credit["first_touch"]


@pytest.mark.parametrize("value", ["0", "91", "abc", "-1", "7.5"])
def test_a_lookback_outside_1_to_90_days_is_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        attribution.parse_lookback(value)
    assert refused.value.code == "invalid_lookback"


def test_the_page_shows_the_chosen_model(orders: Shop, manager: Browser, agent: Browser) -> None:
    page = manager.client.get("/analytics/attribution?from=2026-03-01&to=2026-03-31&model=first_touch")
    assert page.status_code == 200
    assert 'data-label="Zalo OA" data-value="1000000"' in page.text
    assert manager.client.get("/analytics/attribution?lookback=0").status_code == 422
    assert manager.client.get("/analytics/attribution?lookback=120").status_code == 422
    assert manager.client.get("/analytics/attribution?model=u_shaped").status_code == 422
    assert agent.client.get("/analytics/attribution").status_code == 403
    paths = manager.client.get("/analytics/attribution/export/paths.csv?from=2026-03-01&to=2026-03-31")
    assert paths.status_code == 200 and len(paths.content.decode("utf-8").strip().splitlines()) == 4


def test_the_store_filter_follows_the_till_or_the_orders_store(session: Session) -> None:
    hanoi = stores.create(session, code="HN09", name="Lụa Mây Hàng Gai", province="Hà Nội", address="1 Hàng Gai",
                          phone="024 3825 0000")
    saigon = stores.create(session, code="SG09", name="Lụa Mây Quận 1", province="TP. Hồ Chí Minh",
                           address="2 Lê Lợi", phone="028 3822 0000")
    shop = Shop(session)
    # A sale at Hà Nội's till (its source belongs to the store), and a web order commerce recorded for an order
    # collected in Sài Gòn (the event names the order by its number in properties.checkout_id).
    shop.record("pos", at(10), "Order Completed", phone=X, total=300_000, store_id=hanoi.id)
    pickup = Order(channel=SalesChannel.web, status=OrderStatus.completed, store_id=saigon.id, total=700_000)
    session.add(pickup)
    session.commit()
    shop.record("web", at(11), "Order Completed", phone=Y, total=700_000, checkout_id=str(pickup.id))
    for store, expected in ((hanoi.id, (1, 300_000)), (saigon.id, (1, 700_000))):
        chosen = Filters(first=MARCH.first, last=MARCH.last, store_id=store, timezone=MARCH.timezone)
        result = attribution.compute(session, filters=chosen, lookback_days=30)
        assert (result.orders, result.revenue) == expected


def test_downloads_follow_the_pages_lookback(orders: Shop, manager: Browser) -> None:
    page = manager.client.get("/analytics/attribution?from=2026-03-01&to=2026-03-31&lookback=60")
    assert "/analytics/attribution/export/channels.csv?lookback=60&amp;from=2026-03-01" in page.text
    month = "from=2026-03-01&to=2026-03-31"
    thirty = manager.client.get(f"/analytics/attribution/export/paths.csv?{month}").content.decode("utf-8")
    sixty = manager.client.get(f"/analytics/attribution/export/paths.csv?{month}&lookback=60").content.decode("utf-8")
    assert "Email" not in thirty and "Email → Zalo OA → Website → POS tại cửa hàng" in sixty  # X's older click
    refused = manager.client.get(f"/analytics/attribution/export/paths.csv?{month}&lookback=91")
    assert refused.status_code == 422 and "invalid_lookback" in refused.text
