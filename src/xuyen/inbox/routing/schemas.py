"""Routing API bodies and answers: teams, agents, assignment rules, labels and their rules, canned responses,
mentions and search results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from xuyen.inbox.routing.canned import Expansion
from xuyen.inbox.routing.models import (
    AssignmentRule,
    Availability,
    CannedResponse,
    ConversationRouting,
    Label,
    LabelRule,
    LabelRuleKind,
    Mention,
)
from xuyen.inbox.routing.search import Hit
from xuyen.inbox.routing.service import AgentView, TeamView

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Teams and agents ---------------------------------------------------------------------------------------


class TeamIn(_In):
    """A new team and its first members."""

    name: str = Field(min_length=1, max_length=100, examples=["Chăm sóc sau bán"])
    description: str = Field(default="", max_length=500)
    user_ids: list[Id] = Field(default_factory=list, max_length=500)


class TeamChangesIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class MemberIn(_In):
    user_id: Id


class MemberOut(BaseModel):
    id: int
    name: str
    email: str


class TeamOut(BaseModel):
    """A team and its members."""

    id: int
    name: str
    description: str
    members: list[MemberOut]
    created_at: datetime

    @classmethod
    def of(cls, view: TeamView) -> TeamOut:
        return cls(id=view.team.id, name=view.team.name, description=view.team.description,
                   members=[MemberOut(id=user.id, name=user.name, email=user.email) for user in view.members],
                   created_at=view.team.created_at)


class AvailabilityIn(_In):
    availability: Availability


class CapacityIn(_In):
    """How many open conversations the agent is given at most; null for the installation's default."""

    capacity: int | None = Field(ge=1, le=1000)


class AgentOut(BaseModel):
    """An agent's availability, capacity and load."""

    user_id: int
    name: str
    availability: Availability
    capacity: int
    capacity_set: bool
    open_conversations: int
    team_ids: list[int]

    @classmethod
    def of(cls, view: AgentView) -> AgentOut:
        return cls(user_id=view.user.id, name=view.user.name, availability=view.availability,
                   capacity=view.capacity, capacity_set=view.capacity_set,
                   open_conversations=view.open_conversations, team_ids=view.team_ids)


# Assignment rules ---------------------------------------------------------------------------------------


class ConditionsIn(_In):
    """What a conversation must match; each list is met by any of its values, every list given must be met."""

    channel_kinds: list[Kind] = Field(default_factory=list, max_length=20, examples=[["messenger", "zalo"]])
    channel_ids: list[Id] = Field(default_factory=list, max_length=50)
    labels: list[Id] = Field(default_factory=list, max_length=50,
                             description="Labels on the conversation (source and keyword labels come first).")
    customer_labels: list[Id] = Field(default_factory=list, max_length=50,
                                      description="Labels on any of the customer's conversations.")


class RuleIn(_In):
    """An assignment rule: conversations matching ``conditions`` go to ``team_id``."""

    name: str = Field(min_length=1, max_length=200)
    team_id: Id
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    assign_agent: bool = True
    enabled: bool = True
    position: int | None = Field(default=None, ge=0, le=1_000_000)


class RuleChangesIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    team_id: Id | None = None
    conditions: ConditionsIn | None = None
    assign_agent: bool | None = None
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)


class RuleOrderIn(_In):
    rule_ids: list[Id] = Field(max_length=200)


class RuleOut(BaseModel):
    """An assignment rule."""

    id: int
    name: str
    position: int
    enabled: bool
    team_id: int
    assign_agent: bool
    conditions: dict[str, Any]

    @classmethod
    def of(cls, rule: AssignmentRule) -> RuleOut:
        return cls(id=rule.id, name=rule.name, position=rule.position, enabled=rule.enabled, team_id=rule.team_id,
                   assign_agent=rule.assign_agent, conditions=rule.conditions)


class TeamChoiceIn(_In):
    """Send a conversation to a team (null: no team); with ``assign_agent`` the team's next agent takes it."""

    team_id: Id | None
    assign_agent: bool = True


class RoutingOut(BaseModel):
    """Where a conversation was routed."""

    conversation_id: int
    team_id: int | None
    rule_id: int | None
    routed_at: datetime | None
    assignee_id: int | None

    @classmethod
    def of(cls, conversation_id: int, routing: ConversationRouting | None, assignee_id: int | None) -> RoutingOut:
        return cls(conversation_id=conversation_id, team_id=routing.team_id if routing else None,
                   rule_id=routing.rule_id if routing else None, routed_at=routing.routed_at if routing else None,
                   assignee_id=assignee_id)


# Labels -------------------------------------------------------------------------------------------------


class LabelIn(_In):
    name: str = Field(min_length=1, max_length=60, examples=["Đổi trả"])
    colour: str = Field(default="#64748b", pattern=r"^#[0-9a-fA-F]{6}$")


class LabelChangesIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")


class LabelOut(BaseModel):
    id: int
    name: str
    colour: str

    @classmethod
    def of(cls, label: Label) -> LabelOut:
        return cls(id=label.id, name=label.name, colour=label.colour)


class LabelChoiceIn(_In):
    label_id: Id


class LabelRuleConditionsIn(_In):
    """A source rule's channel kinds, channels and referral (``ad``: the customer came from an ad; ``any``: from any
    link), or a keyword rule's keywords (any case, with or without diacritics)."""

    channel_kinds: list[Kind] = Field(default_factory=list, max_length=20)
    channel_ids: list[Id] = Field(default_factory=list, max_length=50)
    referral: Literal["ad", "any"] | None = None
    keywords: list[Keyword] = Field(default_factory=list, max_length=100, examples=[["đổi trả", "trả hàng"]])


class LabelRuleIn(_In):
    label_id: Id
    kind: LabelRuleKind
    conditions: LabelRuleConditionsIn


class LabelRuleChangesIn(_In):
    enabled: bool


class LabelRuleOut(BaseModel):
    id: int
    label_id: int
    kind: LabelRuleKind
    conditions: dict[str, Any]
    enabled: bool

    @classmethod
    def of(cls, rule: LabelRule) -> LabelRuleOut:
        return cls(id=rule.id, label_id=rule.label_id, kind=rule.kind, conditions=rule.conditions,
                   enabled=rule.enabled)


# Canned responses ---------------------------------------------------------------------------------------


class CannedIn(_In):
    """A canned response; ``shared`` ones (managers) are offered to every agent."""

    shortcut: str = Field(min_length=1, max_length=41, examples=["chao"])
    text: str = Field(min_length=1, max_length=5000, examples=["Dạ em chào {{ten_khach}}, em là {{ten_nhan_vien}} "
                                                                "của {{ten_cua_hang}} ạ."])
    shared: bool = False


class CannedChangesIn(_In):
    shortcut: str | None = Field(default=None, min_length=1, max_length=41)
    text: str | None = Field(default=None, min_length=1, max_length=5000)


class CannedOut(BaseModel):
    id: int
    shortcut: str
    text: str
    shared: bool
    owner_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, response: CannedResponse) -> CannedOut:
        return cls(id=response.id, shortcut=response.shortcut, text=response.text, shared=response.owner_id is None,
                   owner_id=response.owner_id, updated_at=response.updated_at)


class ExpandIn(_In):
    """A reply that starts with a ``/shortcut``, and the conversation it answers (for the customer's name)."""

    text: str = Field(min_length=2, max_length=20_000, examples=["/chao"])
    conversation_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class ExpandOut(BaseModel):
    text: str
    canned_response_id: int
    shortcut: str
    missing: list[str]

    @classmethod
    def of(cls, expansion: Expansion) -> ExpandOut:
        return cls(text=expansion.text, canned_response_id=expansion.response.id,
                   shortcut=expansion.response.shortcut, missing=expansion.missing)


# Mentions and search ------------------------------------------------------------------------------------


class MentionOut(BaseModel):
    id: int
    conversation_id: int
    message_id: int
    author_id: int | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, mention: Mention) -> MentionOut:
        return cls(id=mention.id, conversation_id=mention.conversation_id, message_id=mention.message_id,
                   author_id=mention.author_id, created_at=mention.created_at, read_at=mention.read_at)


class MentionPageOut(BaseModel):
    items: list[MentionOut]
    unread: int


class MarkReadIn(_In):
    conversation_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class HitOut(BaseModel):
    """A conversation found, what matched in it and the newest matching message."""

    id: int
    customer_id: int
    status: str
    assignee_id: int | None
    subject: str | None
    last_message_at: datetime
    matched: list[str]
    snippet: str | None
    message_id: int | None
    labels: list[LabelOut]

    @classmethod
    def of(cls, hit: Hit, *, customer_id: int, labels: list[Label]) -> HitOut:
        conversation = hit.conversation
        return cls(id=conversation.id, customer_id=customer_id, status=conversation.status.value,
                   assignee_id=conversation.assignee_id, subject=conversation.subject,
                   last_message_at=conversation.last_message_at, matched=hit.matched, snippet=hit.snippet,
                   message_id=hit.message_id, labels=[LabelOut.of(label) for label in labels])


class SearchOut(BaseModel):
    items: list[HitOut]
    total: int
    limit: int
    offset: int
