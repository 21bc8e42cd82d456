"""WhatsApp: a business number's conversations through Meta's WhatsApp Cloud API."""

from xuyen.channels.whatsapp.adapter import WhatsAppAdapter

__all__ = ["WhatsAppAdapter"]
