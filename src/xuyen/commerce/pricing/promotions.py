"""Managing promotions and their coupons: create, change, deactivate, and generate batches of single-use codes.
Every change moves the pricing version, so each process reloads its cached rules before its next quote."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.commerce.pricing.models import Coupon, Promotion, PromotionKind, PromotionScope
from xuyen.commerce.pricing.rules import PromotionInvalid, bump_version, check_params, check_restrictions
from xuyen.commerce.pricing.service import MAX_CODE_LENGTH, normalise_code
from xuyen.errors import Conflict, NotFound, ValidationFailed

FIELDS = ("name", "description", "kind", "scope", "targets", "params", "priority", "exclusive", "stack_group",
          "channels", "tiers", "requires_coupon", "starts_at", "ends_at", "is_active")
MAX_BATCH = 10_000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed
CODE_CHARACTERS = set(CODE_ALPHABET) | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def get_promotion(session: Session, *, promotion_id: int) -> Promotion:
    """The promotion with this id."""
    found = session.get(Promotion, promotion_id)
    if found is None:
        raise NotFound(f"There is no promotion {promotion_id}.", code="promotion_not_found")
    return found


def list_promotions(session: Session, *, active_only: bool = False, limit: int = 500) -> list[Promotion]:
    """Promotions, active first, then by priority and newest."""
    query = select(Promotion).order_by(Promotion.is_active.desc(), Promotion.priority.desc(), Promotion.id.desc())
    if active_only:
        query = query.where(Promotion.is_active.is_(True))
    return list(session.scalars(query.limit(limit)))


def _problems(values: dict[str, Any]) -> list[str]:
    problems = []
    name = values.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append("a promotion needs a name of at most 200 characters")
    try:
        kind = PromotionKind(str(values.get("kind")))
        scope = PromotionScope(str(values.get("scope")))
    except ValueError:
        return [*problems, "kind must be one of " + ", ".join(item.value for item in PromotionKind)
                + " and scope one of " + ", ".join(item.value for item in PromotionScope)]
    for key in ("targets", "channels", "tiers"):
        if not isinstance(values.get(key), list):
            problems.append(f"{key} must be a list")
    if not isinstance(values.get("params"), dict):
        return [*problems, "params must be an object"]
    if problems:
        return problems
    problems += check_params(kind, values["params"])
    problems += check_restrictions(scope=scope, targets=values["targets"], channels=values["channels"])
    if any(not isinstance(tier, str) or not tier.strip() or len(tier) > 64 for tier in values["tiers"]):
        problems.append("each tier is a name of at most 64 characters")
    if not isinstance(values.get("priority"), int) or not -1000 <= values["priority"] <= 1000:
        problems.append("priority must be a whole number from -1000 to 1000")
    if len(values.get("stack_group") or "") > 64 or len(values.get("description") or "") > 1000:
        problems.append("the group takes at most 64 characters, the description 1000")
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
        problems.append("the end must come after the start")
    return problems


def _save(session: Session, promotion: Promotion, values: dict[str, Any], *, actor: str, action: str) -> Promotion:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise PromotionInvalid([f"{name} is not a field of a promotion" for name in unknown])
    problems = _problems(values)
    if problems:
        raise PromotionInvalid(problems)
    values["kind"], values["scope"] = PromotionKind(values["kind"]), PromotionScope(values["scope"])
    values["targets"] = [str(target).strip() for target in values["targets"]]
    values["tiers"] = [tier.strip() for tier in values["tiers"]]
    values["stack_group"] = (values.get("stack_group") or "").strip() or None
    for key, value in values.items():
        setattr(promotion, key, value)
    promotion.updated_at = utcnow()
    session.add(promotion)
    session.flush()
    bump_version(session)
    audit.record(session, actor=actor, action=action, subject_type="promotion", subject_id=promotion.id,
                 detail={key: str(value) for key, value in values.items()})
    return promotion


def create_promotion(session: Session, *, changes: Mapping[str, Any], actor: str) -> Promotion:
    """Create a promotion (fields as ``FIELDS``; kinds and their params in docs/pricing.md)."""
    promotion = add_promotion(session, changes=changes, actor=actor)
    session.commit()
    return promotion


def add_promotion(session: Session, *, changes: Mapping[str, Any], actor: str) -> Promotion:
    """Add a promotion as ``create_promotion`` does (helper: no commit)."""
    values: dict[str, Any] = {"description": "", "scope": PromotionScope.order.value, "targets": [], "params": {},
                              "priority": 0, "exclusive": False, "stack_group": None, "channels": [], "tiers": [],
                              "requires_coupon": False, "starts_at": None, "ends_at": None, "is_active": True,
                              **changes}
    return _save(session, Promotion(created_at=utcnow()), values, actor=actor, action="pricing.promotion_created")


def update_promotion(session: Session, *, promotion_id: int, changes: Mapping[str, Any], actor: str) -> Promotion:
    """Change the fields given (``is_active: false`` deactivates the promotion)."""
    promotion = get_promotion(session, promotion_id=promotion_id)
    current = {key: getattr(promotion, key) for key in FIELDS}
    current["kind"], current["scope"] = promotion.kind.value, promotion.scope.value
    saved = _save(session, promotion, {**current, **changes}, actor=actor, action="pricing.promotion_updated")
    session.commit()
    return saved


# Coupons ---------------------------------------------------------------------------------------------------


def list_coupons(session: Session, *, promotion_id: int, limit: int = 1000) -> list[Coupon]:
    """The promotion's coupons, newest first."""
    get_promotion(session, promotion_id=promotion_id)
    return list(session.scalars(select(Coupon).where(Coupon.promotion_id == promotion_id)
                                .order_by(Coupon.id.desc()).limit(limit)))


def count_coupons(session: Session, *, promotion_id: int) -> int:
    """How many coupons the promotion has."""
    return int(session.scalar(select(func.count()).select_from(Coupon).where(Coupon.promotion_id == promotion_id))
               or 0)


def _check_limits(max_uses: int | None, per_customer_limit: int | None) -> None:
    for name, value in (("max_uses", max_uses), ("per_customer_limit", per_customer_limit)):
        if value is not None and not 1 <= value <= 10_000_000:
            raise ValidationFailed(f"{name} must be from 1 to 10,000,000, or empty for no limit.",
                                   code="invalid_coupon")


def _coupon_promotion(session: Session, promotion_id: int) -> Promotion:
    promotion = get_promotion(session, promotion_id=promotion_id)
    if not promotion.requires_coupon:
        raise ValidationFailed("This promotion applies without a code; make it require a coupon first.",
                               code="promotion_takes_no_coupon")
    return promotion


def create_coupon(session: Session, *, promotion_id: int, code: str, max_uses: int | None,
                  per_customer_limit: int | None, actor: str) -> Coupon:
    """Create one coupon code for a promotion that requires one."""
    coupon = add_coupon(session, promotion_id=promotion_id, code=code, max_uses=max_uses,
                        per_customer_limit=per_customer_limit, actor=actor)
    session.commit()
    return coupon


def add_coupon(session: Session, *, promotion_id: int, code: str, max_uses: int | None,
               per_customer_limit: int | None, actor: str) -> Coupon:
    """Add a coupon as ``create_coupon`` does (helper: no commit)."""
    _coupon_promotion(session, promotion_id)
    code = normalise_code(code)
    if not code or len(code) > MAX_CODE_LENGTH or not set(code) <= CODE_CHARACTERS:
        raise ValidationFailed(f"A coupon code has 1 to {MAX_CODE_LENGTH} letters A-Z, digits, '-' or '_'.",
                               code="invalid_coupon")
    _check_limits(max_uses, per_customer_limit)
    coupon = Coupon(promotion_id=promotion_id, code=code, max_uses=max_uses, per_customer_limit=per_customer_limit,
                    uses=0, batch="", is_active=True, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(coupon)
    except IntegrityError as exc:
        raise Conflict(f"The code {code} exists already; choose another.", code="coupon_exists") from exc
    audit.record(session, actor=actor, action="pricing.coupon_created", subject_type="coupon", subject_id=coupon.id,
                 detail={"code": code, "promotion_id": promotion_id})
    return coupon


def generate_coupons(session: Session, *, promotion_id: int, count: int, prefix: str = "",
                     per_customer_limit: int | None = 1, actor: str) -> list[Coupon]:
    """Generate ``count`` single-use codes (prefix + 10 random characters) for a promotion that requires one."""
    _coupon_promotion(session, promotion_id)
    prefix = normalise_code(prefix)
    if not 1 <= count <= MAX_BATCH:
        raise ValidationFailed(f"Generate 1 to {MAX_BATCH:,} codes at a time.", code="invalid_coupon")
    if len(prefix) > 20 or not set(prefix) <= CODE_CHARACTERS:
        raise ValidationFailed("A prefix has at most 20 letters A-Z, digits, '-' or '_'.", code="invalid_coupon")
    _check_limits(1, per_customer_limit)
    batch = secrets.token_hex(6)
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10)))
    taken = set(session.scalars(select(Coupon.code).where(Coupon.code.in_(codes))))
    now = utcnow()
    coupons = [Coupon(promotion_id=promotion_id, code=code, max_uses=1, per_customer_limit=per_customer_limit,
                      uses=0, batch=batch, is_active=True, created_at=now) for code in sorted(codes - taken)]
    session.add_all(coupons)
    audit.record(session, actor=actor, action="pricing.coupons_generated", subject_type="promotion",
                 subject_id=promotion_id, detail={"batch": batch, "count": len(coupons)})
    session.commit()
    return coupons


def set_coupon_active(session: Session, *, coupon_id: int, active: bool, actor: str) -> Coupon:
    """Deactivate (or reactivate) a coupon."""
    coupon = session.get(Coupon, coupon_id)
    if coupon is None:
        raise NotFound(f"There is no coupon {coupon_id}.", code="coupon_not_found")
    coupon.is_active = active
    audit.record(session, actor=actor, action="pricing.coupon_" + ("activated" if active else "deactivated"),
                 subject_type="coupon", subject_id=coupon.id, detail={"code": coupon.code})
    session.commit()
    return coupon
