"""Identity services for staff: read a profile and its history, look one up, review conflicts, merge by hand.

Resolution, merging and unmerging themselves live in ``graph.py``; this module reads what the graph holds
and wraps the manual operations in one transaction each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.identity import graph
from xuyen.identity.graph import MAX_MERGE_CHAIN, IdentityRules, find_profile, list_identifiers, resolve_profile_id
from xuyen.identity.models import IdentityConflict, Merge, Profile, ProfileIdentifier
from xuyen.identity.normalise import Identifier, identifier_type, normalise

VIEW_LIMIT = 100  # merges and open conflicts shown with a profile


@dataclass(frozen=True)
class ProfileView:
    """A surviving profile with its identifiers, the ids merged into it, its merges and open conflicts."""

    requested_id: int
    profile: Profile
    merged_ids: list[int]
    identifiers: list[ProfileIdentifier]
    merges: list[Merge]
    open_conflicts: list[IdentityConflict]

    @property
    def merged_into(self) -> int | None:
        """The survivor's id when the requested id was absorbed into it, else None."""
        return self.profile.id if self.requested_id != self.profile.id else None


def actor_name(principal: Principal) -> str:
    """How merges and reviews record who did them: ``user:<id>`` or ``api_key:<id>``."""
    return f"{principal.kind}:{principal.id}"


# Reading ---------------------------------------------------------------------------------------------


def merged_profile_ids(session: Session, *, profile_id: int) -> list[int]:
    """The ids of every profile merged into ``profile_id``, directly or through others, in id order."""
    return merged_profile_ids_of(session, profile_ids=[profile_id])[profile_id]


def merged_profile_ids_of(session: Session, *, profile_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each of ``profile_ids``, the ids of every profile merged into it, in id order: one query per merge
    step, however many profiles are asked about."""
    found: dict[int, list[int]] = {profile_id: [] for profile_id in profile_ids}
    top = {profile_id: profile_id for profile_id in found}  # a profile of a frontier -> the one asked about
    for _ in range(MAX_MERGE_CHAIN):
        if not top:
            break
        rows = session.execute(select(Profile.id, Profile.merged_into_id)
                               .where(Profile.merged_into_id.in_(sorted(top)))).all()
        top = {child: top[parent] for child, parent in rows if parent is not None}
        for child, asked in top.items():
            found[asked].append(child)
    return {profile_id: sorted(children) for profile_id, children in found.items()}


def get_profile_view(session: Session, *, profile_id: int) -> ProfileView:
    """The view of the profile ``profile_id`` is, or was merged into; NotFound for an unknown id."""
    root = resolve_profile_id(session, profile_id=profile_id)
    profile = session.get(Profile, root)
    assert profile is not None  # resolve_profile_id found it
    merged = merged_profile_ids(session, profile_id=root)
    cluster = [root, *merged]
    return ProfileView(requested_id=profile_id, profile=profile, merged_ids=merged,
                       identifiers=list_identifiers(session, profile_id=root),
                       merges=_merges_of(session, cluster, limit=VIEW_LIMIT),
                       open_conflicts=_conflicts_of(session, cluster, limit=VIEW_LIMIT))


def _merges_of(session: Session, profile_ids: list[int], *, limit: int) -> list[Merge]:
    """Merges in which any of the profiles survived or was absorbed, newest first."""
    query = (select(Merge).where(or_(Merge.survivor_id.in_(profile_ids), Merge.absorbed_id.in_(profile_ids)))
             .order_by(Merge.id.desc()).limit(limit))
    return list(session.scalars(query))


def _conflicts_of(session: Session, profile_ids: list[int], *, limit: int | None = None) -> list[IdentityConflict]:
    """Open conflicts that involve any of the profiles, newest first."""
    involved = or_(IdentityConflict.profile_id.in_(profile_ids), IdentityConflict.other_profile_id.in_(profile_ids))
    query = (select(IdentityConflict).where(involved, IdentityConflict.resolved_at.is_(None))
             .order_by(IdentityConflict.id.desc()).limit(limit))
    return list(session.scalars(query))


def checked_identifiers(*, type: str, value: str, scope: str | None = None) -> list[Identifier]:
    """The identifiers ``value`` gives as ``type``; ValidationFailed with the normaliser's reason if none."""
    try:
        kind = identifier_type(type)
    except ValueError as exc:
        raise ValidationFailed(f"{str(exc)[0].upper()}{str(exc)[1:]}.", code="unknown_identifier_type") from exc
    result = normalise(kind, value, scope=scope)
    if not result.identifiers:
        rejection = result.rejected[0]
        raise ValidationFailed(f"{value!r} cannot be used as a {kind}: {rejection.message}.",
                               code=rejection.reason_code, details={"type": kind, "reason": rejection.reason_code})
    return result.identifiers


def lookup_profile(session: Session, *, type: str, value: str, scope: str | None = None) -> ProfileView:
    """The view of the profile holding the identifier, given in any format; NotFound when nobody holds it."""
    identifiers = checked_identifiers(type=type, value=value, scope=scope)
    profile_id = find_profile(session, type=type, value=value, scope=scope)
    if profile_id is None:
        shown = " or ".join(_shown(identifier) for identifier in identifiers)
        raise NotFound(f"No profile holds {shown}. Check the value, or look it up as another type.",
                       code="profile_not_found", details={"type": identifiers[0].type})
    return get_profile_view(session, profile_id=profile_id)


def _shown(identifier: Identifier) -> str:
    """An identifier as people read it: ``phone +84381234567`` or ``zalo_id 42 (scope oa-1)``."""
    scope = f" (scope {identifier.scope})" if identifier.scope else ""
    return f"{identifier.type} {identifier.value}{scope}"


def list_conflicts(session: Session, *, open_only: bool = True, limit: int = 100) -> list[IdentityConflict]:
    """Identity conflicts, newest first; only the unresolved ones unless ``open_only`` is False."""
    query = select(IdentityConflict).order_by(IdentityConflict.created_at.desc(), IdentityConflict.id.desc())
    if open_only:
        query = query.where(IdentityConflict.resolved_at.is_(None))
    return list(session.scalars(query.limit(limit)))


def list_merges(session: Session, *, profile_id: int | None = None, limit: int = 100) -> list[Merge]:
    """Merges, newest first (undone ones included); with ``profile_id``, those of its profile and its parts."""
    if profile_id is None:
        return list(session.scalars(select(Merge).order_by(Merge.id.desc()).limit(limit)))
    root = resolve_profile_id(session, profile_id=profile_id)
    return _merges_of(session, [root, *merged_profile_ids(session, profile_id=root)], limit=limit)


# Reviewing and merging --------------------------------------------------------------------------------


def resolve_conflict(session: Session, *, conflict_id: int, actor: str, note: str = "") -> IdentityConflict:
    """Mark a conflict reviewed (e.g. "not the same person"), recording who did it and why."""
    conflict = _open_conflict(session, conflict_id)
    _settle(conflict, actor=actor, note=note.strip())
    session.commit()
    return conflict


def _open_conflict(session: Session, conflict_id: int) -> IdentityConflict:
    """The conflict, which must exist and still be open."""
    conflict = session.get(IdentityConflict, conflict_id)
    if conflict is None:
        raise NotFound(f"There is no identity conflict {conflict_id}. `xuyen identity conflicts` lists the open "
                       "ones.", code="conflict_not_found")
    if conflict.resolved_at is not None:
        raise Conflict(f"Identity conflict {conflict_id} was already resolved.", code="conflict_already_resolved")
    return conflict


def _settle(conflict: IdentityConflict, *, actor: str, note: str, merge_id: int | None = None) -> None:
    """Helper: mark the conflict resolved, with who, why and the merge that settled it (if any)."""
    extra: dict[str, Any] = {"resolved_by": actor, "resolution_note": note}
    if merge_id is not None:
        extra["settled_by_merge_id"] = merge_id
    conflict.details = {**(conflict.details or {}), **extra}  # a new dict, so the JSON change is saved
    conflict.resolved_at = utcnow()


def merge_profiles(session: Session, *, survivor_id: int, absorbed_id: int, actor: str, reason: str,
                   force: bool = False, conflict_id: int | None = None,
                   rules: IdentityRules | None = None) -> Merge:
    """Merge two profiles by hand within the identity rules (or past them with ``force``).

    Open conflicts between the two profiles, and ``conflict_id`` if given, are settled by the merge.
    """
    if not reason.strip():
        raise ValidationFailed("Say why the two profiles are one customer.", code="reason_required")
    named = _open_conflict(session, conflict_id) if conflict_id is not None else None
    merged = graph.merge(session, survivor_id=survivor_id, absorbed_id=absorbed_id, actor=actor,
                         reason=reason.strip(), force=force, rules=rules)
    cluster = {survivor_id, *merged_profile_ids(session, profile_id=survivor_id)}
    settled = [conflict for conflict in _conflicts_of(session, list(cluster))
               if conflict.profile_id in cluster and conflict.other_profile_id in cluster]
    if named is not None and named not in settled:
        if not {named.profile_id, named.other_profile_id} & cluster:
            raise ValidationFailed(f"Identity conflict {conflict_id} is about other profiles than these two.",
                                   code="conflict_unrelated")
        settled.append(named)
    for conflict in settled:
        _settle(conflict, actor=actor, note=f"settled by merge {merged.id}", merge_id=merged.id)
    session.commit()
    return merged


def merge_profiles_as(session: Session, *, principal: Principal, survivor_id: int, absorbed_id: int,
                      reason: str, force: bool = False, conflict_id: int | None = None) -> Merge:
    """A manual merge by a signed-in user or an API key; only owners may force one past the rules."""
    if force and not principal.can(Role.owner):
        raise PermissionDenied(f"Only an owner may force a merge past the identity rules; you are "
                               f"{principal.role.value}. Ask an owner, or merge without force.",
                               code="force_needs_owner")
    return merge_profiles(session, survivor_id=survivor_id, absorbed_id=absorbed_id, actor=actor_name(principal),
                          reason=reason, force=force, conflict_id=conflict_id)


# Erasure (used by the customers domain's privacy service) ------------------------------------------


def erase_identifiers(session: Session, *, profile_ids: list[int]) -> list[tuple[str, str, str]]:
    """Delete the profiles' identifiers and blank them out of their merges and conflicts; returns the
    erased (type, scope, value) so the caller can keep their salted hashes (helper: no commit)."""
    rows = list(session.scalars(select(ProfileIdentifier).where(ProfileIdentifier.profile_id.in_(profile_ids))))
    erased = [(row.type, row.scope, row.value) for row in rows]
    for row in rows:
        session.delete(row)
    for merge in session.scalars(select(Merge).where(or_(Merge.survivor_id.in_(profile_ids),
                                                         Merge.absorbed_id.in_(profile_ids)))):
        merge.linking_identifier = "(erased)"
        merge.reason = "(erased)"
    for conflict in _conflicts_of(session, profile_ids):
        conflict.identifier = "(erased)"
        conflict.detail = "(erased)"
        conflict.details = {}
    for conflict in session.scalars(select(IdentityConflict).where(
            or_(IdentityConflict.profile_id.in_(profile_ids), IdentityConflict.other_profile_id.in_(profile_ids)),
            IdentityConflict.resolved_at.is_not(None))):
        conflict.identifier = "(erased)"
        conflict.detail = "(erased)"
        conflict.details = {}
    session.flush()
    return erased
