"""Deal services: create and edit deals, price their lines like an order, move them across stages (won, lost
with a reason, reopened), and read them within the viewer's sales scope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing.service import QuoteRequestLine, quote
from xuyen.customers.service import require_customer
from xuyen.errors import NotFound, ValidationFailed
from xuyen.fields import service as custom_fields
from xuyen.sales.custom_fields import DEAL
from xuyen.sales.deals import pipelines
from xuyen.sales.deals.announce import announce, deal_payload
from xuyen.sales.deals.models import Deal, DealLine, LostReason, Stage, StageChange, StageKind
from xuyen.sales.scope import SalesScope, sees, visible

PRICING_CHANNEL = SalesChannel.chat  # the channel a won deal's order is taken on, so the value matches it
MAX_VALUE = 100_000_000_000  # whole đồng
MAX_LINES = 50
MAX_PAGE = 200
UNSET: object = object()  # an argument not given (None clears the field)


@dataclass(frozen=True)
class Actor:
    """Who changes a deal: the name written in the history, and the user when it is one."""

    name: str
    user_id: int | None = None


@dataclass(frozen=True)
class LineWanted:
    """A catalogue variant (by SKU or id) and a quantity for a deal."""

    quantity: int
    sku: str | None = None
    variant_id: int | None = None


def deal_scope_clause(scope: SalesScope) -> ColumnElement[bool]:
    """The WHERE clause keeping the deals ``scope`` may see."""
    return visible(scope, owner=Deal.owner_id, store=Deal.store_id, team=Deal.team_id)


def get_deal(session: Session, *, deal_id: int, scope: SalesScope) -> Deal:
    """One deal the scope sees; NotFound for an unknown id or a deal of another branch or owner."""
    deal = session.get(Deal, deal_id)
    if deal is None or not sees(scope, owner_id=deal.owner_id, store_id=deal.store_id, team_id=deal.team_id):
        raise NotFound(f"There is no deal {deal_id}.", code="deal_not_found")
    return deal


def deal_values(session: Session, *, deal_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The custom field values of many deals at once, by deal id then field key."""
    return custom_fields.values_for(session, entity=DEAL, entity_ids=deal_ids)


def lines_of(session: Session, *, deal_id: int) -> list[DealLine]:
    """The deal's lines in order."""
    return list(session.scalars(select(DealLine).where(DealLine.deal_id == deal_id).order_by(DealLine.position)))


def history_of(session: Session, *, deal_id: int) -> list[StageChange]:
    """The deal's stage changes, oldest first."""
    return list(session.scalars(select(StageChange).where(StageChange.deal_id == deal_id)
                                .order_by(StageChange.at, StageChange.id)))


def list_deals(session: Session, *, scope: SalesScope, pipeline_id: int | None = None, stage_id: int | None = None,
               status: StageKind | None = None, owner_id: int | None = None, store_id: int | None = None,
               profile_ids: Sequence[int] | None = None, limit: int = 50, offset: int = 0,
               where: Sequence[ColumnElement[bool]] = (), max_page: int = MAX_PAGE) -> tuple[list[Deal], int]:
    """The deals the scope sees, filtered (``where``: more clauses on ``Deal``, e.g. custom field conditions),
    newest change first, with how many there are in all."""
    if not 1 <= limit <= max_page or offset < 0:
        raise ValidationFailed(f"Ask for 1 to {max_page} deals from an offset of 0 or more.", code="invalid_page")
    conditions: list[ColumnElement[bool]] = [deal_scope_clause(scope), *where]
    for column, wanted in ((Deal.pipeline_id, pipeline_id), (Deal.stage_id, stage_id), (Deal.status, status),
                           (Deal.owner_id, owner_id), (Deal.store_id, store_id)):
        if wanted is not None:
            conditions.append(column == wanted)
    if profile_ids is not None:
        conditions.append(Deal.profile_id.in_(sorted(profile_ids)))
    total = session.scalar(select(func.count()).select_from(Deal).where(*conditions)) or 0
    rows = session.scalars(select(Deal).where(*conditions).order_by(Deal.updated_at.desc(), Deal.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), int(total)


def add_deal(session: Session, *, actor: Actor, scope: SalesScope, title: str, profile_id: int,
                pipeline_id: int | None = None, stage_id: int | None = None, value: int | None = None,
                expected_close: date | None = None, owner_id: int | object | None = UNSET,
                store_id: int | object | None = UNSET, team_id: int | None = None, lead_id: int | None = None,
                lines: Sequence[LineWanted] = (), note: str = "", custom_values: Mapping[str, Any] | None = None,
                form: bool = False) -> Deal:
    """A new deal for a customer, in the given (or default) pipeline's first stage unless a stage is given; with
    lines its value is what the lines cost as an order would be quoted, else the value given. The owner is the
    acting user and the branch the scope's unless given. When ``custom_values`` is given, required custom fields
    must be among them (helper: flushes, no commit)."""
    if custom_values is not None:
        custom_fields.check_values(session, entity=DEAL, entity_id=None, values=custom_values, form=form,
                                   complete=True)
    pipeline = (pipelines.get_pipeline(session, pipeline_id=pipeline_id) if pipeline_id is not None
                else pipelines.ensure_defaults(session))
    stage = _starting_stage(session, pipeline.id, stage_id)
    profile = require_customer(session, profile_id=profile_id)
    now = utcnow()
    deal = Deal(title=_checked_title(title), profile_id=profile, pipeline_id=pipeline.id, stage_id=stage.id,
                status=stage.kind, value=_checked_value(value or 0), expected_close=expected_close,
                owner_id=actor.user_id if owner_id is UNSET else owner_id,
                store_id=scope.store_id if store_id is UNSET else store_id, team_id=team_id, lead_id=lead_id,
                note=note.strip(), created_by=actor.name, created_at=now, updated_at=now)
    _check_in_scope(scope, deal)
    _stamp_closing(deal, stage, now)
    session.add(deal)
    session.flush()
    if lines:
        _price_lines(session, deal, lines)
    session.add(StageChange(deal_id=deal.id, from_stage_id=None, to_stage_id=stage.id, actor=actor.name,
                            user_id=actor.user_id, at=now))
    if custom_values:
        custom_fields.apply_values(session, entity=DEAL, entity_id=deal.id, values=custom_values, form=form,
                                   actor=actor.name, complete=True)
    announce(session, topic="deal.created", deal=deal, payload=deal_payload(deal, stage), at=now)
    return deal


def create_deal(session: Session, *, actor: Actor, scope: SalesScope, title: str, profile_id: int,
                pipeline_id: int | None = None, stage_id: int | None = None, value: int | None = None,
                expected_close: date | None = None, owner_id: int | object | None = UNSET,
                store_id: int | object | None = UNSET, team_id: int | None = None, lead_id: int | None = None,
                lines: Sequence[LineWanted] = (), note: str = "", custom_values: Mapping[str, Any] | None = None,
                form: bool = False) -> Deal:
    """A new deal for a customer, in the given (or default) pipeline's first stage unless a stage is given; with
    lines its value is what the lines cost as an order would be quoted, else the value given. The owner is the
    acting user and the branch the scope's unless given; ``custom_values`` sets its custom fields (required ones
    must be among them)."""
    deal = add_deal(session, actor=actor, scope=scope, title=title, profile_id=profile_id, pipeline_id=pipeline_id,
                    stage_id=stage_id, value=value, expected_close=expected_close, owner_id=owner_id,
                    store_id=store_id, team_id=team_id, lead_id=lead_id, lines=lines, note=note,
                    custom_values=custom_values, form=form)
    session.commit()
    return deal



def update_deal(session: Session, *, deal_id: int, actor: Actor, scope: SalesScope, title: str | None = None,
                value: int | None = None, expected_close: date | object | None = UNSET,
                owner_id: int | object | None = UNSET, store_id: int | object | None = UNSET,
                team_id: int | object | None = UNSET, note: str | None = None,
                lines: Sequence[LineWanted] | None = None, custom_values: Mapping[str, Any] | None = None,
                form: bool = False) -> Deal:
    """Edit a deal's details, custom field values (all or nothing) or replace its lines (then its value is the
    lines' quote again); a deal moved to another branch has its lines priced again at that branch."""
    deal = get_deal(session, deal_id=deal_id, scope=scope)
    if custom_values is not None:
        custom_fields.apply_values(session, entity=DEAL, entity_id=deal.id, values=custom_values, form=form,
                                   actor=actor.name)
    if title is not None:
        deal.title = _checked_title(title)
    if note is not None:
        deal.note = note.strip()
    if expected_close is not UNSET:
        deal.expected_close = expected_close  # type: ignore[assignment]
    branch_before = deal.store_id
    for name, given in (("owner_id", owner_id), ("store_id", store_id), ("team_id", team_id)):
        if given is not UNSET:
            setattr(deal, name, given)
    _check_in_scope(scope, deal)
    if lines is None and deal.store_id != branch_before and deal.order_id is None:
        lines = _wanted_again(session, deal.id)  # another branch: its prices
    if lines is not None:
        session.execute(delete(DealLine).where(DealLine.deal_id == deal.id))
        if lines:
            _price_lines(session, deal, lines)
    if value is not None:
        if lines or (lines is None and lines_of(session, deal_id=deal.id)):
            raise ValidationFailed("A deal with lines takes its value from them; change the lines instead.",
                                   code="value_from_lines")
        deal.value = _checked_value(value)
    deal.updated_at = utcnow()
    session.commit()
    return deal


def move_deal(session: Session, *, deal_id: int, stage_id: int, actor: Actor, scope: SalesScope,
              lost_reason_id: int | None = None, lost_note: str = "") -> Deal:
    """Move a deal to another stage of its pipeline: won needs nothing more, lost needs a reason from the list;
    leaving won or lost reopens it. Moving to the stage it is in changes nothing."""
    deal = apply_move(session, deal_id=deal_id, stage_id=stage_id, actor=actor, scope=scope,
                      lost_reason_id=lost_reason_id, lost_note=lost_note)
    session.commit()
    return deal


def apply_move(session: Session, *, deal_id: int, stage_id: int, actor: Actor, scope: SalesScope,
               lost_reason_id: int | None = None, lost_note: str = "") -> Deal:
    """``move_deal`` without the commit (helper: flushes)."""
    deal = get_deal(session, deal_id=deal_id, scope=scope)
    target = pipelines.get_stage(session, stage_id=stage_id)
    if target.pipeline_id != deal.pipeline_id:
        raise ValidationFailed(f"Stage {stage_id} belongs to another pipeline.", code="stage_of_other_pipeline")
    if target.id == deal.stage_id:
        return deal
    reason = _lost_reason(session, lost_reason_id) if target.kind is StageKind.lost else None
    if deal.order_id is not None and target.kind is not StageKind.won:
        raise ValidationFailed("This deal became an order; it stays won.", code="deal_has_order")
    previous = session.get(Stage, deal.stage_id)
    assert previous is not None
    now = utcnow()
    deal.stage_id, deal.status, deal.updated_at = target.id, target.kind, now
    _stamp_closing(deal, target, now)
    deal.lost_reason_id = reason.id if reason else None
    deal.lost_note = lost_note.strip() if reason else ""
    session.add(StageChange(deal_id=deal.id, from_stage_id=previous.id, to_stage_id=target.id, actor=actor.name,
                            user_id=actor.user_id, at=now))
    payload = deal_payload(deal, target, previous=previous, lost_reason=reason.name if reason else "")
    announce(session, topic="deal.stage_changed", deal=deal, payload=payload, at=now)
    if target.kind is StageKind.won:
        announce(session, topic="deal.won", deal=deal, payload=payload, at=now)
    elif target.kind is StageKind.lost:
        announce(session, topic="deal.lost", deal=deal, payload=payload, at=now)
    session.flush()
    return deal


def _starting_stage(session: Session, pipeline_id: int, stage_id: int | None) -> Stage:
    stages = pipelines.stages_of(session, pipeline_id=pipeline_id)
    if stage_id is None:
        return next(stage for stage in stages if stage.kind is StageKind.open)
    found = next((stage for stage in stages if stage.id == stage_id), None)
    if found is None:
        raise NotFound(f"Pipeline {pipeline_id} has no stage {stage_id}.", code="stage_not_found")
    if found.kind is StageKind.lost:
        raise ValidationFailed("A deal cannot start lost.", code="invalid_stage")
    return found


def _stamp_closing(deal: Deal, stage: Stage, now: datetime) -> None:
    deal.won_at = (deal.won_at or now) if stage.kind is StageKind.won else None
    deal.lost_at = (deal.lost_at or now) if stage.kind is StageKind.lost else None


def _lost_reason(session: Session, reason_id: int | None) -> LostReason:
    if reason_id is None:
        raise ValidationFailed("Say why the deal is lost: pick a lost reason.", code="lost_reason_required")
    reason = session.get(LostReason, reason_id)
    if reason is None or not reason.is_active:
        raise NotFound(f"There is no lost reason {reason_id}.", code="lost_reason_not_found")
    return reason


def _check_in_scope(scope: SalesScope, deal: Deal) -> None:
    if not sees(scope, owner_id=deal.owner_id, store_id=deal.store_id, team_id=deal.team_id):
        raise ValidationFailed("You would no longer see this deal: give yourself, your branch or your team.",
                               code="outside_scope")


def _checked_title(title: str) -> str:
    title = title.strip()
    if not 1 <= len(title) <= 200:
        raise ValidationFailed("A deal needs a title of at most 200 characters.", code="invalid_title")
    return title


def _checked_value(value: int) -> int:
    if not 0 <= value <= MAX_VALUE:
        raise ValidationFailed(f"A deal's value is between 0 and {MAX_VALUE:,} đồng.", code="invalid_value")
    return value


def _wanted_again(session: Session, deal_id: int) -> list[LineWanted] | None:
    """The deal's lines as asked for, to price them again; None when it has none."""
    current = lines_of(session, deal_id=deal_id)
    return [LineWanted(variant_id=line.variant_id, quantity=line.quantity) for line in current] or None


def _price_lines(session: Session, deal: Deal, lines: Sequence[LineWanted]) -> None:
    """Write the deal's lines as the pricing quote prices them on the order's channel at the deal's branch; the
    value is their total."""
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"A deal has at most {MAX_LINES} lines.", code="too_many_lines")
    quoted = quote(session, channel=PRICING_CHANNEL, profile_id=deal.profile_id, store_id=deal.store_id,
                   lines=[QuoteRequestLine(sku=line.sku, quantity=line.quantity, variant_id=line.variant_id)
                          for line in lines])
    session.add_all(DealLine(deal_id=deal.id, position=index, variant_id=line.variant_id, sku=line.sku,
                             name=line.name, quantity=line.quantity, unit_price=line.unit_price,
                             discount=line.discount, total=line.total) for index, line in enumerate(quoted.lines))
    deal.value = _checked_value(int(quoted.total))
    session.flush()
