"""Live inbox: every change reaches the agents' browsers within a second, whichever server process made it.

Each server process runs one watcher and fans its news out to the streams (Server-Sent Events) it serves. On
PostgreSQL the watcher LISTENs to the ``NOTIFY`` that inbox changes send when they commit, so a message a
worker stored reaches the browsers of every process at once; on SQLite (one machine) it looks at the inbox
tables a few times a second instead. The watcher starts with the first stream and stops a while after the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from xuyen.inbox.models import Conversation, Message
from xuyen.inbox.threads import NOTIFY_CHANNEL

log = logging.getLogger("xuyen.inbox.live")

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
IDLE_STOP_SECONDS = 30.0
QUEUE_SIZE = 1000
POLL_BATCH = 500  # new messages one look at the tables reports at most (SQLite); the rest come next time


class Hub:
    """One process's watcher and the queues of the streams it feeds."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Its reads on SQLite begin DEFERRED: a read that took the write lock would keep webhooks and workers waiting.
        self.reader = engine.execution_options(sqlite_begin="DEFERRED")
        self.queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue that receives every inbox change while the block runs."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.queues.add(queue)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch(), name="xuyen-inbox-watcher")
        try:
            yield queue
        finally:
            self.queues.discard(queue)

    def publish(self, news: dict[str, Any]) -> None:
        """Hand ``news`` to every stream; a stream too slow to keep up gets a request to reload instead."""
        for queue in list(self.queues):
            try:
                queue.put_nowait(news)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait({"kind": "reload"})

    async def _watch(self) -> None:
        watcher = self._listen if self.engine.dialect.name == "postgresql" else self._poll
        try:
            await watcher()
        except asyncio.CancelledError:
            raise
        except Exception:  # the streams ask again; a broken watcher must not take the server down
            log.exception("the inbox watcher stopped")

    def _idle_for(self, since: float) -> bool:
        return not self.queues and asyncio.get_running_loop().time() - since > IDLE_STOP_SECONDS

    async def _listen(self) -> None:
        import psycopg  # the PostgreSQL driver, present whenever the engine is PostgreSQL

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            last_busy = asyncio.get_running_loop().time()
            while not self._idle_for(last_busy):
                if self.queues:
                    last_busy = asyncio.get_running_loop().time()
                async for notice in connection.notifies(timeout=1.0):
                    self.publish(_news(notice.payload))

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        marks = await loop.run_in_executor(None, self._marks)
        last_busy = loop.time()
        while not self._idle_for(last_busy):
            if self.queues:
                last_busy = loop.time()
            await asyncio.sleep(POLL_SECONDS)
            found, marks = await loop.run_in_executor(None, self._changes_since, marks)
            for news in found:
                self.publish(news)

    def _marks(self) -> tuple[int, datetime | None, datetime | None]:
        with self.reader.connect() as connection:
            row = connection.execute(select(
                select(func.max(Message.id)).scalar_subquery(),
                select(func.max(Message.state_changed_at)).scalar_subquery(),
                select(func.max(Conversation.updated_at)).scalar_subquery())).one()
        return int(row[0] or 0), row[1], row[2]

    def _changes_since(self, marks: tuple[int, datetime | None, datetime | None]) -> tuple[
            list[dict[str, Any]], tuple[int, datetime | None, datetime | None]]:
        now = self._marks()
        news: list[dict[str, Any]] = []
        if now[0] > marks[0]:
            with self.reader.connect() as connection:
                rows = connection.execute(select(Message.id, Message.conversation_id)
                                          .where(Message.id > marks[0], Message.id <= now[0])
                                          .order_by(Message.id).limit(POLL_BATCH)).all()
            news.extend({"kind": "message", "conversation_id": conversation_id, "message_id": message_id}
                        for message_id, conversation_id in rows)
            if len(rows) == POLL_BATCH:  # the rest next time, each message once
                now = (int(rows[-1][0]), *now[1:])
        if now[1] != marks[1] or now[2] != marks[2]:
            news.append({"kind": "changed"})
        return news, now


def _news(payload: str) -> dict[str, Any]:
    try:
        found = json.loads(payload)
    except ValueError:
        return {"kind": "changed"}
    return found if isinstance(found, dict) else {"kind": "changed"}


def hub_for(app_state: Any) -> Hub:
    """The process's hub (one per application)."""
    hub = getattr(app_state, "inbox_hub", None)
    if hub is None:
        hub = app_state.inbox_hub = Hub(app_state.engine)
    return hub


async def event_stream(hub: Hub, *, is_disconnected: Any) -> AsyncIterator[str]:
    """Server-Sent Events for one browser: each change as a ``data:`` line, a comment now and then."""
    async with hub.subscribe() as queue:
        yield "retry: 2000\n: connected\n\n"
        while not await is_disconnected():
            try:
                news = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": still here\n\n"
                continue
            yield f"event: inbox\ndata: {json.dumps(news)}\n\n"
