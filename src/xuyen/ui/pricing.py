"""The pricing pages (managers and owners): a variant's base price and every override of it (where and why),
promotions with their coupons, and the VAT rates (owners change them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import admin, promotions
from xuyen.commerce.pricing.models import PromotionKind
from xuyen.commerce.pricing.prices import base_price_list
from xuyen.commerce.pricing.rules import PARAMS, percent_to_bp
from xuyen.commerce.pricing.vat import percent
from xuyen.errors import Conflict, NotFound, ValidationFailed, XuyenError
from xuyen.events.labels import channel_label
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.stores import service as stores
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
OwnerViewer = Annotated[Viewer, Depends(page_role(Role.owner))]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]

KIND_NAMES: dict[str, str] = {
    "percent": N_("Percentage off"), "fixed": N_("Amount off"), "buy_x_get_y": N_("Buy X get Y"),
    "bundle": N_("Bundle price"), "threshold": N_("Spend threshold")}
SCOPE_NAMES: dict[str, str] = {"order": N_("Whole order"), "products": N_("Products (ids)"),
                               "categories": N_("Categories (ids)"), "skus": N_("SKUs")}
CHAT = N_("Chat conversation")
TAX_CLASS_NAMES: dict[str, str] = {"standard": N_("Standard goods"), "standard_not_reduced": N_("Never reduced"),
                                   "reduced": N_("Reduced rate"), "exempt": N_("Not subject to VAT")}


def channel_name(value: str) -> str:
    """A sales channel's name in the page's language (a chat sale is not one chat provider)."""
    return gettext(CHAT) if value == SalesChannel.chat.value else channel_label(value)


def _render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    return render(request, template, {"channel_name": channel_name, **context}, status_code=status_code)


def _words(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def _whole(value: str, *, name: str) -> int | None:
    value = value.strip().replace(".", "").replace(" ", "")
    if not value:
        return None
    if not value.lstrip("-").isdigit() or len(value) > 13:
        raise ValidationFailed(f"{name} must be a whole number.", code="invalid_form")
    return int(value)


def _moment(value: str, viewer: Viewer) -> datetime | None:
    """A ``datetime-local`` form value, in the viewer's time zone."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=ZoneInfo(viewer.principal.timezone))
    except ValueError as exc:
        raise ValidationFailed("Give dates and times as the form shows them.", code="invalid_form") from exc


def _refused(request: Request, template: str, context: dict[str, Any], exc: XuyenError) -> Response:
    return _render(request, template, {**context, "error": exc.message}, status_code=exc.status)


# Prices and overrides --------------------------------------------------------------------------------------


@router.get("/pricing")
def pricing_page(request: Request, session: DbSession, _viewer: ManagerViewer,
                 sku: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The price lists, a SKU search, and the newest overrides."""
    context = {"price_lists": admin.list_price_lists(session),
               "overrides": admin.list_overrides(session, active_only=True, limit=100), "sku": sku, "error": "",
               "percent": percent}
    if sku.strip():
        try:
            found = admin.find_variant(session, sku=sku)
        except NotFound as exc:
            return _refused(request, "pricing/index.html", context, exc)
        return RedirectResponse(f"/pricing/variants/{found.variant_id}", status_code=303)
    return _render(request, "pricing/index.html", context)


def _variant_context(session: Session, variant_id: int) -> dict[str, Any]:
    return {"view": admin.variant_pricing(session, variant_id=variant_id), "channels": list(SalesChannel),
            "stores": stores.list_all(session, active_only=True), "percent": percent, "error": "", "form": {}}


@router.get("/pricing/variants/{variant_id}")
def variant_page(variant_id: Id, request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """A variant's base price and every override of it: where, why, and whether it is in force now."""
    return _render(request, "pricing/variant.html", _variant_context(session, variant_id))


@router.post("/pricing/variants/{variant_id}/price")
def set_base_price(variant_id: Id, request: Request, session: DbSession, viewer: ManagerViewer,
                   csrf_token: FormText = "", amount: FormText = "") -> Response:
    """Set the variant's price on the base list."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        value = _whole(amount, name="The price")
        if value is None:
            raise ValidationFailed("Give the price in đồng.", code="invalid_price")
        admin.set_prices(session, price_list_id=base_price_list(session).id, amounts={variant_id: value},
                         actor=actor_name(viewer.principal))
    except (ValidationFailed, NotFound) as exc:
        session.rollback()
        return _refused(request, "pricing/variant.html", _variant_context(session, variant_id), exc)
    return RedirectResponse(f"/pricing/variants/{variant_id}", status_code=303)


@router.post("/pricing/variants/{variant_id}/overrides")
def add_override(variant_id: Id, request: Request, session: DbSession, viewer: ManagerViewer,
                 csrf_token: FormText = "", channel: FormText = "", store_id: FormText = "", tier: FormText = "",
                 kind: FormText = "percent", value: FormText = "", round_to: FormText = "", reason: FormText = "",
                 starts_at: FormText = "", ends_at: FormText = "", every_variant: FormText = "") -> Response:
    """Add an override for this variant (or for every variant) in a channel, a store or a tier."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"channel": channel, "store_id": store_id, "tier": tier, "kind": kind, "value": value,
            "round_to": round_to, "reason": reason}
    try:
        changes: dict[str, Any] = {
            "variant_id": None if every_variant == "on" else variant_id, "channel": channel or None,
            "store_id": _whole(store_id, name="The store"), "tier": tier or None, "kind": kind, "reason": reason,
            "round_to": _whole(round_to, name="Rounding") or 1, "starts_at": _moment(starts_at, viewer),
            "ends_at": _moment(ends_at, viewer)}
        if kind == "fixed":
            changes["amount"] = _whole(value, name="The price")
        else:
            changes["percent"] = value.strip().replace(",", ".") or None
        admin.create_override(session, changes=changes, actor=actor_name(viewer.principal))
    except (ValidationFailed, NotFound) as exc:
        session.rollback()
        context = _variant_context(session, variant_id) | {"form": form}
        return _refused(request, "pricing/variant.html", context, exc)
    return RedirectResponse(f"/pricing/variants/{variant_id}", status_code=303)


@router.post("/pricing/overrides/{override_id}/deactivate")
def deactivate_override(override_id: Id, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                        back: FormText = "/pricing") -> Response:
    """Switch an override off."""
    check_csrf(viewer.auth_session, csrf_token)
    admin.update_override(session, override_id=override_id, changes={"is_active": False},
                          actor=actor_name(viewer.principal))
    target = back if back.startswith("/pricing") and "//" not in back else "/pricing"
    return RedirectResponse(target, status_code=303)


# Promotions and coupons ------------------------------------------------------------------------------------


def _promotions_context(session: Session) -> dict[str, Any]:
    return {"promotions": promotions.list_promotions(session), "kinds": KIND_NAMES, "scopes": SCOPE_NAMES,
            "channels": list(SalesChannel), "error": "", "form": {}}


@router.get("/pricing/promotions")
def promotions_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """Every promotion, active first, and a form to add one."""
    return _render(request, "pricing/promotions.html", _promotions_context(session))


def _params(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    """The promotion's parameters from the form: those its kind takes that were filled in."""
    try:
        allowed = PARAMS[PromotionKind(kind)][0]
    except ValueError:
        return {}
    params: dict[str, Any] = {}
    for name in sorted(allowed):
        raw = fields.get(name, "").strip()
        if not raw:
            continue
        if name == "items":
            params[name] = [{"sku": sku.strip(), "quantity": _whole(quantity or "1", name="A quantity")}
                            for sku, _, quantity in (item.partition(":") for item in _words(raw))]
        elif name == "percent":
            params[name] = raw.replace(",", ".")
        elif name == "gift_sku":
            params[name] = raw
        elif name == "per_item":
            params[name] = raw == "on"
        else:
            params[name] = _whole(raw, name=name)
    return params


@router.post("/pricing/promotions")
def add_promotion(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                  name: FormText = "", kind: FormText = "percent", scope: FormText = "order", targets: FormText = "",
                  percent: FormText = "", amount: FormText = "", max_discount: FormText = "", buy: FormText = "",
                  get: FormText = "", items: FormText = "", price: FormText = "", min_subtotal: FormText = "",
                  gift_sku: FormText = "", per_item: FormText = "", priority: FormText = "",
                  exclusive: FormText = "", stack_group: FormText = "", channels: FormList = [],  # noqa: B006
                  tiers: FormText = "", requires_coupon: FormText = "", starts_at: FormText = "",
                  ends_at: FormText = "") -> Response:
    """Add a promotion from the form."""
    check_csrf(viewer.auth_session, csrf_token)
    fields = {"percent": percent, "amount": amount, "max_discount": max_discount, "buy": buy, "get": get,
              "items": items, "price": price, "min_subtotal": min_subtotal, "gift_sku": gift_sku,
              "per_item": per_item}
    form = {"name": name, "kind": kind, "scope": scope, "targets": targets, "priority": priority,
            "stack_group": stack_group, "tiers": tiers, "channels": channels, **fields}
    try:
        promotion = promotions.create_promotion(session, changes={
            "name": name, "kind": kind, "scope": scope, "targets": _words(targets), "params": _params(kind, fields),
            "priority": _whole(priority, name="Priority") or 0, "exclusive": exclusive == "on",
            "stack_group": stack_group or None, "channels": channels, "tiers": _words(tiers),
            "requires_coupon": requires_coupon == "on", "starts_at": _moment(starts_at, viewer),
            "ends_at": _moment(ends_at, viewer)}, actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _refused(request, "pricing/promotions.html", _promotions_context(session) | {"form": form}, exc)
    return RedirectResponse(f"/pricing/promotions/{promotion.id}", status_code=303)


def _promotion_context(session: Session, promotion_id: int) -> dict[str, Any]:
    return {"promotion": promotions.get_promotion(session, promotion_id=promotion_id),
            "coupons": promotions.list_coupons(session, promotion_id=promotion_id, limit=200),
            "coupon_count": promotions.count_coupons(session, promotion_id=promotion_id), "kinds": KIND_NAMES,
            "scopes": SCOPE_NAMES, "error": "", "generated": []}


@router.get("/pricing/promotions/{promotion_id}")
def promotion_page(promotion_id: Id, request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """A promotion, its coupons, and forms to add a code or generate single-use codes."""
    return _render(request, "pricing/promotion.html", _promotion_context(session, promotion_id))


@router.post("/pricing/promotions/{promotion_id}/active")
def switch_promotion(promotion_id: Id, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                     active: FormText = "") -> Response:
    """Deactivate or reactivate a promotion."""
    check_csrf(viewer.auth_session, csrf_token)
    promotions.update_promotion(session, promotion_id=promotion_id, changes={"is_active": active == "on"},
                                actor=actor_name(viewer.principal))
    return RedirectResponse(f"/pricing/promotions/{promotion_id}", status_code=303)


@router.post("/pricing/promotions/{promotion_id}/coupons")
def add_coupon(promotion_id: Id, request: Request, session: DbSession, viewer: ManagerViewer,
               csrf_token: FormText = "", code: FormText = "", max_uses: FormText = "",
               per_customer_limit: FormText = "") -> Response:
    """Add one coupon code."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        promotions.create_coupon(session, promotion_id=promotion_id, code=code,
                                 max_uses=_whole(max_uses, name="The limit"),
                                 per_customer_limit=_whole(per_customer_limit, name="The limit per customer"),
                                 actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _refused(request, "pricing/promotion.html", _promotion_context(session, promotion_id), exc)
    return RedirectResponse(f"/pricing/promotions/{promotion_id}", status_code=303)


@router.post("/pricing/promotions/{promotion_id}/coupons/batch")
def generate_coupons(promotion_id: Id, request: Request, session: DbSession, viewer: ManagerViewer,
                     csrf_token: FormText = "", count: FormText = "", prefix: FormText = "") -> Response:
    """Generate single-use codes and show them once, to copy."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        made = promotions.generate_coupons(session, promotion_id=promotion_id,
                                           count=_whole(count, name="The number of codes") or 0, prefix=prefix,
                                           actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _refused(request, "pricing/promotion.html", _promotion_context(session, promotion_id), exc)
    context = _promotion_context(session, promotion_id) | {"generated": [coupon.code for coupon in made]}
    return _render(request, "pricing/promotion.html", context, status_code=201)


@router.post("/pricing/coupons/{coupon_id}/deactivate")
def deactivate_coupon(coupon_id: Id, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "") -> Response:
    """Switch a coupon off."""
    check_csrf(viewer.auth_session, csrf_token)
    coupon = promotions.set_coupon_active(session, coupon_id=coupon_id, active=False,
                                          actor=actor_name(viewer.principal))
    return RedirectResponse(f"/pricing/promotions/{coupon.promotion_id}", status_code=303)


# VAT rates -------------------------------------------------------------------------------------------------


def _vat_context(session: Session) -> dict[str, Any]:
    return {"rates": admin.list_vat_rates(session), "tax_classes": TAX_CLASS_NAMES, "percent": percent,
            "error": ""}


@router.get("/pricing/vat")
def vat_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """The VAT rates of each tax class with their periods."""
    return _render(request, "pricing/vat.html", _vat_context(session))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError as exc:
        raise ValidationFailed("Give dates as the form shows them.", code="invalid_form") from exc


@router.post("/pricing/vat")
def add_vat_rate(request: Request, session: DbSession, viewer: OwnerViewer, csrf_token: FormText = "",
                 tax_class: FormText = "", rate: FormText = "", valid_from: FormText = "",
                 valid_until: FormText = "", note: FormText = "") -> Response:
    """Add a VAT rate period (owners)."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        start = _day(valid_from)
        if start is None:
            raise ValidationFailed("Give the first day the rate applies.", code="invalid_vat_rate")
        rate_bp = percent_to_bp(rate) if rate.strip() else None
        if rate.strip() and rate_bp is None:
            raise ValidationFailed("Give the rate as a percentage, or leave it empty.", code="invalid_vat_rate")
        admin.add_vat_rate(session, tax_class=tax_class, rate_bp=rate_bp, valid_from=start,
                           valid_until=_day(valid_until), note=note, actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _refused(request, "pricing/vat.html", _vat_context(session), exc)
    return RedirectResponse("/pricing/vat", status_code=303)


@router.post("/pricing/vat/{vat_rate_id}/delete")
def delete_vat_rate(vat_rate_id: Id, session: DbSession, viewer: OwnerViewer, csrf_token: FormText = "") -> Response:
    """Remove a VAT rate period (owners)."""
    check_csrf(viewer.auth_session, csrf_token)
    admin.delete_vat_rate(session, vat_rate_id=vat_rate_id, actor=actor_name(viewer.principal))
    return RedirectResponse("/pricing/vat", status_code=303)

