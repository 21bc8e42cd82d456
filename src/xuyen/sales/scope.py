"""Who on the staff sees which leads, deals and tasks: the one rule every sales list, page and API applies.

- The owner, and a manager bound to no store, see everything; so does an API key bound to no store.
- A manager bound to a store (a branch) sees that branch's records and the records they own.
- An agent sees the records they own, those of the teams they belong to, and those of their branch.

A record carries the three things the rule looks at: its owner (a user), its branch (a store) and its team; any
of them may be empty, and a record with none of them is seen only by those who see everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.inbox.routing.models import TeamMember


@dataclass(frozen=True)
class SalesScope:
    """What one principal may see, worked out once per request."""

    everything: bool
    user_id: int | None = None
    store_id: int | None = None
    team_ids: frozenset[int] = frozenset()


def scope_of(session: Session, *, principal: Principal) -> SalesScope:
    """The scope of ``principal`` (reads the teams of an agent)."""
    if principal.role is Role.owner or (principal.role is Role.manager and principal.store_id is None) or (
            principal.kind == "api_key" and principal.store_id is None):
        return SalesScope(everything=True)
    user_id = principal.user_id
    teams: frozenset[int] = frozenset()
    if principal.role is Role.agent and user_id is not None:
        teams = frozenset(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))
    return SalesScope(everything=False, user_id=user_id, store_id=principal.store_id, team_ids=teams)


def visible(scope: SalesScope, *, owner: InstrumentedAttribute[int | None],
            store: InstrumentedAttribute[int | None],
            team: InstrumentedAttribute[int | None] | None = None) -> ColumnElement[bool]:
    """A WHERE clause keeping the records ``scope`` may see, given the record's owner, store and team columns."""
    if scope.everything:
        return true()
    allowed: list[ColumnElement[bool]] = []
    if scope.user_id is not None:
        allowed.append(owner == scope.user_id)
    if scope.store_id is not None:
        allowed.append(store == scope.store_id)
    if team is not None and scope.team_ids:
        allowed.append(team.in_(sorted(scope.team_ids)))
    return or_(*allowed) if allowed else false()


def sees(scope: SalesScope, *, owner_id: int | None, store_id: int | None, team_id: int | None = None) -> bool:
    """Whether ``scope`` may see one record with this owner, store and team."""
    return scope.everything or (
        (owner_id is not None and owner_id == scope.user_id)
        or (store_id is not None and store_id == scope.store_id)
        or (team_id is not None and team_id in scope.team_ids))
