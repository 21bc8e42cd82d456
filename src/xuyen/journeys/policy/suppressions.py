"""The suppression list: profiles, phones and e-mail addresses nothing is sent to, whatever the purpose.

Entries come from managers (``manual``) and from channels reporting hard bounces, unsubscribes and complaints
(``bounce``, ``unsubscribe``, ``complaint``); every addition and removal is audited. Phones are kept in E.164 and
e-mails lower-case, so any way of writing them matches.

When a person is erased, their phones and e-mails on the list are replaced by the salted hash the erasure keeps of
each identifier (``erased:<hash>``): they are still never written to, and the list no longer names them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.customers.privacy_digest import erased_digests, identifier_digest
from xuyen.customers.service import require_customer
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.emails import normalise_email
from xuyen.identity.phones import normalise_phone
from xuyen.journeys.policy.models import Suppression

KINDS = ("profile", "phone", "email")
SOURCES = ("manual", "bounce", "unsubscribe", "complaint")
MAX_REASON = 500
ADDRESS_KINDS = ("phone", "email")
ERASED_PREFIX = "erased:"
HASHING_BATCH = 500


def erased_form(kind: str, value: str) -> str:
    """How a normalised phone or e-mail of an erased person stands on the list: its salted hash."""
    return ERASED_PREFIX + identifier_digest(kind, "", value)


def is_erased(entry: Suppression) -> bool:
    """Whether the entry is the hash of an erased person's phone or e-mail."""
    return entry.value.startswith(ERASED_PREFIX)


def normalised(kind: str, value: str) -> str:
    """The stored form of a suppressed value; ValidationFailed when it is not a profile id, phone or e-mail."""
    text = value.strip()
    if kind == "profile" and text.isdigit() and len(text) < 19:
        return str(int(text))
    if kind == "phone":
        phones = normalise_phone(text[:100])
        if len(phones) == 1:
            return phones[0].value
    if kind == "email":
        email = normalise_email(text[:320])
        if email is not None:
            return email.value
    if kind not in KINDS:
        raise ValidationFailed(f"A suppression is by {', '.join(KINDS)}.", code="invalid_kind")
    raise ValidationFailed(f"That is not a {kind} that can be suppressed.", code="invalid_value")


def add_suppression(session: Session, *, kind: str, value: str, reason: str, actor: str,
                    source: str = "manual") -> Suppression:
    """Suppress a profile, phone or e-mail, audit it, and commit; Conflict when it is suppressed already."""
    if source not in SOURCES:
        raise ValidationFailed(f"The source is one of {', '.join(SOURCES)}.", code="invalid_source")
    if not reason.strip() or len(reason) > MAX_REASON:
        raise ValidationFailed(f"Say why, in 1 to {MAX_REASON} characters.", code="invalid_reason")
    stored = normalised(kind, value)
    if kind == "profile":
        stored = str(require_customer(session, profile_id=int(stored)))
    already = Conflict("That is already on the suppression list.", code="already_suppressed")
    if kind in ADDRESS_KINDS and session.scalar(select(Suppression.id).where(
            Suppression.kind == kind, Suppression.value == erased_form(kind, stored))) is not None:
        raise already
    entry = Suppression(kind=kind, value=stored, reason=reason.strip(), source=source, created_by=actor,
                        created_at=utcnow())
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise already from None
    audit.record(session, actor=actor, action="messaging_policy.suppressed", subject_type="messaging_suppression",
                 subject_id=entry.id, detail={"kind": kind, "source": source, "reason": entry.reason})
    session.commit()
    return entry


def remove_suppression(session: Session, *, suppression_id: int, actor: str) -> None:
    """Take an entry off the suppression list, audit it, and commit; NotFound when there is none."""
    entry = session.get(Suppression, suppression_id)
    if entry is None:
        raise NotFound(f"There is no suppression {suppression_id}.", code="suppression_not_found")
    audit.record(session, actor=actor, action="messaging_policy.unsuppressed", subject_type="messaging_suppression",
                 subject_id=entry.id, detail={"kind": entry.kind, "source": entry.source, "reason": entry.reason})
    session.delete(entry)
    session.commit()


def list_suppressions(session: Session, *, limit: int = 100, offset: int = 0) -> list[Suppression]:
    """The suppression list, newest first."""
    return list(session.scalars(select(Suppression).order_by(Suppression.id.desc()).limit(limit).offset(offset)))


def count_suppressions(session: Session) -> int:
    """How many entries the suppression list has."""
    return session.scalar(select(func.count()).select_from(Suppression)) or 0


def profile_suppressed(session: Session, *, profile_ids: Iterable[int]) -> bool:
    """Whether the customer (the surviving profile and those merged into it) is suppressed."""
    return bool(suppressed_profiles(session, profile_ids=profile_ids))


def suppressed_profiles(session: Session, *, profile_ids: Iterable[int]) -> set[int]:
    """Which of these profiles are on the suppression list."""
    values = sorted({str(profile_id) for profile_id in profile_ids})
    return {int(value) for value in session.scalars(select(Suppression.value).where(
        Suppression.kind == "profile", Suppression.value.in_(values)))}


def suppressed_addresses(session: Session, *, phones: Iterable[str], emails: Iterable[str]) -> set[str]:
    """Which of these (already normalised) phones and e-mails are suppressed, as they are or by their hash."""
    forms: dict[tuple[str, str], str] = {}  # (kind, value on the list) -> the address asked about
    for kind, addresses in (("phone", set(phones)), ("email", {email.lower() for email in emails})):
        for address in addresses:
            forms[(kind, address)] = address
            forms[(kind, erased_form(kind, address))] = address
    wanted = {kind: sorted(value for form_kind, value in forms if form_kind == kind) for kind in ADDRESS_KINDS}
    rows = session.execute(select(Suppression.kind, Suppression.value).where(
        ((Suppression.kind == "phone") & Suppression.value.in_(wanted["phone"]))
        | ((Suppression.kind == "email") & Suppression.value.in_(wanted["email"]))))
    return {forms[(kind, value)] for kind, value in rows}


def hash_erased_addresses(session: Session) -> int:
    """Replace every phone and e-mail on the list that belonged to an erased person by its salted hash; how many
    were replaced (helper: no commit). Run after each erasure; entries added since keep matching by hash."""
    replaced = 0
    entries = list(session.scalars(select(Suppression).where(Suppression.kind.in_(ADDRESS_KINDS),
                                                             ~Suppression.value.startswith(ERASED_PREFIX))))
    for start in range(0, len(entries), HASHING_BATCH):
        batch = {identifier_digest(entry.kind, "", entry.value): entry
                 for entry in entries[start:start + HASHING_BATCH]}
        erased = erased_digests(session, digests=batch)
        hashed_already = set(session.scalars(select(Suppression.value).where(
            Suppression.value.in_([ERASED_PREFIX + digest for digest in erased]))))
        for digest in erased:
            if ERASED_PREFIX + digest in hashed_already:  # the same address, kept as a hash since an earlier erasure
                session.delete(batch[digest])
            else:
                batch[digest].value = ERASED_PREFIX + digest
            replaced += 1
    session.flush()
    return replaced
