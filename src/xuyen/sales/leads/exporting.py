"""Leads as CSV: the leads a viewer may see (the sales scope rule is applied by the caller's query), their contact
and status columns, then one column per lead custom field."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.sales.custom_fields import LEAD, records_csv
from xuyen.sales.leads.models import Lead


def _names(session: Session, query: Select[int, str]) -> dict[int, str]:
    return {row_id: name for row_id, name in session.execute(query)}


HEADER = ("lead_id", "profile_id", "name", "phone", "email", "province", "product_interest", "source", "status",
          "campaign", "labels", "owner", "created_at")


def leads_csv(session: Session, *, leads: Sequence[Lead], locale: str = "vi") -> bytes:
    """The leads as CSV for Excel (UTF-8 with BOM), with a column per custom field of leads."""
    owner_ids = sorted({lead.owner_id for lead in leads if lead.owner_id is not None})
    owners = _names(session, select(User.id, User.name).where(User.id.in_(owner_ids))) if owner_ids else {}
    rows = [(lead.id, [lead.id, lead.profile_id, lead.name, lead.phone, lead.email, lead.province,
                       lead.product_interest, lead.source.value, lead.status.value, lead.campaign,
                       "; ".join(lead.labels or []), owners.get(lead.owner_id, "") if lead.owner_id else "",
                       lead.created_at.isoformat()]) for lead in leads]
    return records_csv(session, entity=LEAD, header=HEADER, rows=rows, locale=locale)


def csv_response(data: bytes, file_name: str) -> Response:
    """A CSV download."""
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{file_name}"'})
