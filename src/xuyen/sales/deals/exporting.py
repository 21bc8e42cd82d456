"""Deals as CSV: the deals a viewer may see (the sales scope rule is applied by the caller's query), their title,
customer, stage, value and dates, then one column per deal custom field."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.sales.custom_fields import DEAL, records_csv
from xuyen.sales.deals.models import Deal, Stage
from xuyen.sales.leads.exporting import csv_response

__all__ = ["HEADER", "csv_response", "deals_csv"]

def _names(session: Session, query: Select[int, str]) -> dict[int, str]:
    return {row_id: name for row_id, name in session.execute(query)}


HEADER = ("deal_id", "title", "profile_id", "stage", "status", "value_vnd", "expected_close", "owner", "store_id",
          "lead_id", "created_at", "updated_at")


def deals_csv(session: Session, *, deals: Sequence[Deal], locale: str = "vi") -> bytes:
    """The deals as CSV for Excel (UTF-8 with BOM), with a column per custom field of deals."""
    owner_ids = sorted({deal.owner_id for deal in deals if deal.owner_id is not None})
    owners = _names(session, select(User.id, User.name).where(User.id.in_(owner_ids))) if owner_ids else {}
    stage_ids = sorted({deal.stage_id for deal in deals})
    stages = _names(session, select(Stage.id, Stage.name).where(Stage.id.in_(stage_ids))) if stage_ids else {}
    rows = [(deal.id, [deal.id, deal.title, deal.profile_id, stages.get(deal.stage_id, ""), deal.status.value,
                       deal.value, deal.expected_close.isoformat() if deal.expected_close else "",
                       owners.get(deal.owner_id, "") if deal.owner_id else "", deal.store_id, deal.lead_id,
                       deal.created_at.isoformat(), deal.updated_at.isoformat()]) for deal in deals]
    return records_csv(session, entity=DEAL, header=HEADER, rows=rows, locale=locale)
