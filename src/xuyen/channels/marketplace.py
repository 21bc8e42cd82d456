"""The marketplace adapter interface: what a marketplace package (Shopee, Lazada) implements for the sync.

A marketplace is not a chat channel: it pushes order news, answers order queries and keeps its own copy of our
stock. An adapter turns one platform's open API into these plain values and back:

- ``verify_push(request)`` / ``parse_push(request)``: check a push's signature over the raw bytes, then read it;
- ``refresh_tokens()``: trade the refresh token for a new pair (both rotate);
- ``list_updated_orders(since, until)``: the orders changed in a time range (to recover lost pushes);
- ``get_orders(order_ids)``: each order's detail with its lines and buyer;
- ``set_stock(levels)`` / ``get_stock(listings)``: tell the platform what it may sell, and read what it thinks.

Adapters hold no state beyond their configuration, tokens and an HTTP client, never touch the database and import
only the frame. Packages register under the ``xuyen.marketplaces`` entry point group.

What the platforms do alike is here as well, for the packages to use: ``call_with_refresh``, ``keep_tokens`` and
``request_json`` on the adapter, and ``refusal``, ``token_refusal``, ``authorization_matches``,
``read_push_json``, ``push_digest`` and ``buyer_contact``. Each package keeps its own signing and payload rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib.metadata import entry_points
from typing import Any, ClassVar, Literal, TypeVar

import httpx

from xuyen.channels.base import ChannelError, PayloadInvalid, SignatureInvalid, WebhookAnswer, WebhookRequest
from xuyen.tls import http_client

__all__ = [
    "ChannelError",
    "ListingRef",
    "MarketplaceAdapter",
    "MarketplaceError",
    "MarketplaceOrder",
    "OrderLine",
    "OrderRef",
    "PayloadInvalid",
    "PushNotice",
    "SignatureInvalid",
    "StockLevel",
    "StockResult",
    "TokenPair",
    "WebhookAnswer",
    "WebhookRequest",
    "authorization_matches",
    "buyer_contact",
    "marketplace_adapter_class",
    "marketplace_adapters",
    "push_digest",
    "read_push_json",
    "refusal",
    "token_refusal",
]

GROUP = "xuyen.marketplaces"

#: The order states every platform's own states are mapped onto (the sync's ``ExternalStatus`` values).
ORDER_STATES = frozenset({"unpaid", "to_ship", "shipped", "delivered", "cancelled", "returned"})

#: How a refused call is handled: tried again after a pause, after a token refresh, later, or not at all.
RefusalKind = Literal["rate_limited", "auth_expired", "provider_error", "refused"]

_T = TypeVar("_T")


class MarketplaceError(ChannelError):
    """The platform refused a call.

    ``retryable`` calls are tried again later (rate limits, outages; ``retry_after`` seconds when the platform
    said); ``auth_expired`` means the access token no longer works (refresh it); ``credentials_revoked`` means
    the refresh failed too and the owner must connect the shop again.
    """

    def __init__(self, message: str, *, code: str, retryable: bool = False, rate_limited: bool = False,
                 retry_after: float | None = None, auth_expired: bool = False, credentials_revoked: bool = False,
                 provider_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable or rate_limited
        self.rate_limited = rate_limited
        self.retry_after = retry_after
        self.auth_expired = auth_expired
        self.credentials_revoked = credentials_revoked
        self.provider_code = provider_code
        self.details: list[dict[str, Any]] = []  # per-item refusals the platform listed


@dataclass(frozen=True)
class TokenPair:
    """What a token refresh returns: the new access token, the new refresh token, and when the access one ends."""

    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True)
class PushNotice:
    """What a verified push says: ``kind`` ``order`` (an order changed) or ``other`` (kept, not acted on).

    ``dedupe_key`` is the same for a redelivery of the same push (the platform sends at least once)."""

    kind: str
    account: str
    dedupe_key: str
    order_id: str | None = None
    status: str | None = None
    raw_status: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class OrderRef:
    """An order in a list of updated orders: its id and, when the list says, its state and last change."""

    order_id: str
    raw_status: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class OrderLine:
    """One line of a platform order: the listing's ids there, how many, at what unit price (whole đồng)."""

    item_id: str
    quantity: int
    unit_price: int
    model_id: str = ""
    sku: str = ""
    name: str = ""
    discount: int = 0


@dataclass(frozen=True)
class MarketplaceOrder:
    """A platform order in plain values; ``status`` is one of ``ORDER_STATES``, ``raw_status`` the platform's."""

    account: str
    order_id: str
    status: str
    raw_status: str
    placed_at: datetime
    updated_at: datetime
    lines: list[OrderLine]
    total: int
    shipping_fee: int = 0
    payment_method: str = "cod"
    buyer_id: str = ""
    buyer_name: str = ""
    phone: str = ""
    address: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListingRef:
    """A listed variant, as the platform names it (Shopee: item + model; Lazada: item + seller SKU + SKU id)."""

    item_id: str
    model_id: str = ""
    sku: str = ""


@dataclass(frozen=True)
class StockLevel:
    """How many of a listing the platform may sell."""

    listing: ListingRef
    quantity: int


@dataclass(frozen=True)
class StockResult:
    """What the platform said of one stock update: accepted, or refused with its reason."""

    listing: ListingRef
    accepted: bool
    error: str = ""


class MarketplaceAdapter(ABC):
    """One platform's open API, built per connected shop from its settings and unsealed secrets."""

    kind: ClassVar[str]
    label: ClassVar[str]
    settings_fields: ClassVar[Mapping[str, str]] = {}
    secret_fields: ClassVar[Mapping[str, str]] = {}
    #: The longest time range ``list_updated_orders`` may be asked for at once.
    max_list_window_seconds: ClassVar[int] = 15 * 86_400

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        missing = [name for name in (*self.settings_fields, *self.secret_fields)
                   if not (settings.get(name) or secrets.get(name)) and name not in self.optional_fields()]
        if missing:
            raise ChannelError(f"A {self.label} shop needs {', '.join(missing)}; add them when connecting it.")
        self.settings = dict(settings)
        self.secrets = dict(secrets)
        self.http = http or http_client(timeout=httpx.Timeout(15.0, connect=5.0))
        #: When the access token ends, if known: calls refresh it a minute before rather than fail once.
        self.expires_at: datetime | None = None
        #: The token pair a refresh brought, until the caller has stored it.
        self.rotated: TokenPair | None = None

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """Settings and secrets a connection may leave empty."""
        return frozenset()

    @property
    @abstractmethod
    def account(self) -> str:
        """The shop's id on the platform (Shopee ``shop_id``, Lazada seller id)."""

    @classmethod
    @abstractmethod
    def app_id(cls, settings: Mapping[str, str]) -> str:
        """The platform app (partner id, app key) a shop's pushes are signed for."""

    @abstractmethod
    def verify_push(self, request: WebhookRequest, *, callback_url: str) -> None:
        """Raise ``SignatureInvalid`` unless the push is signed with this app's key (``callback_url``: the URL
        the platform called, which some platforms sign)."""

    @abstractmethod
    def parse_push(self, request: WebhookRequest) -> PushNotice:
        """What a verified push says; ``PayloadInvalid`` when it is not the platform's shape."""

    def push_answer(self) -> WebhookAnswer:
        """The answer the platform expects to a push it need not send again."""
        return WebhookAnswer(200, b"")

    def refresh_if_due(self) -> None:
        """Refresh the tokens now when the access token ends within a minute."""
        if self.expires_at is not None and datetime.now(UTC) >= self.expires_at - timedelta(minutes=1):
            self.refresh_tokens()

    @abstractmethod
    def refresh_tokens(self) -> TokenPair:
        """A new access token and refresh token; ``MarketplaceError`` (``credentials_revoked``) when refused.

        The adapter uses the new access token for its next calls; the caller stores both."""

    @abstractmethod
    def list_updated_orders(self, *, since: datetime, until: datetime) -> Iterator[OrderRef]:
        """Every order updated in ``[since, until]`` (at most ``max_list_window_seconds`` apart), page by page."""

    @abstractmethod
    def get_orders(self, *, order_ids: Sequence[str]) -> list[MarketplaceOrder]:
        """The detail of each order (orders the platform does not know are left out)."""

    @abstractmethod
    def set_stock(self, *, levels: Sequence[StockLevel]) -> list[StockResult]:
        """Tell the platform how many of each listing it may sell; one result per level."""

    @abstractmethod
    def get_stock(self, *, listings: Sequence[ListingRef]) -> dict[ListingRef, int]:
        """What the platform thinks it may sell of each listing (listings it does not know are left out)."""

    def close(self) -> None:
        """Release the HTTP client."""
        self.http.close()

    # Helpers for the platform packages ------------------------------------------------------------------

    def call_with_refresh(self, attempt: Callable[[], _T]) -> _T:
        """Make a call, refreshing the tokens first when due, and once more after an expired-token refusal."""
        self.refresh_if_due()
        try:
            return attempt()
        except MarketplaceError as exc:
            if not exc.auth_expired:
                raise
        self.refresh_tokens()
        return attempt()

    def keep_tokens(self, answer: Mapping[str, Any], *, expires_key: str) -> TokenPair:
        """Use the token pair of a refresh answer from now on, and leave it in ``rotated`` for the caller."""
        try:
            pair = TokenPair(access_token=str(answer["access_token"]), refresh_token=str(answer["refresh_token"]),
                             expires_at=datetime.now(UTC) + timedelta(seconds=int(answer[expires_key])))
        except (KeyError, TypeError, ValueError) as exc:
            raise MarketplaceError(f"{self.label}'s token answer lacks a token.", code="bad_answer",
                                   retryable=True) from exc
        self.secrets["access_token"], self.secrets["refresh_token"] = pair.access_token, pair.refresh_token
        self.rotated, self.expires_at = pair, pair.expires_at
        return pair

    def request_json(self, method: str, url: str, **options: Any) -> tuple[httpx.Response, dict[str, Any]]:
        """Send one request and read its JSON object; a retryable ``MarketplaceError`` when that fails."""
        try:
            reply = self.http.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise MarketplaceError(f"{self.label} could not be reached ({exc.__class__.__name__}); it is tried "
                                   "again later.", code="unreachable", retryable=True) from exc
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise MarketplaceError(f"{self.label} answered HTTP {reply.status_code} without JSON; it is tried "
                                   "again later.", code="bad_answer", retryable=reply.status_code >= 500)
        return reply, answer


def refusal(label: str, *, code: str, message: str, kind: RefusalKind) -> MarketplaceError:
    """The error for a call the platform refused with ``code``; ``kind`` says how it is handled."""
    said = f"{label} refused the call ({code}: {message})"
    if kind == "rate_limited":
        return MarketplaceError(f"{said}; it is tried again after a pause.", code="rate_limited", rate_limited=True,
                                provider_code=code)
    if kind == "auth_expired":
        return MarketplaceError(f"{said}; the token is refreshed.", code="auth_expired", auth_expired=True,
                                provider_code=code)
    if kind == "provider_error":
        return MarketplaceError(f"{said}; it is tried again later.", code="provider_error", retryable=True,
                                provider_code=code)
    return MarketplaceError(f"{said}.", code="refused", provider_code=code)


def token_refusal(failure: MarketplaceError, *, label: str, owner: str, code: str,
                  message: object) -> MarketplaceError:
    """The error for a refused token refresh: ``failure`` when it is retried, else the shop must be authorised
    again."""
    if failure.retryable:
        return failure
    return MarketplaceError(f"{label} refused to refresh the {owner}'s token ({code}: {message}); authorise the "
                            "shop again.", code="credentials_revoked", credentials_revoked=True, provider_code=code)


def authorization_matches(request: WebhookRequest, expected: str) -> bool:
    """Whether a push's ``Authorization`` header is the ``expected`` hex signature (in either letter case)."""
    given = request.headers.get("authorization", "").strip()
    return bool(given) and hmac.compare_digest(given.lower(), expected)


def read_push_json(body: bytes) -> Any:
    """A push body's JSON value; ``PayloadInvalid`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadInvalid("The push body is not JSON.") from exc


def push_digest(body: bytes) -> str:
    """A short digest of a push body, to dedupe redeliveries of pushes that carry no id."""
    return hashlib.sha256(body).hexdigest()[:32]


def buyer_contact(address: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The buyer's phone (empty when the platform masked it) and the other non-empty address fields."""
    phone = str(address.get("phone") or "")
    rest = {key: str(value) for key, value in address.items() if key != "phone" and value}
    return ("" if "*" in phone else phone), rest


def whole_dong(value: object, *, label: str) -> int:
    """An amount as the platform writes it (a number, or text such as "199000.00" or "1,250,000") in whole
    đồng; PayloadInvalid for anything else, so that no order is ever booked at a price it did not have."""
    text = str(0 if value is None or value == "" else value).replace(",", "").strip()
    try:
        return int(Decimal(text).to_integral_value(rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise PayloadInvalid(f"{label} sent an amount that is not a number: {str(value)[:40]!r}.") from None


@cache
def marketplace_adapters() -> dict[str, type[MarketplaceAdapter]]:
    """Every installed marketplace adapter class by its kind (``shopee``, ``lazada``)."""
    found: dict[str, type[MarketplaceAdapter]] = {}
    for point in entry_points(group=GROUP):
        adapter = point.load()
        if not (isinstance(adapter, type) and issubclass(adapter, MarketplaceAdapter)):
            raise TypeError(f"entry point {point.name!r} of {GROUP} is not a MarketplaceAdapter class")
        if adapter.kind != point.name:
            raise TypeError(f"entry point {point.name!r} names an adapter of kind {adapter.kind!r}")
        found[point.name] = adapter
    return dict(sorted(found.items()))


def marketplace_adapter_class(kind: str) -> type[MarketplaceAdapter]:
    """The adapter of ``kind``; a ChannelError naming the installed ones when there is none."""
    known = marketplace_adapters()
    if kind not in known:
        raise ChannelError(f"There is no {kind!r} marketplace; installed: {', '.join(known) or 'none'}.")
    return known[kind]
