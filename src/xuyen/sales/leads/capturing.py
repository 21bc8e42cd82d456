"""``capture``: the one door every channel brings a lead through.

The person is resolved through the identity graph (a "Lead Captured" event in the event log carries the lead's
phone, e-mail and any channel ids, so the graph's deterministic rules merge them); fuzzy look-alikes go to the
duplicate review queue with the next re-check of changed profiles, asked for here. The capture is kept with its
source, campaign and UTM tags, the lead is labelled by its source, given to someone by the assignment rules, and a
``lead.captured`` outbox event is written in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.events.models import ChannelType
from xuyen.events.service import channel_call, internal_source_id, record_channel_calls
from xuyen.fields import service as custom_fields
from xuyen.identity.graph import list_identifiers
from xuyen.jobs import add_job_once
from xuyen.outbox import emit
from xuyen.sales.custom_fields import LEAD, fitting_values
from xuyen.sales.leads import assignment
from xuyen.sales.leads.models import Lead, LeadCapture, LeadForm, LeadStatus, SourceKind
from xuyen.sales.leads.quality import ContactQuality, check_contact

LEAD_CAPTURED = "Lead Captured"
SOURCE_NAME = "Khách hàng tiềm năng"  # the event source the leads write through
RECHECK_DUPLICATES_JOB = "customers.recheck_duplicates"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

SOURCE_LABELS: dict[SourceKind, str] = {
    SourceKind.form: "Website",
    SourceKind.facebook_lead_ads: "Facebook Ads",
    SourceKind.zalo_form: "Zalo",
    SourceKind.chat: "Chat",
    SourceKind.import_: "Import",
    SourceKind.api: "API",
    SourceKind.store_visit: "Store visit",
}

Identifier = tuple[str, str, str | None]


@dataclass
class Captured:
    """What a capture did: the lead, the capture row, and whether each was new."""

    lead: Lead
    capture: LeadCapture
    new_lead: bool
    repeated: bool = False
    quality: dict[str, Any] = field(default_factory=dict)


def _clip(value: Any, size: int = 200) -> str:
    return "" if value is None else str(value).strip()[:size]


def _existing(session: Session, dedupe_key: str | None) -> Captured | None:
    if dedupe_key is None:
        return None
    capture = session.scalar(select(LeadCapture).where(LeadCapture.dedupe_key == dedupe_key))
    if capture is None:
        return None
    lead = session.get(Lead, capture.lead_id)
    assert lead is not None
    return Captured(lead=lead, capture=capture, new_lead=False, repeated=True, quality=capture.quality)


def _identifiers(session: Session, *, quality: ContactQuality, extra: Sequence[Identifier],
                 profile_id: int | None) -> list[Identifier]:
    found: list[Identifier] = list(extra)
    if quality.phone:
        found.append(("phone", quality.phone, None))
    if quality.email:
        found.append(("email", quality.email, None))
    if profile_id is not None:
        known = list_identifiers(session, profile_id=profile_id)
        if known:
            found.append((known[0].type, known[0].value, known[0].scope))
    if not found:  # nothing to know the person by: a profile of their own all the same
        found.append(("anonymous_id", f"lead-{uuid.uuid4().hex}", None))
    return found


def _resolve(session: Session, *, identifiers: list[Identifier], message_id: str, name: str,
             properties: dict[str, Any], at: datetime) -> int:
    """Record the "Lead Captured" event and answer the profile the identity graph resolved it to."""
    source_id = internal_source_id(session, name=SOURCE_NAME, channel=ChannelType.api)
    call = channel_call(event=LEAD_CAPTURED, message_id=message_id, identifiers=identifiers, timestamp=at,
                        traits={"name": name} if name else None, properties=properties)
    profile_id = record_channel_calls(session, calls=[(source_id, call)])[0]
    if profile_id is None:  # every identifier was refused (blocked values): keep the lead on a profile of its own
        fallback = [("anonymous_id", f"lead-{uuid.uuid4().hex}", None)]
        call = channel_call(event=LEAD_CAPTURED, message_id=f"{message_id}:own", identifiers=fallback,
                            timestamp=at, properties=properties)
        profile_id = record_channel_calls(session, calls=[(source_id, call)])[0]
    assert profile_id is not None
    return profile_id


def _merge_labels(*groups: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(label.strip()[:60] for group in groups for label in group if label.strip()))


def _lead_for(session: Session, *, profile_id: int, source: SourceKind, at: datetime) -> tuple[Lead, bool]:
    lead = session.scalar(select(Lead).where(Lead.profile_id == profile_id))
    if lead is not None:
        return lead, False
    lead = Lead(profile_id=profile_id, source=source, status=LeadStatus.new, labels=[], quality={}, score=0,
                captures=0, created_at=at, updated_at=at)
    session.add(lead)
    return lead, True


def _fill(lead: Lead, *, name: str, quality: ContactQuality, province: str, product_interest: str,
          campaign: str, labels: list[str], form: LeadForm | None) -> None:
    lead.name = lead.name or name
    lead.phone = lead.phone or quality.phone
    lead.email = lead.email or quality.email
    lead.province = lead.province or province
    lead.product_interest = product_interest or lead.product_interest
    lead.campaign = campaign or lead.campaign
    lead.labels = _merge_labels(lead.labels or [], labels)
    lead.quality = quality.as_json() if quality.phone or quality.email or not lead.quality else lead.quality
    if form is not None:
        lead.store_id = lead.store_id if lead.store_id is not None else form.store_id
        lead.team_id = lead.team_id if lead.team_id is not None else form.team_id


def _assign(session: Session, lead: Lead, *, owner_id: int | None, team_id: int | None,
            store_id: int | None) -> None:
    """Give a new lead its owner: the one named by the caller, else the assignment rules' choice."""
    lead.store_id = store_id if store_id is not None else lead.store_id
    lead.team_id = team_id if team_id is not None else lead.team_id
    if owner_id is not None:
        lead.owner_id = owner_id
    elif lead.owner_id is None and (chosen := assignment.choose(session, lead=lead)) is not None:
        lead.owner_id = chosen.owner_id
        lead.team_id = chosen.team_id if chosen.team_id is not None else lead.team_id
    if lead.owner_id is not None:
        lead.assigned_at = utcnow()


_asked_for: set[tuple[str, str]] = set()  # (database, ten-minute window) this process asked a re-check for


def _ask_for_duplicate_check(session: Session) -> None:
    """Queue the re-check of changed profiles for near duplicates, once per ten minutes (the hourly re-check
    catches a window whose transaction was rolled back)."""
    now = utcnow()
    window = f"leads-recheck:{now:%Y%m%d%H}{now.minute // 10}"
    asked = (str(session.get_bind().engine.url), window)
    if asked not in _asked_for:
        add_job_once(session, name=RECHECK_DUPLICATES_JOB, dedupe_key=window)
        if len(_asked_for) > 1000:
            _asked_for.clear()
        _asked_for.add(asked)


def forget_duplicate_checks() -> None:
    """Forget which windows this process asked a duplicate re-check for (a database emptied meanwhile)."""
    _asked_for.clear()


def _set_custom_values(session: Session, lead: Lead, *, raw: Mapping[str, Any], given: Mapping[str, Any],
                       actor: str) -> None:
    """Set the lead's custom fields: the raw form fields named like a lead field that fit it (as a form writes
    them; the rest stay in the capture's raw fields only), then the values given through the API."""
    mapped = fitting_values(session, entity=LEAD, entity_id=lead.id, raw=raw)
    if mapped:
        custom_fields.apply_values(session, entity=LEAD, entity_id=lead.id, values=mapped, form=True, actor=actor)
    if given:
        custom_fields.apply_values(session, entity=LEAD, entity_id=lead.id, values=given, form=False, actor=actor)


def record_capture(session: Session, *, source: SourceKind | str, phone: str = "", email: str = "", name: str = "",
                   identifiers: Sequence[Identifier] = (), profile_id: int | None = None,
                   source_detail: str = "", campaign: str = "", utm: Mapping[str, str] | None = None,
                   fields: Mapping[str, Any] | None = None, province: str = "", product_interest: str = "",
                   labels: Sequence[str] = (), form: LeadForm | None = None, owner_id: int | None = None,
                   team_id: int | None = None, store_id: int | None = None, dedupe_key: str | None = None,
                   captured_at: datetime | None = None, check_mx: bool = True,
                   custom_values: Mapping[str, Any] | None = None, actor: str = "") -> Captured:
    """Capture one lead (helper: flushes, the caller commits); see ``service.capture``. ``check_mx=False`` leaves
    the e-mail domain unchecked (demo data, bulk loads that must not wait on DNS). ``custom_values`` (as the API
    writes them) are checked before anything is written: one that does not fit refuses the capture."""
    kind = SourceKind(source)
    if (done := _existing(session, dedupe_key)) is not None:
        return done
    if custom_values:
        custom_fields.check_values(session, entity=LEAD, entity_id=None, values=custom_values, form=False)
    at = captured_at or utcnow()
    quality = check_contact(phone=phone, email=email, check_mx=check_mx)
    tags = {key: _clip((utm or {}).get(key)) for key in UTM_KEYS}
    campaign = _clip(campaign) or (form.campaign if form is not None else "") or tags["utm_campaign"]
    properties = {"source": kind.value, "source_detail": _clip(source_detail), "campaign": campaign,
                  **{key: value for key, value in tags.items() if value}}
    message_id = f"lead:{dedupe_key}" if dedupe_key else f"lead:{uuid.uuid4().hex}"
    resolved = _resolve(session, identifiers=_identifiers(session, quality=quality, extra=identifiers,
                                                          profile_id=profile_id),
                        message_id=message_id, name=_clip(name), properties=properties, at=at)
    lead, new_lead = _lead_for(session, profile_id=resolved, source=kind, at=at)
    _fill(lead, name=_clip(name), quality=quality, province=_clip(province, 100),
          product_interest=_clip(product_interest), campaign=campaign,
          labels=_merge_labels([SOURCE_LABELS[kind]], form.labels if form is not None else [], labels), form=form)
    lead.captures = (lead.captures or 0) + 1
    lead.updated_at = utcnow()
    if lead.status is LeadStatus.new and lead.owner_id is None:
        _assign(session, lead, owner_id=owner_id if owner_id is not None else (form.owner_id if form else None),
                team_id=team_id, store_id=store_id)
    session.flush()
    capture = LeadCapture(lead_id=lead.id, source=kind, source_detail=_clip(source_detail), campaign=campaign,
                          fields=dict(fields or {}), quality=quality.as_json(),
                          form_id=form.id if form is not None else None, dedupe_key=dedupe_key, captured_at=at,
                          **tags)
    session.add(capture)
    session.flush()
    _set_custom_values(session, lead, raw=fields or {}, given=custom_values or {},
                       actor=actor or f"capture:{kind.value}")
    emit(session, topic="lead.captured", aggregate_type="lead", aggregate_id=lead.id,
         payload={"lead_id": lead.id, "profile_id": lead.profile_id, "capture_id": capture.id,
                  "source": kind.value, "new_lead": new_lead, "owner_id": lead.owner_id, "team_id": lead.team_id,
                  "campaign": campaign, "flags": list(quality.flags)})
    if new_lead and lead.owner_id is not None:
        emit(session, topic="lead.assigned", aggregate_type="lead", aggregate_id=lead.id,
             payload={"lead_id": lead.id, "owner_id": lead.owner_id, "team_id": lead.team_id, "reason": "rules"})
    _ask_for_duplicate_check(session)
    return Captured(lead=lead, capture=capture, new_lead=new_lead, quality=quality.as_json())
