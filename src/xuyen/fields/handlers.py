"""Custom fields follow the customer: values of an erased person go; a merge hands values to the survivor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xuyen.fields import customers, service
from xuyen.outbox import DomainEvent, on_event


@on_event("customer.erased", name="fields.erase_customer_values")
def erase_customer_values(session: Session, event: DomainEvent) -> None:
    """An erased person's custom field values and their change history are deleted."""
    service.forget_values(session, entity=customers.ENTITY,
                          entity_ids=[int(item) for item in event.payload["profile_ids"]])


@on_event("profile.merged", name="fields.follow_profile_merge")
def follow_profile_merge(session: Session, event: DomainEvent) -> None:
    """The survivor of a merge takes the absorbed profile's values for fields it has no value for."""
    customers.follow_merge(session, survivor_id=int(event.payload["survivor_id"]),
                           absorbed_id=int(event.payload["absorbed_id"]))
