"""What a template sees: the customer, the triggering event, products and a coupon, as plain values.

Only plain dicts, lists, strings, numbers and dates go in, so the sandbox has nothing with methods to misuse.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerProfile
from xuyen.errors import ValidationFailed
from xuyen.fields.customers import customer_values
from xuyen.journeys.templates.filters import DEFAULT_TIMEZONE, first_name

MAX_PRODUCTS = 50
MAX_EXTRA_BYTES = 64_000
_TAGS = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table|ul|ol)\s*>|<br\s*/?>", re.IGNORECASE)
_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_DROPPED = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANKS = re.compile(r"[ \t]+")
_MANY_LINES = re.compile(r"\n{3,}")


def customer_timezone(traits: Mapping[str, Any]) -> str:
    """The customer's time zone (the ``timezone`` trait when it names one), else Vietnam's."""
    name = traits.get("timezone")
    if isinstance(name, str) and name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_TIMEZONE


def profile_context(session: Session, row: CustomerProfile) -> dict[str, Any]:
    """The customer as a template sees it (``profile.name``, ``profile.first_name``, ``profile.traits.x``, …)."""
    traits = dict(row.traits or {})
    name = row.display_name or ""
    return {
        "id": row.profile_id, "name": name, "first_name": row.given_name or first_name(name),
        "family_name": row.family_name, "gender": row.gender, "birth_date": row.birth_date,
        "phone": (row.phones or [""])[0], "email": (row.emails or [""])[0], "address": row.address,
        "traits": traits, "computed": dict(row.computed or {}),
        "custom": customer_values(session, profile_id=row.profile_id),
    }


def _product(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key: raw.get(key) for key in ("product_id", "sku", "name", "price", "quantity", "url", "image_url",
                                          "brand", "variant", "category") if raw.get(key) is not None}


def products_context(event: Mapping[str, Any] | None, extra: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The products of the event (Segment e-commerce ``properties.products``) or given in ``extra``."""
    raw: Any = (extra or {}).get("products")
    if raw is None and event:
        raw = (event.get("properties") or {}).get("products")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    return [_product(item) for item in raw[:MAX_PRODUCTS] if isinstance(item, Mapping)]


def build_context(*, profile: Mapping[str, Any], event: Mapping[str, Any] | None,
                  extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The whole context: ``profile``, ``event`` (name, properties), ``products``, ``coupon`` (only when there is
    one, so ``coupon | default("…")`` works and a bare ``coupon`` without one is a missing value) and ``extra``."""
    if extra is not None and len(repr(extra)) > MAX_EXTRA_BYTES:
        raise ValidationFailed("The extra values are too large for a message.", code="extra_too_large")
    properties: dict[str, Any] = dict((event or {}).get("properties") or {})
    name = str((event or {}).get("name") or (event or {}).get("event") or "")
    coupon = (extra or {}).get("coupon") or properties.get("coupon")
    context = {"profile": dict(profile), "event": {"name": name, "properties": properties},
               "products": products_context(event, extra), "extra": dict(extra or {})}
    if coupon:
        context["coupon"] = str(coupon)
    return context


def html_to_text(source: str) -> str:
    """A plain-text part from an e-mail's HTML: paragraphs and line breaks kept, links as "text (url)"."""
    text = _DROPPED.sub("", source)
    text = _LINK.sub(lambda m: f"{_TAGS.sub('', m.group(2)).strip()} ({m.group(1)})", text)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAGS.sub("", text))
    lines = [_BLANKS.sub(" ", line).strip() for line in text.splitlines()]
    return _MANY_LINES.sub("\n\n", "\n".join(lines)).strip()
