"""Routing services: teams and their agents, agents' availability and capacity, assignment rules, and the
routing itself: a new conversation is labelled by its source, matched against the rules in order (first match
wins), sent to the rule's team and given to the team's available agent whose turn it is, under their capacity;
with nobody available it waits in the team's queue until an agent of the team comes online.

Concurrency: picking an agent locks the team's row and then its members' status rows (in user id order) on
PostgreSQL, so two conversations routed at once are given one after the other and never take an agent past
their capacity; SQLite has one writer at a time anyway. Locks are always taken teams first (in id order), then
agents, so routing and offering never wait on each other in a circle. The locks are ``FOR NO KEY UPDATE``: rows
that merely refer to a team (a conversation's routing, a rule) take a key-share lock on it, which must not block
the routing that follows in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.models import User
from xuyen.auth.service import get_user
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.service import merged_profile_ids
from xuyen.inbox.models import Channel, Conversation, ConversationStatus
from xuyen.inbox.routing import labels
from xuyen.inbox.routing.models import (
    AgentStatus,
    AssignmentRule,
    Availability,
    ConversationLabel,
    ConversationRouting,
    Team,
    TeamMember,
)
from xuyen.inbox.routing.rows import active_user, active_users, insert_new
from xuyen.inbox.service import add_assignment, get_conversation
from xuyen.inbox.threads import announce
from xuyen.jobs import add_job

OFFER_JOB = "inbox.routing.offer_queue"
ROUTING_ACTOR = "routing"
MAX_TEAMS = 200
MAX_RULES = 200
MAX_MEMBERS = 500


# Teams --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamView:
    """A team with its members."""

    team: Team
    members: list[User]


def get_team(session: Session, *, team_id: int) -> Team:
    """The team ``team_id``; NotFound when there is none."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"There is no team {team_id}.", code="team_not_found")
    return team


def member_ids(session: Session, *, team_id: int) -> list[int]:
    """The user ids of a team's members, in id order."""
    return list(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)
                                .order_by(TeamMember.user_id)))


def team_view(session: Session, *, team_id: int) -> TeamView:
    """A team with its members, by name."""
    team = get_team(session, team_id=team_id)
    members = sorted((get_user(session, user_id=user_id) for user_id in member_ids(session, team_id=team_id)),
                     key=lambda user: (user.name, user.id))
    return TeamView(team=team, members=members)


def list_teams(session: Session) -> list[TeamView]:
    """Every team with its members, by name."""
    return [team_view(session, team_id=team_id) for team_id in session.scalars(select(Team.id).order_by(Team.name))]


def teams_of(session: Session, *, user_id: int) -> list[int]:
    """The ids of the teams a user is in."""
    return list(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)
                                .order_by(TeamMember.team_id)))


def _clean_team_name(session: Session, name: str, *, other_than: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Give the team a name.", code="team_name_required")
    found = session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
    if found is not None and found.id != other_than:
        raise Conflict(f"There is a team “{found.name}” already.", code="team_exists", details={"team_id": found.id})
    return name[:100]


def _ensure_status(session: Session, user_id: int) -> None:
    insert_new(session, AgentStatus, keys=["user_id"],
               values={"user_id": user_id, "availability": Availability.offline.value, "changed_at": utcnow()})


def _add_member(session: Session, team_id: int, user_id: int) -> bool:
    active_user(session, user_id=user_id)
    _ensure_status(session, user_id)
    return insert_new(session, TeamMember, keys=["team_id", "user_id"],
                      values={"team_id": team_id, "user_id": user_id, "added_at": utcnow()})


def add_team(session: Session, *, name: str, description: str = "", user_ids: list[int] | None = None) -> Team:
    """A new team with its first members (helper: the caller commits)."""
    if (session.scalar(select(func.count()).select_from(Team)) or 0) >= MAX_TEAMS:
        raise ValidationFailed(f"There are {MAX_TEAMS} teams already.", code="too_many_teams")
    team = Team(name=_clean_team_name(session, name), description=" ".join(description.split())[:500])
    session.add(team)
    session.flush()
    for user_id in dict.fromkeys(user_ids or []):
        _add_member(session, team.id, user_id)
    return team


def create_team(session: Session, *, name: str, description: str = "", user_ids: list[int] | None = None,
                actor: str) -> TeamView:
    """Make a team, with its first members."""
    team = add_team(session, name=name, description=description, user_ids=user_ids)
    audit.record(session, actor=actor, action="inbox.team.created", subject_type="inbox_team", subject_id=team.id,
                 detail={"name": team.name, "user_ids": list(dict.fromkeys(user_ids or []))})
    session.commit()
    return team_view(session, team_id=team.id)


def update_team(session: Session, *, team_id: int, name: str | None, description: str | None,
                actor: str) -> TeamView:
    """Rename a team or change its description."""
    team = get_team(session, team_id=team_id)
    if name is not None:
        team.name = _clean_team_name(session, name, other_than=team.id)
    if description is not None:
        team.description = " ".join(description.split())[:500]
    audit.record(session, actor=actor, action="inbox.team.updated", subject_type="inbox_team", subject_id=team.id,
                 detail={"name": team.name})
    session.commit()
    return team_view(session, team_id=team.id)


def delete_team(session: Session, *, team_id: int, actor: str) -> None:
    """Remove a team and its assignment rules; its queued conversations stay unassigned, without a team."""
    team = get_team(session, team_id=team_id)
    audit.record(session, actor=actor, action="inbox.team.deleted", subject_type="inbox_team", subject_id=team.id,
                 detail={"name": team.name})
    session.delete(team)
    session.commit()


def add_member(session: Session, *, team_id: int, user_id: int, actor: str) -> TeamView:
    """Put a user in a team; an online member is offered the team's queue."""
    get_team(session, team_id=team_id)
    if len(member_ids(session, team_id=team_id)) >= MAX_MEMBERS:
        raise ValidationFailed(f"A team has at most {MAX_MEMBERS} members.", code="too_many_members")
    if _add_member(session, team_id, user_id):
        audit.record(session, actor=actor, action="inbox.team.member_added", subject_type="inbox_team",
                     subject_id=team_id, detail={"user_id": user_id})
        if agent_status(session, user_id=user_id).availability == Availability.online:
            add_job(session, name=OFFER_JOB, payload={"user_id": user_id})
    session.commit()
    return team_view(session, team_id=team_id)


def remove_member(session: Session, *, team_id: int, user_id: int, actor: str) -> TeamView:
    """Take a user out of a team (the conversations they hold stay theirs)."""
    member = session.get(TeamMember, (team_id, user_id))
    if member is None:
        get_team(session, team_id=team_id)
        raise NotFound(f"User {user_id} is not in team {team_id}.", code="team_member_not_found")
    session.delete(member)
    audit.record(session, actor=actor, action="inbox.team.member_removed", subject_type="inbox_team",
                 subject_id=team_id, detail={"user_id": user_id})
    session.commit()
    return team_view(session, team_id=team_id)


# Agents: availability and capacity ----------------------------------------------------------------------


@dataclass(frozen=True)
class AgentView:
    """An agent's availability, capacity and how many open conversations they hold."""

    user: User
    availability: Availability
    capacity: int
    capacity_set: bool
    open_conversations: int
    team_ids: list[int]


def agent_status(session: Session, *, user_id: int) -> AgentStatus:
    """An agent's status row (a new, offline one not yet stored when they never set it)."""
    found = session.get(AgentStatus, user_id)
    return found if found is not None else AgentStatus(user_id=user_id, availability=Availability.offline,
                                                       capacity=None, changed_at=utcnow())


def capacity_of(status: AgentStatus) -> int:
    """How many open conversations an agent is given at most."""
    return status.capacity if status.capacity is not None else get_settings().inbox_agent_capacity


def open_load(session: Session, *, user_ids: list[int]) -> dict[int, int]:
    """How many open conversations each of these agents holds."""
    if not user_ids:
        return {}
    rows = session.execute(select(Conversation.assignee_id, func.count()).where(
        Conversation.assignee_id.in_(user_ids), Conversation.status == ConversationStatus.open)
        .group_by(Conversation.assignee_id))
    return {int(user_id): int(count) for user_id, count in rows if user_id is not None}


def agent_view(session: Session, *, user_id: int) -> AgentView:
    """One agent's availability, capacity and load."""
    user = get_user(session, user_id=user_id)
    status = agent_status(session, user_id=user_id)
    return AgentView(user=user, availability=status.availability, capacity=capacity_of(status),
                     capacity_set=status.capacity is not None,
                     open_conversations=open_load(session, user_ids=[user_id]).get(user_id, 0),
                     team_ids=teams_of(session, user_id=user_id))


def list_agents(session: Session) -> list[AgentView]:
    """Every active staff user's availability, capacity and load, by name."""
    return [agent_view(session, user_id=user.id) for user in active_users(session)]


def _stored_status(session: Session, user_id: int) -> AgentStatus:
    _ensure_status(session, user_id)
    status = session.scalar(select(AgentStatus).where(AgentStatus.user_id == user_id)
                            .with_for_update(key_share=True))
    assert status is not None
    return status


def put_agent_status(session: Session, *, user_id: int, availability: Availability,
                     capacity: int | None = None) -> AgentStatus:
    """Set an agent's availability and capacity as they are, offering them nothing (helper for setting up a
    shop, e.g. the demo: the caller commits)."""
    active_user(session, user_id=user_id)
    if capacity is not None and not 1 <= capacity <= 1000:
        raise ValidationFailed("A capacity is between 1 and 1000 open conversations.", code="capacity_invalid")
    status = _stored_status(session, user_id)
    status.availability, status.capacity, status.changed_at = availability, capacity, utcnow()
    session.flush()
    return status


def set_availability(session: Session, *, user_id: int, availability: Availability, actor: str) -> AgentView:
    """Set an agent online, busy or offline; coming online offers them their teams' queues (a job)."""
    active_user(session, user_id=user_id)
    status = _stored_status(session, user_id)
    previous = status.availability
    status.availability, status.changed_at = availability, utcnow()
    if availability == Availability.online and previous != Availability.online:
        add_job(session, name=OFFER_JOB, payload={"user_id": user_id})
    if previous != availability:
        audit.record(session, actor=actor, action="inbox.agent.availability", subject_type="user", subject_id=user_id,
                     detail={"availability": availability.value, "previous": previous.value})
        announce(session, kind="agent", user_id=user_id)
    session.commit()
    return agent_view(session, user_id=user_id)


def set_capacity(session: Session, *, user_id: int, capacity: int | None, actor: str) -> AgentView:
    """Set how many open conversations an agent is given at most (None: the installation's default)."""
    active_user(session, user_id=user_id)
    if capacity is not None and not 1 <= capacity <= 1000:
        raise ValidationFailed("A capacity is between 1 and 1000 open conversations.", code="capacity_invalid")
    status = _stored_status(session, user_id)
    raised = capacity_of(status) < (capacity or get_settings().inbox_agent_capacity)
    status.capacity = capacity
    if raised and status.availability == Availability.online:
        add_job(session, name=OFFER_JOB, payload={"user_id": user_id})
    audit.record(session, actor=actor, action="inbox.agent.capacity", subject_type="user", subject_id=user_id,
                 detail={"capacity": capacity})
    session.commit()
    return agent_view(session, user_id=user_id)


# Assignment rules ---------------------------------------------------------------------------------------


CONDITION_KEYS = ("channel_kinds", "channel_ids", "labels", "customer_labels")


def get_rule(session: Session, *, rule_id: int) -> AssignmentRule:
    """The assignment rule ``rule_id``; NotFound when there is none."""
    rule = session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no assignment rule {rule_id}.", code="assignment_rule_not_found")
    return rule


def list_rules(session: Session) -> list[AssignmentRule]:
    """The assignment rules in the order they are tried."""
    return list(session.scalars(select(AssignmentRule).order_by(AssignmentRule.position, AssignmentRule.id)))


def _checked_conditions(session: Session, conditions: dict[str, Any]) -> dict[str, Any]:
    kept = {key: list(dict.fromkeys(conditions[key])) for key in CONDITION_KEYS if conditions.get(key)}
    for channel_id in kept.get("channel_ids", []):
        if session.get(Channel, channel_id) is None:
            raise ValidationFailed(f"There is no channel {channel_id}.", code="channel_not_found")
    for label_id in [*kept.get("labels", []), *kept.get("customer_labels", [])]:
        try:
            labels.get_label(session, label_id=label_id)
        except NotFound as exc:
            raise ValidationFailed(exc.message, code="label_not_found") from exc
    return kept


def _team_for_rule(session: Session, team_id: int) -> None:
    try:
        get_team(session, team_id=team_id)
    except NotFound as exc:
        raise ValidationFailed(exc.message, code="team_not_found") from exc


def _clean_rule_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Give the assignment rule a name.", code="assignment_rule_name_required")
    return name[:200]


def add_rule(session: Session, *, name: str, team_id: int, conditions: dict[str, Any], assign_agent: bool = True,
             enabled: bool = True, position: int | None = None) -> AssignmentRule:
    """A new assignment rule, tried last unless a position is given (helper: the caller commits)."""
    if len(list_rules(session)) >= MAX_RULES:
        raise ValidationFailed(f"There are {MAX_RULES} assignment rules already.", code="too_many_rules")
    name = _clean_rule_name(name)
    _team_for_rule(session, team_id)
    if position is None:
        position = (session.scalar(select(func.max(AssignmentRule.position))) or 0) + 10
    rule = AssignmentRule(name=name, team_id=team_id, position=position,
                          conditions=_checked_conditions(session, conditions), assign_agent=assign_agent,
                          enabled=enabled)
    session.add(rule)
    session.flush()
    return rule


def create_rule(session: Session, *, name: str, team_id: int, conditions: dict[str, Any], assign_agent: bool = True,
                enabled: bool = True, position: int | None = None, actor: str) -> AssignmentRule:
    """Add an assignment rule (last, unless a position is given)."""
    rule = add_rule(session, name=name, team_id=team_id, conditions=conditions, assign_agent=assign_agent,
                    enabled=enabled, position=position)
    audit.record(session, actor=actor, action="inbox.assignment_rule.created", subject_type="inbox_assignment_rule",
                 subject_id=rule.id, detail={"team_id": team_id, "conditions": rule.conditions})
    session.commit()
    return rule


def update_rule(session: Session, *, rule_id: int, changes: dict[str, Any], actor: str) -> AssignmentRule:
    """Change an assignment rule's name, team, conditions, position, whether it picks an agent or is enabled."""
    rule = get_rule(session, rule_id=rule_id)
    if "team_id" in changes:
        _team_for_rule(session, changes["team_id"])
        rule.team_id = changes["team_id"]
    if "conditions" in changes:
        rule.conditions = _checked_conditions(session, changes["conditions"])
    if "name" in changes:
        rule.name = _clean_rule_name(str(changes["name"]))
    for key in ("position", "assign_agent", "enabled"):
        if key in changes:
            setattr(rule, key, changes[key])
    audit.record(session, actor=actor, action="inbox.assignment_rule.updated", subject_type="inbox_assignment_rule",
                 subject_id=rule.id, detail={key: value for key, value in changes.items() if key != "conditions"})
    session.commit()
    return rule


def reorder_rules(session: Session, *, rule_ids: list[int], actor: str) -> list[AssignmentRule]:
    """Put the assignment rules in this order (every rule, once)."""
    rules = {rule.id: rule for rule in list_rules(session)}
    if sorted(rule_ids) != sorted(rules):
        raise ValidationFailed("List every assignment rule exactly once, in the order wanted.",
                               code="rule_order_invalid", details={"rule_ids": sorted(rules)})
    for position, rule_id in enumerate(rule_ids, start=1):
        rules[rule_id].position = position * 10
    audit.record(session, actor=actor, action="inbox.assignment_rule.reordered", subject_type="inbox_assignment_rule",
                 subject_id=0, detail={"rule_ids": rule_ids})
    session.commit()
    return list_rules(session)


def move_rule(session: Session, *, rule_id: int, offset: int, actor: str) -> list[AssignmentRule]:
    """Move an assignment rule ``offset`` places earlier (negative) or later in the order; at either end it
    stays where it is."""
    order = [rule.id for rule in list_rules(session)]
    if rule_id not in order:
        raise NotFound(f"There is no assignment rule {rule_id}.", code="assignment_rule_not_found")
    index = order.index(rule_id)
    order.insert(max(0, min(len(order) - 1, index + offset)), order.pop(index))
    return reorder_rules(session, rule_ids=order, actor=actor)


def delete_rule(session: Session, *, rule_id: int, actor: str) -> None:
    """Remove an assignment rule."""
    rule = get_rule(session, rule_id=rule_id)
    audit.record(session, actor=actor, action="inbox.assignment_rule.deleted", subject_type="inbox_assignment_rule",
                 subject_id=rule.id)
    session.delete(rule)
    session.commit()


# Matching -----------------------------------------------------------------------------------------------


@dataclass
class Facts:
    """What assignment rules look at: the conversation's channel, its labels and its customer's labels."""

    channel_kind: str | None
    channel_id: int | None
    label_ids: set[int]
    session: Session
    conversation: Conversation
    _customer_labels: set[int] | None = None

    @property
    def customer_label_ids(self) -> set[int]:
        """Labels on any of the customer's conversations (read only when a rule asks)."""
        if self._customer_labels is None:
            root = resolve_profile_id(self.session, profile_id=self.conversation.profile_id)
            cluster = [root, *merged_profile_ids(self.session, profile_id=root)]
            self._customer_labels = set(self.session.scalars(
                select(ConversationLabel.label_id)
                .join(Conversation, Conversation.id == ConversationLabel.conversation_id)
                .where(Conversation.profile_id.in_(cluster))))
        return self._customer_labels


def facts_of(session: Session, conversation: Conversation) -> Facts:
    """The facts assignment rules match a conversation on."""
    first = labels.first_inbound(session, conversation_id=conversation.id)
    channel_id = first.channel_id if first is not None else conversation.last_inbound_channel_id
    channel = session.get(Channel, channel_id) if channel_id is not None else None
    label_ids = set(session.scalars(select(ConversationLabel.label_id)
                                    .where(ConversationLabel.conversation_id == conversation.id)))
    return Facts(channel_kind=channel.kind if channel else None, channel_id=channel.id if channel else None,
                 label_ids=label_ids, session=session, conversation=conversation)


def rule_matches(conditions: dict[str, Any], facts: Facts) -> bool:
    """Whether every condition given holds (each condition is met by any of its values; none given: any
    conversation)."""
    if conditions.get("channel_kinds") and facts.channel_kind not in conditions["channel_kinds"]:
        return False
    if conditions.get("channel_ids") and facts.channel_id not in conditions["channel_ids"]:
        return False
    if conditions.get("labels") and not facts.label_ids.intersection(conditions["labels"]):
        return False
    return not (conditions.get("customer_labels")
                and not facts.customer_label_ids.intersection(conditions["customer_labels"]))


def matching_rule(session: Session, *, conversation: Conversation) -> AssignmentRule | None:
    """The first enabled rule a conversation matches."""
    facts = facts_of(session, conversation)
    for rule in list_rules(session):
        if rule.enabled and rule_matches(rule.conditions, facts):
            return rule
    return None


# Routing ------------------------------------------------------------------------------------------------


def _lock_team(session: Session, team_id: int) -> Team | None:
    return session.scalar(select(Team).where(Team.id == team_id).with_for_update(key_share=True))


def _locked_statuses(session: Session, user_ids: list[int]) -> dict[int, AgentStatus]:
    rows = session.scalars(select(AgentStatus).where(AgentStatus.user_id.in_(sorted(user_ids)))
                           .order_by(AgentStatus.user_id).with_for_update(key_share=True))
    return {status.user_id: status for status in rows}


def _takes_more(session: Session, status: AgentStatus | None, load: int) -> bool:
    if status is None or status.availability != Availability.online or load >= capacity_of(status):
        return False
    return get_user(session, user_id=status.user_id).is_active


def _turn_order(member: TeamMember) -> tuple[bool, datetime, int]:
    return (member.last_assigned_at is not None, member.last_assigned_at or utcnow(), member.user_id)


def pick_agent(session: Session, *, team_id: int) -> int | None:
    """The team's online agent under capacity whose turn it is (the one given a conversation by this team
    longest ago), marked as given one now; None when nobody can take one (helper: no commit)."""
    if _lock_team(session, team_id) is None:
        return None
    members = list(session.scalars(select(TeamMember).where(TeamMember.team_id == team_id)))
    statuses = _locked_statuses(session, [member.user_id for member in members])
    load = open_load(session, user_ids=list(statuses))
    eligible = [member for member in members
                if _takes_more(session, statuses.get(member.user_id), load.get(member.user_id, 0))]
    if not eligible:
        return None
    chosen = min(eligible, key=_turn_order)
    chosen.last_assigned_at = utcnow()
    session.flush()
    return chosen.user_id


def routing_of(session: Session, *, conversation_id: int) -> ConversationRouting | None:
    """Where a conversation was routed, if it was."""
    return session.get(ConversationRouting, conversation_id)


def route_conversation(session: Session, *, conversation_id: int) -> ConversationRouting | None:
    """Route a conversation once: labels by source and by the customer's words so far, then the first matching
    rule's team and (if the rule says so) an agent of it; None when it was routed before (helper: no commit)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or routing_of(session, conversation_id=conversation_id) is not None:
        return None
    labels.apply_source_labels(session, conversation=conversation)
    labels.apply_keyword_labels(session, conversation_id=conversation.id,
                                texts=labels.inbound_texts(session, conversation_id=conversation.id))
    rule = matching_rule(session, conversation=conversation)
    claimed = insert_new(session, ConversationRouting, keys=["conversation_id"],
                         values={"conversation_id": conversation.id, "team_id": rule.team_id if rule else None,
                                 "rule_id": rule.id if rule else None, "routed_at": utcnow()})
    if not claimed:  # routed meanwhile by another worker
        return None
    if (rule is not None and rule.assign_agent and conversation.assignee_id is None
            and conversation.status == ConversationStatus.open):
        agent_id = pick_agent(session, team_id=rule.team_id)
        if agent_id is not None:
            add_assignment(session, conversation=conversation, assignee_id=agent_id, actor=ROUTING_ACTOR)
    announce(session, kind="conversation", conversation_id=conversation.id)
    return routing_of(session, conversation_id=conversation.id)


def queue(session: Session, *, team_ids: list[int], limit: int = 100) -> list[Conversation]:
    """Open conversations of these teams that nobody holds, longest waiting first."""
    return list(session.scalars(_queue_query(team_ids).limit(limit)))


def _queue_query(team_ids: list[int]) -> Any:
    return (select(Conversation).join(ConversationRouting, ConversationRouting.conversation_id == Conversation.id)
            .where(ConversationRouting.team_id.in_(team_ids), Conversation.assignee_id.is_(None),
                   Conversation.status == ConversationStatus.open)
            .order_by(Conversation.created_at, Conversation.id))


def offer_queue(session: Session, *, user_id: int) -> int:
    """Give an online agent the oldest unassigned conversations of their teams, up to their capacity; how many
    were given (helper for the job: the worker commits)."""
    team_ids = teams_of(session, user_id=user_id)
    if not team_ids:
        return 0
    session.execute(select(Team.id).where(Team.id.in_(team_ids)).order_by(Team.id)
                    .with_for_update(key_share=True))
    status = _locked_statuses(session, [user_id]).get(user_id)
    load = open_load(session, user_ids=[user_id]).get(user_id, 0)
    if not _takes_more(session, status, load):
        return 0
    assert status is not None
    waiting = session.scalars(_queue_query(team_ids).limit(capacity_of(status) - load)
                              .with_for_update(skip_locked=True, of=Conversation, key_share=True))
    given = 0
    for conversation in waiting:
        routing = routing_of(session, conversation_id=conversation.id)
        add_assignment(session, conversation=conversation, assignee_id=user_id, actor=ROUTING_ACTOR)
        member = session.get(TeamMember, (routing.team_id if routing else 0, user_id))
        if member is not None:
            member.last_assigned_at = utcnow()
        given += 1
    session.flush()
    return given


def send_to_team(session: Session, *, conversation_id: int, team_id: int | None, assign_agent: bool,
                 actor: str) -> ConversationRouting:
    """Move a conversation to a team (or out of every team): its agent, if any, lets it go, and the team's
    available agent whose turn it is takes it (with ``assign_agent``), else it waits in the team's queue."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    if team_id is not None:
        get_team(session, team_id=team_id)
    routing = routing_of(session, conversation_id=conversation_id)
    if routing is None:
        routing = ConversationRouting(conversation_id=conversation_id, routed_at=utcnow())
        session.add(routing)
    routing.team_id, routing.rule_id, routing.routed_at = team_id, None, utcnow()
    session.flush()
    agent_id = pick_agent(session, team_id=team_id) if team_id is not None and assign_agent else None
    if conversation.assignee_id != agent_id and (team_id is not None or agent_id is not None):
        add_assignment(session, conversation=conversation, assignee_id=agent_id, actor=actor)
    audit.record(session, actor=actor, action="conversation.team", subject_type="conversation",
                 subject_id=conversation_id, detail={"team_id": team_id, "assignee_id": agent_id})
    announce(session, kind="conversation", conversation_id=conversation_id)
    session.commit()
    return routing


def teams_by_conversation(session: Session, *, conversation_ids: list[int]) -> dict[int, int | None]:
    """The team of each of these conversations (those never routed are left out)."""
    if not conversation_ids:
        return {}
    rows = session.execute(select(ConversationRouting.conversation_id, ConversationRouting.team_id)
                           .where(ConversationRouting.conversation_id.in_(conversation_ids)))
    return {int(conversation_id): team_id for conversation_id, team_id in rows}
