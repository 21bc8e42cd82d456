"""Customer services: build each customer from the event log, read the customer 360, search, record consent.

A customer is a surviving profile of the identity graph together with everything the event log holds for
it and the profiles merged into it. ``refresh_customers`` rebuilds the stored customer row and consents of
profiles whose events, merges or erasure changed (the handlers call it); the 360 builds the same state
fresh from the log on every read, so it is exact even before the worker has caught up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.customers import computed as computed_traits
from xuyen.customers import consents as consent_rules
from xuyen.customers import traits as trait_rules
from xuyen.customers.addresses import parse_address
from xuyen.customers.models import CustomerConsent, CustomerErasure, CustomerProfile
from xuyen.customers.privacy_digest import erased_among
from xuyen.customers.timeline import TimelinePage, read_timeline
from xuyen.errors import NotFound, ValidationFailed
from xuyen.events import profiles as event_log
from xuyen.events.service import list_sources
from xuyen.identity.graph import list_identifiers, resolve_profile_id
from xuyen.identity.models import Profile, ProfileIdentifier
from xuyen.identity.phones import normalise_phone
from xuyen.identity.service import ProfileView, get_profile_view, merged_profile_ids

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class CustomerState:
    """Everything the event log says about one customer (a surviving profile and those merged into it)."""

    profile_id: int
    cluster: list[int]
    identifiers: list[ProfileIdentifier]
    traits: dict[str, trait_rules.Observation]
    trait_history: dict[str, list[trait_rules.Observation]]
    computed: computed_traits.Computed
    consents: list[consent_rules.ConsentState]
    erased: bool

    @property
    def name(self) -> str:
        """The customer's display name, or empty."""
        return trait_rules.display_name({name: o.value for name, o in self.traits.items()})


@dataclass(frozen=True)
class Customer360:
    """The customer 360: the identity view (identifiers, merges, conflicts) and the customer's state."""

    view: ProfileView
    state: CustomerState
    source_names: dict[int, str]


# Building from the event log -------------------------------------------------------------------------


def _source_names(session: Session) -> dict[int, str]:
    return {source.id: source.name for source in list_sources(session)}


def _is_erased(session: Session, cluster: Sequence[int]) -> bool:
    return bool(session.scalar(select(exists().where(CustomerErasure.profile_id.in_(cluster)))))


def build_state(session: Session, *, profile_id: int, source_names: dict[int, str] | None = None) -> CustomerState:
    """The state of the customer ``profile_id`` is (or was merged into), built fresh from the event log."""
    settings = get_settings()
    root = resolve_profile_id(session, profile_id=profile_id)
    cluster = [root, *merged_profile_ids(session, profile_id=root)]
    calls = [trait_rules.TraitSent(source_id=call.source_id, channel=call.channel, at=call.timestamp,
                                   event_id=call.event_id, traits=call.traits)
             for call in event_log.trait_calls(session, profile_ids=cluster)]
    found = trait_rules.observations(calls)
    activity = event_log.channel_activity(session, profile_ids=cluster)
    since = utcnow() - timedelta(days=settings.preferred_channel_days)
    computed = computed_traits.compute(
        activity=activity, recent=event_log.recent_channel_counts(session, profile_ids=cluster, since=since),
        orders=event_log.order_events(session, profile_ids=cluster), default_currency=settings.default_currency)
    identifiers = list_identifiers(session, profile_id=root)
    consents = consent_rules.current(event_log.consent_events(session, profile_ids=cluster),
                                     source_names=source_names if source_names is not None else _source_names(session))
    if erased_among(session, identifiers=[(i.type, i.scope, i.value) for i in identifiers]):
        consents = consent_rules.blocked_for_erased(consents)
    return CustomerState(profile_id=root, cluster=cluster, identifiers=identifiers,
                         traits=trait_rules.winners(found, precedence=settings.trait_precedence),
                         trait_history=trait_rules.latest_per_source(found), computed=computed, consents=consents,
                         erased=_is_erased(session, cluster))


def _values(identifiers: Iterable[ProfileIdentifier], kind: str) -> list[str]:
    return sorted({identifier.value for identifier in identifiers if identifier.type == kind})


def address_parts(text: str) -> dict[str, Any]:
    """An address read into today's province and ward (with the old units it names and the mapping's
    version) as JSON-ready data; empty for no address."""
    if not text:
        return {}
    parsed = parse_address(text)
    data = {key: value for key, value in asdict(parsed).items() if key != "candidates" and value not in (None, "")}
    data["status"] = parsed.status.value
    data["candidates"] = [asdict(place) for place in parsed.candidates]
    return data


def _trait_json(observation: trait_rules.Observation) -> dict[str, Any]:
    return {"value": observation.value, "source_id": observation.source_id, "channel": observation.channel,
            "at": observation.at.isoformat(), "event_id": observation.event_id}


def _store(session: Session, state: CustomerState) -> None:
    """Write a customer's row and consents as ``state`` says (helper: no commit)."""
    values = {name: observation.value for name, observation in state.traits.items()}
    name = state.name
    family, given = trait_rules.name_parts(name)
    row = session.get(CustomerProfile, state.profile_id) or CustomerProfile(profile_id=state.profile_id)
    row.display_name = name[:300]
    row.name_folded = trait_rules.folded(name)[:300]
    row.family_name, row.given_name = family[:200], given[:200]
    row.birth_date = trait_rules.birth_date(values.get("birthday"))
    row.gender = trait_rules.gender(values.get("gender"))
    row.phones = _values(state.identifiers, "phone")
    row.emails = _values(state.identifiers, "email")
    row.user_ids = _values(state.identifiers, "user_id")
    row.address = trait_rules.address_text(values.get("address"))
    parsed = address_parts(row.address)
    row.province_code = str(parsed.get("province_code") or "")
    row.ward_code = str(parsed.get("ward_code") or "")
    row.address_parsed = parsed
    row.traits = {name: _trait_json(observation) for name, observation in state.traits.items()}
    row.computed = state.computed.as_json()
    row.first_seen_at, row.last_seen_at = state.computed.first_seen_at, state.computed.last_seen_at
    row.updated_at = utcnow()
    session.add(row)
    session.execute(delete(CustomerConsent).where(CustomerConsent.profile_id == state.profile_id))
    session.add_all(CustomerConsent(profile_id=state.profile_id, channel=consent.channel, purpose=consent.purpose,
                                    status=consent.status, source_id=consent.source_id, event_id=consent.event_id,
                                    recorded_at=consent.recorded_at, proof=consent.proof)
                    for consent in state.consents)


def forget_customers(session: Session, profile_ids: Sequence[int]) -> None:
    """Delete the stored customer rows and consents of the profiles (helper: no commit)."""
    session.execute(delete(CustomerConsent).where(CustomerConsent.profile_id.in_(profile_ids)))
    session.execute(delete(CustomerProfile).where(CustomerProfile.profile_id.in_(profile_ids)))


def refresh_customers(session: Session, *, profile_ids: Iterable[int]) -> int:
    """Rebuild the stored customers that ``profile_ids`` are or were merged into; rows of absorbed or erased
    profiles go. Returns how many customers were rebuilt (helper: no commit)."""
    wanted = sorted(set(profile_ids))
    existing = set(session.scalars(select(Profile.id).where(Profile.id.in_(wanted))))
    roots: set[int] = set()
    for profile_id in wanted:
        if profile_id in existing:
            roots.add(resolve_profile_id(session, profile_id=profile_id))
    absorbed = [profile_id for profile_id in existing if profile_id not in roots]
    forget_customers(session, absorbed)
    names = _source_names(session)
    rebuilt = 0
    for root in sorted(roots):
        state = build_state(session, profile_id=root, source_names=names)
        if state.erased:
            forget_customers(session, state.cluster)
            continue
        _store(session, state)
        rebuilt += 1
    session.flush()
    return rebuilt


def rebuild_all_customers(session: Session, *, batch: int = 500,
                          progress: Callable[[int], None] | None = None) -> int:
    """Rebuild every customer (after changing the trait precedence, say), committing per batch."""
    done = 0
    last = 0
    while True:
        ids = list(session.scalars(select(Profile.id).where(Profile.merged_into_id.is_(None), Profile.id > last)
                                   .order_by(Profile.id).limit(batch)))
        if not ids:
            return done
        done += refresh_customers(session, profile_ids=ids)
        session.commit()
        last = ids[-1]
        if progress is not None:
            progress(done)


# The customer 360 --------------------------------------------------------------------------------------


def get_customer(session: Session, *, profile_id: int, actor: str) -> Customer360:
    """The customer 360 of ``profile_id`` (an absorbed id answers with its survivor); the access is audited."""
    view = get_profile_view(session, profile_id=profile_id)
    names = _source_names(session)
    state = build_state(session, profile_id=view.profile.id, source_names=names)
    if state.erased:
        raise NotFound(f"Customer {profile_id} was erased on request.", code="customer_erased")
    audit.record(session, actor=actor, action="customer.viewed", subject_type="profile", subject_id=state.profile_id)
    session.commit()
    return Customer360(view=view, state=state, source_names=names)


def customer_timeline(session: Session, *, profile_id: int, cursor: str | None, limit: int,
                      viewer: Principal | None = None) -> TimelinePage:
    """A page of the customer's timeline across channels, newest first, as ``viewer`` may see it."""
    root = resolve_profile_id(session, profile_id=profile_id)
    cluster = [root, *merged_profile_ids(session, profile_id=root)]
    return read_timeline(session, profile_ids=cluster, cursor=cursor, limit=limit, viewer=viewer)


def record_consent(session: Session, *, profile_id: int, channel: str, purpose: str, granted: bool, proof: str,
                   actor: str) -> CustomerState:
    """Record a consent given or withdrawn in front of staff, with its proof, as a call in the event log."""
    properties = {"channel": channel.strip().lower(), "purpose": purpose.strip().lower(), "granted": granted,
                  "proof": proof.strip()}
    try:
        consent_rules.checked(properties)
    except consent_rules.InvalidConsent as exc:
        raise ValidationFailed(f"This consent cannot be recorded: {exc}.", code="invalid_consent") from None
    if not proof.strip():
        raise ValidationFailed("Say how the customer gave or withdrew consent (e.g. 'signed form at HN01').",
                               code="proof_required")
    root = resolve_profile_id(session, profile_id=profile_id)
    if _is_erased(session, [root, *merged_profile_ids(session, profile_id=root)]):
        raise NotFound(f"Customer {profile_id} was erased on request.", code="customer_erased")
    event_log.add_profile_call(session, profile_id=root, event=event_log.CONSENT_EVENT, properties=properties,
                               context={"actor": actor})
    audit.record(session, actor=actor, action="consent.recorded", subject_type="profile", subject_id=root,
                 detail={"channel": properties["channel"], "purpose": properties["purpose"], "granted": granted})
    refresh_customers(session, profile_ids=[root])
    session.commit()
    return build_state(session, profile_id=root)


# Finding customers -------------------------------------------------------------------------------------


def _roots_holding(session: Session, *, kind: str | None, value: str) -> list[int]:
    query = select(ProfileIdentifier.profile_id).where(ProfileIdentifier.value == value).limit(SEARCH_LIMIT)
    if kind is not None:
        query = query.where(ProfileIdentifier.type == kind)
    return sorted({resolve_profile_id(session, profile_id=owner) for owner in session.scalars(query)})


def _identifier_matches(session: Session, query: str) -> list[int]:
    """Profiles holding the query as an e-mail, a phone in any format, or any identifier's exact value."""
    if "@" in query:
        return _roots_holding(session, kind="email", value=query.strip().lower())
    phones = normalise_phone(query) if sum(char.isdigit() for char in query) >= 8 else []
    found = []
    for phone in phones:
        found.extend(_roots_holding(session, kind="phone", value=phone.value))
    return found or _roots_holding(session, kind=None, value=query.strip())


def search_customers(session: Session, *, query: str, limit: int = 20,
                     where: Sequence[ColumnElement[bool]] = ()) -> list[CustomerProfile]:
    """Customers whose name (with or without diacritics) contains every word of ``query``, or who hold it as a
    phone (any format), e-mail or other identifier; best matches first. ``where``: more conditions on
    ``CustomerProfile`` every customer found meets (custom-field filters, say)."""
    query = " ".join(query.split())[:200]
    if not query:
        return list_customers(session, limit=limit, where=where)
    ids = _identifier_matches(session, query)
    found = [row for row in (session.get(CustomerProfile, profile_id) for profile_id in ids) if row is not None]
    if where and found:
        kept = set(session.scalars(select(CustomerProfile.profile_id).where(
            CustomerProfile.profile_id.in_([row.profile_id for row in found]), *where)))
        found = [row for row in found if row.profile_id in kept]
    words = trait_rules.folded(query).split()
    if words and len(found) < limit:
        name_query = select(CustomerProfile).where(*where).order_by(
            CustomerProfile.last_seen_at.desc().nulls_last(), CustomerProfile.profile_id.desc()).limit(limit)
        for word in words:
            name_query = name_query.where(or_(CustomerProfile.name_folded.like(f"{word} %"),
                                              CustomerProfile.name_folded.like(f"% {word} %"),
                                              CustomerProfile.name_folded.like(f"% {word}"),
                                              CustomerProfile.name_folded == word))
        seen = {row.profile_id for row in found}
        found.extend(row for row in session.scalars(name_query) if row.profile_id not in seen)
    return found[:limit]


def list_customers(session: Session, *, limit: int = 20, offset: int = 0,
                   where: Sequence[ColumnElement[bool]] = ()) -> list[CustomerProfile]:
    """The customers seen most recently (meeting the conditions ``where``, when given)."""
    return list(session.scalars(select(CustomerProfile).where(*where)
                                .order_by(CustomerProfile.last_seen_at.desc().nulls_last(),
                                          CustomerProfile.profile_id.desc())
                                .limit(limit).offset(offset)))


def count_customers(session: Session) -> int:
    """How many customers are stored."""
    return session.scalar(select(func.count()).select_from(CustomerProfile)) or 0


def customer_consents(session: Session, *, profile_id: int) -> list[CustomerConsent]:
    """The stored current consents of the customer ``profile_id`` is (or was merged into)."""
    root = resolve_profile_id(session, profile_id=profile_id)
    return list(session.scalars(select(CustomerConsent).where(CustomerConsent.profile_id == root)
                                .order_by(CustomerConsent.channel, CustomerConsent.purpose)))


def require_customer(session: Session, *, profile_id: int) -> int:
    """The surviving profile id of a customer; NotFound when there is no such profile."""
    try:
        return resolve_profile_id(session, profile_id=profile_id)
    except NotFound:
        raise NotFound(f"There is no customer {profile_id}.", code="customer_not_found") from None


def display_names(session: Session, *, profile_ids: Iterable[int]) -> dict[int, str]:
    """The display name of each customer that has one, by profile id (for lists in other pages)."""
    wanted = sorted(set(profile_ids))
    if not wanted:
        return {}
    rows = session.execute(select(CustomerProfile.profile_id, CustomerProfile.display_name)
                           .where(CustomerProfile.profile_id.in_(wanted))).all()
    return {profile_id: name for profile_id, name in rows if name}


def customer_row(session: Session, *, profile_id: int) -> CustomerProfile | None:
    """The stored customer row (traits, phones, e-mails) of the customer ``profile_id`` is or was merged into."""
    return session.get(CustomerProfile, resolve_profile_id(session, profile_id=profile_id))
