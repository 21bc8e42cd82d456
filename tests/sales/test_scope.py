"""Who sees which sales records: owners and unbound managers everything, a branch manager their branch, an agent
what they own, their teams' and their branch's records; the SQL clause and the per-record check agree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, Integer, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tests.factories import make_store, make_user
from xuyen.auth.models import Role
from xuyen.auth.service import Principal, principal_for_user
from xuyen.inbox.routing.models import Team, TeamMember
from xuyen.sales.scope import scope_of, sees, visible


class _Base(DeclarativeBase):
    pass


class _Record(_Base):
    __tablename__ = "test_sales_scope_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    store_id: Mapped[int | None] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)


@pytest.fixture
def records(engine: Engine, session: Session) -> Iterator[None]:
    _Base.metadata.create_all(engine)
    yield
    session.rollback()  # the test's reads keep the table in use until their transaction ends
    _Base.metadata.drop_all(engine)


def _seen(session: Session, principal: Principal) -> list[int]:
    scope = scope_of(session, principal=principal)
    by_sql = list(session.scalars(select(_Record.id).where(
        visible(scope, owner=_Record.owner_id, store=_Record.store_id, team=_Record.team_id)).order_by(_Record.id)))
    by_check = [row.id for row in session.scalars(select(_Record).order_by(_Record.id))
                if sees(scope, owner_id=row.owner_id, store_id=row.store_id, team_id=row.team_id)]
    assert by_sql == by_check
    return by_sql


def test_each_role_sees_its_share(session: Session, records: None) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    owner = make_user(session, role=Role.owner)
    manager = make_user(session, role=Role.manager)
    branch_manager = make_user(session, role=Role.manager, store=hanoi)
    agent = make_user(session, role=Role.agent, store=hanoi)
    loner = make_user(session, role=Role.agent)
    team = Team(name="Telesales")
    session.add(team)
    session.flush()
    session.add(TeamMember(team_id=team.id, user_id=loner.id))
    session.add_all([
        _Record(id=1, owner_id=agent.id),                  # the agent's own
        _Record(id=2, store_id=hanoi.id),                  # the Hà Nội branch's
        _Record(id=3, store_id=saigon.id),                 # another branch's
        _Record(id=4, team_id=team.id, store_id=saigon.id),  # the telesales team's, in Sài Gòn
        _Record(id=5),                                     # nobody's yet
        _Record(id=6, owner_id=branch_manager.id, store_id=saigon.id),
    ])
    session.commit()
    everything = [1, 2, 3, 4, 5, 6]
    assert _seen(session, principal_for_user(owner)) == everything
    assert _seen(session, principal_for_user(manager)) == everything
    assert _seen(session, principal_for_user(branch_manager)) == [2, 6]
    assert _seen(session, principal_for_user(agent)) == [1, 2]
    assert _seen(session, principal_for_user(loner)) == [4]
    api_key = Principal(kind="api_key", id=1, name="POS", role=Role.manager, store_id=saigon.id)
    assert _seen(session, api_key) == [3, 4, 6]
    assert _seen(session, Principal(kind="api_key", id=2, name="ETL", role=Role.agent, store_id=None)) == everything
