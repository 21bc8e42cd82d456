"""The demo shop's customers as people: names, e-mails, phones and channel ids, drawn from a seeded generator.

Customers type their own details on the website, the app, Zalo and Shopee; store clerks type what they
hear at the till: some phones in the 11-digit form the number had before Vietnam's 2018 prefix change,
with dots, spaces or dashes, a few fields with two numbers, some names without diacritics. A few
families share one phone.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from xuyen.demo.names import PersonName, distinct_names
from xuyen.identity.names import strip_diacritics
from xuyen.identity.phones import OLD_MOBILE_PREFIXES

CHANNELS: tuple[str, ...] = ("web", "app", "pos", "shopee", "zalo", "messenger")
SHOWCASE_CHANNELS: tuple[str, ...] = ("web", "pos", "shopee", "zalo")
CHANNEL_ODDS: dict[str, float] = {"web": 0.5, "app": 0.2, "pos": 0.45, "shopee": 0.3, "zalo": 0.35,
                                  "messenger": 0.2}
MAX_CHANNELS = 4
MAX_ANONYMOUS_IDS = 5  # the identity rules' default limit per profile for one type

# Today's 10-digit mobile prefixes, weighted roughly by how many numbers each carrier has in use.
MODERN_PREFIXES: tuple[tuple[str, int], ...] = (
    ("096", 5), ("097", 5), ("098", 5), ("086", 3),
    ("032", 3), ("033", 3), ("034", 3), ("035", 3), ("036", 3), ("037", 3), ("038", 3), ("039", 3),
    ("091", 4), ("094", 3), ("088", 2), ("081", 2), ("082", 2), ("083", 2), ("084", 2), ("085", 2),
    ("090", 4), ("093", 3), ("070", 1), ("076", 1), ("077", 1), ("078", 1), ("079", 1),
    ("092", 1), ("056", 1), ("058", 1), ("059", 1),
)  # fmt: skip
# A 10-digit prefix -> the 11-digit prefix it replaced in 2018 ("038" -> "0168").
OLD_PREFIX_OF: dict[str, str] = {new: old for old, new in OLD_MOBILE_PREFIXES.items()}

EMAIL_DOMAINS: tuple[tuple[str, int], ...] = (
    ("gmail.com", 70), ("yahoo.com", 7), ("yahoo.com.vn", 5), ("outlook.com", 6), ("hotmail.com", 4),
    ("icloud.com", 4),
)

STORE_WEIGHTS: dict[str, int] = {"HN01": 5, "HCM01": 4, "DN01": 2}

# Where customers live, near their home store: each ward written before the July 2025 arrangement (as clerks and
# Shopee buyers still write it) and after it. Dịch Vọng was split between two new wards: its old form is ambiguous.
HOME_WARDS: dict[str, tuple[tuple[str, str], ...]] = {
    "HN01": (("P. Hàng Gai, Q. Hoàn Kiếm, Hà Nội", "Phường Hoàn Kiếm, Hà Nội"),
             ("P. Dịch Vọng, Q. Cầu Giấy, Hà Nội", "Phường Cầu Giấy, Hà Nội")),
    "HCM01": (("P. Bến Nghé, Q.1, TP.HCM", "Phường Sài Gòn, TP Hồ Chí Minh"),
              ("Phường 7, Quận 3, TP.HCM", "Phường Xuân Hòa, TP Hồ Chí Minh"),
              ("P. Thảo Điền, Quận 2, TP.HCM", "Phường An Khánh, TP Hồ Chí Minh")),
    "DN01": (("P. Thạch Thang, Q. Hải Châu, Đà Nẵng", "Phường Hải Châu, Đà Nẵng"),
             ("P. An Hải Bắc, Q. Sơn Trà, Đà Nẵng", "Phường An Hải, Đà Nẵng")),
}
STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Phan Chu Trinh")

# Shares of customers; the clerks' habits and the families pick at least one, so a small demo shows each.
EMAIL_SHARE = 0.7
CAPITALISED_EMAIL_SHARE = 0.15
REGISTERED_WEB_SHARE = 0.65
OLD_FORMAT_SHARE = 0.5  # of POS customers whose number had an old prefix
ASCII_NAME_SHARE = 0.3  # of POS and Shopee customers
TWO_NUMBERS_SHARE = 0.03  # of POS customers
FAMILY_PAIR_SHARE = 0.01  # pairs of app users sharing one phone, per customer


@dataclass
class Customer:
    """One demo customer and every way the shop's channels know them."""

    number: int
    name: PersonName
    phone: str  # national, 10 digits: "0381234567"
    channels: tuple[str, ...]
    home_store: str
    user_id: str | None = None
    email: str | None = None  # as the customer types it (some with capitals)
    second_phone: str | None = None
    clerk_phone: str = ""  # as the store's clerk typed it
    ascii_name: bool = False  # clerks and Shopee buyers wrote the name without diacritics
    family_of: int | None = None  # the customer whose phone this one shares
    ids: dict[str, str] = field(default_factory=dict)  # channel -> the id that channel knows them by
    second_cookie: str | None = None  # the website from another device
    address_old: str = ""  # the home address as written before July 2025
    address_new: str = ""  # and after
    showcase: bool = False  # the customer the demo opens first: known on the website, in a store, Shopee and Zalo

    @property
    def typed_name(self) -> str:
        """The name as a clerk or a Shopee buyer typed it."""
        return strip_diacritics(self.name.full) if self.ascii_name else self.name.full


def make_customers(rng: random.Random, count: int) -> list[Customer]:
    """``count`` customers with distinct names, e-mails and (but for families) phones."""
    names = distinct_names(rng, count)
    taken: set[str] = set()
    phones = _distinct_phones(rng, count, taken)
    customers = [Customer(number=index + 1, name=name, phone=phone, channels=_channels(rng),
                          home_store=_weighted(rng, tuple(STORE_WEIGHTS.items())))
                 for index, (name, phone) in enumerate(zip(names, phones, strict=True))]
    if customers:
        customers[0].channels, customers[0].showcase = SHOWCASE_CHANNELS, True
    _give_accounts(rng, customers)
    _give_emails(rng, customers)
    _share_family_phones(rng, customers)
    _give_clerk_phones(rng, customers, taken)
    _give_channel_ids(rng, customers)
    _give_addresses(rng, customers)
    return customers


def _give_addresses(rng: random.Random, customers: list[Customer]) -> None:
    """A home near the home store, in its old and new wording, for most customers."""
    for customer in customers:
        if rng.random() < 0.7 or customer.showcase:
            old, new = rng.choice(HOME_WARDS[customer.home_store])
            street = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
            customer.address_old, customer.address_new = f"{street}, {old}", f"{street}, {new}"


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def _pick(rng: random.Random, pool: list[Customer], share: float) -> list[Customer]:
    """A share of ``pool`` (at least one when the pool has anyone), in the pool's order."""
    if not pool:
        return []
    chosen = set(rng.sample(range(len(pool)), max(1, round(len(pool) * share))))
    return [customer for index, customer in enumerate(pool) if index in chosen]


def _distinct_phones(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """``count`` mobile numbers that are not in ``taken`` (which they join)."""
    phones: list[str] = []
    while len(phones) < count:
        phone = _weighted(rng, MODERN_PREFIXES) + f"{rng.randrange(10**7):07d}"
        if phone not in taken and len(set(phone[3:])) > 2:
            taken.add(phone)
            phones.append(phone)
    return phones


def _channels(rng: random.Random) -> tuple[str, ...]:
    chosen = [channel for channel in CHANNELS if rng.random() < CHANNEL_ODDS[channel]]
    if not chosen:
        chosen = [rng.choice(CHANNELS)]
    while len(chosen) > MAX_CHANNELS:
        chosen.remove(rng.choice(chosen))
    return tuple(chosen)


def _give_accounts(rng: random.Random, customers: list[Customer]) -> None:
    """App users always have an account; some website customers open one, the others check out as guests."""
    for customer in customers:
        if "app" in customer.channels or ("web" in customer.channels and rng.random() < REGISTERED_WEB_SHARE) \
                or customer.showcase:
            customer.user_id = f"LM-{customer.number:06d}"


def _give_emails(rng: random.Random, customers: list[Customer]) -> None:
    taken: set[str] = set()
    for customer in customers:
        share = 0.9 if customer.user_id else EMAIL_SHARE
        if rng.random() < share or customer.showcase:
            customer.email = _email(rng, customer.name, taken)
    for customer in _pick(rng, [c for c in customers if c.email], CAPITALISED_EMAIL_SHARE):
        local, domain = (customer.email or "").split("@")
        customer.email = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain


def _email(rng: random.Random, name: PersonName, taken: set[str]) -> str:
    """A free-mail address made from the name, as Vietnamese customers make them."""
    family, middle, given = (strip_diacritics(part).lower().replace(" ", "") for part in
                             (name.family, name.middle, name.given))
    while True:
        local = rng.choice((
            f"{given}.{family}", f"{family}{middle}{given}", f"{given}{family}{rng.randrange(80, 100)}",
            f"{family[0]}{middle[0]}{given}.{rng.choice(('hn', 'sg', 'dn', 'vn'))}",
            f"{given}{rng.randrange(1980, 2006)}", f"{given}.{middle}{rng.randrange(10, 99)}",
        ))
        address = f"{local}@{_weighted(rng, EMAIL_DOMAINS)}"
        if address not in taken:
            taken.add(address)
            return address


def _share_family_phones(rng: random.Random, customers: list[Customer]) -> None:
    """Pairs of app users (a mother and her daughter, a couple) who both sign up with the same phone."""
    app_users = [customer for customer in customers if "app" in customer.channels]
    pairs = max(1, round(len(customers) * FAMILY_PAIR_SHARE))
    chosen = rng.sample(app_users, min(len(app_users) // 2, pairs) * 2)
    for first, second in zip(chosen[::2], chosen[1::2], strict=True):
        owner, sharer = sorted((first, second), key=lambda customer: customer.number)
        sharer.phone = owner.phone
        sharer.family_of = owner.number


def _give_clerk_phones(rng: random.Random, customers: list[Customer], taken: set[str]) -> None:
    """What each store's clerk typed in the phone field: old prefixes, dots, spaces, +84, two numbers."""
    at_stores = [customer for customer in customers if "pos" in customer.channels]
    for customer in customers:
        customer.clerk_phone = clerk_format(rng, customer.phone)
    old_prefix = [customer for customer in at_stores if customer.phone[:3] in OLD_PREFIX_OF]
    for customer in _pick(rng, old_prefix, OLD_FORMAT_SHARE):
        customer.clerk_phone = clerk_format(rng, customer.phone, old=True)
    for customer in _pick(rng, at_stores, TWO_NUMBERS_SHARE):
        customer.second_phone = _distinct_phones(rng, 1, taken)[0]
        customer.clerk_phone = f"{customer.phone}/{customer.second_phone}"
    shoppers = [customer for customer in customers if {"pos", "shopee"} & set(customer.channels)]
    for customer in _pick(rng, shoppers, ASCII_NAME_SHARE):
        customer.ascii_name = True


def clerk_format(rng: random.Random, phone: str, *, old: bool = False) -> str:
    """``phone`` as a clerk types it; ``old`` writes it with the 11-digit prefix it had before 2018."""
    prefix, rest = (OLD_PREFIX_OF[phone[:3]], phone[3:]) if old else (phone[:3], phone[3:])
    separator = rng.choice(("", " ", ".", "-", " "))
    if rng.random() < 0.12:
        return f"+84 {prefix[1:]} {rest[:3]} {rest[3:]}"
    return f"{prefix}{separator}{rest[:3]}{separator}{rest[3:]}"


def _give_channel_ids(rng: random.Random, customers: list[Customer]) -> None:
    """The ids each channel knows a customer by: cookies, app devices, POS codes, buyer and follower ids."""
    for customer in customers:
        for channel in customer.channels:
            customer.ids[channel] = _channel_id(rng, customer, channel)
        if "web" in customer.channels and len(customer.ids) < MAX_ANONYMOUS_IDS and rng.random() < 0.25:
            customer.second_cookie = _uuid(rng)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _channel_id(rng: random.Random, customer: Customer, channel: str) -> str:
    """The anonymous id a channel sends for ``customer``: a cookie, a device id, a POS code, a buyer id, …"""
    if channel == "web":
        return _uuid(rng)
    if channel == "app":
        return _uuid(rng).upper()
    if channel == "pos":
        return f"{customer.home_store}-KH{customer.number:05d}"
    digits = {"shopee": 9, "zalo": 18, "messenger": 16}[channel]
    prefix = {"shopee": "shopee", "zalo": "zalo", "messenger": "fb"}[channel]
    return f"{prefix}-{rng.randrange(10 ** (digits - 1), 10**digits)}"
