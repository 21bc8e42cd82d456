"""The demo brand as data: Lụa Mây, a made-up Vietnamese fashion label with three stores and six channels.

Only what never changes with the seed lives here (stores, channels, staff positions); people's
names are drawn from the seed by the loader steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from xuyen.auth.models import Role
from xuyen.events.models import ChannelType

DEMO_EMAIL_DOMAIN = "demo.xuyen.vn"
# The demo's Zalo Official Account and Facebook Page: their ids scope the Zalo and Messenger ids of customers.
ZALO_OA_ID = "1032900368119520473"
FACEBOOK_PAGE_ID = "104729384756102"
DEMO_OWNER_EMAIL = f"owner@{DEMO_EMAIL_DOMAIN}"
# Demo only: every demo account shares this published password. `xuyen demo` prints it.
DEMO_PASSWORD = "xuyen-demo"  # noqa: S105


@dataclass(frozen=True)
class StoreSpec:
    """A physical store of the brand."""

    code: str
    name: str
    province: str
    address: str
    phone: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class SourceSpec:
    """A channel the brand sells or talks on; ``store_code`` ties a POS to its store."""

    name: str
    channel: ChannelType
    store_code: str | None = None


@dataclass(frozen=True)
class StaffSpec:
    """A staff position; the person's name comes from the seed."""

    email: str
    role: Role
    title: str
    store_code: str | None = None


@dataclass(frozen=True)
class Shop:
    """Everything fixed about the demo brand."""

    brand: str
    tagline: str
    website: str
    stores: tuple[StoreSpec, ...]
    sources: tuple[SourceSpec, ...]
    staff: tuple[StaffSpec, ...]


def _email(local_part: str) -> str:
    return f"{local_part}@{DEMO_EMAIL_DOMAIN}"


STORES = (
    StoreSpec(code="HN01", name="Lụa Mây Hàng Gai", province="Hà Nội",
              address="36 Hàng Gai, phường Hàng Gai, quận Hoàn Kiếm, Hà Nội", phone="+84 24 3828 6158",
              latitude=21.0332, longitude=105.8497),
    StoreSpec(code="DN01", name="Lụa Mây Bạch Đằng", province="Đà Nẵng",
              address="74 Bạch Đằng, phường Hải Châu 1, quận Hải Châu, Đà Nẵng", phone="+84 236 3822 468",
              latitude=16.0718, longitude=108.2241),
    StoreSpec(code="HCM01", name="Lụa Mây Đồng Khởi", province="TP. Hồ Chí Minh",
              address="125 Đồng Khởi, phường Bến Nghé, Quận 1, TP. Hồ Chí Minh", phone="+84 28 3823 9075",
              latitude=10.7765, longitude=106.7033),
)

SOURCES = (
    SourceSpec(name="Website luamay.vn", channel=ChannelType.web),
    SourceSpec(name="Ứng dụng Lụa Mây", channel=ChannelType.app),
    SourceSpec(name="POS Hà Nội", channel=ChannelType.pos, store_code="HN01"),
    SourceSpec(name="POS Đà Nẵng", channel=ChannelType.pos, store_code="DN01"),
    SourceSpec(name="POS TP. Hồ Chí Minh", channel=ChannelType.pos, store_code="HCM01"),
    SourceSpec(name="Shopee Mall Lụa Mây", channel=ChannelType.shopee),
    SourceSpec(name="Zalo OA Lụa Mây", channel=ChannelType.zalo),
    SourceSpec(name="Fanpage Facebook Lụa Mây", channel=ChannelType.messenger),
)

STAFF = (
    StaffSpec(email=DEMO_OWNER_EMAIL, role=Role.owner, title="Chủ thương hiệu"),
    StaffSpec(email=_email("quanly.hn01"), role=Role.manager, title="Quản lý cửa hàng Hàng Gai",
              store_code="HN01"),
    StaffSpec(email=_email("quanly.dn01"), role=Role.manager, title="Quản lý cửa hàng Bạch Đằng",
              store_code="DN01"),
    StaffSpec(email=_email("quanly.hcm01"), role=Role.manager, title="Quản lý cửa hàng Đồng Khởi",
              store_code="HCM01"),
    StaffSpec(email=_email("banhang.hn01"), role=Role.agent, title="Nhân viên bán hàng Hàng Gai",
              store_code="HN01"),
    StaffSpec(email=_email("banhang.hcm01"), role=Role.agent, title="Nhân viên bán hàng Đồng Khởi",
              store_code="HCM01"),
    StaffSpec(email=_email("cskh"), role=Role.agent, title="Chăm sóc khách hàng trực tuyến"),
)

SHOP = Shop(
    brand="Lụa Mây",
    tagline="Thời trang lụa Việt, may đo tại Hà Nội từ 2012",
    website="https://luamay.vn",
    stores=STORES,
    sources=SOURCES,
    staff=STAFF,
)
