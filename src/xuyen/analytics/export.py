"""The person export's ``customer_value`` section: the RFM scores and predictions analytics keeps about them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import value
from xuyen.customers.exports import export_section


@export_section("customer_value")
def customer_value(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The person's RFM scores and group and the value model's predictions, as of the last refresh."""
    return [{"profile_id": row.profile_id, "as_of": row.as_of.isoformat(), "recency_days": row.recency_days,
             "frequency": row.frequency, "monetary": row.monetary, "r": row.r_score, "f": row.f_score,
             "m": row.m_score, "rfm_group": row.rfm_group, "expected_purchases": row.expected_purchases,
             "probability_alive": row.probability_alive, "predicted_value": row.predicted_value,
             "horizon_days": row.horizon_days} for row in value.scores_of(session, profile_ids=list(profile_ids))]
