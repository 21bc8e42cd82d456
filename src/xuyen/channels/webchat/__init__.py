"""Web chat: an embeddable widget on the shop's own site, its visitors known by the tracking API's anonymous id."""

from xuyen.channels.webchat.adapter import WebChatAdapter
from xuyen.channels.webchat.tokens import Visitor, identity_hash

__all__ = ["Visitor", "WebChatAdapter", "identity_hash"]
