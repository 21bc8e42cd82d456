"""Resolving a batch's calls in memory: the identity rules, the part of the graph a batch touches, and the
decisions each call leads to (attach an identifier, merge profiles, record a conflict, start a profile).

Pure: ``xuyen.identity.graph`` reads the graph before and writes the decisions after.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from xuyen.identity.normalise import BlockList, Identifier, normalise

MAX_MERGE_CHAIN = 64

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


def key_of(identifier: Identifier) -> Key:
    """The identifier as the graph keys it: type, scope ("" for none), value."""
    return (identifier.type, identifier.scope or "", identifier.value)


def label(key: Key) -> str:
    """How merges and conflicts name an identifier: ``type:value`` or ``type:scope:value``."""
    kind, scope, value = key
    return f"{kind}:{scope}:{value}" if scope else f"{kind}:{value}"


def normalised_identifiers(raw: list[RawIdentifier], rules: IdentityRules) -> list[Identifier]:
    """The call's identifiers, normalised, without blocked values or duplicates, by priority."""
    seen: dict[Key, Identifier] = {}
    for item in raw:
        result = normalise(item.type, item.value, scope=item.scope, block_list=rules.block_list)
        for identifier in result.identifiers:
            seen.setdefault(key_of(identifier), identifier)
    return sorted(seen.values(), key=lambda ident: rules.rank(ident.type))


@dataclass(frozen=True)
class NewIdentifier:
    """An identifier the batch attaches to a profile, inserted when the batch is written."""

    key: Key
    flags: list[str]
    profile_id: int
    source_id: int | None
    first_seen_at: datetime


@dataclass(frozen=True)
class PlannedMerge:
    """A merge the batch decided: ``absorbed`` into ``survivor``, because both carry ``key``."""

    survivor: int
    absorbed: int
    key: Key
    message_id: str | None


@dataclass(frozen=True)
class PlannedConflict:
    """A link or an identifier the rules refused, kept for review."""

    profile_id: int
    other: int | None
    key: Key
    rule: str
    detail: str
    message_id: str | None


def _age(profile_id: int) -> tuple[bool, int]:
    """Orders profiles oldest first: existing ones by id, then the batch's new ones as they were created."""
    return (profile_id < 0, abs(profile_id))


class BatchGraph:
    """The part of the graph one batch touches: read in a few queries, resolved in memory, written at the end.

    Profiles the batch creates have stand-in ids (-1, -2, … in creation order) until they are inserted.
    """

    def __init__(self, rules: IdentityRules) -> None:
        self.rules = rules
        self.owner: dict[Key, int] = {}  # the profile each known identifier was loaded with or attached to
        self.row_ids: dict[Key, int] = {}  # the rows of identifiers that existed before the batch
        self.stored_last_seen: dict[Key, datetime] = {}
        self.last_seen: dict[Key, datetime] = {}
        self.parent: dict[int, int | None] = {}  # merged_into of every profile loaded or created
        self.stored_seen: dict[int, tuple[datetime, datetime]] = {}  # first and last seen, as loaded
        self.counts: dict[int, Counter[str]] = {}  # identifiers per type of the profiles that can take more
        self.new_profiles: list[int] = []
        self.new_rows: list[NewIdentifier] = []
        self.merges: list[PlannedMerge] = []
        self.conflicts: list[PlannedConflict] = []

    def new_profile(self) -> int:
        """A stand-in id for a profile the batch creates."""
        stand_in = -(len(self.new_profiles) + 1)
        self.new_profiles.append(stand_in)
        self.parent[stand_in] = None
        self.counts[stand_in] = Counter()
        return stand_in

    def root(self, profile_id: int) -> int:
        """The surviving profile ``profile_id`` is, or was merged into."""
        current = profile_id
        for _ in range(MAX_MERGE_CHAIN):
            following = self.parent[current]
            if following is None:
                return current
            current = following
        raise RuntimeError(f"merge chain from profile {profile_id} is longer than {MAX_MERGE_CHAIN}")

    def count(self, profile_id: int) -> Counter[str]:
        """How many identifiers of each type the profile holds."""
        counts = self.counts.get(profile_id)
        if counts is None:
            counts = self.counts[profile_id] = Counter()
        return counts

    def saw(self, key: Key, seen_at: datetime) -> None:
        """Note a sighting of a known identifier."""
        if seen_at > self.last_seen[key]:
            self.last_seen[key] = seen_at


# Resolving in memory -----------------------------------------------------------------------------


def _conflict(graph: BatchGraph, *, profile_id: int, other: int | None, key: Key, rule: str, detail: str,
              call: CallIdentity) -> None:
    graph.conflicts.append(PlannedConflict(profile_id=profile_id, other=other, key=key, rule=rule, detail=detail,
                                            message_id=call.message_id))


def _attach(graph: BatchGraph, profile_id: int, identifier: Identifier, call: CallIdentity) -> None:
    key = key_of(identifier)
    counts = graph.count(profile_id)
    if counts[identifier.type] >= graph.rules.limit(identifier.type):
        _conflict(graph, profile_id=profile_id, other=None, key=key, rule="max_per_profile",
                  detail=f"the profile already has {counts[identifier.type]} {identifier.type} identifier(s), "
                         f"the most allowed", call=call)
        return
    graph.new_rows.append(NewIdentifier(key=key, flags=sorted(identifier.flags), profile_id=profile_id,
                                         source_id=call.source_id, first_seen_at=call.seen_at))
    graph.owner[key] = profile_id
    graph.last_seen[key] = call.seen_at
    counts[identifier.type] += 1


def over_limit(rules: IdentityRules, counts: Counter[str]) -> str | None:
    """The first identifier type of which ``counts`` holds more than the rules allow."""
    for kind, total in counts.items():
        if total > rules.limit(kind):
            return kind
    return None


def _merge(graph: BatchGraph, *, survivor: int, absorbed: int, key: Key, call: CallIdentity) -> None:
    graph.parent[absorbed] = survivor
    graph.counts[survivor] = graph.count(survivor) + graph.count(absorbed)
    graph.counts[absorbed] = Counter()
    graph.merges.append(PlannedMerge(survivor=survivor, absorbed=absorbed, key=key, message_id=call.message_id))


def _owners(graph: BatchGraph, identifiers: list[Identifier]) -> list[tuple[int, Key]]:
    """The distinct profiles the identifiers already belong to, in the identifiers' priority order."""
    owners: list[tuple[int, Key]] = []
    for identifier in identifiers:
        key = key_of(identifier)
        if key in graph.owner:
            root = graph.root(graph.owner[key])
            if all(root != owner for owner, _ in owners):
                owners.append((root, key))
    return owners


def _stronger_misfit(graph: BatchGraph, target: int, link: Key, identifiers: list[Identifier]) -> Identifier | None:
    """A new identifier ranking above the link that the target cannot take (its type is full there).

    Such a call is someone else who shares the weaker identifier (a family phone, a shop e-mail).
    """
    link_rank = graph.rules.rank(link[0])
    for identifier in identifiers:
        if graph.rules.rank(identifier.type) >= link_rank:
            return None
        full = graph.count(target)[identifier.type] >= graph.rules.limit(identifier.type)
        if key_of(identifier) not in graph.owner and full:
            return identifier
    return None


def _merge_into(graph: BatchGraph, target: int, others: list[tuple[int, Key]], call: CallIdentity) -> int:
    for other, key in others:
        survivor, absorbed = sorted([graph.root(target), other], key=_age)
        blocked_by = over_limit(graph.rules, graph.count(survivor) + graph.count(absorbed))
        if blocked_by:
            _conflict(graph, profile_id=target, other=other, key=key, rule="max_per_profile",
                      detail=f"merging would give one profile more than {graph.rules.limit(blocked_by)} "
                             f"{blocked_by} identifier(s)", call=call)
            continue
        _merge(graph, survivor=survivor, absorbed=absorbed, key=key, call=call)
        target = survivor
    return target


def resolve_call(graph: BatchGraph, call: CallIdentity, identifiers: list[Identifier]) -> int | None:
    if not identifiers:
        return None
    owners = _owners(graph, identifiers)
    target: int | None = None
    while owners and target is None:
        candidate, link = owners.pop(0)
        misfit = _stronger_misfit(graph, candidate, link, identifiers)
        if misfit is None:
            target = _merge_into(graph, candidate, owners, call)
        else:  # the link is shared with someone else: try the call's other profiles, or start a new one
            _conflict(graph, profile_id=candidate, other=None, key=link, rule="shared_identifier",
                      detail=f"{label(link)} belongs to profile {candidate}, which already has a {misfit.type}; "
                             f"the call with {misfit.type} {misfit.value} is someone else", call=call)
    if target is None:
        target = graph.new_profile()
    for identifier in identifiers:
        key = key_of(identifier)
        if key in graph.owner:
            graph.saw(key, call.seen_at)
        else:
            _attach(graph, target, identifier, call)
    return target
