"""Website lead forms, the service side: the signed timestamp token a form carries, the spam checks, and turning a
submission into a capture.

A token is ``<issued unix seconds>.<nonce>.<signature>``, signed with the secret key for one form. A submission is
refused when its honeypot field is filled, when it has no valid token, when it comes sooner than a person could
fill the form (``leads_form_min_seconds``) or later than the token lasts, and when its token was used before (the
nonce is the capture's key, so a replay is caught by the database, whichever server process sees it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen.config import get_settings
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.sales.leads import configuration, service
from xuyen.sales.leads.capturing import UTM_KEYS, Captured
from xuyen.sales.leads.models import LeadForm, SourceKind

HONEYPOT = "company_website"
TOKEN_FIELD = "_token"  # noqa: S105 (a field name, not a secret)
FIELD_NAMES = ("name", "phone", "email", "province", "product_interest", "message", "page", *UTM_KEYS)
MAX_FIELD = 2000
ALREADY_SENT = "This form was already sent; reload the page to send it again."


def _signature(form_key: str, issued: int, nonce: str) -> str:
    secret = get_settings().secret_key.get_secret_value().encode()
    message = f"lead-form:{form_key}:{issued}:{nonce}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def issue_token(*, form_key: str, now: float | None = None) -> str:
    """A new token for one display of the form."""
    issued = int(now if now is not None else time.time())
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_signature(form_key, issued, nonce)}"


def check_token(*, form_key: str, token: str, now: float | None = None) -> str:
    """The token's nonce once the token is genuine, not too fresh and not expired; ValidationFailed otherwise."""
    if not token:
        raise ValidationFailed("The form has no token: load it with the lead form script.", code="form_token_missing")
    issued_text, _, rest = token.partition(".")
    nonce, _, signature = rest.partition(".")
    if not issued_text.isdigit() or not nonce or not hmac.compare_digest(
            signature, _signature(form_key, int(issued_text), nonce)):
        raise ValidationFailed("The form's token is not valid: reload the page.", code="form_token_invalid")
    age = (now if now is not None else time.time()) - int(issued_text)
    settings = get_settings()
    if age < settings.leads_form_min_seconds:
        raise ValidationFailed("The form was sent too quickly after it was shown; wait a moment and send it again.",
                               code="form_too_fast")
    if age > settings.leads_form_token_max_age_seconds:
        raise ValidationFailed("The form has been open too long: reload the page.", code="form_token_expired")
    return nonce


def active_form(session: Session, *, form_key: str) -> LeadForm:
    """The active form with this key; NotFound otherwise."""
    form = configuration.form_by_key(session, key=form_key)
    if form is None:
        raise NotFound("No such lead form, or it is switched off.", code="lead_form_not_found")
    return form


def allows_origin(form: LeadForm, origin: str | None) -> bool:
    """Whether a browser on ``origin`` may post to ``form`` (no Origin header: not a browser, allowed)."""
    return origin is None or origin.rstrip("/").lower() in (form.allowed_origins or [])


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()[:MAX_FIELD]


def submit(session: Session, *, form: LeadForm, data: Mapping[str, Any], now: float | None = None) -> Captured:
    """Capture a website form's submission after the spam checks, and commit. A token already used is refused
    (the capture's own dedupe key finds it; two sent at once, the unique key refuses the second)."""
    if _text(data.get(HONEYPOT)):
        raise ValidationFailed("The submission looks automated and was refused.", code="form_spam")
    nonce = check_token(form_key=form.key, token=_text(data.get(TOKEN_FIELD)), now=now)
    values = {name: _text(data.get(name)) for name in FIELD_NAMES}
    values["product_interest"] = values["product_interest"] or _text(data.get("product"))
    if not values["phone"] and not values["email"]:
        raise ValidationFailed("Give a phone number or an e-mail address.", code="contact_required")
    extra = {key: _text(value) for key, value in data.items()
             if key not in (*FIELD_NAMES, HONEYPOT, TOKEN_FIELD) and _text(value)}
    try:
        done = _capture(session, form, values, extra, f"form:{form.id}:{nonce}")
    except IntegrityError as exc:  # the same token sent twice at once: the second loses the race
        session.rollback()
        raise Conflict(ALREADY_SENT, code="form_token_used") from exc
    if done.repeated:
        raise Conflict(ALREADY_SENT, code="form_token_used")
    return done


def _capture(session: Session, form: LeadForm, values: dict[str, str], extra: dict[str, str],
             dedupe_key: str) -> Captured:
    return service.capture(
        session, source=SourceKind.form, form=form, phone=values["phone"], email=values["email"],
        name=values["name"], province=values["province"], product_interest=values["product_interest"],
        source_detail=values["page"][:200] or form.name, utm={key: values[key] for key in UTM_KEYS},
        fields={**({"message": values["message"]} if values["message"] else {}), **dict(list(extra.items())[:30])},
        dedupe_key=dedupe_key)


