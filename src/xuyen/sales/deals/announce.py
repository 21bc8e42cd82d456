"""What deals tell the rest of the platform: outbox events (``deal.*``) and Segment-style events on the customer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from xuyen.events.service import record_on_profile
from xuyen.outbox import emit
from xuyen.sales.deals.models import Deal, Stage

SOURCE_NAME = "Bán hàng · Cơ hội"
EVENT_NAMES = {
    "deal.created": "Deal Created",
    "deal.stage_changed": "Deal Stage Changed",
    "deal.won": "Deal Won",
    "deal.lost": "Deal Lost",
}


def deal_payload(deal: Deal, stage: Stage, *, previous: Stage | None = None, lost_reason: str = "") -> dict[str, Any]:
    """The facts other domains read about a deal's change."""
    payload: dict[str, Any] = {
        "deal_id": deal.id, "title": deal.title, "profile_id": deal.profile_id, "pipeline_id": deal.pipeline_id,
        "stage_id": stage.id, "stage": stage.name, "status": deal.status.value, "value": deal.value,
        "currency": "VND", "owner_id": deal.owner_id, "store_id": deal.store_id, "team_id": deal.team_id,
        "lead_id": deal.lead_id,
    }
    if previous is not None:
        payload |= {"previous_stage_id": previous.id, "previous_stage": previous.name}
    if lost_reason:
        payload["lost_reason"] = lost_reason
    return payload


def announce(session: Session, *, topic: str, deal: Deal, payload: dict[str, Any], at: datetime) -> None:
    """Write ``topic`` to the outbox and its Segment event on the customer's profile (helper: no commit)."""
    event = emit(session, topic=topic, aggregate_type="deal", aggregate_id=deal.id,
                 payload={**payload, "at": at.astimezone(UTC).isoformat()})
    session.flush()
    properties = {key: value for key, value in payload.items() if key != "profile_id"}
    record_on_profile(session, source_name=SOURCE_NAME, event=EVENT_NAMES[topic],
                       message_id=f"deal:{deal.id}:{event.id}", profile_id=deal.profile_id, at=at,
                       properties=properties)
