"""The human names of the channels, translated when shown: pages, downloads and reports all use these."""

from __future__ import annotations

from xuyen.events.models import ChannelType
from xuyen.i18n import N_, gettext

CHANNEL_LABELS: dict[str, str] = {
    ChannelType.web: N_("Website"),
    ChannelType.app: N_("Mobile app"),
    ChannelType.pos: N_("Store POS"),
    ChannelType.shopee: N_("Shopee"),
    ChannelType.lazada: N_("Lazada"),
    ChannelType.tiktok_shop: N_("TikTok Shop"),
    ChannelType.messenger: N_("Facebook Messenger"),
    ChannelType.zalo: N_("Zalo OA"),
    ChannelType.whatsapp: N_("WhatsApp"),
    ChannelType.email: N_("Email"),
    ChannelType.sms: N_("SMS"),
    ChannelType.api: N_("API"),
    "chat": N_("Chat"),  # the sales channel of orders taken in a conversation
}


def channel_label(channel: str) -> str:
    """The human name of a channel in the current language, or its code when it has none."""
    label = CHANNEL_LABELS.get(channel)
    return gettext(label) if label else str(channel)
