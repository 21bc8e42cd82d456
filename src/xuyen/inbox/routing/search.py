"""Conversation search: what customers and agents wrote (case and Vietnamese diacritics ignored), the customer's
name, phone or e-mail (as customer search finds them), and label names; newest first.

Every message is kept folded (``fold_name``: lower-case ASCII, no diacritics, punctuation as single spaces) in
``inbox_message_search`` by a handler of ``inbox.message.added``; ``rebuild_index`` folds the messages stored
before. The query is folded the same way and looked for with ``LIKE '%…%'``, which PostgreSQL serves from a
trigram index when the pg_trgm extension is installed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, text
from sqlalchemy.orm import Session

from xuyen.customers.service import search_customers
from xuyen.errors import ValidationFailed
from xuyen.identity.names import fold_name
from xuyen.identity.service import merged_profile_ids
from xuyen.inbox.models import Conversation, ConversationStatus, Message
from xuyen.inbox.routing.labels import get_label
from xuyen.inbox.routing.models import ConversationLabel, Label, MessageSearch

log = logging.getLogger("xuyen.inbox.routing")

MAX_QUERY = 200
CUSTOMER_MATCHES = 100
TRIGRAM_INDEX = "ix_inbox_message_search_folded"
SNIPPET = 200


def fold_text(*parts: str | None) -> str:
    """Message text as it is searched: folded like customer names."""
    return fold_name(" ".join(part for part in parts if part))


# Keeping the folded copy --------------------------------------------------------------------------------


def index_message(session: Session, *, message_id: int) -> None:
    """Keep the folded copy of one message (again, if it was kept before) (helper: no commit)."""
    message = session.get(Message, message_id)
    if message is None:
        return
    row = session.get(MessageSearch, message_id)
    if row is None:
        row = MessageSearch(message_id=message.id, conversation_id=message.conversation_id)
        session.add(row)
    row.conversation_id, row.folded = message.conversation_id, fold_text(message.subject, message.text)
    session.flush()


def rebuild_index(session: Session, *, batch: int = 500) -> int:
    """Fold every message not folded yet (those stored before search existed), committing each batch; how many."""
    done = 0
    while True:
        missing = select(Message).outerjoin(MessageSearch, MessageSearch.message_id == Message.id).where(
            MessageSearch.message_id.is_(None)).order_by(Message.id).limit(batch)
        messages = list(session.scalars(missing))
        if not messages:
            return done
        session.add_all(MessageSearch(message_id=message.id, conversation_id=message.conversation_id,
                                      folded=fold_text(message.subject, message.text)) for message in messages)
        session.commit()
        done += len(messages)


def forget_customers(session: Session, *, profile_ids: list[int]) -> int:
    """Drop the folded copies of everything in these customers' conversations (they were erased); how many
    (helper: no commit)."""
    conversations = select(Conversation.id).where(Conversation.profile_id.in_(profile_ids))
    result = session.execute(delete(MessageSearch).where(MessageSearch.conversation_id.in_(conversations)))
    return int(getattr(result, "rowcount", 0) or 0)


def ensure_trigram_index(connection: Connection) -> bool:
    """On PostgreSQL, install pg_trgm if it is available and make the trigram index of the folded messages if it
    is missing; whether the index is there now. Nothing is raised when the extension cannot be had."""
    if connection.dialect.name != "postgresql":
        return False
    if connection.execute(text("SELECT 1 FROM pg_indexes WHERE indexname = :name"),
                          {"name": TRIGRAM_INDEX}).first() is not None:
        return True
    if connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first() is None:
        log.warning("pg_trgm is not available on this PostgreSQL server: message search scans without an index")
        return False
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            connection.execute(text(f"CREATE INDEX {TRIGRAM_INDEX} ON inbox_message_search "
                                    "USING gin (folded gin_trgm_ops)"))
    except Exception as exc:  # no privilege to install the extension: search still works, by scanning
        log.warning("the trigram index of message search cannot be made (%s): search scans instead", exc)
        return False
    return True


# Searching ----------------------------------------------------------------------------------------------


@dataclass
class Hit:
    """A conversation found, what matched (``message``, ``customer``, ``label``) and the newest matching message."""

    conversation: Conversation
    matched: list[str] = field(default_factory=list)
    snippet: str | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class SearchPage:
    """One page of search results and how many there are in all."""

    hits: list[Hit]
    total: int
    limit: int
    offset: int


def _customer_profiles(session: Session, query: str) -> list[int]:
    ids: list[int] = []
    for customer in search_customers(session, query=query, limit=CUSTOMER_MATCHES):
        ids.extend([customer.profile_id, *merged_profile_ids(session, profile_id=customer.profile_id)])
    return ids


def _every_word(column: Any, folded: str) -> list[Any]:
    """``column`` holds every word of the folded query (anywhere, in any order)."""
    return [column.like(f"%{word}%") for word in folded.split()]


def _label_ids(session: Session, folded: str) -> list[int]:
    return list(session.scalars(select(Label.id).where(*_every_word(Label.name_key, folded))))


def _message_matches(folded: str) -> object:
    return select(MessageSearch.conversation_id).where(*_every_word(MessageSearch.folded, folded))


def _with_label(label_id: int) -> object:
    return select(ConversationLabel.conversation_id).where(ConversationLabel.label_id == label_id)


def search(session: Session, *, query: str = "", label_ids: Iterable[int] = (),
           status: ConversationStatus | None = None, limit: int = 20, offset: int = 0) -> SearchPage:
    """Conversations with a message holding every word of ``query``, a customer it finds, or a label named by it,
    and carrying every label of ``label_ids``; newest first."""
    query, label_ids = " ".join(query.split())[:MAX_QUERY], list(dict.fromkeys(label_ids))
    folded = fold_name(query)
    if query and not folded:
        raise ValidationFailed("Search for at least one letter or digit.", code="search_query_invalid")
    if not folded and not label_ids:
        raise ValidationFailed("Give words to search for, or a label.", code="search_query_missing")
    for label_id in label_ids:
        get_label(session, label_id=label_id)
    statement = select(Conversation).where(Conversation.merged_into_id.is_(None))  # a merged one lives on in another
    profiles: list[int] = []
    matched_labels: list[int] = []
    if folded:
        profiles, matched_labels = _customer_profiles(session, query), _label_ids(session, folded)
        found = [Conversation.id.in_(_message_matches(folded))]  # type: ignore[arg-type]
        if profiles:
            found.append(Conversation.profile_id.in_(profiles))
        if matched_labels:
            found.append(Conversation.id.in_(select(ConversationLabel.conversation_id)
                                             .where(ConversationLabel.label_id.in_(matched_labels))))
        statement = statement.where(or_(*found))
    for label_id in label_ids:
        statement = statement.where(Conversation.id.in_(_with_label(label_id)))  # type: ignore[arg-type]
    if status is not None:
        statement = statement.where(Conversation.status == status)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = list(session.scalars(statement.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
                                .limit(limit).offset(offset)))
    hits = [Hit(conversation=conversation) for conversation in page]
    if folded:
        _explain(session, hits, folded=folded, profiles=set(profiles), label_ids=matched_labels)
    return SearchPage(hits=hits, total=total, limit=limit, offset=offset)


def _explain(session: Session, hits: list[Hit], *, folded: str, profiles: set[int], label_ids: list[int]) -> None:
    """Say what matched in each hit, with the newest matching message."""
    ids = [hit.conversation.id for hit in hits]
    if not ids:
        return
    newest: dict[int, Message] = {}
    rows = session.scalars(select(Message).join(MessageSearch, MessageSearch.message_id == Message.id)
                           .where(MessageSearch.conversation_id.in_(ids), *_every_word(MessageSearch.folded, folded))
                           .order_by(Message.sent_at.desc(), Message.id.desc()))
    for found in rows:
        newest.setdefault(found.conversation_id, found)
    labelled = set(session.scalars(select(ConversationLabel.conversation_id).where(
        ConversationLabel.conversation_id.in_(ids), ConversationLabel.label_id.in_(label_ids)))) if label_ids else set()
    for hit in hits:
        message = newest.get(hit.conversation.id)
        if message is not None:
            hit.matched.append("message")
            hit.snippet, hit.message_id = message.text[:SNIPPET], message.id
        if hit.conversation.profile_id in profiles:
            hit.matched.append("customer")
        if hit.conversation.id in labelled:
            hit.matched.append("label")
