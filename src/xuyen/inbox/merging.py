"""The inbox follows the identity graph. When two profiles of one customer are merged, the absorbed profile's
contact points and conversations go to the customer it is now part of, and two conversations in progress become
one; when the merge is undone, what it moved goes back.

Both are reactions to the identity graph's events (``profile.merged``, ``profile.unmerged``), delivered at least
once: what a merge moved is kept (``inbox_profile_merges``, one row per merge), so a merge is followed once and
undone once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.identity.graph import find_profile, resolve_profile_id
from xuyen.inbox.models import (
    Channel,
    ContactPoint,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageState,
    ProfileMergeMoves,
)
from xuyen.inbox.routing import search
from xuyen.inbox.routing.labels import put_label
from xuyen.inbox.routing.models import ConversationLabel, Mention
from xuyen.inbox.service import add_assignment
from xuyen.inbox.sla import handlers as sla_handlers
from xuyen.inbox.sla import service as sla
from xuyen.inbox.threads import announce, announce_message, announce_status
from xuyen.outbox import emit

MERGE_ACTOR = "merge"
IN_PROGRESS = (ConversationStatus.open, ConversationStatus.pending, ConversationStatus.snoozed)
# When conversations are combined, the combined one is as active as the more active of the two.
ACTIVITY = {ConversationStatus.open: 3, ConversationStatus.pending: 2, ConversationStatus.snoozed: 1,
            ConversationStatus.resolved: 0}


def moves_of(session: Session, *, merge_id: int) -> ProfileMergeMoves | None:
    """What the inbox moved when it followed the merge ``merge_id``, if it did."""
    return session.scalar(select(ProfileMergeMoves).where(ProfileMergeMoves.merge_id == merge_id))


def _lock_conversations(session: Session, profile_ids: list[int]) -> list[Conversation]:
    """The profiles' conversations, oldest first (locked on PostgreSQL, so two merges of one customer queue)."""
    query = select(Conversation).where(Conversation.profile_id.in_(profile_ids)).order_by(Conversation.id)
    return list(session.scalars(query.with_for_update() if is_postgres(session) else query))


def _in_progress(conversations: list[Conversation], profile_id: int) -> list[Conversation]:
    """The profile's conversations in progress, newest first."""
    found = [c for c in conversations if c.profile_id == profile_id and c.status in IN_PROGRESS
             and c.merged_into_id is None]
    return sorted(found, key=lambda c: (c.last_message_at, c.id), reverse=True)


# Following a merge ----------------------------------------------------------------------------------------


def follow_merge(session: Session, *, merge_id: int, survivor_id: int, absorbed_id: int) -> ProfileMergeMoves | None:
    """Give the absorbed profile's contact points and conversations to the customer it is now part of, combining
    its conversation in progress with the survivor's; None when the merge was followed before, or was undone
    before the inbox got to it (helper: no commit)."""
    if moves_of(session, merge_id=merge_id) is not None:
        return None
    target = resolve_profile_id(session, profile_id=survivor_id)
    if resolve_profile_id(session, profile_id=absorbed_id) != target:
        return None  # undone already: its undoing finds nothing to give back
    conversations = _lock_conversations(session, [target, absorbed_id])
    keep = next(iter(_in_progress(conversations, target) or _in_progress(conversations, absorbed_id)), None)
    joining = [c for c in _in_progress(conversations, absorbed_id) if c is not keep]
    points = list(session.scalars(select(ContactPoint).where(ContactPoint.profile_id == absorbed_id)
                                  .order_by(ContactPoint.id)))
    for point in points:
        point.profile_id = target
    moved = [c for c in conversations if c.profile_id == absorbed_id]
    for conversation in moved:
        conversation.profile_id = target
    session.flush()
    combined = [_combine(session, source=source, into=keep) for source in joining] if keep is not None else []
    record = ProfileMergeMoves(merge_id=merge_id, survivor_id=target, absorbed_id=absorbed_id,
                               contact_point_ids=[point.id for point in points],
                               conversation_ids=[c.id for c in moved if c not in joining], combined=combined,
                               created_at=utcnow())
    session.add(record)
    for conversation in moved:
        announce(session, kind="conversation", conversation_id=conversation.id)
    session.flush()
    return record


def _combine(session: Session, *, source: Conversation, into: Conversation) -> dict[str, Any]:
    """Move a conversation's messages, notes, labels and SLA clocks into another and close it as merged into that
    one, with a note saying so; what was moved, for an undo."""
    now = utcnow()
    message_ids = list(session.scalars(select(Message.id).where(Message.conversation_id == source.id)
                                       .order_by(Message.sent_at, Message.id)))
    _move_messages(session, message_ids, from_id=source.id, to_id=into.id)
    label_ids = _copy_labels(session, from_id=source.id, to_id=into.id)
    session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == source.id))
    previous_status = _take_state(source, into)
    _refresh_times(session, into)
    clock_ids = sla.combine_clocks(session, from_conversation_id=source.id, into_conversation_id=into.id,
                                   waiting=into.status != ConversationStatus.open, at=now)
    record = {"from": source.id, "into": into.id, "message_ids": message_ids, "label_ids": label_ids,
              "clock_ids": clock_ids}
    source.status, source.resolved_at, source.snoozed_until, source.merged_into_id = (
        ConversationStatus.resolved, now, None, into.id)
    _refresh_times(session, source)
    if into.assignee_id is None and source.assignee_id is not None:
        add_assignment(session, conversation=into, assignee_id=source.assignee_id, actor=MERGE_ACTOR)
    if previous_status != into.status:
        announce_status(session, into, previous=previous_status, actor=MERGE_ACTOR)
    _system_note(session, into, kind="merge", other_id=source.id, at=now,
                 text=f"Conversation #{source.id} joined this one: the customer's profiles were merged.")
    emit(session, topic="inbox.conversation.merged", aggregate_type="conversation", aggregate_id=source.id,
         payload={"conversation_id": source.id, "into_id": into.id, "message_ids": message_ids})
    announce(session, kind="conversation", conversation_id=source.id)
    return record


def _take_state(source: Conversation, into: Conversation) -> ConversationStatus:
    """The combined conversation is as active as the more active of the two, keeps the earlier first reply and a
    subject; the status it had before."""
    previous = into.status
    into.status = max(source.status, into.status, key=lambda status: ACTIVITY[status])
    if into.status != ConversationStatus.snoozed:
        into.snoozed_until = None
    elif source.status == ConversationStatus.snoozed:
        into.snoozed_until = max(filter(None, (into.snoozed_until, source.snoozed_until)), default=None)
    into.first_reply_at = min(filter(None, (into.first_reply_at, source.first_reply_at)), default=None)
    into.subject = into.subject or source.subject
    return previous


def _move_messages(session: Session, message_ids: list[int], *, from_id: int, to_id: int) -> None:
    """Messages (with their mentions and their place in search) from one conversation to another."""
    if not message_ids:
        return
    session.execute(update(Message).where(Message.id.in_(message_ids), Message.conversation_id == from_id)
                    .values(conversation_id=to_id).execution_options(synchronize_session="fetch"))
    session.execute(update(Mention).where(Mention.message_id.in_(message_ids), Mention.conversation_id == from_id)
                    .values(conversation_id=to_id).execution_options(synchronize_session="fetch"))
    for message_id in message_ids:
        search.index_message(session, message_id=message_id)


def _copy_labels(session: Session, *, from_id: int, to_id: int) -> list[int]:
    """Put one conversation's labels on another too; the labels of the first."""
    rows = list(session.scalars(select(ConversationLabel).where(ConversationLabel.conversation_id == from_id)))
    for row in rows:
        put_label(session, conversation_id=to_id, label_id=row.label_id, origin=row.origin, user_id=row.added_by_id)
    return sorted(row.label_id for row in rows)


def _refresh_times(session: Session, conversation: Conversation) -> None:
    """The conversation's last message and last customer message (and its channel), from its messages."""
    session.flush()
    last = session.scalar(select(func.max(Message.sent_at)).where(Message.conversation_id == conversation.id))
    if last is not None:
        conversation.last_message_at = last
    inbound = session.execute(select(Message.sent_at, Message.channel_id)
                              .where(Message.conversation_id == conversation.id,
                                     Message.direction == Direction.inbound)
                              .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1)).first()
    conversation.last_inbound_at, conversation.last_inbound_channel_id = inbound if inbound else (None, None)


def _measure_wait(session: Session, conversation: Conversation) -> None:
    """When the customer still waits for an answer in a conversation that was split again, its response and
    resolution clocks run from their first unanswered message (unless they run already)."""
    messages = list(session.scalars(select(Message).where(Message.conversation_id == conversation.id,
                                                          Message.direction != Direction.note)
                                    .order_by(Message.sent_at, Message.id)))
    replies = [m.sent_at for m in messages if m.direction == Direction.outbound and sla_handlers.is_reply(m)]
    waiting = [m for m in messages if m.direction == Direction.inbound and (not replies or m.sent_at > replies[-1])]
    if waiting:
        channel = session.get(Channel, waiting[0].channel_id) if waiting[0].channel_id is not None else None
        sla.note_inbound(session, conversation_id=conversation.id, channel_kind=channel.kind if channel else None,
                         at=waiting[0].sent_at)


def _system_note(session: Session, conversation: Conversation, *, kind: str, other_id: int, at: datetime,
                 text: str, **meta: object) -> Message:
    """A private note of Xuyên's own in the conversation (``meta.system`` says what happened, the pages show it
    in the agent's language)."""
    note = Message(conversation_id=conversation.id, direction=Direction.note, state=MessageState.sent, author_id=None,
                   text=text, meta={"system": kind, "conversation_id": other_id, **meta}, sent_at=at, created_at=at)
    session.add(note)
    session.flush()
    conversation.last_message_at = max(conversation.last_message_at, at)
    announce_message(session, note, channel=None)
    return note


# Following an undone merge --------------------------------------------------------------------------------


def follow_unmerge(session: Session, *, merge_id: int, survivor_id: int, absorbed_id: int) -> bool:
    """Give back to the restored profile what the merge brought: the contact points whose identifier went back
    to it, the conversations the merge moved whole, and the messages of a conversation it combined (which opens
    again); whether anything was to be done (helper: no commit)."""
    record = moves_of(session, merge_id=merge_id)
    if record is not None and record.undone_at is not None:
        return False
    restored = resolve_profile_id(session, profile_id=absorbed_id)
    holder = resolve_profile_id(session, profile_id=survivor_id)
    if restored == holder:
        return False  # merged again since: nothing goes back
    _lock_conversations(session, [holder, restored])
    _return_contact_points(session, holder=holder, restored=restored)
    if record is None:
        return True
    for conversation_id in record.conversation_ids:
        conversation = session.get(Conversation, conversation_id)
        if conversation is not None and conversation.profile_id == holder:
            conversation.profile_id = restored
            announce(session, kind="conversation", conversation_id=conversation.id)
    for combined in record.combined:
        _split(session, combined, restored=restored)
    record.undone_at = utcnow()
    session.flush()
    return True


def _return_contact_points(session: Session, *, holder: int, restored: int) -> int:
    """The holder's contact points whose channel address is now the restored profile's identifier go to it."""
    returned = 0
    for point in session.scalars(select(ContactPoint).where(ContactPoint.profile_id == holder)):
        if _owner(session, point) == restored:
            point.profile_id = restored
            returned += 1
    session.flush()
    return returned


def _owner(session: Session, point: ContactPoint) -> int | None:
    """The customer whose identifier the contact point's address is (None when no identifier of a known type)."""
    try:
        return find_profile(session, type=point.type, value=point.value, scope=point.scope or None)
    except ValueError:
        return None


def _split(session: Session, combined: dict[str, Any], *, restored: int) -> None:
    """Undo one combination: the messages, labels and clocks that came from the emptied conversation go back to
    it, and it opens again for the restored profile."""
    source = session.get(Conversation, int(combined["from"]))
    into = session.get(Conversation, int(combined["into"]))
    if source is None or into is None or source.merged_into_id != into.id:
        return
    now = utcnow()
    message_ids = [int(item) for item in combined.get("message_ids", [])]
    _move_messages(session, message_ids, from_id=into.id, to_id=source.id)
    for label_id in combined.get("label_ids", []):
        put_label(session, conversation_id=source.id, label_id=int(label_id), origin="merge")
    sla.return_clocks(session, clock_ids=[int(item) for item in combined.get("clock_ids", [])],
                      to_conversation_id=source.id)
    source.profile_id, source.merged_into_id, source.resolved_at = restored, None, None
    source.status = ConversationStatus.open
    for conversation in (source, into):
        _refresh_times(session, conversation)
        _measure_wait(session, conversation)
    announce_status(session, source, previous=ConversationStatus.resolved, actor=MERGE_ACTOR)
    _system_note(session, source, kind="unmerge", other_id=into.id, at=now,
                 text=f"The customer's profiles were separated again: this conversation's messages came back here "
                      f"from conversation #{into.id}.")
    _system_note(session, into, kind="unmerge", other_id=source.id, at=now, returned=True,
                 text=f"The customer's profiles were separated again: the messages that came from conversation "
                      f"#{source.id} are back there.")
