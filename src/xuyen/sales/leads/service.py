"""Leads: capture (every channel's door), reading with the sales scope rule, status and owner changes, and the
re-assignment of leads nobody touched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.errors import NotFound, ValidationFailed
from xuyen.events.service import record_on_profile
from xuyen.fields import service as custom_fields
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox import service as inbox_service
from xuyen.outbox import emit
from xuyen.sales.custom_fields import LEAD
from xuyen.sales.leads import assignment
from xuyen.sales.leads.capturing import SOURCE_NAME, Captured, Identifier, record_capture
from xuyen.sales.leads.models import Lead, LeadCapture, LeadForm, LeadStatus, SourceKind
from xuyen.sales.scope import scope_of, sees, visible

MAX_PAGE = 200
LEAD_STATUS_CHANGED = "Lead Status Changed"


def capture(session: Session, *, source: SourceKind | str, phone: str = "", email: str = "", name: str = "",
            identifiers: Sequence[Identifier] = (), profile_id: int | None = None, source_detail: str = "",
            campaign: str = "", utm: Mapping[str, str] | None = None, fields: Mapping[str, Any] | None = None,
            province: str = "", product_interest: str = "", labels: Sequence[str] = (),
            form: LeadForm | None = None, owner_id: int | None = None, team_id: int | None = None,
            store_id: int | None = None, dedupe_key: str | None = None,
            captured_at: datetime | None = None, custom_values: Mapping[str, Any] | None = None,
            actor: str = "") -> Captured:
    """Capture one lead from any channel and commit.

    Name the person by ``phone``/``email`` and any channel ``identifiers`` (type, value, scope), or by a known
    ``profile_id`` (a chat's customer). ``dedupe_key`` (e.g. a provider's lead id) makes the call idempotent.
    ``custom_values`` sets the lead's custom fields (all or nothing); raw ``fields`` named like a lead field are
    set too when they fit.
    """
    done = record_capture(session, source=source, phone=phone, email=email, name=name, identifiers=identifiers,
                          profile_id=profile_id, source_detail=source_detail, campaign=campaign, utm=utm,
                          fields=fields, province=province, product_interest=product_interest, labels=labels,
                          form=form, owner_id=owner_id, team_id=team_id, store_id=store_id, dedupe_key=dedupe_key,
                          captured_at=captured_at, custom_values=custom_values, actor=actor)
    session.commit()
    return done


def mark_conversation(session: Session, *, principal: Principal, conversation_id: int) -> Captured:
    """Make the customer of an inbox conversation a lead from the "chat" source, owned by the agent who marks it
    (marking the same conversation again changes nothing), and commit."""
    conversation = inbox_service.get_conversation(session, conversation_id=conversation_id)
    return capture(session, source=SourceKind.chat, profile_id=conversation.profile_id,
                   source_detail=f"conversation {conversation_id}", owner_id=principal.user_id,
                   store_id=principal.store_id, dedupe_key=f"chat:{conversation_id}")


def list_leads(session: Session, *, principal: Principal, status: LeadStatus | None = None,
               source: SourceKind | None = None, owner_id: int | None = None, q: str = "",
               min_score: int | None = None, sort: str = "newest", limit: int = 50, offset: int = 0,
               where: Sequence[ColumnElement[bool]] = (), max_page: int = MAX_PAGE) -> list[Lead]:
    """The leads ``principal`` may see, filtered, newest first (``sort="score"``: highest score first; ``where``:
    more clauses on ``Lead``, e.g. custom field conditions)."""
    scope = scope_of(session, principal=principal)
    query = select(Lead).where(visible(scope, owner=Lead.owner_id, store=Lead.store_id, team=Lead.team_id), *where)
    if status is not None:
        query = query.where(Lead.status == status)
    if source is not None:
        query = query.where(Lead.source == source)
    if owner_id is not None:
        query = query.where(Lead.owner_id == owner_id)
    if q.strip():
        needle = f"%{q.strip().lower()}%"
        query = query.where(Lead.name.ilike(needle) | Lead.phone.ilike(needle) | Lead.email.ilike(needle))
    if min_score is not None:
        query = query.where(Lead.score >= min_score)
    order = (Lead.score.desc(), Lead.id.desc()) if sort == "score" else (Lead.created_at.desc(), Lead.id.desc())
    query = query.order_by(*order).limit(min(max(limit, 1), max_page))
    return list(session.scalars(query.offset(max(offset, 0))))


def get_lead(session: Session, *, principal: Principal, lead_id: int) -> Lead:
    """One lead ``principal`` may see (NotFound otherwise, so its existence is not told)."""
    lead = session.get(Lead, lead_id)
    if lead is None or not sees(scope_of(session, principal=principal), owner_id=lead.owner_id,
                                store_id=lead.store_id, team_id=lead.team_id):
        raise NotFound(f"No lead {lead_id}.", code="lead_not_found")
    return lead


def lead_values(session: Session, *, lead_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The custom field values of many leads at once, by lead id then field key."""
    return custom_fields.values_for(session, entity=LEAD, entity_ids=lead_ids)


def lead_of_id(session: Session, *, lead_id: int) -> Lead | None:
    """A lead by id, whoever may see it (for checks after a change)."""
    return session.get(Lead, lead_id)


def lead_of_profile(session: Session, *, profile_id: int) -> Lead | None:
    """The lead of a customer profile (after following merges), if any."""
    return session.scalar(select(Lead).where(Lead.profile_id == resolve_profile_id(session, profile_id=profile_id)))


def captures_of(session: Session, *, lead_id: int) -> list[LeadCapture]:
    """Every capture of a lead, newest first."""
    return list(session.scalars(select(LeadCapture).where(LeadCapture.lead_id == lead_id)
                                .order_by(LeadCapture.captured_at.desc(), LeadCapture.id.desc())))


def _check_owner(session: Session, owner_id: int) -> None:
    user = session.get(User, owner_id)
    if user is None or not user.is_active:
        raise ValidationFailed(f"No active user {owner_id} to own the lead.", code="unknown_owner")


def update_lead(session: Session, *, principal: Principal, lead_id: int, status: LeadStatus | None = None,
                owner_id: int | None = None, clear_owner: bool = False,
                custom_values: Mapping[str, Any] | None = None, form: bool = False, actor: str = "") -> Lead:
    """Change a lead's status, owner and/or custom field values (a staff action: the lead counts as touched) and
    commit; a custom field value that does not fit refuses the whole change."""
    lead = get_lead(session, principal=principal, lead_id=lead_id)
    now = utcnow()
    if custom_values is not None:
        custom_fields.apply_values(session, entity=LEAD, entity_id=lead.id, values=custom_values, form=form,
                                   actor=actor or f"{principal.kind}:{principal.id}")
    if status is not None and status != lead.status:
        _record_status_change(session, lead=lead, status=status, by=f"{principal.kind}:{principal.id}", at=now)
        lead.status = status
    if owner_id is not None or clear_owner:
        if owner_id is not None:
            _check_owner(session, owner_id)
        if owner_id != lead.owner_id:
            lead.owner_id = owner_id
            lead.assigned_at = now if owner_id is not None else None
            emit(session, topic="lead.assigned", aggregate_type="lead", aggregate_id=lead.id,
                 payload={"lead_id": lead.id, "owner_id": owner_id, "team_id": lead.team_id, "reason": "manual",
                          "by": f"{principal.kind}:{principal.id}"})
    lead.last_activity_at = now
    lead.updated_at = now
    session.commit()
    return lead


def _record_status_change(session: Session, *, lead: Lead, status: LeadStatus, by: str, at: datetime) -> None:
    """The ``lead.status_changed`` outbox event, and its ``Lead Status Changed`` call on the customer's profile in
    the event log (which the customer's timeline shows)."""
    change = {"lead_id": lead.id, "from": lead.status.value, "to": status.value}
    event = emit(session, topic="lead.status_changed", aggregate_type="lead", aggregate_id=lead.id,
                 payload={**change, "profile_id": lead.profile_id, "by": by})
    session.flush()
    record_on_profile(session, source_name=SOURCE_NAME, event=LEAD_STATUS_CHANGED,
                       message_id=f"lead:{lead.id}:status:{event.id}", profile_id=lead.profile_id, at=at,
                       properties=change)


def reassign_untouched(session: Session, *, now: datetime | None = None) -> int:
    """Give every lead still "new" and untouched past the configured time to someone else, commit; how many."""
    moved = move_untouched(session, now=now)
    session.commit()
    return moved


def move_untouched(session: Session, *, now: datetime | None = None) -> int:
    """Re-assign up to 500 untouched leads; how many moved (helper: flushes, the caller commits)."""
    hours = get_settings().leads_reassign_after_hours
    if hours <= 0:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(hours=hours)
    stale = session.scalars(select(Lead).where(
        Lead.status == LeadStatus.new, Lead.owner_id.is_not(None), Lead.last_activity_at.is_(None),
        Lead.assigned_at < cutoff).order_by(Lead.assigned_at, Lead.id).limit(500))
    moved = 0
    for lead in list(stale):
        previous = lead.owner_id
        chosen = assignment.choose(session, lead=lead, excluding=[previous] if previous is not None else [])
        if chosen is None or chosen.owner_id == previous:
            continue
        lead.owner_id, lead.assigned_at, lead.updated_at = chosen.owner_id, now, now
        lead.team_id = chosen.team_id if chosen.team_id is not None else lead.team_id
        emit(session, topic="lead.assigned", aggregate_type="lead", aggregate_id=lead.id,
             payload={"lead_id": lead.id, "owner_id": lead.owner_id, "previous_owner_id": previous,
                      "team_id": lead.team_id, "reason": "untouched"})
        moved += 1
    session.flush()
    return moved
