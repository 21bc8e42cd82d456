"""Sales changes in the event log: a Segment-style track call on the customer's profile through one of the sales
internal sources, so journeys, analytics and the customer's timeline see it (helper: no commit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xuyen.events.models import ChannelType
from xuyen.events.service import channel_call, internal_source_id, record_channel_calls
from xuyen.identity.graph import list_identifiers, resolve_profile_id

PREFERRED_IDENTIFIERS = ("user_id", "loyalty_card", "phone", "email")


def identifier_of(session: Session, profile_id: int | None) -> tuple[str, str, str | None] | None:
    """One identifier that names the customer in the event log, the strongest first; None when they have none."""
    if profile_id is None:
        return None
    found = list_identifiers(session, profile_id=resolve_profile_id(session, profile_id=profile_id))
    if not found:
        return None
    rank = {kind: index for index, kind in enumerate(PREFERRED_IDENTIFIERS)}
    best = min(found, key=lambda item: (rank.get(item.type, len(rank)), item.id))
    return best.type, best.value, best.scope or None


def record_on_customer(session: Session, *, source_name: str, event: str, message_id: str, profile_id: int | None,
                       at: datetime, properties: dict[str, Any]) -> bool:
    """Record ``event`` on the customer's profile; whether it was (a customer with no identifier is not)."""
    identifier = identifier_of(session, profile_id)
    if identifier is None:
        return False
    call = channel_call(event=event, message_id=message_id, identifiers=[identifier], timestamp=at,
                        properties=properties)
    record_channel_calls(session, calls=[(internal_source_id(session, name=source_name, channel=ChannelType.api),
                                          call)])
    return True
