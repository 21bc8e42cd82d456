"""Channel buffers: safety stock kept back from a channel (2 units fewer offered on Shopee), for every variant
or for one variant."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import levels
from xuyen.commerce.stock.models import ChannelBuffer, StockLevel
from xuyen.db import is_postgres, one_of
from xuyen.errors import NotFound, ValidationFailed

MAX_BUFFER = 1_000_000


def list_buffers(session: Session, *, channel: SalesChannel | None = None) -> list[ChannelBuffer]:
    """Every buffer (of ``channel``), channel-wide ones first."""
    query = select(ChannelBuffer).order_by(ChannelBuffer.channel, ChannelBuffer.variant_id.is_not(None),
                                           ChannelBuffer.variant_id)
    if channel is not None:
        query = query.where(ChannelBuffer.channel == channel.value)
    return list(session.scalars(query))


def buffers_for(session: Session, *, channel: SalesChannel, variant_ids: Collection[int]) -> dict[int, int]:
    """The units kept back from ``channel`` for each of ``variant_ids`` (a variant's own buffer replaces the
    channel-wide one; none: 0)."""
    query = select(ChannelBuffer.variant_id, ChannelBuffer.quantity).where(ChannelBuffer.channel == channel.value)
    if variant_ids:
        query = query.where(or_(ChannelBuffer.variant_id.is_(None),
                                one_of(ChannelBuffer.variant_id, sorted(set(variant_ids)),
                                       postgres=is_postgres(session))))
    else:
        query = query.where(ChannelBuffer.variant_id.is_(None))
    channel_wide = 0
    own: dict[int, int] = {}
    for variant_id, quantity in session.execute(query):
        if variant_id is None:
            channel_wide = quantity
        else:
            own[variant_id] = quantity
    return {variant_id: own.get(variant_id, channel_wide) for variant_id in variant_ids}


def set_buffer(session: Session, *, channel: SalesChannel, quantity: int, variant_id: int | None = None,
               actor: str) -> ChannelBuffer:
    """Keep ``quantity`` units of every variant (or of ``variant_id``) back from ``channel``."""
    buffer = put_buffer(session, channel=channel, quantity=quantity, variant_id=variant_id, actor=actor)
    session.commit()
    return buffer


def put_buffer(session: Session, *, channel: SalesChannel, quantity: int, variant_id: int | None = None,
               actor: str) -> ChannelBuffer:
    """Set a buffer (helper: no commit)."""
    if not 0 <= quantity <= MAX_BUFFER:
        raise ValidationFailed(f"A buffer is a whole number of units from 0 to {MAX_BUFFER}.", code="invalid_buffer")
    if variant_id is not None and session.get(Variant, variant_id) is None:
        raise NotFound(f"There is no variant {variant_id}.", code="variant_not_found")
    query = select(ChannelBuffer).where(ChannelBuffer.channel == channel.value)
    query = query.where(ChannelBuffer.variant_id.is_(None) if variant_id is None
                        else ChannelBuffer.variant_id == variant_id)
    buffer = session.scalar(query.with_for_update() if is_postgres(session) else query)
    if buffer is None:
        buffer = ChannelBuffer(channel=channel.value, variant_id=variant_id, quantity=quantity)
        session.add(buffer)
    buffer.quantity = quantity
    buffer.updated_at = utcnow()
    _note_buffer_changed(session, variant_id)
    session.flush()
    return buffer


def delete_buffer(session: Session, *, buffer_id: int, actor: str) -> None:
    """Stop keeping the buffer ``buffer_id`` back."""
    buffer = session.get(ChannelBuffer, buffer_id)
    if buffer is None:
        raise NotFound(f"There is no channel buffer {buffer_id}.", code="buffer_not_found")
    _note_buffer_changed(session, buffer.variant_id)
    session.delete(buffer)
    session.commit()


def _note_buffer_changed(session: Session, variant_id: int | None) -> None:
    """What a channel offers changed: for one variant, or for every variant that has stock somewhere."""
    if variant_id is not None:
        levels.note_available_changed(session, [variant_id])
    else:
        levels.note_available_changed(session, session.scalars(select(StockLevel.variant_id).distinct()))
