"""The e-mail channel: SMTP to send, IMAP to fetch, signed reply addresses to thread answers (``EmailAdapter``)."""

from xuyen.channels.email.adapter import EmailAdapter

__all__ = ["EmailAdapter"]
