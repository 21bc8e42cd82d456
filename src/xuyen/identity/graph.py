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
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.models import IdentityConflict, Merge, Profile, ProfileIdentifier
from xuyen.identity.normalise import BlockList, Identifier, normalise
from xuyen.outbox import emit

MAX_MERGE_CHAIN = 64
T = TypeVar("T")

# Which identifier decides, when a call's identifiers point to different profiles: the first found.
DEFAULT_PRIORITY: tuple[str, ...] = (
    "user_id", "email", "phone", "loyalty_card", "zalo_id", "facebook_psid", "whatsapp_id",
    "marketplace_buyer_id", "anonymous_id",
)


@dataclass(frozen=True)
class IdentityRules:
    """Per-type limits that stop over-merging, the priority of types, and values never used to link."""

    max_per_profile: dict[str, int] = field(default_factory=lambda: {"user_id": 1})
    default_max: int = 5
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    block_list: BlockList = field(default_factory=BlockList)

    def limit(self, identifier_type: str) -> int:
        """How many identifiers of this type one profile may hold."""
        return self.max_per_profile.get(identifier_type, self.default_max)

    def rank(self, identifier_type: str) -> int:
        """Lower ranks decide first; unlisted (custom) types come after the listed ones."""
        return self.priority.index(identifier_type) if identifier_type in self.priority else len(self.priority)


@dataclass(frozen=True)
class RawIdentifier:
    """An identifier as a call carried it, before normalisation."""

    type: str
    value: str
    scope: str | None = None


@dataclass
class CallIdentity:
    """What resolution needs to know about one call."""

    raw: list[RawIdentifier]
    seen_at: datetime
    source_id: int | None = None
    message_id: str | None = None


Key = tuple[str, str, str]


def _key(identifier: Identifier) -> Key:
    return (identifier.type, identifier.scope or "", identifier.value)


def _label(key: Key) -> str:
    kind, scope, value = key
    return f"{kind}:{scope}:{value}" if scope else f"{kind}:{value}"


def normalised_identifiers(raw: list[RawIdentifier], rules: IdentityRules) -> list[Identifier]:
    """The call's identifiers, normalised, without blocked values or duplicates, by priority."""
    seen: dict[Key, Identifier] = {}
    for item in raw:
        result = normalise(item.type, item.value, scope=item.scope, block_list=rules.block_list)
        for identifier in result.identifiers:
            seen.setdefault(_key(identifier), identifier)
    return sorted(seen.values(), key=lambda ident: rules.rank(ident.type))


class _Graph:
    """The part of the graph one batch touches, loaded once and kept up to date in memory."""

    def __init__(self, session: Session, rules: IdentityRules) -> None:
        self.session = session
        self.rules = rules
        self.owner: dict[Key, int] = {}
        self.rows: dict[Key, ProfileIdentifier] = {}
        self.parent: dict[int, int | None] = {}
        self.counts: dict[int, Counter[str]] = {}
        self.locked: set[int] = set()
        self.postgres = is_postgres(session)
        # New profiles wait with a negative stand-in id and are inserted together at the end of the batch
        # (one INSERT instead of a flush per profile); those a merge or conflict must name are inserted early.
        self.pending: dict[int, Profile] = {}
        self.pending_rows: dict[int, list[ProfileIdentifier]] = {}
        self.real_ids: dict[int, int] = {}

    def new_profile(self, seen_at: datetime) -> int:
        """A stand-in id for a profile that will be inserted with the rest of the batch."""
        stand_in = -(len(self.pending) + len(self.real_ids) + 1)
        self.pending[stand_in] = Profile(created_at=utcnow(), first_seen_at=seen_at, last_seen_at=seen_at)
        self.pending_rows[stand_in] = []
        self.parent[stand_in] = None
        self.counts[stand_in] = Counter()
        return stand_in

    def add_row(self, row: ProfileIdentifier) -> None:
        """Add an identifier row now, or with its profile when that profile is still pending."""
        row.profile_id = self.current(row.profile_id)
        if row.profile_id < 0:
            self.pending_rows[row.profile_id].append(row)
        else:
            self.session.add(row)

    def real(self, profile_id: int) -> int:
        """The database id of ``profile_id``, inserting the profile now if it is still pending."""
        profile_id = self.current(profile_id)
        if profile_id >= 0:
            return profile_id
        if profile_id in self.real_ids:
            return self.real_ids[profile_id]
        self._insert([profile_id])
        return self.real_ids[profile_id]

    def insert_pending(self) -> None:
        """Insert every pending profile and its identifiers."""
        self._insert(list(self.pending))

    def _insert(self, stand_ins: list[int]) -> None:
        if not stand_ins:
            return
        profiles = [self.pending[stand_in] for stand_in in stand_ins]
        self.session.add_all(profiles)
        self.session.flush()
        for stand_in, profile in zip(stand_ins, profiles, strict=True):
            self._rename(stand_in, profile.id)
            for row in self.pending_rows.pop(stand_in):
                row.profile_id = profile.id
                self.session.add(row)
            del self.pending[stand_in]

    def _rename(self, stand_in: int, real_id: int) -> None:
        self.real_ids[stand_in] = real_id
        for key, owner in self.owner.items():
            if owner == stand_in:
                self.owner[key] = real_id
        self.parent[real_id] = self.parent.pop(stand_in)
        self.counts[real_id] = self.counts.pop(stand_in)

    def current(self, profile_id: int) -> int:
        """``profile_id``, or the database id it got if it was a stand-in already inserted."""
        return self.real_ids.get(profile_id, profile_id)

    def real_many(self, profile_ids: list[int]) -> list[int]:
        """The database ids of several profiles, inserting pending ones in the order they were created."""
        waiting = sorted({self.current(p) for p in profile_ids if self.current(p) < 0}, reverse=True)
        self._insert(waiting)
        return [self.real(self.current(p)) for p in profile_ids]

    def final_id(self, profile_id: int | None) -> int | None:
        """The database id a resolved call ends with."""
        if profile_id is None or profile_id >= 0:
            return profile_id
        return self.real_ids[profile_id]

    def load(self, keys: set[Key]) -> None:
        if not keys:
            return
        by_kind: dict[tuple[str, str], list[str]] = {}
        for kind, scope, value in keys:
            by_kind.setdefault((kind, scope), []).append(value)
        for (kind, scope), values in sorted(by_kind.items()):
            for chunk in _chunks(sorted(values), 1000):
                self._load_chunk(kind, scope, chunk)
        self._load_parents(sorted(set(self.owner.values()) - set(self.parent)))

    def _load_parents(self, profile_ids: list[int]) -> None:
        """Where the owning profiles were merged to, in one query per thousand instead of one each."""
        for chunk in _chunks(profile_ids, 1000):
            rows = self.session.execute(select(Profile.id, Profile.merged_into_id).where(Profile.id.in_(chunk)))
            self.parent.update({profile_id: merged_into for profile_id, merged_into in rows})

    def _load_chunk(self, kind: str, scope: str, values: list[str]) -> None:
        rows = self.session.scalars(select(ProfileIdentifier).where(
            ProfileIdentifier.type == kind, ProfileIdentifier.scope == scope, ProfileIdentifier.value.in_(values)))
        for row in rows:
            key = (row.type, row.scope, row.value)
            self.rows[key] = row
            self.owner[key] = row.profile_id

    def root(self, profile_id: int) -> int:
        current = self.current(profile_id)
        for _ in range(MAX_MERGE_CHAIN):
            if current not in self.parent:
                self.parent[current] = self.session.scalar(
                    select(Profile.merged_into_id).where(Profile.id == current))
            following = self.parent[current]
            if following is None:
                return current
            current = following
        raise RuntimeError(f"merge chain from profile {profile_id} is longer than {MAX_MERGE_CHAIN}")

    def lock_roots(self, profile_ids: list[int]) -> None:
        """Lock the profiles (in id order, against deadlocks) so concurrent requests cannot change them
        under this one; on PostgreSQL only, SQLite has one writer anyway. A profile merged meanwhile is
        followed to its survivor."""
        if not self.postgres:
            return
        pending = sorted({self.root(profile_id) for profile_id in profile_ids} - self.locked)
        while pending:
            current = pending.pop(0)
            if current < 0:
                continue  # created in this batch: nobody else can see it
            merged_into = self.session.scalar(
                select(Profile.merged_into_id).where(Profile.id == current).with_for_update())
            self.locked.add(current)
            if merged_into is not None:  # merged by a request that committed while we waited
                self.parent[current] = merged_into
                self.counts.pop(current, None)
                pending = sorted(set(pending) | ({self.root(merged_into)} - self.locked))

    def count(self, profile_id: int) -> Counter[str]:
        profile_id = self.current(profile_id)
        if profile_id not in self.counts:
            rows = self.session.execute(select(ProfileIdentifier.type).where(
                ProfileIdentifier.profile_id == profile_id)).scalars()
            self.counts[profile_id] = Counter(rows)
        return self.counts[profile_id]


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _new_profile(graph: _Graph, seen_at: datetime) -> int:
    return graph.new_profile(seen_at)


def _conflict(graph: _Graph, *, profile_id: int, other: int | None, key: Key, rule: str, detail: str,
              call: CallIdentity) -> None:
    profile_id = graph.real(profile_id)
    other = graph.real(other) if other is not None else None
    graph.session.add(IdentityConflict(profile_id=profile_id, other_profile_id=other, identifier=_label(key),
                                       rule=rule, detail=detail, event_message_id=call.message_id,
                                       created_at=utcnow()))


def _attach(graph: _Graph, profile_id: int, identifier: Identifier, call: CallIdentity) -> None:
    key = _key(identifier)
    counts = graph.count(profile_id)
    if counts[identifier.type] >= graph.rules.limit(identifier.type):
        _conflict(graph, profile_id=profile_id, other=None, key=key, rule="max_per_profile",
                  detail=f"the profile already has {counts[identifier.type]} {identifier.type} identifier(s), "
                         f"the most allowed", call=call)
        return
    row = ProfileIdentifier(profile_id=profile_id, type=key[0], scope=key[1], value=key[2],
                            flags=sorted(identifier.flags), source_id=call.source_id,
                            first_seen_at=call.seen_at, last_seen_at=call.seen_at)
    graph.add_row(row)
    graph.rows[key] = row
    graph.owner[key] = profile_id
    counts[identifier.type] += 1


def _merge_allowed(graph: _Graph, survivor: int, absorbed: int) -> str | None:
    combined = graph.count(survivor) + graph.count(absorbed)
    for kind, total in combined.items():
        if total > graph.rules.limit(kind):
            return kind
    return None


def _merge(graph: _Graph, *, survivor: int, absorbed: int, key: Key, call: CallIdentity, actor: str) -> Merge:
    session = graph.session
    session.flush()
    moved = list(session.scalars(select(ProfileIdentifier.id).where(ProfileIdentifier.profile_id == absorbed)))
    session.execute(update(ProfileIdentifier).where(ProfileIdentifier.profile_id == absorbed)
                    .values(profile_id=survivor).execution_options(synchronize_session="fetch"))
    session.execute(update(Profile).where(Profile.id == absorbed).values(merged_into_id=survivor)
                    .execution_options(synchronize_session="fetch"))
    for row_key, owner in list(graph.owner.items()):
        if owner == absorbed:
            graph.owner[row_key] = survivor
    graph.parent[absorbed] = survivor
    graph.counts[survivor] = graph.count(survivor) + graph.count(absorbed)
    graph.counts[absorbed] = Counter()
    merge = Merge(survivor_id=survivor, absorbed_id=absorbed, linking_identifier=_label(key),
                  reason=f"both profiles carry {_label(key)}", event_message_id=call.message_id, actor=actor,
                  moved_identifier_ids=moved, created_at=utcnow())
    session.add(merge)
    session.flush()
    emit(session, topic="profile.merged", aggregate_type="profile", aggregate_id=survivor,
         payload={"survivor_id": survivor, "absorbed_id": absorbed, "merge_id": merge.id, "actor": actor})
    return merge


def _owners(graph: _Graph, identifiers: list[Identifier]) -> list[tuple[int, Key]]:
    """The distinct profiles the identifiers already belong to, in the identifiers' priority order."""
    owners: list[tuple[int, Key]] = []
    for identifier in identifiers:
        key = _key(identifier)
        if key in graph.owner:
            root = graph.root(graph.owner[key])
            if all(root != owner for owner, _ in owners):
                owners.append((root, key))
    return owners


def _stronger_misfit(graph: _Graph, target: int, link: Key, identifiers: list[Identifier]) -> Identifier | None:
    """A new identifier ranking above the link that the target cannot take (its type is full there).

    Such a call is someone else who shares the weaker identifier (a family phone, a shop e-mail).
    """
    link_rank = graph.rules.rank(link[0])
    for identifier in identifiers:
        if graph.rules.rank(identifier.type) >= link_rank:
            return None
        full = graph.count(target)[identifier.type] >= graph.rules.limit(identifier.type)
        if _key(identifier) not in graph.owner and full:
            return identifier
    return None


def _merge_into(graph: _Graph, target: int, others: list[tuple[int, Key]], call: CallIdentity) -> int:
    for other, key in others:
        survivor, absorbed = sorted(graph.real_many([graph.root(target), other]))
        blocked_by = _merge_allowed(graph, survivor, absorbed)
        if blocked_by:
            _conflict(graph, profile_id=target, other=other, key=key, rule="max_per_profile",
                      detail=f"merging would give one profile more than {graph.rules.limit(blocked_by)} "
                             f"{blocked_by} identifier(s)", call=call)
            continue
        _merge(graph, survivor=survivor, absorbed=absorbed, key=key, call=call, actor="system")
        target = survivor
    return target


def _resolve_call(graph: _Graph, call: CallIdentity, identifiers: list[Identifier]) -> int | None:
    if not identifiers:
        return None
    owners = _owners(graph, identifiers)
    if owners and graph.postgres:
        graph.lock_roots([owner for owner, _ in owners])
        owners = _owners(graph, identifiers)
    target: int | None = None
    while owners and target is None:
        candidate, link = owners.pop(0)
        misfit = _stronger_misfit(graph, candidate, link, identifiers)
        if misfit is None:
            target = _merge_into(graph, candidate, owners, call)
        else:  # the link is shared with someone else: try the call's other profiles, or start a new one
            _conflict(graph, profile_id=candidate, other=None, key=link, rule="shared_identifier",
                      detail=f"{_label(link)} belongs to profile {candidate}, which already has a {misfit.type}; "
                             f"the call with {misfit.type} {misfit.value} is someone else", call=call)
    if target is None:
        target = _new_profile(graph, call.seen_at)
    for identifier in identifiers:
        key = _key(identifier)
        if key not in graph.owner:
            _attach(graph, target, identifier, call)
        elif key in graph.rows:
            graph.rows[key].last_seen_at = max(graph.rows[key].last_seen_at, call.seen_at)
    return target


def resolve_calls(session: Session, *, calls: list[CallIdentity],
                  rules: IdentityRules | None = None) -> list[int | None]:
    """The profile of each call, creating, attaching and merging as the identity rules allow (helper: no commit).

    Calls are resolved in order, each seeing what the earlier ones did.
    """
    rules = rules or IdentityRules()
    graph = _Graph(session, rules)
    normalised = [normalised_identifiers(call.raw, rules) for call in calls]
    keys = {_key(identifier) for identifiers in normalised for identifier in identifiers}
    _lock_identifiers(session, keys)
    graph.load(keys)
    resolved = [_resolve_call(graph, call, identifiers) for call, identifiers in zip(calls, normalised, strict=True)]
    current = [graph.current(profile_id) if profile_id is not None else None for profile_id in resolved]
    seen = _seen_range(current, calls)
    _touch_pending(graph, seen)
    graph.insert_pending()
    _touch_existing(session, {profile_id: span for profile_id, span in seen.items() if profile_id > 0})
    profiles = [graph.final_id(profile_id) for profile_id in resolved]
    session.flush()
    return profiles


# Identifiers hash into this many advisory locks (offset into a range of our own): a batch takes at most
# this many, within PostgreSQL's lock table however large the batch; a shared bucket only serialises more.
IDENTIFIER_LOCK_BUCKETS = 1024
IDENTIFIER_LOCK_BASE = 0x58_5559_454E_0000


def _identifier_lock_id(key: Key) -> int:
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return IDENTIFIER_LOCK_BASE + int.from_bytes(digest, "big") % IDENTIFIER_LOCK_BUCKETS


def _lock_identifiers(session: Session, keys: set[Key]) -> None:
    """On PostgreSQL, take a transaction lock per identifier, in one order, so that concurrent requests
    carrying the same identifiers resolve them one after the other (no duplicate identifier, no
    crossed merges); SQLite has one writer anyway."""
    if not keys or not is_postgres(session):
        return
    lock_ids = sorted({_identifier_lock_id(key) for key in keys})
    session.execute(select(func.count()).select_from(
        select(func.pg_advisory_xact_lock(func.unnest(postgresql.array(lock_ids)))).subquery()))


def _seen_range(resolved: list[int | None], calls: list[CallIdentity]) -> dict[int, tuple[datetime, datetime]]:
    seen: dict[int, tuple[datetime, datetime]] = {}
    for profile_id, call in zip(resolved, calls, strict=True):
        if profile_id is None:
            continue
        first, last = seen.get(profile_id, (call.seen_at, call.seen_at))
        seen[profile_id] = (min(first, call.seen_at), max(last, call.seen_at))
    return seen


def _touch_pending(graph: _Graph, seen: dict[int, tuple[datetime, datetime]]) -> None:
    """Give profiles created in this batch the first and last time any of its calls saw them."""
    for stand_in, profile in graph.pending.items():
        if stand_in in seen:
            profile.first_seen_at, profile.last_seen_at = seen[stand_in]


def _touch_existing(session: Session, seen: dict[int, tuple[datetime, datetime]]) -> None:
    """Widen the seen range of profiles that existed before this batch, where the batch widens it."""
    existing = [profile_id for profile_id in seen if profile_id > 0]
    if not existing:
        return
    for profile in session.scalars(select(Profile).where(Profile.id.in_(existing))):
        first, last = seen[profile.id]
        if first < profile.first_seen_at:
            profile.first_seen_at = first
        if last > profile.last_seen_at:
            profile.last_seen_at = last


# Reading and undoing -------------------------------------------------------------------------------


def resolve_profile_id(session: Session, *, profile_id: int) -> int:
    """The surviving profile that ``profile_id`` is, or was merged into."""
    graph = _Graph(session, IdentityRules())
    if session.get(Profile, profile_id) is None:
        raise NotFound(f"There is no profile {profile_id}.", code="profile_not_found")
    return graph.root(profile_id)


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
    graph = _Graph(session, rules or IdentityRules())
    for profile_id in (survivor_id, absorbed_id):
        _require_root(graph, profile_id)
    breaking = _merge_allowed(graph, survivor_id, absorbed_id)
    if breaking is not None and not force:
        raise _breaks_rules(graph, survivor_id, absorbed_id, breaking)
    recorded = _merge(graph, survivor=survivor_id, absorbed=absorbed_id, key=_MANUAL,
                      call=CallIdentity(raw=[], seen_at=utcnow()), actor=actor)
    recorded.reason = reason  # _merge words the reason after a linking identifier; a manual merge has none
    recorded.linking_identifier = ""
    return recorded


def _lock_profiles(session: Session, profile_ids: list[int]) -> None:
    """Lock the profiles' rows (in id order, so two merges never deadlock); NotFound for a missing one."""
    query = (select(Profile.id).where(Profile.id.in_(profile_ids)).order_by(Profile.id).with_for_update())
    found = set(session.scalars(query))
    for profile_id in profile_ids:
        if profile_id not in found:
            raise NotFound(f"There is no profile {profile_id}.", code="profile_not_found")


def _require_root(graph: _Graph, profile_id: int) -> None:
    """Refuse a profile that was merged into another: the merge must name the survivor."""
    root = graph.root(profile_id)
    if root != profile_id:
        raise Conflict(f"Profile {profile_id} was already merged into profile {root}; merge with profile {root} "
                       "instead, or undo that merge first.", code="profile_already_merged",
                       details={"profile_id": profile_id, "merged_into": root})


def _breaks_rules(graph: _Graph, survivor_id: int, absorbed_id: int, kind: str) -> Conflict:
    """The refusal of a merge that would give one profile too many identifiers of ``kind``."""
    total = graph.count(survivor_id)[kind] + graph.count(absorbed_id)[kind]
    limit = graph.rules.limit(kind)
    return Conflict(f"Merging would give profile {survivor_id} {total} {kind} identifiers, but the identity rules "
                    f"allow at most {limit}. Check that both are the same person; an owner can then merge with "
                    "force.", code="merge_breaks_rules", details={"type": kind, "limit": limit, "total": total})
