"""Web chat test helpers: a channel connected through the API, visitors' sessions and messages sent the way the
widget sends them (from the shop's site, with its Origin header)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api_client import Browser

SITE = "https://shop.example.vn"
OTHER_SITE = "https://evil.example.com"
WIDGET_SECRET = "widget-secret-for-tests-0123456789"
IDENTITY_SECRET = "identity-secret-for-tests-0123456789"


def connect_webchat(owner: Browser, *, origins: str = f"{SITE}, https://*.shop.example.vn",
                    identity: bool = True, **settings: str) -> int:
    """Connect a web chat channel as an owner does; its id."""
    secrets = {"widget_secret": WIDGET_SECRET} | ({"identity_secret": IDENTITY_SECRET} if identity else {})
    response = owner.request("POST", "/inbox/channels", json={
        "kind": "webchat", "name": "Chat trên website", "settings": {"allowed_origins": origins, **settings},
        "secrets": secrets})
    assert response.status_code == 201, response.text
    channel_id: int = response.json()["id"]
    return channel_id


def open_session(http: httpx.Client | Any, channel_id: int, *, origin: str = SITE, **body: Any) -> httpx.Response:
    """POST the widget's session request."""
    response: httpx.Response = http.post(f"/chat/{channel_id}/session", json=body, headers={"Origin": origin})
    return response


def visitor(http: httpx.Client | Any, channel_id: int, **body: Any) -> dict[str, Any]:
    """A visitor's session (token and anonymous id)."""
    response = open_session(http, channel_id, **body)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def message_body(session: dict[str, Any], text: str, *, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """The JSON the widget posts for one message."""
    return {"visitor": session["token"], "anonymousId": session["anonymousId"], "text": text,
            "clientMessageId": client_id or uuid.uuid4().hex,
            "page": {"url": f"{SITE}/ao-dai-lua", "title": "Áo dài lụa tơ tằm"}, **extra}


def say(http: httpx.Client | Any, channel_id: int, session: dict[str, Any], text: str, *,
        path: str = "chat", origin: str = SITE, **extra: Any) -> httpx.Response:
    """Send a visitor's message, through the widget's endpoint (``chat``) or the webhook (``webhooks``)."""
    url = f"/chat/{channel_id}/messages" if path == "chat" else f"/webhooks/{channel_id}"
    response: httpx.Response = http.post(url, json=message_body(session, text, **extra),
                                         headers={"Origin": origin})
    return response


def history(http: httpx.Client | Any, channel_id: int, token: str, *, origin: str = SITE) -> httpx.Response:
    """GET the visitor's history."""
    response: httpx.Response = http.get(f"/chat/{channel_id}/messages", params={"token": token},
                                        headers={"Origin": origin})
    return response
