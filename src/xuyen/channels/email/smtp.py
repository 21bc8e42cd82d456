"""Handing a message to the shop's SMTP server, with the server's answers turned into SendFailed."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from xuyen.channels.base import SendFailed

SECURITY = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to submit mail."""

    host: str
    port: int
    security: str
    username: str
    password: str
    timeout: float = 30.0


def _code(exc: smtplib.SMTPResponseException) -> int:
    return int(exc.smtp_code) if isinstance(exc.smtp_code, int) else 0


def _text(raw: bytes | str) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()


def _answer_failure(code: int, reply: str, *, what: str) -> SendFailed:
    """SendFailed for an SMTP reply: 4xx comes back later, 5xx does not."""
    provider_code = f"{code} {reply}".strip()[:500]
    if 400 <= code < 500:
        return SendFailed(f"The mail server put off {what} for now ({provider_code}); it is tried again later.",
                          code="smtp_temporary", retryable=True, provider_code=str(code))
    return SendFailed(f"The mail server refused {what} ({provider_code}). Check the recipient's address and the "
                      "message; sending it again unchanged will not help.", code="smtp_rejected",
                      provider_code=str(code))


def failure(exc: Exception) -> SendFailed:
    """The SendFailed an exception raised while talking to the SMTP server stands for."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        code = _code(exc)
        if 400 <= code < 500:
            return SendFailed(f"The mail server could not check the password just now ({code} {_text(exc.smtp_error)})"
                              "; it is tried again later.", code="smtp_auth_unavailable", retryable=True,
                              provider_code=str(code))
        return SendFailed(f"The mail server refused the user name or password ({code} {_text(exc.smtp_error)}). "
                          "Enter the current password (an app password for Gmail) in the channel's settings.",
                          code="auth_failed", credentials_revoked=True, provider_code=str(code))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        code, reply = answers[0] if answers else (550, b"")
        return _answer_failure(int(code), _text(reply), what="the recipient")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        code = _code(exc)
        if code in (530, 535, 550) and "auth" in _text(exc.smtp_error).lower():
            return SendFailed(f"The mail server wants a login before it takes mail ({code} {_text(exc.smtp_error)})."
                              " Check the user name and password in the channel's settings.", code="auth_failed",
                              credentials_revoked=True, provider_code=str(code))
        return _answer_failure(code, _text(exc.smtp_error), what="the shop's sender address")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendFailed(f"The mail server lacks a feature the message needs ({exc}); an address with non-ASCII "
                          "characters needs a server with SMTPUTF8.", code="smtp_unsupported")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendFailed("The mail server closed the connection; the message is tried again later.",
                          code="smtp_disconnected", retryable=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = _code(exc)
        if code == 530:
            return SendFailed(f"The mail server wants a login first ({code} {_text(exc.smtp_error)}). Check the "
                              "security mode, user name and password in the channel's settings.", code="auth_failed",
                              credentials_revoked=True, provider_code=str(code))
        return _answer_failure(code, _text(exc.smtp_error), what="the message")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendFailed(f"The mail server's TLS certificate is not trusted ({exc.verify_message}). Check the SMTP "
                          "host name; a server with a private certificate authority needs SSL_CERT_FILE set.",
                          code="tls_untrusted")
    if isinstance(exc, (ssl.SSLError, socket.timeout, OSError, smtplib.SMTPException)):
        return SendFailed(f"The mail server cannot be reached ({type(exc).__name__}: {exc}); the message is tried "
                          "again later. If this lasts, check the SMTP host, port and security settings.",
                          code="smtp_unreachable", retryable=True)
    raise exc


def deliver(server: SmtpServer, message: EmailMessage, *, sender: str, recipient: str) -> None:
    """Submit ``message`` from ``sender`` (the envelope) to ``recipient``; SendFailed when it is not taken."""
    client: smtplib.SMTP | None = None
    try:
        context = ssl.create_default_context()
        if server.security == "ssl":
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        client.ehlo()
        if server.security == "starttls":
            if not client.has_extn("starttls"):
                raise SendFailed("The mail server does not offer STARTTLS; choose the ssl security mode (port 465) "
                                 "or the right port for STARTTLS (587).", code="tls_unavailable")
            client.starttls(context=context)
            client.ehlo()
        if server.password and client.has_extn("auth"):
            client.login(server.username, server.password)
        refused = client.send_message(message, from_addr=sender, to_addrs=[recipient])
        if refused:
            code, reply = next(iter(refused.values()))
            raise _answer_failure(int(code), _text(reply), what="the recipient")
    except SendFailed:
        raise
    except Exception as exc:  # every failure maps to SendFailed; failure() re-raises the unknown
        raise failure(exc) from exc
    finally:
        if client is not None:
            try:
                client.quit()
            except Exception:  # the connection is going away either way
                client.close()
