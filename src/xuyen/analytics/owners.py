"""The customer a row belongs to: rows keep the profile they were written with, and a profile absorbed by a
merge hands its rows to its survivor. A survivor can itself be absorbed later, so ``profiles.merged_into_id``
may name a profile that was merged in turn; ``merged_roots`` climbs each chain to its surviving root.

Use it with an outer join::

    roots = merged_roots()
    customer = owner_id(Order.profile_id, roots)
    select(customer, ...).select_from(Order).outerjoin(roots, roots.c.profile_id == Order.profile_id)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, func, literal, select

from xuyen.identity.models import Profile

MAX_CHAIN = 64  # the identity graph refuses longer merge chains


def merged_roots() -> CTE:
    """(profile_id, root_id, depth) of every absorbed profile: the surviving profile its rows now belong to."""
    start = (select(Profile.id.label("profile_id"), Profile.merged_into_id.label("root_id"),
                    literal(1).label("depth"))
             .where(Profile.merged_into_id.is_not(None))
             .cte("merged_roots", recursive=True))
    parent = select(Profile.id, Profile.merged_into_id).subquery("parent")
    climb = (select(start.c.profile_id, parent.c.merged_into_id, start.c.depth + 1)
             .join(parent, parent.c.id == start.c.root_id)
             .where(parent.c.merged_into_id.is_not(None), start.c.depth < MAX_CHAIN))
    chains = start.union_all(climb)
    deepest = (select(chains.c.profile_id, func.max(chains.c.depth).label("depth"))
               .group_by(chains.c.profile_id).subquery("deepest"))
    return (select(chains.c.profile_id, chains.c.root_id)
            .join(deepest, (deepest.c.profile_id == chains.c.profile_id) & (deepest.c.depth == chains.c.depth))
            .cte("profile_roots"))


def owner_id(profile_id: Any, roots: CTE) -> Any:
    """The customer (surviving profile id) of a row whose profile column is ``profile_id``, given ``roots``
    outer-joined on it."""
    return func.coalesce(roots.c.root_id, profile_id)
