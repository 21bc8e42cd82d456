"""The web chat channel: a widget on the shop's own site, talking to the inbox over Xuyên's public chat endpoints.

There is no provider. The session endpoint gives the visitor a signed token bound to their anonymous id (the same
id the tracking API knows them by); each message the widget posts carries it and is verified here over the raw
bytes like any provider's webhook (signature, expiry, site origin), then kept, deduped and parsed by the inbox.
An agent's reply needs no delivery: the visitor's live stream reads the inbox's message row itself, so ``send``
only confirms it.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, ClassVar

import httpx

from xuyen.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelError,
    Contact,
    ContactIdentifier,
    DeliveryState,
    Inbound,
    InboundMessage,
    OutboundMessage,
    PayloadInvalid,
    ReplyRule,
    SendFailed,
    SendResult,
    SignatureInvalid,
    WebhookAnswer,
    WebhookRequest,
)
from xuyen.channels.webchat import posts, tokens
from xuyen.channels.webchat.posts import WidgetPost

ANONYMOUS_ID = "anonymous_id"
TOKEN_LIFETIME = timedelta(hours=24)
MIN_SECRET_LENGTH = 24
DEFAULT_COLOUR = "#0f766e"
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


class WebChatAdapter(ChannelAdapter):
    """Web chat: the widget on the shop's site; visitors are known by their anonymous id."""

    kind: ClassVar[str] = "webchat"
    label: ClassVar[str] = "Web chat"
    capabilities: ClassVar[Capabilities] = Capabilities(text=True, attachments=False, templates=False,
                                                        max_text_length=posts.MAX_TEXT,
                                                        address_types=(ANONYMOUS_ID,))
    settings_fields: ClassVar[Mapping[str, str]] = {
        "allowed_origins": "The sites that embed the widget, comma-separated, like https://shop.vn, "
                           "https://www.shop.vn (https://*.shop.vn for every subdomain).",
        "title": "The chat panel's title; leave empty for “Chat với cửa hàng” (“Chat with us” on English pages).",
        "greeting": "The first line visitors read; leave empty for a greeting in the page's language.",
        "colour": f"The widget's colour, like {DEFAULT_COLOUR}.",
    }
    secret_fields: ClassVar[Mapping[str, str]] = {
        "widget_secret": "A long random phrase (at least 24 characters) that signs visitors' chat sessions; "
                         "changing it signs every visitor out of the chat.",
        "identity_secret": "Optional: a long random phrase your site's backend uses to sign its signed-in "
                           "customer's user id or e-mail (identity verification). Never put it in a web page.",
    }

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """Everything but the allowed origins and the widget secret."""
        return frozenset({"title", "greeting", "colour", "identity_secret"})

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        super().__init__(settings=settings, secrets=secrets, http=http)
        self.allowed_origins = posts.parse_allowed_origins(self.settings.get("allowed_origins", ""))
        for name in ("widget_secret", "identity_secret"):
            value = self.secrets.get(name) or ""
            if value and len(value) < MIN_SECRET_LENGTH:
                raise ChannelError(f"The {name} is too short to be safe: use at least {MIN_SECRET_LENGTH} random "
                                   "characters (python -c 'import secrets; print(secrets.token_urlsafe(32))').")
        colour = (self.settings.get("colour") or "").strip()
        if colour and not _COLOUR.fullmatch(colour):
            raise ChannelError(f"The colour {colour!r} is not a hex colour; write it like {DEFAULT_COLOUR}.")
        self.colour = colour.lower() or DEFAULT_COLOUR
        self.title = " ".join((self.settings.get("title") or "").split())[:80] or None
        self.greeting = (self.settings.get("greeting") or "").strip()[:500] or None

    @property
    def widget_secret(self) -> str:
        """The key that signs visitor tokens."""
        return self.secrets["widget_secret"]

    @property
    def identity_secret(self) -> str | None:
        """The key the shop's backend signs its customers' ids with, if the shop uses identity verification."""
        return self.secrets.get("identity_secret") or None

    # The widget's session -------------------------------------------------------------------------------------

    @classmethod
    def widget_script(cls) -> bytes:
        """The widget's JavaScript, as shipped with the package."""
        return resources.files("xuyen.channels.webchat").joinpath("static/widget.js").read_bytes()

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a request's ``Origin`` header is one of the sites this channel serves."""
        return posts.origin_allowed(origin, self.allowed_origins)

    def verified_identity(self, *, user_id: str | None, user_hash: str | None, email: str | None,
                          email_hash: str | None) -> tuple[str | None, str | None]:
        """The user id and e-mail the shop vouched for; SignatureInvalid when one is sent with a wrong hash (or
        the channel has no identity secret to check it with)."""
        for name, value, given in (("userId", user_id, user_hash), ("email", email, email_hash)):
            if value is None:
                continue
            if self.identity_secret is None:
                raise SignatureInvalid(f"{name} was sent, but this channel has no identity secret to verify it; "
                                       "set identity_secret or leave the visitor anonymous.")
            if not tokens.identity_verifies(self.identity_secret, value, given):
                raise SignatureInvalid(f"the {name} hash does not verify: it must be the hex HMAC-SHA256 of the "
                                       f"{name} keyed with the channel's identity secret, computed by the site's "
                                       "backend.")
        return user_id, email

    def open_session(self, *, origin: str, anonymous_id: str | None, user_id: str | None = None,
                     user_hash: str | None = None, email: str | None = None, email_hash: str | None = None,
                     now: datetime) -> dict[str, Any]:
        """A visitor token for ``anonymous_id`` (a new id when None) on ``origin``, with the identity the shop
        vouched for, and the widget's look (a title or greeting of None: the widget's own, in the page's language).
        PayloadInvalid for an unusable id, SignatureInvalid for an identity whose hash does not verify."""
        anonymous = posts.clean_id(anonymous_id, field="anonymousId") if anonymous_id else str(uuid.uuid4())
        clean_user = posts.clean_id(user_id, field="userId") if user_id else None
        clean_email = posts.clean_email(email) if email else None
        verified_user, verified_email = self.verified_identity(user_id=clean_user, user_hash=user_hash,
                                                               email=clean_email, email_hash=email_hash)
        clean_origin = posts.normalise_origin(origin) or origin
        visitor = tokens.Visitor(anonymous_id=anonymous, origin=clean_origin, expires_at=now + TOKEN_LIFETIME,
                                 user_id=verified_user, email=verified_email)
        return {"token": tokens.issue(self.widget_secret, visitor), "anonymousId": anonymous,
                "expiresAt": visitor.expires_at.isoformat(), "identified": bool(verified_user or verified_email),
                "title": self.title, "greeting": self.greeting, "colour": self.colour}

    def visitor_of(self, token: object, *, now: datetime | None) -> tokens.Visitor:
        """The visitor a token speaks for; SignatureInvalid when it is forged, another channel's or expired."""
        try:
            return tokens.read(self.widget_secret, token, now=now)
        except tokens.TokenInvalid as exc:
            raise SignatureInvalid(str(exc)) from None

    # Inbound ------------------------------------------------------------------------------------------------

    @staticmethod
    def read_post(body: bytes) -> WidgetPost:
        """The widget's message in ``body``; PayloadInvalid saying what is wrong with it."""
        return posts.read_post(body)

    def verify(self, request: WebhookRequest) -> None:
        """The message comes from an allowed site and carries an unexpired token of this channel for the same
        anonymous id; an identity it claims verifies."""
        origin = request.headers.get("origin")
        if not self.allows_origin(origin):
            raise SignatureInvalid(f"the request comes from {origin or 'no site (no Origin header)'}, which is not "
                                   "among the channel's allowed origins")
        try:
            post = posts.read_post(request.body)
        except PayloadInvalid as exc:
            raise SignatureInvalid(f"the body is not a web chat message: {exc.message}") from None
        visitor = self.visitor_of(post.token, now=request.received_at)
        if visitor.anonymous_id != post.anonymous_id:
            raise SignatureInvalid("the visitor token was issued for another anonymous id")
        if posts.normalise_origin(origin or "") != visitor.origin:
            raise SignatureInvalid("the visitor token was issued to another site")
        self.verified_identity(user_id=post.user_id, user_hash=post.user_hash, email=post.email,
                               email_hash=post.email_hash)

    def webhook_id(self, request: WebhookRequest) -> str | None:
        """One delivery per visitor and client message id: a retry with a renewed token is still the same."""
        try:
            post = posts.read_post(request.body)
        except PayloadInvalid:
            return None
        return provider_id(post)

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """The visitor's message, named by their anonymous id, plus the user id and e-mail the shop vouched for
        (in the token, or with a valid hash in the message)."""
        post = posts.read_post(request.body)
        claimed: list[ContactIdentifier] = []
        try:
            visitor = tokens.read(self.widget_secret, post.token, now=None)
        except tokens.TokenInvalid:
            visitor = None  # the secret changed since: the message was verified when it came in
        if visitor is not None and visitor.anonymous_id == post.anonymous_id:
            claimed += _identity(visitor.user_id, visitor.email)
        # verify refused a forged claim at the door; a secret changed since then only leaves the claim out
        with contextlib.suppress(SignatureInvalid):
            claimed += _identity(*self.verified_identity(user_id=post.user_id, user_hash=post.user_hash,
                                                         email=post.email, email_hash=post.email_hash))
        identifiers = (ContactIdentifier(ANONYMOUS_ID, post.anonymous_id), *dict.fromkeys(claimed))
        page = {key: value for key, value in (("url", post.page_url), ("title", post.page_title)) if value}
        return [InboundMessage(provider_message_id=provider_id(post), contact=Contact(identifiers=identifiers),
                               sent_at=request.received_at, text=post.text,
                               thread_hints={"page": page} if page else {})]

    def ack(self, request: WebhookRequest) -> WebhookAnswer:
        """Tell the widget which of its messages was taken."""
        try:
            client_id: str | None = posts.read_post(request.body).client_message_id
        except PayloadInvalid:
            client_id = None
        body = json.dumps({"accepted": True, "clientMessageId": client_id}).encode()
        return WebhookAnswer(200, body, content_type="application/json")

    # Outbound -----------------------------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> SendResult:
        """Nothing leaves Xuyên: the visitor's stream reads the reply from the inbox. Confirms it for a visitor."""
        if message.to.type != ANONYMOUS_ID:
            raise SendFailed(f"Web chat answers visitors by their anonymous id, not by {message.to.type}.",
                             code="unsupported_address")
        if message.template is not None or message.attachments:
            raise SendFailed("Web chat carries text only.", code="unsupported")
        return SendResult(provider_message_id=f"webchat-{uuid.uuid4().hex}", state=DeliveryState.SENT)

    def reply_rule(self, *, last_inbound_at: datetime | None, now: datetime) -> ReplyRule:
        """Always free text: the reply shows live while the visitor has the site open, else when they come back."""
        return ReplyRule(free_text=True, reason="Web chat has no reply window: the visitor sees the reply at once "
                         "while the shop's site is open in their browser, otherwise in the chat's history the next "
                         "time they open the site in the same browser.")


def provider_id(post: WidgetPost) -> str:
    """The message's id on this channel: the widget's client message id, within its visitor (so one visitor's
    ids can never drop another's message)."""
    return f"{post.anonymous_id}/{post.client_message_id}"


def _identity(user_id: str | None, email: str | None) -> list[ContactIdentifier]:
    found = [ContactIdentifier("user_id", user_id)] if user_id else []
    return found + ([ContactIdentifier("email", email)] if email else [])
