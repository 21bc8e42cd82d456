"""Lead quality on arrival: phones and e-mails normalised with the identity graph's normalisers (invalid ones kept
and flagged, never dropped) and e-mail domains checked for mail exchangers (MX records).

The MX answer is "ok" (the domain names a mail server), "no_mail_server" (the domain does not exist, has no MX
record, or publishes the "null MX" of RFC 7505) or "unknown" (DNS could not be asked or did not answer in time,
or the check is switched off). Answers are cached per process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver

from xuyen.config import get_settings
from xuyen.identity.identifiers import IdentifierType
from xuyen.identity.normalise import normalise

MX_OK = "ok"
MX_NONE = "no_mail_server"
MX_UNKNOWN = "unknown"

_KNOWN_FOR = 3600.0  # seconds a definite answer is kept
_UNKNOWN_FOR = 60.0  # seconds an "unknown" is kept, so a burst of leads does not wait on a dead resolver each time
_cache: dict[tuple[str, str], tuple[str, float]] = {}
_cache_lock = threading.Lock()


@dataclass
class ContactQuality:
    """What the checks made of a lead's phone and e-mail: the normalised values and the flags raised."""

    phone: str | None = None
    email: str | None = None
    phone_raw: str = ""
    email_raw: str = ""
    flags: list[str] = field(default_factory=list)
    email_mx: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The quality as stored on a lead and its capture."""
        return {"flags": list(self.flags), "email_mx": self.email_mx,
                "phone_raw": self.phone_raw, "email_raw": self.email_raw}


def check_phone(raw: str, *, region: str = "VN") -> tuple[str | None, list[str]]:
    """The E.164 phone of ``raw`` (old Vietnamese prefixes changed) and its flags; an invalid phone gives None."""
    if not raw.strip():
        return None, []
    result = normalise(IdentifierType.PHONE, raw, region=region)
    if len(result.identifiers) != 1 or result.rejected:
        return None, ["phone_invalid"]
    identifier = result.identifiers[0]
    return identifier.value, ["phone_unverified"] if identifier.flags else []


def check_email(raw: str) -> tuple[str | None, list[str]]:
    """The lower-cased e-mail of ``raw`` and its flags; an address that is not one gives None."""
    if not raw.strip():
        return None, []
    result = normalise(IdentifierType.EMAIL, raw)
    if len(result.identifiers) != 1 or result.rejected:
        return None, ["email_invalid"]
    return result.identifiers[0].value, []


def _resolver(nameserver: str, timeout: float) -> dns.resolver.Resolver:
    """A resolver asking ``nameserver`` (host or host:port), or the system's when empty."""
    if not nameserver:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
        resolver.nameservers = [host]
        if port:
            resolver.port = int(port)
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def _ask(domain: str, nameserver: str, timeout: float) -> str:
    """Ask DNS for the MX records of ``domain``."""
    try:
        answer = _resolver(nameserver, timeout).resolve(domain, "MX", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return MX_NONE
    except (dns.exception.DNSException, OSError, ValueError):
        return MX_UNKNOWN
    hosts = [str(record.exchange).rstrip(".") for record in answer]
    return MX_OK if any(hosts) else MX_NONE


def mx_status(domain: str) -> str:
    """Whether ``domain`` has a mail server: "ok", "no_mail_server" or "unknown" (cached per process)."""
    settings = get_settings()
    if not settings.leads_check_mx:
        return MX_UNKNOWN
    key = (domain.lower(), settings.leads_mx_nameserver)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    status = _ask(key[0], settings.leads_mx_nameserver, settings.leads_mx_timeout_seconds)
    with _cache_lock:
        _cache[key] = (status, now + (_UNKNOWN_FOR if status == MX_UNKNOWN else _KNOWN_FOR))
    return status


def forget_mx_answers() -> None:
    """Empty the per-process MX cache (after a change of settings)."""
    with _cache_lock:
        _cache.clear()


def check_contact(*, phone: str = "", email: str = "", region: str = "VN", check_mx: bool = True) -> ContactQuality:
    """Normalise and check a lead's phone and e-mail, flagging what is wrong (``check_mx=False``: no DNS)."""
    quality = ContactQuality(phone_raw=phone.strip(), email_raw=email.strip())
    quality.phone, phone_flags = check_phone(phone, region=region)
    quality.email, email_flags = check_email(email)
    quality.flags.extend(phone_flags + email_flags)
    if quality.email is not None and check_mx:
        quality.email_mx = mx_status(quality.email.rpartition("@")[2])
        if quality.email_mx == MX_NONE:
            quality.flags.append("email_no_mail_server")
    if quality.phone is None and quality.email is None:
        quality.flags.append("no_contact")
    return quality
