"""Demo customers' journeys: the Segment calls each channel would have sent over the last months.

The website and the app send page or screen views, ``Product Viewed``, ``Product Added``, ``Checkout
Started`` and ``Order Completed`` under a cookie or device id, and an ``identify`` once the customer signs
in or checks out; the tills send each sale with the phone the clerk typed; Shopee sends orders under its
buyer id; the Zalo OA and the Facebook page send who followed or wrote, with the phone when it was shared.
Amounts are in đồng, without decimals.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from xuyen.demo.people import Customer
from xuyen.demo.shop import FACEBOOK_PAGE_ID, ZALO_OA_ID
from xuyen.identity.names import fold_name

DAYS = 120
VIETNAM = timezone(timedelta(hours=7))
WEBSITE = "https://luamay.vn"
FREE_SHIPPING_FROM = 1_000_000
SHIPPING_FEE = 30_000


@dataclass(frozen=True)
class Product:
    """An item of the demo catalogue."""

    sku: str
    name: str
    category: str
    price: int  # đồng

    @property
    def url(self) -> str:
        """The product page on the brand's website."""
        return f"{WEBSITE}/san-pham/{fold_name(self.name).replace(' ', '-')}"


PRODUCTS: tuple[Product, ...] = (
    Product("AD-TT-01", "Áo dài lụa tơ tằm Hàng Gai", "Áo dài", 2_450_000),
    Product("AD-SEN-02", "Áo dài thêu sen", "Áo dài", 3_200_000),
    Product("AD-CT-03", "Áo dài cách tân cổ tròn", "Áo dài", 1_290_000),
    Product("AD-NAM-04", "Áo dài nam gấm Vạn Phúc", "Áo dài", 1_850_000),
    Product("AD-TE-05", "Áo dài Tết bé gái", "Áo dài", 690_000),
    Product("KL-VU-01", "Khăn lụa vuông họa tiết chim Lạc", "Khăn lụa", 450_000),
    Product("KL-DA-02", "Khăn lụa dài vẽ tay hoa sen", "Khăn lụa", 690_000),
    Product("KL-CO-03", "Khăn lụa cổ nhỏ", "Khăn lụa", 290_000),
    Product("VL-TT-01", "Lụa tơ tằm Vạn Phúc (1 mét)", "Vải lụa", 380_000),
    Product("VL-DU-02", "Lụa đũi Nam Định (1 mét)", "Vải lụa", 260_000),
    Product("SM-LU-01", "Sơ mi lụa nữ tay dài", "Sơ mi", 890_000),
    Product("VA-LU-01", "Váy lụa hai dây", "Váy", 1_150_000),
    Product("QU-LU-01", "Quần lụa ống suông", "Quần", 750_000),
    Product("PK-CV-01", "Cà vạt lụa tơ tằm", "Phụ kiện", 350_000),
)

PROMOTIONS: tuple[tuple[str, str], ...] = (
    ("KM-2010", "Ưu đãi 20/10: giảm 20% áo dài"),
    ("KM-TET", "Bộ sưu tập áo dài Tết"),
    ("KM-FREESHIP", "Miễn phí giao hàng cho đơn từ 1.000.000 ₫"),
    ("KM-KHANLUA", "Mua 2 khăn lụa tặng 1"),
)

WEB_PAGES: tuple[tuple[str, str], ...] = (
    ("/", "Trang chủ"), ("/ao-dai", "Áo dài"), ("/khan-lua", "Khăn lụa"), ("/vai-lua", "Vải lụa"),
    ("/bo-suu-tap/tet", "Bộ sưu tập Tết"),
)
CAMPAIGNS: tuple[dict[str, str], ...] = (
    {"source": "facebook", "medium": "cpc", "name": "ao-dai-tet"},
    {"source": "zalo", "medium": "oa", "name": "uu-dai-thang"},
    {"source": "google", "medium": "cpc", "name": "khan-lua"},
)
VISITS: dict[str, tuple[int, ...]] = {  # channel -> how many visits in the period, drawn from these
    "web": (1, 1, 2), "app": (1, 1, 2), "pos": (1, 1, 2), "shopee": (1, 1, 2), "zalo": (1, 2), "messenger": (1, 2),
}
SHOPEE_ORDER_LETTERS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
OPENING_HOURS: dict[str, tuple[int, int]] = {"pos": (9, 21)}  # local hours; online channels run 7-23


@dataclass(frozen=True)
class Call:
    """One Segment call as a channel would send it, with when it happened and when Xuyên received it."""

    channel: str  # "web", "app", "pos:HN01", "shopee", "zalo", "messenger"
    at: datetime
    received_at: datetime
    payload: dict[str, Any]


@dataclass
class _Journey:
    """One customer's calls being written, and what the website and app already know about them."""

    rng: random.Random
    customer: Customer
    start: datetime  # midnight, Vietnam time, of the period's first day
    calls: list[Call] = field(default_factory=list)
    signed_in: set[str] = field(default_factory=set)  # cookies and devices that sent an identify

    def message_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, channel: str, at: datetime, payload: dict[str, Any], *, client: bool) -> None:
        """Stamp ``payload`` as a client library (web, app: sentAt, clock skew) or a server connector would."""
        payload["messageId"] = self.message_id()
        if client:
            sent = at + timedelta(milliseconds=self.rng.randrange(50, 20_000))
            received = sent + timedelta(milliseconds=self.rng.randrange(30, 400))
            payload |= {"originalTimestamp": _iso(at), "sentAt": _iso(sent)}
        else:
            received = at + timedelta(seconds=self.rng.randrange(1, 90))
            payload["timestamp"] = _iso(at)
        self.calls.append(Call(channel=channel, at=at, received_at=received, payload=payload))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def journey(rng: random.Random, customer: Customer, *, start: datetime) -> list[Call]:
    """Every call the shop's channels sent about ``customer`` from ``start`` on, in the order they happened."""
    trip = _Journey(rng=rng, customer=customer, start=start)
    first_day = rng.randrange(0, DAYS - 7)
    visits = [(channel, rng.randrange(first_day, DAYS)) for channel in customer.channels
              for _ in range(rng.choice(VISITS[channel]))]
    for channel, day in sorted(visits, key=lambda visit: visit[1]):
        _VISITS[channel](trip, _moment(rng, start, day, channel))
    return sorted(trip.calls, key=lambda call: call.at)


def _moment(rng: random.Random, start: datetime, day: int, channel: str) -> datetime:
    opens, closes = OPENING_HOURS.get(channel, (7, 23))
    return start + timedelta(days=day, hours=opens, seconds=rng.randrange((closes - opens - 1) * 3600))


def _later(trip: _Journey, at: datetime) -> datetime:
    return at + timedelta(seconds=trip.rng.randrange(15, 240))


# Website and app --------------------------------------------------------------------------------------


def _web_visit(trip: _Journey, at: datetime) -> None:
    cookie = trip.customer.ids["web"]
    if trip.customer.second_cookie and trip.rng.random() < 0.35:
        cookie = trip.customer.second_cookie
    _online_visit(trip, at, channel="web", anonymous_id=cookie)


def _app_visit(trip: _Journey, at: datetime) -> None:
    _online_visit(trip, at, channel="app", anonymous_id=trip.customer.ids["app"])


def _online_visit(trip: _Journey, at: datetime, *, channel: str, anonymous_id: str) -> None:
    """A browsing session: a landing view, a product or two, maybe the cart, the checkout and an order."""
    rng, customer = trip.rng, trip.customer
    context = _client_context(trip, channel, anonymous_id)
    if channel == "app" and anonymous_id not in trip.signed_in:  # the app needs an account
        _identify_online(trip, at, channel, anonymous_id, context)
    path, title = rng.choice(WEB_PAGES)
    _view(trip, at, channel, anonymous_id, context, path=path, title=title)
    if channel == "web" and customer.user_id and anonymous_id not in trip.signed_in \
            and (rng.random() < 0.5 or customer.showcase):
        at = _later(trip, at)
        _identify_online(trip, at, channel, anonymous_id, context)
    viewed = rng.sample(PRODUCTS, 2 if rng.random() < 0.25 else 1)
    for product in viewed:
        at = _later(trip, at)
        _track(trip, at, channel, anonymous_id, context, "Product Viewed", _product(product))
    if rng.random() > 0.35:
        return
    cart = [(viewed[-1], 2 if viewed[-1].price < 500_000 and rng.random() < 0.3 else 1)]
    at = _later(trip, at)
    _track(trip, at, channel, anonymous_id, context, "Product Added", _product(*cart[0]) | {"cart_id": _cart(rng)})
    if rng.random() > 0.6:
        return
    at = _later(trip, at)
    order = _order(rng, cart, shipping=True, order_id=f"LM{at.astimezone(VIETNAM):%y%m%d}-{rng.randrange(10**4):04d}")
    _track(trip, at, channel, anonymous_id, context, "Checkout Started", order)
    if anonymous_id not in trip.signed_in:
        at = _later(trip, at)
        _identify_online(trip, at, channel, anonymous_id, context)
    if rng.random() < 0.8:
        _track(trip, _later(trip, at), channel, anonymous_id, context, "Order Completed",
               order | {"payment_method": rng.choice(("cod", "momo", "vnpay", "the"))})


def _client_context(trip: _Journey, channel: str, anonymous_id: str) -> dict[str, Any]:
    if channel == "app":
        ios = anonymous_id[0] in "01234567"  # about half the devices are iPhones
        return {"app": {"name": "Lụa Mây", "version": "3.4.1"}, "locale": "vi-VN",
                "device": {"id": anonymous_id, "type": "ios" if ios else "android"},
                "library": {"name": "analytics-ios" if ios else "analytics-android", "version": "4.1.8"}}
    context: dict[str, Any] = {"locale": "vi-VN", "library": {"name": "analytics.js", "version": "5.2.0"}}
    if trip.rng.random() < 0.3:
        context["campaign"] = dict(trip.rng.choice(CAMPAIGNS))
    return context


def _ids(trip: _Journey, anonymous_id: str) -> dict[str, str]:
    ids = {"anonymousId": anonymous_id}
    if anonymous_id in trip.signed_in and trip.customer.user_id:
        ids["userId"] = trip.customer.user_id
    return ids


def _view(trip: _Journey, at: datetime, channel: str, anonymous_id: str, context: dict[str, Any], *,
          path: str, title: str) -> None:
    if channel == "app":
        payload: dict[str, Any] = {"type": "screen", "name": title, "properties": {"path": path}}
    else:
        payload = {"type": "page", "name": title,
                   "properties": {"path": path, "url": WEBSITE + path, "title": f"{title} | Lụa Mây"}}
    trip.add(channel, at, payload | _ids(trip, anonymous_id) | {"context": context}, client=True)


def _track(trip: _Journey, at: datetime, channel: str, anonymous_id: str, context: dict[str, Any], event: str,
           properties: dict[str, Any]) -> None:
    payload = {"type": "track", "event": event, "properties": properties, "context": context}
    trip.add(channel, at, payload | _ids(trip, anonymous_id), client=channel in ("web", "app"))


def _identify_online(trip: _Journey, at: datetime, channel: str, anonymous_id: str,
                     context: dict[str, Any]) -> None:
    """Signing in (an account holder) or a guest checkout: the details the customer typed themselves."""
    customer = trip.customer
    trip.signed_in.add(anonymous_id)
    traits: dict[str, Any] = {"name": customer.name.full, "gender": customer.name.gender,
                              "phone": customer.phone if trip.rng.random() < 0.85 else "+84" + customer.phone[1:]}
    if customer.email:
        traits["email"] = customer.email
    if customer.address_new and trip.rng.random() < 0.6:
        traits["address"] = {"street": customer.address_new.split(", ")[0],
                             "city": ", ".join(customer.address_new.split(", ")[1:])}
    payload = {"type": "identify", "traits": traits, "context": context} | _ids(trip, anonymous_id)
    trip.add(channel, at, payload, client=True)


# Stores, Shopee, Zalo and Facebook ------------------------------------------------------------------


def _store_visit(trip: _Journey, at: datetime) -> None:
    """A sale at the till, with the phone and name the clerk typed."""
    rng, customer = trip.rng, trip.customer
    traits: dict[str, Any] = {"name": customer.typed_name, "phone": customer.clerk_phone}
    if customer.email and rng.random() < 0.3:
        traits["email"] = customer.email
    if customer.address_old and rng.random() < 0.4:
        traits["address"] = customer.address_old
    cart = [(product, 1) for product in rng.sample(PRODUCTS, rng.choice((1, 1, 1, 2, 2, 3)))]
    order_id = f"{customer.home_store}-{at.astimezone(VIETNAM):%y%m%d}-{rng.randrange(10**4):04d}"
    properties = _order(rng, cart, shipping=False, order_id=order_id) | {
        "store_code": customer.home_store, "payment_method": rng.choice(("cash", "card", "vnpay-qr", "momo"))}
    trip.add(f"pos:{customer.home_store}", at, {
        "type": "track", "event": "Order Completed", "anonymousId": customer.ids["pos"],
        "properties": properties, "context": {"traits": traits, "library": {"name": "pos", "version": "2.3"}},
    }, client=False)


def _shopee_order(trip: _Journey, at: datetime) -> None:
    """An order on the Shopee shop, under the buyer's Shopee id, with the recipient's name and phone."""
    rng, customer = trip.rng, trip.customer
    buyer = customer.ids["shopee"]
    traits: dict[str, Any] = {"name": customer.typed_name}
    if rng.random() < 0.7 or customer.showcase:
        traits["phone"] = "84" + customer.phone[1:]
    if customer.address_old:
        traits["address"] = customer.address_old
    cart = [(product, 1) for product in rng.sample(PRODUCTS, rng.choice((1, 1, 2)))]
    order_id = f"{at.astimezone(VIETNAM):%y%m%d}" + "".join(rng.choices(SHOPEE_ORDER_LETTERS, k=8))
    trip.add("shopee", at, {
        "type": "track", "event": "Order Completed", "anonymousId": buyer,
        "properties": _order(rng, cart, shipping=True, order_id=order_id) | {"affiliation": "Shopee"},
        "context": {"traits": traits, "externalIds": [_external("marketplace_buyer_id", buyer)]},
    }, client=False)


def _zalo_visit(trip: _Journey, at: datetime) -> None:
    """Following the Zalo OA (sharing the phone, mostly), then clicking its offers or ordering in the chat."""
    rng, customer = trip.rng, trip.customer
    follower = customer.ids["zalo"]
    context: dict[str, Any] = {"externalIds": [_external("zalo_id", follower)]}
    if follower not in trip.signed_in:
        trip.signed_in.add(follower)
        traits: dict[str, Any] = {"name": customer.name.full if rng.random() < 0.6 else customer.name.given}
        if rng.random() < 0.75 or customer.showcase:
            traits["phone"] = "84" + customer.phone[1:]
        trip.add("zalo", at, {"type": "identify", "anonymousId": follower, "traits": traits, "context": context},
                 client=False)
        return
    if rng.random() < 0.75:
        promotion_id, name = rng.choice(PROMOTIONS)
        trip.add("zalo", at, {"type": "track", "event": "Promotion Clicked", "anonymousId": follower,
                              "properties": {"promotion_id": promotion_id, "name": name, "creative": "zalo-oa"},
                              "context": context}, client=False)
        return
    cart = [(rng.choice(PRODUCTS), 1)]
    order_id = f"ZL{at.astimezone(VIETNAM):%y%m%d}-{rng.randrange(10**4):04d}"
    trip.add("zalo", at, {"type": "track", "event": "Order Completed", "anonymousId": follower,
                          "properties": _order(rng, cart, shipping=True, order_id=order_id),
                          "context": context | {"traits": {"phone": customer.phone}}}, client=False)


def _messenger_visit(trip: _Journey, at: datetime) -> None:
    """Writing to the Facebook page; some leave a phone and order in the chat."""
    rng, customer = trip.rng, trip.customer
    psid = customer.ids["messenger"]
    context: dict[str, Any] = {"externalIds": [_external("facebook_psid", psid)]}
    if psid not in trip.signed_in:
        trip.signed_in.add(psid)
        trip.add("messenger", at, {"type": "identify", "anonymousId": psid,
                                   "traits": {"name": customer.typed_name}, "context": context}, client=False)
        return
    cart = [(rng.choice(PRODUCTS), 1)]
    order_id = f"FB{at.astimezone(VIETNAM):%y%m%d}-{rng.randrange(10**4):04d}"
    trip.add("messenger", at, {"type": "track", "event": "Order Completed", "anonymousId": psid,
                               "properties": _order(rng, cart, shipping=True, order_id=order_id),
                               "context": context | {"traits": {"phone": customer.clerk_phone}}}, client=False)


# The page or OA a channel id belongs to: the identity graph keys these ids with their scope.
_SCOPES = {"zalo_id": ZALO_OA_ID, "facebook_psid": FACEBOOK_PAGE_ID}


def _external(kind: str, value: str) -> dict[str, str]:
    found = {"id": value.split("-", 1)[1], "type": kind, "collection": "users", "encoding": "none"}
    return found | ({"scope": _SCOPES[kind]} if kind in _SCOPES else {})


_VISITS = {"web": _web_visit, "app": _app_visit, "pos": _store_visit, "shopee": _shopee_order,
           "zalo": _zalo_visit, "messenger": _messenger_visit}


# Products and orders --------------------------------------------------------------------------------


def _product(product: Product, quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product.sku, "sku": product.sku, "name": product.name, "category": product.category,
            "price": product.price, "quantity": quantity, "currency": "VND", "url": product.url}


def _cart(rng: random.Random) -> str:
    return f"gh-{rng.randrange(16**10):010x}"


def _order(rng: random.Random, cart: list[tuple[Product, int]], *, shipping: bool, order_id: str) -> dict[str, Any]:
    """The Segment e-commerce order properties: items, subtotal, discount, shipping and total, in đồng."""
    subtotal = sum(product.price * quantity for product, quantity in cart)
    discount = subtotal // 10 // 1000 * 1000 if rng.random() < 0.2 else 0
    fee = SHIPPING_FEE if shipping and subtotal < FREE_SHIPPING_FROM else 0
    total = subtotal - discount + fee
    order: dict[str, Any] = {"order_id": order_id, "currency": "VND", "subtotal": subtotal, "discount": discount,
                             "shipping": fee, "total": total, "revenue": subtotal - discount,
                             "products": [_product(product, quantity) for product, quantity in cart]}
    if discount:
        order["coupon"] = rng.choice(("LUAMAY10", "TET10", "KHACHQUEN"))
    return order
