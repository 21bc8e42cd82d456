"""The inbox pages: the list, a conversation with its reply box, the parts the live stream swaps in, replies and
notes from forms (CSRF-checked), a refused reply shown with its reason and the draft kept, and the channels page."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api_client import Browser
from tests.fakes.meta import GraphFake, whatsapp_contact, whatsapp_message, whatsapp_webhook
from tests.inbox.conftest import NUMBER, WA_TOKEN, Channels, ago, post_meta, work
from tests.inbox.test_inbox import WA_ID, only_conversation, say_on_messenger
from tests.ui.helpers import csrf_token

PAGE = {"Accept": "text/html"}


def _get(browser: Browser, path: str) -> httpx.Response:
    return browser.client.get(path, headers=PAGE, follow_redirects=False)


def _post(browser: Browser, path: str, data: dict[str, str]) -> httpx.Response:
    return browser.client.post(path, data=data, headers=PAGE, follow_redirects=False)


def test_the_list_and_a_conversation_show_every_channel_and_the_reply_rules(
        client: TestClient, channels: Channels, engine: Engine, agent: Browser) -> None:
    say_on_messenger(client, channels, "m_p1", "Áo len còn màu kem không shop?")
    work(engine)
    listing = _get(agent, "/inbox")
    assert listing.status_code == 200 and "Messenger" in listing.text
    assert 'data-live-src="/inbox/list-part' in listing.text
    conversation_id = only_conversation(agent)["id"]
    page = _get(agent, f"/inbox/{conversation_id}")
    assert page.status_code == 200
    assert "Áo len còn màu kem không shop?" in page.text and "Facebook Thời trang Xuyên" in page.text
    assert f'data-live-conversation="{conversation_id}"' in page.text and "/static/inbox.js" in page.text
    part = _get(agent, f"/inbox/{conversation_id}/messages-part")
    assert part.status_code == 200 and "<html" not in part.text and "Áo len còn màu kem" in part.text
    assert _get(agent, "/inbox/list-part?status=all").status_code == 200
    assert _get(agent, "/inbox?status=nonsense").status_code == 422
    assert _get(agent, "/inbox/999999").status_code == 404


def test_replying_and_noting_from_the_page(client: TestClient, channels: Channels, engine: Engine, agent: Browser,
                                          graph: GraphFake) -> None:
    graph.customer_wrote("104729384756102", "6024829371642213", ago(minutes=2))
    say_on_messenger(client, channels, "m_p2", "Shop ơi")
    work(engine)
    conversation_id = only_conversation(agent)["id"]
    token = csrf_token(_get(agent, f"/inbox/{conversation_id}").text)
    forged = _post(agent, f"/inbox/{conversation_id}/reply", {"csrf_token": "nope", "text": "Dạ"})
    assert forged.status_code == 403
    sent = _post(agent, f"/inbox/{conversation_id}/reply", {"csrf_token": token, "text": "Dạ shop nghe ạ",
                                                            "channel_id": str(channels.messenger)})
    assert sent.status_code == 303 and sent.headers["location"] == f"/inbox/{conversation_id}"
    noted = _post(agent, f"/inbox/{conversation_id}/note", {"csrf_token": token, "text": "Khách quen"})
    assert noted.status_code == 303
    work(engine)
    assert [message.body["message"]["text"] for message in graph.sent] == ["Dạ shop nghe ạ"]
    page = _get(agent, f"/inbox/{conversation_id}").text
    assert "Khách quen" in page and "Ghi chú nội bộ" in page
    resolved = _post(agent, f"/inbox/{conversation_id}/status", {"csrf_token": token, "status": "resolved"})
    assert resolved.status_code == 303 and only_conversation_status(agent, conversation_id) == "resolved"
    assert _post(agent, f"/inbox/{conversation_id}/status", {"csrf_token": token, "status": "x"}).status_code == 422


def only_conversation_status(agent: Browser, conversation_id: object) -> str:
    return str(agent.request("GET", f"/conversations/{conversation_id}").json()["status"])


def test_a_refused_reply_says_why_and_keeps_the_draft(client: TestClient, channels: Channels, engine: Engine,
                                                      agent: Browser) -> None:
    old = ago(days=3)
    payload = whatsapp_webhook("102290129340398", NUMBER, "15550001111", contacts=[whatsapp_contact(WA_ID, "Lan")],
                               messages=[whatsapp_message(WA_ID, "wamid.P3", old, "text", {"body": "Hi"})])
    post_meta(client, channels.whatsapp, payload)
    work(engine)
    conversation_id = only_conversation(agent)["id"]
    token = csrf_token(_get(agent, f"/inbox/{conversation_id}").text)
    refused = _post(agent, f"/inbox/{conversation_id}/reply", {"csrf_token": token, "text": "Chị ơi, shop có hàng"})
    assert refused.status_code == 422
    assert "Chị ơi, shop có hàng</textarea>" in refused.text and 'role="alert"' in refused.text


def test_the_channels_page_is_for_managers(channels: Channels, agent: Browser, manager: Browser) -> None:
    page = _get(manager, "/channels")
    assert page.status_code == 200 and "/webhooks/" in page.text and "Facebook Thời trang Xuyên" in page.text
    assert WA_TOKEN not in page.text
    assert _get(agent, "/channels").status_code == 403
