"""Privacy: export everything about a person, erase a person, and the audit of both.

Erasure keeps the events (so that counts and revenue stay true) but strips their personal fields, deletes
the person's identifiers, traits and consents, and keeps only a salted hash of each identifier: a later
import that brings the same phone or e-mail back cannot give them marketing consent again, which they must
give themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.customers.exports import contributed_sections
from xuyen.customers.models import CustomerErasure, ErasedIdentity
from xuyen.customers.privacy_digest import identifier_digest
from xuyen.customers.service import build_state, forget_customers
from xuyen.errors import Conflict, ValidationFailed
from xuyen.events import profiles as event_log
from xuyen.identity.service import erase_identifiers, get_profile_view
from xuyen.outbox import emit

EXPORT_FORMAT = "xuyen.person-export.v1"


def export_person(session: Session, *, profile_id: int, actor: str) -> dict[str, Any]:
    """Everything Xuyên holds about the person ``profile_id`` is (or was merged into), as JSON-ready data;
    the export is audited."""
    view = get_profile_view(session, profile_id=profile_id)
    state = build_state(session, profile_id=view.profile.id)
    if state.erased:
        raise Conflict(f"Customer {profile_id} was erased on request; nothing personal is left to export.",
                       code="customer_erased")
    events = event_log.events_for_export(session, profile_ids=state.cluster)
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "profile_id": state.profile_id,
        "merged_profile_ids": view.merged_ids,
        "identifiers": [{"type": i.type, "scope": i.scope, "value": i.value, "flags": i.flags,
                         "first_seen_at": i.first_seen_at.isoformat(), "last_seen_at": i.last_seen_at.isoformat()}
                        for i in state.identifiers],
        "traits": {name: o.value for name, o in state.traits.items()},
        "trait_history": {name: [{"value": o.value, "source_id": o.source_id, "channel": o.channel,
                                  "at": o.at.isoformat()} for o in items]
                          for name, items in state.trait_history.items()},
        "computed": state.computed.as_json(),
        "consents": [{"channel": c.channel, "purpose": c.purpose, "status": c.status,
                      "recorded_at": c.recorded_at.isoformat(), "proof": c.proof} for c in state.consents],
        "merges": [{"id": m.id, "survivor_id": m.survivor_id, "absorbed_id": m.absorbed_id, "reason": m.reason,
                    "at": m.created_at.isoformat(), "undone_at": m.undone_at.isoformat() if m.undone_at else None}
                   for m in view.merges],
        "events": events,
    }
    sections = contributed_sections(session, profile_ids=state.cluster)
    data.update({name: section for name, section in sections.items() if name not in data})
    audit.record(session, actor=actor, action="customer.exported", subject_type="profile",
                 subject_id=state.profile_id, detail={"events": len(events)})
    session.commit()
    return data


def erase_person(session: Session, *, profile_id: int, actor: str, reason: str) -> CustomerErasure:
    """Erase the person ``profile_id`` is (or was merged into): identifiers, traits, consents and the personal
    fields of their events, keeping salted hashes of the identifiers; audited."""
    if not reason.strip():
        raise ValidationFailed("Say why the person is erased (e.g. 'request by e-mail of 2026-11-20').",
                               code="reason_required")
    state = build_state(session, profile_id=profile_id)
    if state.erased:
        raise Conflict(f"Customer {profile_id} was already erased.", code="customer_erased")
    erasure = CustomerErasure(profile_id=state.profile_id, actor=actor, reason=reason.strip()[:1000],
                              erased_at=utcnow(), counts={})
    session.add(erasure)
    session.flush()
    erased = erase_identifiers(session, profile_ids=state.cluster)
    known = set(session.scalars(select(ErasedIdentity.digest).where(
        ErasedIdentity.digest.in_([identifier_digest(*identifier) for identifier in erased] or [""]))))
    for digest in {identifier_digest(*identifier) for identifier in erased} - known:
        session.add(ErasedIdentity(digest=digest, erasure_id=erasure.id))
    events = event_log.erase_personal_fields(session, profile_ids=state.cluster)
    forget_customers(session, state.cluster)
    erasure.counts = {"identifiers": len(erased), "events": events, "profiles": len(state.cluster)}
    audit.record(session, actor=actor, action="customer.erased", subject_type="profile",
                 subject_id=state.profile_id, detail=dict(erasure.counts))
    # Other domains holding the person's words (the inbox's messages) erase them when this commits.
    emit(session, topic="customer.erased", aggregate_type="profile", aggregate_id=state.profile_id,
         payload={"profile_ids": list(state.cluster), "erasure_id": erasure.id})
    session.commit()
    return erasure


def list_erasures(session: Session, *, limit: int = 100) -> list[CustomerErasure]:
    """The newest erasures."""
    return list(session.scalars(select(CustomerErasure).order_by(CustomerErasure.id.desc()).limit(limit)))
