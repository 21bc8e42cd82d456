"""Customers API bodies and answers: the customer 360, search results, timeline pages, consents, privacy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.customers.consents import CHANNELS, PURPOSES
from xuyen.customers.models import CustomerErasure, CustomerProfile
from xuyen.customers.service import Customer360, CustomerState, address_parts
from xuyen.customers.timeline import TimelinePage
from xuyen.customers.traits import address_text
from xuyen.identity.schemas import ProfileOut, Reason


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(_In):
    """A consent given or withdrawn in front of staff, with how it was given."""

    channel: str = Field(description=f"One of {', '.join(CHANNELS)}, or any.", max_length=32, examples=["sms"])
    purpose: str = Field(description=f"One of {', '.join(PURPOSES)}.", max_length=32, examples=["marketing"])
    granted: bool
    proof: str = Field(min_length=1, max_length=1000, examples=["Signed paper form at store HN01"])


class CustomerChange(_In):
    """What to change of a customer through the API (more will come; traits arrive through the event log)."""

    custom_fields: dict[str, Any] = Field(description="Custom field values by key; null or [] clears one. All or "
                                                      "nothing (code invalid_custom_fields).",
                                          examples=[{"hang": "vang", "chi_tieu": 1500000, "ngay_cuoi": "2026-12-25"}])


class ErasureIn(_In):
    """Why the person is erased (their request, with its date and channel)."""

    reason: Reason
    confirm: bool = Field(description="Must be true: erasure cannot be undone.")


class TraitOut(BaseModel):
    """A trait's value and where and when it came from."""

    value: Any
    source_id: int
    source: str
    channel: str
    at: datetime


class ConsentOut(BaseModel):
    """The current consent for a channel and purpose, and its proof."""

    channel: str
    purpose: str
    status: str = Field(description="granted, withdrawn, or blocked_erased (an imported grant for a person who "
                                    "had been erased: they must give it again themselves).")
    source_id: int | None
    recorded_at: datetime
    proof: dict[str, Any]


class ComputedOut(BaseModel):
    """Computed traits."""

    first_seen_at: datetime | None
    last_seen_at: datetime | None
    channels: list[dict[str, Any]] = Field(description="Per channel: events, first_at, last_at; latest first.")
    events: int
    orders: int
    revenue: dict[str, int | float] = Field(description="Per currency, refunds and cancellations subtracted.")
    average_order: dict[str, int | float]
    last_order_at: datetime | None
    preferred_channel: str | None


class CustomerOut(BaseModel):
    """The customer 360: identity (identifiers, merges, conflicts), traits, computed traits and consents."""

    id: int
    name: str
    profile: ProfileOut
    traits: dict[str, TraitOut]
    trait_history: dict[str, list[TraitOut]] = Field(description="Per trait, the latest value each source sent.")
    computed: ComputedOut
    consents: list[ConsentOut]
    address: dict[str, Any] = Field(description="The address trait read into today's province and ward: status "
                                                "(exact, ambiguous, province_only, unrecognised), current and old "
                                                "codes, candidates when ambiguous, and the mapping's version.")
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="The business's own fields by key "
                                          "(see /api/v1/fields): null, or [] for a multi-choice, when unset.")

    @classmethod
    def of(cls, customer: Customer360) -> CustomerOut:
        """The answer for a customer 360."""
        state, names = customer.state, customer.source_names
        return cls(id=state.profile_id, name=state.name, profile=ProfileOut.of(customer.view),
                   traits={name: _trait(o, names) for name, o in state.traits.items()},
                   trait_history={name: [_trait(o, names) for o in items]
                                  for name, items in state.trait_history.items()},
                   computed=ComputedOut.model_validate(state.computed.as_json()),
                   consents=consents_out(state),
                   address=address_parts(address_text(state.traits["address"].value)
                                         if "address" in state.traits else ""))


def _trait(observation: Any, names: dict[int, str]) -> TraitOut:
    return TraitOut(value=observation.value, source_id=observation.source_id,
                    source=names.get(observation.source_id, ""), channel=observation.channel, at=observation.at)


def consents_out(state: CustomerState) -> list[ConsentOut]:
    """The consents of a customer state as answers."""
    return [ConsentOut(channel=c.channel, purpose=c.purpose, status=c.status, source_id=c.source_id,
                       recorded_at=c.recorded_at, proof=c.proof) for c in state.consents]


class CustomerSummaryOut(BaseModel):
    """A customer in a list or search result."""

    model_config = ConfigDict(from_attributes=True)

    profile_id: int
    display_name: str
    phones: list[str]
    emails: list[str]
    user_ids: list[str]
    birth_date: date | None
    address: str
    last_seen_at: datetime | None
    custom_fields: dict[str, Any] | None = Field(default=None, description="The custom field values by key, "
                                                 "when asked for with `custom_fields=true`.")

    @classmethod
    def of(cls, row: CustomerProfile, custom_fields: dict[str, Any] | None = None) -> CustomerSummaryOut:
        """The answer for a stored customer row (with its custom field values, when given)."""
        answer = cls.model_validate(row)
        answer.custom_fields = custom_fields
        return answer


class TimelineItemOut(BaseModel):
    """One item of a customer's timeline."""

    at: datetime
    kind: str = Field(description="event; later also message, order, ticket, loyalty.")
    channel: str | None
    title: str
    source: str
    data: dict[str, Any]


class TimelineOut(BaseModel):
    """A page of a customer's timeline, newest first."""

    items: list[TimelineItemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")

    @classmethod
    def of(cls, page: TimelinePage) -> TimelineOut:
        """The answer for a timeline page."""
        return cls(items=[TimelineItemOut(at=i.at, kind=i.kind, channel=i.channel, title=i.title, source=i.source,
                                          data=i.data) for i in page.items],
                   next_cursor=page.next_cursor)


class ErasureOut(BaseModel):
    """A recorded erasure."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    profile_id: int
    actor: str
    reason: str
    counts: dict[str, int]
    erased_at: datetime

    @classmethod
    def of(cls, erasure: CustomerErasure) -> ErasureOut:
        """The answer for an erasure."""
        return cls.model_validate(erasure)


