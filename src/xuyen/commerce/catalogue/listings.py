"""Channel listings: which variant a marketplace's item (and model, or seller SKU) is, in which shop.

On Shopee a variant is an item's model (``external_item_id`` + ``external_model_id``; an item without
variations has no model id); on Lazada a SKU (``external_item_id`` + ``external_sku``, the seller SKU). A variant
has at most one listing per channel and shop. Unlisting keeps the row (inactive) so that old orders still map.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import ChannelListing, Variant
from xuyen.commerce.catalogue.schemas import ListingIn
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.outbox import emit

# Outbox topic: a variant was listed on a channel, its ids changed, or it was unlisted (payload: listing_id,
# variant_id, channel, account, is_active). The marketplace connectors push (or stop pushing) its stock.
LISTING_CHANGED = "catalogue.listing_changed"


def _announce(session: Session, row: ChannelListing) -> None:
    emit(session, topic=LISTING_CHANGED, aggregate_type="listing", aggregate_id=row.id, payload={
        "listing_id": row.id, "variant_id": row.variant_id, "channel": row.channel.value, "account": row.account,
        "is_active": row.is_active})


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _check(listing: ListingIn) -> tuple[str, str, str, str]:
    account, item, model, sku = (_clean(listing.account), _clean(listing.external_item_id),
                                 _clean(listing.external_model_id), _clean(listing.external_sku))
    channel = listing.channel
    if channel.is_marketplace and not (account and item):
        raise ValidationFailed(f"A listing on {channel.value} needs the shop's id (account) and the item id the "
                               "marketplace gave the product.", code="invalid_listing")
    if channel == SalesChannel.lazada and not sku:
        raise ValidationFailed("A Lazada listing needs the seller SKU (external_sku) that Lazada orders name.",
                               code="invalid_listing")
    if model == "0":  # Shopee's model id of an item without variations
        model = ""
    return account, item, model, sku


def get_listing(session: Session, *, listing_id: int) -> ChannelListing:
    """The listing ``listing_id``."""
    listing = session.get(ChannelListing, listing_id)
    if listing is None:
        raise NotFound(f"There is no channel listing {listing_id}.", code="listing_not_found")
    return listing


def add_listing(session: Session, *, variant_id: int, listing: ListingIn, actor: str) -> ChannelListing:
    """List a variant on a channel and shop under the channel's ids, or change its ids (helper: no commit)."""
    if session.get(Variant, variant_id) is None:
        raise NotFound(f"There is no variant {variant_id}.", code="variant_not_found")
    account, item, model, sku = _check(listing)
    taken = session.scalar(select(ChannelListing).where(
        ChannelListing.channel == listing.channel, ChannelListing.account == account,
        ChannelListing.external_item_id == item, ChannelListing.external_model_id == model,
        ChannelListing.external_sku == sku))
    if taken is not None and taken.variant_id != variant_id and (item or model or sku):
        raise Conflict(f"On {listing.channel.value} shop {account or '-'}, item {item} {model or sku} is already "
                       f"listed as variant {taken.variant_id}; unlist it there first.", code="listing_taken",
                       details={"variant_id": taken.variant_id, "listing_id": taken.id})
    row = session.scalar(select(ChannelListing).where(
        ChannelListing.channel == listing.channel, ChannelListing.account == account,
        ChannelListing.variant_id == variant_id))
    if row is None:
        row = ChannelListing(variant_id=variant_id, channel=listing.channel, account=account)
        session.add(row)
    row.external_item_id, row.external_model_id, row.external_sku = item, model, sku
    row.is_active = True
    row.listed_at = utcnow()
    session.flush()
    _announce(session, row)
    audit.record(session, actor=actor, action="listing.listed", subject_type="variant", subject_id=variant_id,
                 detail={"channel": listing.channel.value, "account": account, "item": item, "model": model,
                         "sku": sku})
    return row


def list_variant(session: Session, *, variant_id: int, listing: ListingIn, actor: str) -> ChannelListing:
    """List a variant on a channel and shop (or change the ids it is listed under)."""
    row = add_listing(session, variant_id=variant_id, listing=listing, actor=actor)
    session.commit()
    return row


def update_listing(session: Session, *, listing_id: int, is_active: bool, actor: str) -> ChannelListing:
    """Unlist a listing (its variant is no longer sold on, nor told the stock of, that channel) or list it again
    (helper: no commit)."""
    row = get_listing(session, listing_id=listing_id)
    if row.is_active != is_active:
        row.is_active = is_active
        _announce(session, row)
    audit.record(session, actor=actor, action="listing.listed" if is_active else "listing.unlisted",
                 subject_type="variant", subject_id=row.variant_id,
                 detail={"listing_id": row.id, "channel": row.channel.value, "account": row.account})
    return row


def unlist(session: Session, *, listing_id: int, actor: str) -> ChannelListing:
    """Stop selling a variant on the listing's channel; the listing stays so that old orders still map."""
    row = update_listing(session, listing_id=listing_id, is_active=False, actor=actor)
    session.commit()
    return row


def listing_for(session: Session, *, channel: SalesChannel, account: str, external_item_id: str,
                external_model_id: str = "", external_sku: str = "") -> ChannelListing | None:
    """The listing a marketplace order line names, active or not (an old order may name an unlisted one).

    Matches the item with its model (Shopee) or seller SKU (Lazada) exactly first; then the seller SKU alone in
    that shop; then the item alone when it has a single listing (an item without variations) that names no
    other seller SKU.
    """
    account, item, sku = _clean(account), _clean(external_item_id), _clean(external_sku)
    model = _clean(external_model_id)
    model = "" if model == "0" else model
    shop = select(ChannelListing).where(ChannelListing.channel == channel, ChannelListing.account == account)
    exact = session.scalars(shop.where(ChannelListing.external_item_id == item,
                                       ChannelListing.external_model_id == model,
                                       ChannelListing.external_sku == sku)).first()
    if exact is not None:
        return exact
    if model:
        return session.scalars(shop.where(ChannelListing.external_item_id == item,
                                          ChannelListing.external_model_id == model)).first()
    if sku:
        found = list(session.scalars(shop.where(ChannelListing.external_sku == sku).limit(2)))
        if len(found) == 1:
            return found[0]
    if item:
        found = list(session.scalars(shop.where(ChannelListing.external_item_id == item).limit(2)))
        if len(found) == 1 and not (sku and found[0].external_sku):  # another seller SKU is another variant
            return found[0]
    return None


def listings_of(session: Session, *, channel: SalesChannel, account: str | None = None,
                variant_ids: Collection[int] | None = None, active_only: bool = True) -> list[ChannelListing]:
    """The listings on a channel (in one shop when ``account`` is given, of some variants), active ones only
    unless ``active_only`` is False."""
    query = select(ChannelListing).where(ChannelListing.channel == channel).order_by(ChannelListing.id)
    if account is not None:
        query = query.where(ChannelListing.account == _clean(account))
    if active_only:
        query = query.where(ChannelListing.is_active.is_(True))
    if variant_ids is None:
        return list(session.scalars(query))
    wanted = sorted(set(variant_ids))
    found: list[ChannelListing] = []
    for start in range(0, len(wanted), 500):
        found.extend(session.scalars(query.where(ChannelListing.variant_id.in_(wanted[start:start + 500]))))
    return sorted(found, key=lambda row: row.id)


def listings_of_variants(session: Session, *, variant_ids: Iterable[int]) -> dict[int, list[ChannelListing]]:
    """Every listing (active or not) of each variant, by variant id."""
    wanted = sorted(set(variant_ids))
    found: dict[int, list[ChannelListing]] = {variant_id: [] for variant_id in wanted}
    for start in range(0, len(wanted), 500):
        rows = session.scalars(select(ChannelListing).where(ChannelListing.variant_id.in_(wanted[start:start + 500]))
                               .order_by(ChannelListing.channel, ChannelListing.account, ChannelListing.id))
        for row in rows:
            found[row.variant_id].append(row)
    return found
