"""Facebook Messenger: a Facebook Page's conversations through Meta's webhooks and the Send API."""

from xuyen.channels.messenger.adapter import MessengerAdapter

__all__ = ["MessengerAdapter"]
