"""Routing tables: teams and their members, agents' availability and capacity, assignment rules and the team each
conversation was routed to, labels and their rules, canned responses, mentions, and the folded search copy of
every message."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members])


class Availability(enum.StrEnum):
    """Whether an agent takes new conversations: only online agents are given any."""

    online = "online"
    busy = "busy"
    offline = "offline"


class Team(Base):
    """A group of agents that takes a share of the conversations (sales, after-sales, one store…)."""

    __tablename__ = "inbox_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Base):
    """An agent in a team, and when the team last gave them a conversation (the round-robin's turn)."""

    __tablename__ = "inbox_team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("inbox_teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentStatus(Base):
    """An agent's availability (set by the agent) and capacity (open conversations at once; None: the setting)."""

    __tablename__ = "inbox_agent_status"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    availability: Mapped[Availability] = mapped_column(_enum(Availability), default=Availability.offline)
    capacity: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentRule(Base):
    """When a new conversation matches ``conditions``, it goes to ``team_id`` (and, with ``assign_agent``, to one
    of the team's available agents by turns). Rules are tried by ``position``; the first match wins."""

    __tablename__ = "inbox_assignment_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    team_id: Mapped[int] = mapped_column(ForeignKey("inbox_teams.id", ondelete="CASCADE"), index=True)
    assign_agent: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_inbox_assignment_rules_position", "position", "id"),)


class ConversationRouting(Base):
    """Where a conversation was routed: its team (None: no rule matched) and the rule that sent it there. A
    conversation with a team and no assignee waits in that team's queue."""

    __tablename__ = "inbox_conversation_routing"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="SET NULL"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_assignment_rules.id", ondelete="SET NULL"))
    routed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Label(Base):
    """A label conversations carry ("Facebook Ads", "Đổi trả", "VIP"); ``name_key`` is the folded name, unique."""

    __tablename__ = "inbox_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(String(60), unique=True)
    colour: Mapped[str] = mapped_column(String(7), default="#64748b")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LabelRuleKind(enum.StrEnum):
    """When a label rule looks: at a conversation's source when it opens, or at every inbound message's text."""

    source = "source"
    keyword = "keyword"


class LabelRule(Base):
    """Put ``label_id`` on a conversation automatically: by where it came from (``source``: channel kinds, channel
    ids, an ad referral) or by words in what the customer wrote (``keyword``)."""

    __tablename__ = "inbox_label_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("inbox_labels.id", ondelete="CASCADE"), index=True)
    kind: Mapped[LabelRuleKind] = mapped_column(_enum(LabelRuleKind))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationLabel(Base):
    """A label on a conversation, and how it got there (``agent``, ``source`` or ``keyword``)."""

    __tablename__ = "inbox_conversation_labels"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("inbox_labels.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    origin: Mapped[str] = mapped_column(String(16), default="agent")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """A saved reply an agent inserts by its ``/shortcut``: shared (no owner) or personal to ``owner_id``.

    ``owner_key`` is the owner's id, 0 when shared: the shortcut is unique per owner on both databases (a unique
    constraint over a NULL column would let two shared replies have the same shortcut).
    """

    __tablename__ = "inbox_canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shortcut: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner_key: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("owner_key", "shortcut"),)


class Mention(Base):
    """A user named in a private note (``@lan`` or ``@Nguyễn Thị Lan``): their notification, unread until read."""

    __tablename__ = "inbox_mentions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_messages.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"),
                                                 index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("message_id", "user_id"),
                      Index("ix_inbox_mentions_user", "user_id", "read_at"))


class MessageSearch(Base):
    """A message's subject and text folded for search (lower-case ASCII, no diacritics, single spaces).

    On PostgreSQL its index is a trigram (GIN) index when the pg_trgm extension can be installed, which serves
    ``LIKE '%…%'``; the migration leaves it out where the extension is missing and searching scans instead.
    """

    __tablename__ = "inbox_message_search"

    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_messages.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"),
                                                 index=True)
    folded: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_inbox_message_search_folded", "folded", postgresql_using="gin",
                            postgresql_ops={"folded": "gin_trgm_ops"}),)
