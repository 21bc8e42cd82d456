"""@mentions in private notes: ``@lan`` (the part of a colleague's e-mail address before the @) or ``@Nguyễn Thị
Lan`` (their full name, with or without diacritics) names a colleague; each one named gets an unread
notification, and the ``inbox.mention.created`` event tells other domains."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xuyen.auth.service import get_user
from xuyen.clock import utcnow
from xuyen.errors import NotFound
from xuyen.identity.names import fold_name
from xuyen.inbox.models import Direction, Message
from xuyen.inbox.routing.models import Mention
from xuyen.inbox.routing.rows import active_users, insert_new
from xuyen.inbox.threads import announce
from xuyen.outbox import emit

MENTION_TOPIC = "inbox.mention.created"
_AT = re.compile(r"(?<![\w@.])@(?=\w)")  # an @ that starts a word (not the middle of an e-mail address)
_LOCAL_PART = re.compile(r"[A-Za-z0-9._%+-]+")
_TAIL = 120  # characters after an @ looked at for a full name


@dataclass(frozen=True)
class Person:
    """Someone who can be mentioned."""

    id: int
    email: str
    name: str


def _index(people: Sequence[Person]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    by_name: dict[str, list[int]] = defaultdict(list)
    by_local: dict[str, list[int]] = defaultdict(list)
    for person in people:
        folded = fold_name(person.name)
        if folded:
            by_name[folded].append(person.id)
        by_local[person.email.split("@", 1)[0].lower()].append(person.id)
    return by_name, by_local


def _only(ids: list[int] | None) -> int | None:
    return ids[0] if ids and len(ids) == 1 else None


def _named_at(tail: str, by_name: dict[str, list[int]], by_local: dict[str, list[int]]) -> int | None:
    """Who the text after an @ names: a full name of several words first (the most specific), then an e-mail
    local part, then a one-word name; nobody when a name or local part is shared by several people."""
    folded = fold_name(tail[:_TAIL])
    names = sorted((name for name in by_name if folded == name or folded.startswith(name + " ")), key=len,
                   reverse=True)
    if names and " " in names[0]:
        return _only(by_name[names[0]])
    token = _LOCAL_PART.match(tail)
    if token is not None:
        found = _only(by_local.get(token.group().rstrip(".").lower()))
        if found is not None:
            return found
    return _only(by_name[names[0]]) if names else None


def parse_mentions(text: str, people: Sequence[Person]) -> list[int]:
    """The ids of the people a note mentions, in the order they are first named."""
    by_name, by_local = _index(people)
    found: list[int] = []
    for match in _AT.finditer(text):
        person = _named_at(text[match.end():], by_name, by_local)
        if person is not None and person not in found:
            found.append(person)
    return found


def people(session: Session) -> list[Person]:
    """Everyone who can be mentioned: staff who can sign in."""
    return [Person(id=user.id, email=user.email, name=user.name) for user in active_users(session)]


def record_mentions(session: Session, *, message_id: int) -> list[Mention]:
    """Store who a private note mentions and notify each of them (not its author); the new mentions (helper)."""
    message = session.get(Message, message_id)
    if message is None or message.direction != Direction.note or "@" not in message.text:
        return []
    created = []
    for user_id in parse_mentions(message.text, people(session)):
        if user_id == message.author_id:
            continue
        if not insert_new(session, Mention, keys=["message_id", "user_id"],
                          values={"message_id": message.id, "conversation_id": message.conversation_id,
                                  "user_id": user_id, "author_id": message.author_id, "created_at": utcnow()}):
            continue
        mention = session.scalar(select(Mention).where(Mention.message_id == message.id, Mention.user_id == user_id))
        assert mention is not None
        emit(session, topic=MENTION_TOPIC, aggregate_type="conversation", aggregate_id=message.conversation_id,
             payload={"mention_id": mention.id, "message_id": message.id, "conversation_id": message.conversation_id,
                      "user_id": user_id, "author_id": message.author_id})
        announce(session, kind="mention", conversation_id=message.conversation_id, user_id=user_id)
        created.append(mention)
    return created


def list_mentions(session: Session, *, user_id: int, unread_only: bool = False, limit: int = 50,
                  offset: int = 0) -> list[Mention]:
    """A user's mentions, newest first."""
    query = select(Mention).where(Mention.user_id == user_id)
    if unread_only:
        query = query.where(Mention.read_at.is_(None))
    return list(session.scalars(query.order_by(Mention.created_at.desc(), Mention.id.desc()).limit(limit)
                                .offset(offset)))


def unread_count(session: Session, *, user_id: int) -> int:
    """How many of a user's mentions are unread."""
    return session.scalar(select(func.count()).select_from(Mention)
                          .where(Mention.user_id == user_id, Mention.read_at.is_(None))) or 0


def mark_read(session: Session, *, user_id: int, mention_id: int) -> Mention:
    """Mark one of a user's mentions read; NotFound for anyone else's."""
    mention = session.get(Mention, mention_id)
    if mention is None or mention.user_id != user_id:
        raise NotFound(f"You have no mention {mention_id}.", code="mention_not_found")
    if mention.read_at is None:
        mention.read_at = utcnow()
    session.commit()
    return mention


def mark_all_read(session: Session, *, user_id: int, conversation_id: int | None = None) -> int:
    """Mark a user's unread mentions read (of one conversation, or all); how many."""
    statement = update(Mention).where(Mention.user_id == user_id, Mention.read_at.is_(None))
    if conversation_id is not None:
        statement = statement.where(Mention.conversation_id == conversation_id)
    result = session.execute(statement.values(read_at=utcnow()))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def note_texts(session: Session, *, message_ids: list[int]) -> dict[int, str]:
    """The text of each of these notes."""
    if not message_ids:
        return {}
    return {int(message_id): text for message_id, text in session.execute(
        select(Message.id, Message.text).where(Message.id.in_(message_ids)))}


def author_names(session: Session, *, user_ids: set[int]) -> dict[int, str]:
    """The names of these staff users."""
    return {user_id: get_user(session, user_id=user_id).name for user_id in user_ids}
