"""Channel listings: a marketplace's item and model (or seller SKU) in a shop name one variant."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.commerce.catalogue.helpers import ACTOR, make_tshirt
from xuyen.commerce.catalogue import service
from xuyen.commerce.catalogue.listings import LISTING_CHANGED
from xuyen.commerce.catalogue.schemas import ListingIn, VariantUpdate
from xuyen.commerce.catalogue.service import SELLABLE_CHANGED
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.outbox import OutboxEvent

SHOP = "220314588"
SELLER = "100354712"


def _ids(session: Session) -> dict[str, int]:
    return {sku: service.get_variant_by_sku(session, sku=sku).id
            for sku in ("AT-001-DEN-M", "AT-001-DEN-L", "AT-001-TRA-M", "AT-001-TRA-L")}


def _shopee(model: str, item: str = "23918400000") -> ListingIn:
    return ListingIn(channel=SalesChannel.shopee, account=SHOP, external_item_id=item, external_model_id=model)


def test_shopee_models_and_lazada_skus_map_back_to_their_variants(session: Session) -> None:
    make_tshirt(session)
    ids = _ids(session)
    for position, (sku, variant_id) in enumerate(ids.items()):
        service.list_variant(session, variant_id=variant_id, actor=ACTOR, listing=_shopee(f"18000000000{position}"))
        service.list_variant(session, variant_id=variant_id, actor=ACTOR, listing=ListingIn(
            channel=SalesChannel.lazada, account=SELLER, external_item_id="2154870000", external_sku=sku))

    found = service.listing_for(session, channel=SalesChannel.shopee, account=SHOP, external_item_id="23918400000",
                                external_model_id="180000000002")
    assert found is not None and found.variant_id == ids["AT-001-TRA-M"]
    lazada = service.listing_for(session, channel=SalesChannel.lazada, account=SELLER,
                                 external_item_id="2154870000", external_sku="AT-001-DEN-L")
    assert lazada is not None and lazada.variant_id == ids["AT-001-DEN-L"]
    by_sku_alone = service.listing_for(session, channel=SalesChannel.lazada, account=SELLER, external_item_id="",
                                       external_sku="AT-001-DEN-L")
    assert by_sku_alone is not None and by_sku_alone.id == lazada.id
    assert service.listing_for(session, channel=SalesChannel.shopee, account="other-shop",
                               external_item_id="23918400000", external_model_id="180000000002") is None
    assert service.listing_for(session, channel=SalesChannel.shopee, account=SHOP, external_item_id="23918400000",
                               external_model_id="999") is None
    assert service.listing_for(session, channel=SalesChannel.shopee, account=SHOP,
                               external_item_id="23918400000") is None  # four models: which one is unknown

    assert len(service.listings_of(session, channel=SalesChannel.shopee)) == 4
    assert len(service.listings_of(session, channel=SalesChannel.lazada, account=SELLER,
                                   variant_ids=[ids["AT-001-DEN-M"]])) == 1
    assert service.listings_of(session, channel=SalesChannel.lazada, account="nobody") == []


def test_an_item_without_variations_is_found_by_its_item_id(session: Session) -> None:
    make_tshirt(session)
    variant_id = _ids(session)["AT-001-DEN-M"]
    service.list_variant(session, variant_id=variant_id, actor=ACTOR, listing=_shopee("0", item="555"))
    found = service.listing_for(session, channel=SalesChannel.shopee, account=SHOP, external_item_id="555",
                                external_model_id="0")
    assert found is not None and found.variant_id == variant_id and found.external_model_id == ""
    assert service.listing_for(session, channel=SalesChannel.shopee, account=SHOP, external_item_id="555") == found


def test_an_unlisted_seller_sku_of_an_item_with_one_listed_sku_is_not_taken_for_it(session: Session) -> None:
    make_tshirt(session)
    ids = _ids(session)
    service.list_variant(session, variant_id=ids["AT-001-DEN-M"], actor=ACTOR, listing=ListingIn(
        channel=SalesChannel.lazada, account=SELLER, external_item_id="2154870001", external_sku="AT-001-DEN-M"))
    assert service.listing_for(session, channel=SalesChannel.lazada, account=SELLER, external_item_id="2154870001",
                               external_sku="AT-001-TRA-L") is None
    found = service.listing_for(session, channel=SalesChannel.lazada, account=SELLER, external_item_id="2154870001",
                                external_sku="AT-001-DEN-M")
    assert found is not None and found.variant_id == ids["AT-001-DEN-M"]


def test_relisting_changes_the_ids_and_unlisting_keeps_old_orders_mapped(session: Session) -> None:
    make_tshirt(session)
    ids = _ids(session)
    first = service.list_variant(session, variant_id=ids["AT-001-DEN-M"], actor=ACTOR, listing=_shopee("1"))
    again = service.list_variant(session, variant_id=ids["AT-001-DEN-M"], actor=ACTOR, listing=_shopee("2"))
    assert again.id == first.id and again.external_model_id == "2"

    service.unlist(session, listing_id=again.id, actor=ACTOR)
    assert service.listings_of(session, channel=SalesChannel.shopee) == []
    assert [row.id for row in service.listings_of(session, channel=SalesChannel.shopee, active_only=False)] == [
        again.id]
    old = service.listing_for(session, channel=SalesChannel.shopee, account=SHOP, external_item_id="23918400000",
                              external_model_id="2")
    assert old is not None and not old.is_active

    relisted = service.list_variant(session, variant_id=ids["AT-001-DEN-M"], actor=ACTOR, listing=_shopee("2"))
    assert relisted.is_active


def test_one_marketplace_model_names_one_variant(session: Session) -> None:
    make_tshirt(session)
    ids = _ids(session)
    service.list_variant(session, variant_id=ids["AT-001-DEN-M"], actor=ACTOR, listing=_shopee("7"))
    with pytest.raises(Conflict) as taken:
        service.list_variant(session, variant_id=ids["AT-001-DEN-L"], actor=ACTOR, listing=_shopee("7"))
    assert taken.value.code == "listing_taken"
    assert taken.value.details["variant_id"] == ids["AT-001-DEN-M"]


@pytest.mark.parametrize("listing", [
    ListingIn(channel=SalesChannel.shopee, account="", external_item_id="1"),
    ListingIn(channel=SalesChannel.shopee, account=SHOP, external_item_id=""),
    ListingIn(channel=SalesChannel.lazada, account=SELLER, external_item_id="1"),
])
def test_a_marketplace_listing_needs_its_shop_and_ids(session: Session, listing: ListingIn) -> None:
    make_tshirt(session)
    with pytest.raises(ValidationFailed) as refused:
        service.list_variant(session, variant_id=_ids(session)["AT-001-DEN-M"], actor=ACTOR, listing=listing)
    assert refused.value.code == "invalid_listing"


def test_listing_an_unknown_variant_or_unlisting_an_unknown_listing(session: Session) -> None:
    with pytest.raises(NotFound):
        service.list_variant(session, variant_id=4242, actor=ACTOR, listing=_shopee("1"))
    with pytest.raises(NotFound):
        service.unlist(session, listing_id=4242, actor=ACTOR)


def _events(session: Session, topic: str) -> list[dict[str, object]]:
    session.rollback()
    rows = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id))
    return [dict(row.payload) for row in rows]


def test_listing_and_selling_changes_are_announced_for_the_marketplaces(session: Session) -> None:
    product = make_tshirt(session)
    ids = _ids(session)
    listing = service.list_variant(session, variant_id=ids["AT-001-DEN-M"], actor=ACTOR, listing=_shopee("1"))
    service.unlist(session, listing_id=listing.id, actor=ACTOR)
    service.unlist(session, listing_id=listing.id, actor=ACTOR)  # already unlisted: nothing to tell
    assert [(e["variant_id"], e["channel"], e["account"], e["is_active"])
            for e in _events(session, LISTING_CHANGED)] == [
        (ids["AT-001-DEN-M"], "shopee", SHOP, True), (ids["AT-001-DEN-M"], "shopee", SHOP, False)]

    service.update_variant(session, variant_id=ids["AT-001-TRA-L"], actor=ACTOR,
                           changes=VariantUpdate(is_active=False))
    service.archive_product(session, product_id=product.id, actor=ACTOR)
    service.archive_product(session, product_id=product.id, actor=ACTOR)  # no change, no event
    service.activate_product(session, product_id=product.id, actor=ACTOR)
    three = sorted(v for sku, v in ids.items() if sku != "AT-001-TRA-L")
    assert [e["variant_ids"] for e in _events(session, SELLABLE_CHANGED)] == [
        [ids["AT-001-TRA-L"]], three, three]
