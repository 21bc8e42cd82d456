"""Lead assignment: rules tried in order give a lead to a user or a team; inside a team the longest-waiting
member with room gets it (round-robin), and nobody is given more open leads than their capacity."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.identity.names import fold_name
from xuyen.inbox.routing.models import TeamMember
from xuyen.sales.leads.models import OPEN_STATUSES, AssignmentRule, Lead, TeamTurn

NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Assignment:
    """Who a lead goes to: a user, a team, or both (a team's member)."""

    owner_id: int | None
    team_id: int | None
    rule_id: int | None = None


def open_leads_of(session: Session, *, user_ids: Collection[int]) -> dict[int, int]:
    """How many open leads each of ``user_ids`` owns."""
    if not user_ids:
        return {}
    rows = session.execute(select(Lead.owner_id, func.count()).where(
        Lead.owner_id.in_(sorted(user_ids)), Lead.status.in_(OPEN_STATUSES)).group_by(Lead.owner_id))
    return {int(owner): int(count) for owner, count in rows if owner is not None}


def _active_users(session: Session, user_ids: Collection[int]) -> set[int]:
    if not user_ids:
        return set()
    return set(session.scalars(select(User.id).where(User.id.in_(sorted(user_ids)), User.is_active.is_(True))))


def has_room(session: Session, *, user_id: int) -> bool:
    """Whether ``user_id`` is active and owns fewer open leads than the capacity."""
    if not _active_users(session, [user_id]):
        return False
    return open_leads_of(session, user_ids=[user_id]).get(user_id, 0) < get_settings().leads_capacity_per_user


def next_in_team(session: Session, *, team_id: int, excluding: Collection[int] = ()) -> int | None:
    """The team member whose turn it is (longest since their last lead) among those with room; claims the turn."""
    members = [member for member in session.scalars(
        select(User.id).where(User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id == team_id)),
                              User.is_active.is_(True)).order_by(User.id))
        if member not in excluding]
    load = open_leads_of(session, user_ids=members)
    capacity = get_settings().leads_capacity_per_user
    with_room = [m for m in members if load.get(m, 0) < capacity]
    if not with_room:
        return None
    turns = {turn.user_id: turn for turn in session.scalars(
        select(TeamTurn).where(TeamTurn.team_id == team_id, TeamTurn.user_id.in_(with_room)))}
    chosen = min(with_room, key=lambda user: (_last_turn(turns.get(user)), user))
    turn = turns.get(chosen) or TeamTurn(team_id=team_id, user_id=chosen)
    turn.last_assigned_at = utcnow()
    session.add(turn)
    return chosen


def _last_turn(turn: TeamTurn | None) -> datetime:
    return turn.last_assigned_at if turn is not None and turn.last_assigned_at is not None else NEVER


def _text_matches(wanted: str, value: str) -> bool:
    return not wanted.strip() or fold_name(wanted) in fold_name(value)


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    """Whether every condition of ``rule`` holds for ``lead`` (an empty condition always holds)."""
    return ((rule.source is None or rule.source == lead.source)
            and (not rule.province.strip() or fold_name(rule.province) == fold_name(lead.province))
            and _text_matches(rule.product_interest, lead.product_interest)
            and (rule.team_id is None or rule.team_id == lead.team_id))


def _outcome(session: Session, rule: AssignmentRule, excluding: Collection[int]) -> Assignment | None:
    if rule.assign_user_id is not None:
        if rule.assign_user_id in excluding or not has_room(session, user_id=rule.assign_user_id):
            return None
        return Assignment(owner_id=rule.assign_user_id, team_id=rule.assign_team_id, rule_id=rule.id)
    if rule.assign_team_id is not None:
        user = next_in_team(session, team_id=rule.assign_team_id, excluding=excluding)
        return None if user is None else Assignment(owner_id=user, team_id=rule.assign_team_id, rule_id=rule.id)
    return None


def choose(session: Session, *, lead: Lead, excluding: Collection[int] = ()) -> Assignment | None:
    """The assignment the first matching rule with someone free gives ``lead``; a lead already given to a team
    with no matching rule goes round its team (helper: flushes nothing, may claim a team's turn)."""
    rules = session.scalars(select(AssignmentRule).where(AssignmentRule.active.is_(True))
                            .order_by(AssignmentRule.position, AssignmentRule.id))
    for rule in rules:
        if rule_matches(rule, lead) and (found := _outcome(session, rule, excluding)) is not None:
            return found
    if lead.team_id is not None:
        user = next_in_team(session, team_id=lead.team_id, excluding=excluding)
        if user is not None:
            return Assignment(owner_id=user, team_id=lead.team_id)
    return None
