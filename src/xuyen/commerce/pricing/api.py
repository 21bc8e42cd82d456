"""The pricing API: the quote any channel asks for (staff and API keys), and managing price lists, prices,
overrides, promotions and coupons (managers) and VAT rates (owners change them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Response
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.commerce.pricing import admin, promotions, service
from xuyen.commerce.pricing.admin_schemas import (
    CouponBatchIn,
    CouponIn,
    CouponOut,
    CouponPatch,
    OverrideIn,
    OverrideOut,
    OverridePatch,
    PriceListIn,
    PriceListOut,
    PricesChanged,
    PricesIn,
    PromotionIn,
    PromotionOut,
    PromotionPatch,
    VariantPricingOut,
    VatRateIn,
    VatRateOut,
)
from xuyen.commerce.pricing.rules import percent_to_bp
from xuyen.commerce.pricing.schemas import Quote, QuoteIn
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(tags=["pricing"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Owner = Annotated[Principal, Depends(require_role(Role.owner))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/quote", response_model=Quote,
             summary="What a cart costs on a channel: prices, promotions, coupons, totals and VAT")
def quote(body: QuoteIn, session: Db, _caller: Agent) -> Response:
    """The same engine answers every channel; a difference between channels is named in the lines' adjustments
    and the discounts."""
    answer = service.quote_request(session, request=body)
    # The service's answer is a checked Quote already: its JSON goes out as is (the same bytes FastAPI would send),
    # without FastAPI validating it again in another trip through the thread pool.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get("/pricing/price-lists", summary="Price lists")
def list_price_lists(session: Db, _caller: Manager) -> list[PriceListOut]:
    return [PriceListOut.of(row) for row in admin.list_price_lists(session)]


@router.post("/pricing/price-lists", status_code=201, summary="Add a price list")
def create_price_list(body: PriceListIn, session: Db, caller: Manager) -> PriceListOut:
    return PriceListOut.of(admin.create_price_list(session, code=body.code, name=body.name, currency=body.currency,
                                                   minor_units=body.minor_units, base=body.base,
                                                   actor=actor_name(caller)))


@router.put("/pricing/price-lists/{price_list_id}/prices", summary="Set variants' prices on a list")
def set_prices(price_list_id: Id, body: PricesIn, session: Db, caller: Manager) -> PricesChanged:
    by_id = {row.variant_id: row.amount for row in body.prices if row.variant_id is not None}
    by_sku = {row.sku: row.amount for row in body.prices if row.sku is not None}
    return PricesChanged(changed=admin.set_prices(session, price_list_id=price_list_id, amounts=by_id,
                                                  sku_amounts=by_sku, actor=actor_name(caller)))


@router.get("/pricing/variants/{variant_id}", summary="A variant's base price and every override of it")
def variant_pricing(variant_id: Id, session: Db, _caller: Manager) -> VariantPricingOut:
    return VariantPricingOut.of(admin.variant_pricing(session, variant_id=variant_id))


@router.get("/pricing/overrides", summary="Price overrides, newest first")
def list_overrides(session: Db, _caller: Manager,
                   variant_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> list[OverrideOut]:
    return [OverrideOut.of(row) for row in admin.list_overrides(session, variant_id=variant_id)]


@router.post("/pricing/overrides", status_code=201, summary="Add a price override")
def create_override(body: OverrideIn, session: Db, caller: Manager) -> OverrideOut:
    return OverrideOut.of(admin.create_override(session, changes=body.changes(), actor=actor_name(caller)))


@router.patch("/pricing/overrides/{override_id}", summary="Change or deactivate a price override")
def update_override(override_id: Id, body: OverridePatch, session: Db, caller: Manager) -> OverrideOut:
    return OverrideOut.of(admin.update_override(session, override_id=override_id, changes=body.changes(),
                                                actor=actor_name(caller)))


@router.get("/pricing/promotions", summary="Promotions, active first")
def list_promotions(session: Db, _caller: Manager) -> list[PromotionOut]:
    return [PromotionOut.of(row) for row in promotions.list_promotions(session)]


@router.post("/pricing/promotions", status_code=201, summary="Add a promotion")
def create_promotion(body: PromotionIn, session: Db, caller: Manager) -> PromotionOut:
    return PromotionOut.of(promotions.create_promotion(session, changes=body.changes(), actor=actor_name(caller)))


@router.get("/pricing/promotions/{promotion_id}", summary="One promotion")
def get_promotion(promotion_id: Id, session: Db, _caller: Manager) -> PromotionOut:
    return PromotionOut.of(promotions.get_promotion(session, promotion_id=promotion_id))


@router.patch("/pricing/promotions/{promotion_id}", summary="Change or deactivate a promotion")
def update_promotion(promotion_id: Id, body: PromotionPatch, session: Db, caller: Manager) -> PromotionOut:
    return PromotionOut.of(promotions.update_promotion(session, promotion_id=promotion_id, changes=body.changes(),
                                                       actor=actor_name(caller)))


@router.get("/pricing/promotions/{promotion_id}/coupons", summary="A promotion's coupons, newest first")
def list_coupons(promotion_id: Id, session: Db, _caller: Manager) -> list[CouponOut]:
    return [CouponOut.of(row) for row in promotions.list_coupons(session, promotion_id=promotion_id)]


@router.post("/pricing/promotions/{promotion_id}/coupons", status_code=201, summary="Add a coupon code")
def create_coupon(promotion_id: Id, body: CouponIn, session: Db, caller: Manager) -> CouponOut:
    return CouponOut.of(promotions.create_coupon(session, promotion_id=promotion_id, code=body.code,
                                                 max_uses=body.max_uses, per_customer_limit=body.per_customer_limit,
                                                 actor=actor_name(caller)))


@router.post("/pricing/promotions/{promotion_id}/coupons/batch", status_code=201,
             summary="Generate a batch of single-use codes")
def generate_coupons(promotion_id: Id, body: CouponBatchIn, session: Db, caller: Manager) -> list[CouponOut]:
    return [CouponOut.of(row) for row in promotions.generate_coupons(
        session, promotion_id=promotion_id, count=body.count, prefix=body.prefix,
        per_customer_limit=body.per_customer_limit, actor=actor_name(caller))]


@router.patch("/pricing/coupons/{coupon_id}", summary="Deactivate or reactivate a coupon")
def update_coupon(coupon_id: Id, body: CouponPatch, session: Db, caller: Manager) -> CouponOut:
    return CouponOut.of(promotions.set_coupon_active(session, coupon_id=coupon_id, active=body.is_active,
                                                     actor=actor_name(caller)))


@router.get("/pricing/vat-rates", summary="VAT rates per tax class with their periods")
def list_vat_rates(session: Db, _caller: Manager) -> list[VatRateOut]:
    return [VatRateOut.of(row) for row in admin.list_vat_rates(session)]


@router.post("/pricing/vat-rates", status_code=201, summary="Add a VAT rate period (owners)")
def add_vat_rate(body: VatRateIn, session: Db, caller: Owner) -> VatRateOut:
    return VatRateOut.of(admin.add_vat_rate(session, tax_class=body.tax_class,
                                            rate_bp=None if body.rate is None else percent_to_bp(body.rate),
                                            valid_from=body.valid_from, valid_until=body.valid_until, note=body.note,
                                            actor=actor_name(caller)))


@router.delete("/pricing/vat-rates/{vat_rate_id}", status_code=204, summary="Remove a VAT rate period (owners)")
def delete_vat_rate(vat_rate_id: Id, session: Db, caller: Owner) -> Response:
    admin.delete_vat_rate(session, vat_rate_id=vat_rate_id, actor=actor_name(caller))
    return Response(status_code=204)
