"""The identity graph: resolving a call's identifiers to one profile, merging and unmerging profiles.

Resolution is deterministic: an identifier belongs to at most one profile; a call whose identifiers
point to several profiles merges them, unless the identity rules forbid it (at most one user id per
profile by default, at most five of any other type), in which case the conflict is recorded for review
and nothing is merged. The oldest profile survives a merge; the absorbed one keeps its row and points to
the survivor, so ids held by API clients keep resolving. Every merge records the identifiers it moved,
so it can be undone.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, and_, bindparam, case, column, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeEngine

from xuyen.clock import utcnow
from xuyen.db import UTCDateTime, insert_many, is_postgres, next_ids, one_of
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.models import IdentityConflict, Merge, Profile, ProfileIdentifier
from xuyen.identity.normalise import normalise
from xuyen.identity.resolution import (
    MAX_MERGE_CHAIN,
    BatchGraph,
    CallIdentity,
    IdentityRules,
    Key,
    RawIdentifier,
    key_of,
    label,
    normalised_identifiers,
    over_limit,
    resolve_call,
)
from xuyen.outbox import emit

__all__ = [
    "IDENTIFIER_LOCKS_MAX",
    "MAX_MERGE_CHAIN",
    "CallIdentity",
    "IdentityRules",
    "RawIdentifier",
    "find_profile",
    "list_identifiers",
    "merge",
    "resolve_calls",
    "resolve_profile_id",
    "resolve_profile_ids",
    "unmerge",
]

T = TypeVar("T")


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


# Reading (and, on PostgreSQL, locking) the part of the graph a batch touches ------------------------


def _load(session: Session, graph: BatchGraph, keys: set[Key]) -> None:
    """Read the batch's identifiers, their profiles and what those profiles hold.

    On PostgreSQL concurrent requests are kept apart: identifiers nobody holds yet are locked by value
    (and read again once locked, another request may just have created them), the profiles holding the
    batch's identifiers are locked by row, in id order. SQLite has one writer at a time anyway.
    """
    postgres = is_postgres(session)
    _load_identifiers(session, graph, keys, postgres=postgres)
    missing = keys - graph.owner.keys()
    if postgres and missing:
        _lock_identifiers(session, missing)
        _load_identifiers(session, graph, missing, postgres=postgres)
    _load_profiles(session, graph, set(graph.owner.values()), postgres=postgres)
    _load_counts(session, graph, {graph.root(owner) for owner in graph.owner.values()}, postgres=postgres)


def _load_identifiers(session: Session, graph: BatchGraph, keys: set[Key], *, postgres: bool) -> None:
    for chunk in _chunks(sorted(keys), 2000):
        values: dict[tuple[str, str], list[str]] = {}
        for kind, scope, value in chunk:
            values.setdefault((kind, scope), []).append(value)
        rows = session.connection().execute(
            select(ProfileIdentifier.id, ProfileIdentifier.type, ProfileIdentifier.scope, ProfileIdentifier.value,
                   ProfileIdentifier.profile_id, ProfileIdentifier.last_seen_at)
            .where(or_(*[and_(ProfileIdentifier.type == kind, ProfileIdentifier.scope == scope,
                              one_of(ProfileIdentifier.value, group, postgres=postgres))
                         for (kind, scope), group in values.items()])))
        for row_id, kind, scope, value, profile_id, last_seen in rows:
            key = (kind, scope, value)
            graph.owner[key], graph.row_ids[key] = profile_id, row_id
            graph.stored_last_seen[key] = graph.last_seen[key] = last_seen


def _load_profiles(session: Session, graph: BatchGraph, profile_ids: set[int], *, postgres: bool) -> None:
    """The profiles and, following merges, the profiles they were merged into (on PostgreSQL locked, in id
    order)."""
    wanted = profile_ids
    for _ in range(MAX_MERGE_CHAIN):
        wanted = {profile_id for profile_id in wanted if profile_id not in graph.parent}
        if not wanted:
            return
        for chunk in _chunks(sorted(wanted), 2000):
            query = (select(Profile.id, Profile.merged_into_id, Profile.first_seen_at, Profile.last_seen_at)
                     .where(one_of(Profile.id, chunk, postgres=postgres)).order_by(Profile.id))
            rows = session.connection().execute(query.with_for_update() if postgres else query)
            for profile_id, merged_into, first, last in rows:
                graph.parent[profile_id] = merged_into
                graph.stored_seen[profile_id] = (first, last)
        wanted = {merged_into for profile_id in wanted if (merged_into := graph.parent[profile_id]) is not None}
    raise RuntimeError(f"a merge chain is longer than {MAX_MERGE_CHAIN}")


def _load_counts(session: Session, graph: BatchGraph, profile_ids: set[int], *, postgres: bool) -> None:
    for chunk in _chunks(sorted(profile_ids), 2000):
        rows = session.connection().execute(
            select(ProfileIdentifier.profile_id, ProfileIdentifier.type, func.count())
            .where(one_of(ProfileIdentifier.profile_id, chunk, postgres=postgres))
            .group_by(ProfileIdentifier.profile_id, ProfileIdentifier.type))
        for profile_id, kind, count in rows:
            graph.count(profile_id)[kind] = count


# New identifiers hash into advisory locks (offset into a range of our own). A request that would take more
# than IDENTIFIER_LOCKS_MAX of them takes one exclusive lock on the whole graph instead, and every other
# request holds that one shared: PostgreSQL's lock table (max_locks_per_transaction per connection) never
# fills, however large the batch.
IDENTIFIER_LOCK_BASE = 0x5855_5945_0000_0000
IDENTIFIER_LOCK_SPACE = 1 << 32
IDENTIFIER_LOCKS_MAX = 512
GRAPH_LOCK = IDENTIFIER_LOCK_BASE - 1


def _identifier_lock_id(key: Key) -> int:
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return IDENTIFIER_LOCK_BASE + int.from_bytes(digest, "big") % IDENTIFIER_LOCK_SPACE


def _lock_identifiers(session: Session, keys: set[Key]) -> None:
    """Take a transaction lock per identifier, in one order, so that concurrent requests carrying the same
    new identifiers resolve them one after the other (no duplicate identifier, no crossed merges)."""
    lock_ids = sorted({_identifier_lock_id(key) for key in keys})
    connection = session.connection()
    if len(lock_ids) > IDENTIFIER_LOCKS_MAX:
        connection.execute(select(func.pg_advisory_xact_lock(GRAPH_LOCK)))
        return
    connection.execute(select(func.pg_advisory_xact_lock_shared(GRAPH_LOCK)))
    ids = bindparam("lock_ids", lock_ids, type_=postgresql.ARRAY(BigInteger))
    connection.execute(select(func.count()).select_from(select(func.pg_advisory_xact_lock(func.unnest(ids))).subquery()))


def resolve_calls(session: Session, *, calls: list[CallIdentity],
                  rules: IdentityRules | None = None) -> list[int | None]:
    """The profile of each call, creating, attaching and merging as the identity rules allow (helper: no commit).

    Calls are resolved in order, each seeing what the earlier ones did. The batch's part of the graph is
    read in a few queries, resolved in memory, and written in a few statements (a few more per merge).
    """
    rules = rules or IdentityRules()
    graph = BatchGraph(rules)
    normalised = [normalised_identifiers(call.raw, rules) for call in calls]
    _load(session, graph, {key_of(identifier) for identifiers in normalised for identifier in identifiers})
    resolved = [resolve_call(graph, call, identifiers) for call, identifiers in zip(calls, normalised, strict=True)]
    return _write(session, graph, resolved, calls)


# Writing what a batch resolved ------------------------------------------------------------------


def _write(session: Session, graph: BatchGraph, resolved: list[int | None],
           calls: list[CallIdentity]) -> list[int | None]:
    """Insert the new profiles and identifiers, record merges and conflicts, widen what was seen when;
    returns the database id of each call's profile."""
    seen = _seen_range(resolved, calls)
    ids = _insert_profiles(session, graph, seen)

    def real(profile_id: int) -> int:
        return ids.get(profile_id, profile_id)

    _insert_identifiers(session, graph, real)
    _record_merges(session, graph, real)
    _insert_conflicts(session, graph, real)
    _widen_seen(session, graph, seen)
    return [None if profile_id is None else real(profile_id) for profile_id in resolved]


def _seen_range(resolved: list[int | None], calls: list[CallIdentity]) -> dict[int, tuple[datetime, datetime]]:
    seen: dict[int, tuple[datetime, datetime]] = {}
    for profile_id, call in zip(resolved, calls, strict=True):
        if profile_id is None:
            continue
        first, last = seen.get(profile_id, (call.seen_at, call.seen_at))
        seen[profile_id] = (min(first, call.seen_at), max(last, call.seen_at))
    return seen


def _insert_profiles(session: Session, graph: BatchGraph, seen: dict[int, tuple[datetime, datetime]]) -> dict[int, int]:
    """Insert the batch's new profiles, oldest first; their database ids by stand-in."""
    if not graph.new_profiles:
        return {}
    now = utcnow()
    rows = [{"created_at": now, "first_seen_at": seen[stand_in][0], "last_seen_at": seen[stand_in][1]}
            for stand_in in graph.new_profiles]
    connection = session.connection()
    if not is_postgres(session):
        ids = connection.execute(insert(Profile).returning(Profile.id, sort_by_parameter_order=True),
                                 rows).scalars().all()
        return dict(zip(graph.new_profiles, ids, strict=True))
    ids = next_ids(connection, Profile, len(rows))
    insert_many(connection, Profile, [{"id": profile_id} | row for profile_id, row in zip(ids, rows, strict=True)])
    return dict(zip(graph.new_profiles, ids, strict=True))


def _insert_identifiers(session: Session, graph: BatchGraph, real: Callable[[int], int]) -> None:
    if graph.new_rows:
        insert_many(session.connection(), ProfileIdentifier, [
            {"profile_id": real(row.profile_id), "type": row.key[0], "scope": row.key[1], "value": row.key[2],
             "flags": row.flags, "source_id": row.source_id, "first_seen_at": row.first_seen_at,
             "last_seen_at": graph.last_seen[row.key]} for row in graph.new_rows])


def _record_merges(session: Session, graph: BatchGraph, real: Callable[[int], int]) -> None:
    """Move each absorbed profile's identifiers to its survivor, in the order the batch merged them."""
    if not graph.merges:
        return
    now = utcnow()
    records = []
    for planned in graph.merges:
        survivor, absorbed = real(planned.survivor), real(planned.absorbed)
        records.append({"survivor_id": survivor, "absorbed_id": absorbed, "linking_identifier": label(planned.key),
                        "reason": f"both profiles carry {label(planned.key)}",
                        "event_message_id": planned.message_id, "actor": "system",
                        "moved_identifier_ids": _move_identifiers(session, survivor=survivor, absorbed=absorbed),
                        "created_at": now})
    merge_ids = session.connection().execute(insert(Merge).returning(Merge.id, sort_by_parameter_order=True),
                                             records).scalars().all()
    for planned, merge_id in zip(graph.merges, merge_ids, strict=True):
        _announce_merge(session, survivor=real(planned.survivor), absorbed=real(planned.absorbed), merge_id=merge_id,
                        actor="system")


def _move_identifiers(session: Session, *, survivor: int, absorbed: int) -> list[int]:
    """Give the absorbed profile's identifiers to the survivor and point it there; the moved identifiers' ids."""
    moved = session.scalars(update(ProfileIdentifier).where(ProfileIdentifier.profile_id == absorbed)
                            .values(profile_id=survivor).returning(ProfileIdentifier.id)).all()
    session.execute(update(Profile).where(Profile.id == absorbed).values(merged_into_id=survivor))
    return sorted(moved)


def _announce_merge(session: Session, *, survivor: int, absorbed: int, merge_id: int, actor: str) -> None:
    emit(session, topic="profile.merged", aggregate_type="profile", aggregate_id=survivor,
         payload={"survivor_id": survivor, "absorbed_id": absorbed, "merge_id": merge_id, "actor": actor})


def _insert_conflicts(session: Session, graph: BatchGraph, real: Callable[[int], int]) -> None:
    if graph.conflicts:
        now = utcnow()
        session.connection().execute(insert(IdentityConflict), [
            {"profile_id": real(conflict.profile_id),
             "other_profile_id": None if conflict.other is None else real(conflict.other),
             "identifier": label(conflict.key), "rule": conflict.rule, "detail": conflict.detail,
             "event_message_id": conflict.message_id, "details": {}, "created_at": now}
            for conflict in graph.conflicts])


def _widen_seen(session: Session, graph: BatchGraph, seen: dict[int, tuple[datetime, datetime]]) -> None:
    """Widen the first/last seen of existing profiles and the last seen of existing identifiers, where the
    batch widens them; the statements never narrow a range, whatever a concurrent request wrote meanwhile."""
    identifiers = sorted((graph.row_ids[key], last) for key, last in graph.last_seen.items()
                         if key in graph.row_ids and last > graph.stored_last_seen[key])
    profiles = sorted((profile_id, first, last) for profile_id, (first, last) in seen.items()
                      if profile_id > 0 and (first < graph.stored_seen[profile_id][0]
                                             or last > graph.stored_seen[profile_id][1]))
    connection, postgres = session.connection(), is_postgres(session)
    if identifiers:
        new, params = _new_values(identifiers, {"row_id": BigInteger(), "last": UTCDateTime()}, postgres=postgres)
        connection.execute(update(ProfileIdentifier).where(ProfileIdentifier.id == new["row_id"])
                           .values(last_seen_at=_later(ProfileIdentifier.last_seen_at, new["last"])), params)
    if profiles:
        new, params = _new_values(profiles, {"row_id": BigInteger(), "first": UTCDateTime(), "last": UTCDateTime()},
                                  postgres=postgres)
        connection.execute(update(Profile).where(Profile.id == new["row_id"])
                           .values(first_seen_at=_earlier(Profile.first_seen_at, new["first"]),
                                   last_seen_at=_later(Profile.last_seen_at, new["last"])), params)


def _new_values(rows: list[tuple[Any, ...]], types: dict[str, TypeEngine[Any]], *,
                postgres: bool) -> tuple[dict[str, ColumnElement[Any]], list[dict[str, Any]] | None]:
    """Where an UPDATE of many rows takes each row's values from, and the parameters to execute it with: on
    PostgreSQL one statement joining the rows to arrays (unnest), elsewhere one execution per row."""
    if postgres:
        arrays = [bindparam(None, [row[index] for row in rows], type_=postgresql.ARRAY(kind))
                  for index, kind in enumerate(types.values())]
        table = func.unnest(*arrays).table_valued(*[column(name, kind) for name, kind in types.items()])
        derived = table.render_derived()  # AS anon_1(row_id, …)
        return {name: derived.c[name] for name in types}, None
    parameters = [dict(zip(types, row, strict=True)) for row in rows]
    return {name: bindparam(name, type_=kind) for name, kind in types.items()}, parameters


def _later(stored: InstrumentedAttribute[datetime], value: ColumnElement[datetime]) -> ColumnElement[datetime]:
    return case((stored < value, value), else_=stored)


def _earlier(stored: InstrumentedAttribute[datetime], value: ColumnElement[datetime]) -> ColumnElement[datetime]:
    return case((stored > value, value), else_=stored)


# Reading and undoing -------------------------------------------------------------------------------


def resolve_profile_id(session: Session, *, profile_id: int) -> int:
    """The surviving profile that ``profile_id`` is, or was merged into."""
    return resolve_profile_ids(session, profile_ids=[profile_id])[profile_id]


def resolve_profile_ids(session: Session, *, profile_ids: Collection[int]) -> dict[int, int]:
    """The surviving profile that each of ``profile_ids`` is, or was merged into: one query per merge step."""
    survivors = {profile_id: profile_id for profile_id in profile_ids}
    settled: set[int] = set()
    for _ in range(MAX_MERGE_CHAIN):
        asked = set(survivors.values()) - settled
        if not asked:
            return survivors
        following = dict(session.execute(select(Profile.id, Profile.merged_into_id)
                                         .where(Profile.id.in_(sorted(asked)))).all())
        if missing := asked - following.keys():
            raise NotFound(f"There is no profile {min(missing)}.", code="profile_not_found")
        settled |= {profile_id for profile_id in asked if following[profile_id] is None}
        survivors = {start: following.get(now) or now for start, now in survivors.items()}
    raise RuntimeError(f"a merge chain among profiles {sorted(profile_ids)[:5]} is longer than {MAX_MERGE_CHAIN}")


def find_profile(session: Session, *, type: str, value: str, scope: str | None = None) -> int | None:
    """The surviving profile that holds the identifier, after normalising it; None when nobody does."""
    result = normalise(type, value, scope=scope)
    for identifier in result.identifiers:
        owner = session.scalar(select(ProfileIdentifier.profile_id).where(
            ProfileIdentifier.type == identifier.type, ProfileIdentifier.scope == (identifier.scope or ""),
            ProfileIdentifier.value == identifier.value))
        if owner is not None:
            return resolve_profile_id(session, profile_id=owner)
    return None


def list_identifiers(session: Session, *, profile_id: int) -> list[ProfileIdentifier]:
    """The identifiers of a profile (after following merges), by type and value."""
    root = resolve_profile_id(session, profile_id=profile_id)
    return list(session.scalars(select(ProfileIdentifier).where(ProfileIdentifier.profile_id == root)
                                .order_by(ProfileIdentifier.type, ProfileIdentifier.value)))


def unmerge(session: Session, *, merge_id: int, actor: str) -> Merge:
    """Undo a merge: the absorbed profile gets back the identifiers it brought, and stands alone again."""
    merge = session.get(Merge, merge_id)
    if merge is None:
        raise NotFound(f"There is no merge {merge_id}.", code="merge_not_found")
    if merge.undone_at is not None:
        raise Conflict(f"Merge {merge_id} was already undone.", code="merge_already_undone")
    later = session.scalar(select(Merge.id).where(Merge.absorbed_id == merge.survivor_id, Merge.undone_at.is_(None),
                                                  Merge.id > merge.id))
    if later is not None:
        raise Conflict(f"Profile {merge.survivor_id} was itself merged later (merge {later}); undo that first.",
                       code="merge_not_last")
    if merge.moved_identifier_ids:
        session.execute(update(ProfileIdentifier)
                        .where(ProfileIdentifier.id.in_(merge.moved_identifier_ids),
                               ProfileIdentifier.profile_id == merge.survivor_id)
                        .values(profile_id=merge.absorbed_id).execution_options(synchronize_session="fetch"))
    session.execute(update(Profile).where(Profile.id == merge.absorbed_id).values(merged_into_id=None)
                    .execution_options(synchronize_session="fetch"))
    merge.undone_at = utcnow()
    returned = session.execute(select(ProfileIdentifier.type, ProfileIdentifier.scope, ProfileIdentifier.value)
                               .where(ProfileIdentifier.id.in_(merge.moved_identifier_ids or [-1]))).all()
    emit(session, topic="profile.unmerged", aggregate_type="profile", aggregate_id=merge.survivor_id,
         payload={"survivor_id": merge.survivor_id, "absorbed_id": merge.absorbed_id, "merge_id": merge.id,
                  "merged_at": merge.created_at.isoformat(), "actor": actor,
                  "identifiers": [{"type": kind, "scope": scope, "value": value} for kind, scope, value in returned]})
    session.commit()
    return merge


# Manual merges by staff (used by xuyen.identity.service) -------------------------------------------

_MANUAL: Key = ("manual", "", "")


def merge(session: Session, *, survivor_id: int, absorbed_id: int, actor: str, reason: str, force: bool = False,
          rules: IdentityRules | None = None) -> Merge:
    """Merge one surviving profile into another as staff asked, within the identity rules (helper: no commit).

    Both must be surviving profiles and different ones. A merge that would give the survivor more
    identifiers of a type than the rules allow is refused (``merge_breaks_rules``) unless ``force``.
    """
    if survivor_id == absorbed_id:
        raise ValidationFailed(f"Profile {survivor_id} cannot be merged into itself; give two different profiles.",
                               code="same_profile")
    _lock_profiles(session, [survivor_id, absorbed_id])
    rules = rules or IdentityRules()
    for profile_id in (survivor_id, absorbed_id):
        _require_root(session, profile_id)
    counts = {profile_id: _identifier_counts(session, profile_id) for profile_id in (survivor_id, absorbed_id)}
    breaking = over_limit(rules, counts[survivor_id] + counts[absorbed_id])
    if breaking is not None and not force:
        raise _breaks_rules(rules, survivor_id, counts, breaking)
    moved = _move_identifiers(session, survivor=survivor_id, absorbed=absorbed_id)
    recorded = Merge(survivor_id=survivor_id, absorbed_id=absorbed_id, linking_identifier="", reason=reason,
                     event_message_id=None, actor=actor, moved_identifier_ids=moved, created_at=utcnow())
    session.add(recorded)
    session.flush()
    _announce_merge(session, survivor=survivor_id, absorbed=absorbed_id, merge_id=recorded.id, actor=actor)
    return recorded


def _identifier_counts(session: Session, profile_id: int) -> Counter[str]:
    return Counter(session.scalars(select(ProfileIdentifier.type).where(ProfileIdentifier.profile_id == profile_id)))


def _lock_profiles(session: Session, profile_ids: list[int]) -> None:
    """Lock the profiles' rows (in id order, so two merges never deadlock); NotFound for a missing one."""
    query = (select(Profile.id).where(Profile.id.in_(profile_ids)).order_by(Profile.id).with_for_update())
    found = set(session.scalars(query))
    for profile_id in profile_ids:
        if profile_id not in found:
            raise NotFound(f"There is no profile {profile_id}.", code="profile_not_found")


def _require_root(session: Session, profile_id: int) -> None:
    """Refuse a profile that was merged into another: the merge must name the survivor."""
    root = resolve_profile_id(session, profile_id=profile_id)
    if root != profile_id:
        raise Conflict(f"Profile {profile_id} was already merged into profile {root}; merge with profile {root} "
                       "instead, or undo that merge first.", code="profile_already_merged",
                       details={"profile_id": profile_id, "merged_into": root})


def _breaks_rules(rules: IdentityRules, survivor_id: int, counts: dict[int, Counter[str]], kind: str) -> Conflict:
    """The refusal of a merge that would give one profile too many identifiers of ``kind``."""
    total = sum(count[kind] for count in counts.values())
    limit = rules.limit(kind)
    return Conflict(f"Merging would give profile {survivor_id} {total} {kind} identifiers, but the identity rules "
                    f"allow at most {limit}. Check that both are the same person; an owner can then merge with "
                    "force.", code="merge_breaks_rules", details={"type": kind, "limit": limit, "total": total})
