"""Promotion definitions as the engine's rules: checking a promotion's parameters (every problem named), turning
rows into rules, and the pricing version token that keys each process's cache (see ``cache``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing.engine import FULL, Rule
from xuyen.commerce.pricing.models import PricingVersion, Promotion, PromotionKind, PromotionScope
from xuyen.errors import ValidationFailed

MAX_AMOUNT = 10**12
MAX_TARGETS = 1000

# The parameters each kind takes (the others are refused), and those it needs.
PARAMS: dict[PromotionKind, tuple[set[str], set[str]]] = {
    PromotionKind.percent: ({"percent", "max_discount"}, {"percent"}),
    PromotionKind.fixed: ({"amount", "per_item"}, {"amount"}),
    PromotionKind.buy_x_get_y: ({"buy", "get", "percent"}, {"buy", "get"}),
    PromotionKind.bundle: ({"items", "price"}, {"items", "price"}),
    PromotionKind.threshold: ({"min_subtotal", "percent", "amount", "gift_sku", "gift_quantity", "max_discount"},
                              {"min_subtotal"}),
}


class PromotionInvalid(ValidationFailed):
    """A promotion that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The promotion is not valid: " + "; ".join(problems) + ".", code="invalid_promotion",
                         details={"problems": problems})


def percent_to_bp(value: Any) -> int | None:
    """A percentage given as a number or a string ("12.5") as basis points; None if it is not one."""
    try:
        number = round(float(str(value).replace(",", ".")) * 100)
    except (TypeError, ValueError, OverflowError):
        return None
    return number


def _whole(value: Any, *, low: int, high: int = MAX_AMOUNT) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 15:
        return None
    number = int(text)
    return number if low <= number <= high else None


def check_params(kind: PromotionKind, params: Mapping[str, Any]) -> list[str]:
    """Every problem with ``params`` for a promotion of ``kind`` (empty when they are fine)."""
    allowed, needed = PARAMS[kind]
    problems = [f"{name} is not a parameter of a {kind.value} promotion" for name in sorted(set(params) - allowed)]
    problems += [f"a {kind.value} promotion needs {name}" for name in sorted(needed - set(params))]
    if "percent" in params:
        basis_points = percent_to_bp(params["percent"])
        if basis_points is None or not 0 < basis_points <= FULL:
            problems.append("percent must be a number above 0 and at most 100")
    for name, low in (("amount", 1), ("max_discount", 1), ("min_subtotal", 0), ("price", 0), ("buy", 1),
                      ("get", 1), ("gift_quantity", 1)):
        if name in params and _whole(params[name], low=low) is None:
            problems.append(f"{name} must be a whole number of at least {low}")
    if "per_item" in params and not isinstance(params["per_item"], bool):
        problems.append("per_item must be true or false")
    if "gift_sku" in params and not (isinstance(params["gift_sku"], str) and params["gift_sku"].strip()):
        problems.append("gift_sku must be a SKU")
    if kind is PromotionKind.threshold and sum(name in params for name in ("percent", "amount", "gift_sku")) != 1:
        problems.append("a threshold promotion gives exactly one of percent, amount or gift_sku")
    if "items" in params:
        problems += _check_bundle_items(params["items"])
    return problems


def _check_bundle_items(items: Any) -> list[str]:
    if not isinstance(items, list) or not items or len(items) > 50:
        return ["items must list the bundle's SKUs (1 to 50) as {\"sku\": …, \"quantity\": …}"]
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("sku"), str) and item["sku"].strip()
                and _whole(item.get("quantity", 1), low=1, high=999) is not None):
            return ["each bundle item needs a sku and a quantity from 1 to 999"]
    return []


def check_restrictions(*, scope: PromotionScope, targets: list[Any], channels: list[str]) -> list[str]:
    """Problems with a promotion's scope, targets and channels."""
    problems = []
    if scope is PromotionScope.order and targets:
        problems.append("a promotion on the whole order takes no targets")
    if scope is not PromotionScope.order and not targets:
        problems.append(f"a promotion on {scope.value} needs targets")
    if len(targets) > MAX_TARGETS:
        problems.append(f"at most {MAX_TARGETS} targets")
    if scope in (PromotionScope.products, PromotionScope.categories) and any(
            _whole(target, low=1, high=2**31 - 1) is None for target in targets):
        problems.append(f"the targets of a promotion on {scope.value} are their ids")
    known = {channel.value for channel in SalesChannel}
    problems += [f"{channel!r} is not a sales channel" for channel in channels if channel not in known]
    return problems


def rule_of(promotion: Promotion) -> Rule:
    """The engine's rule for a promotion row (its parameters already checked)."""
    params = promotion.params or {}
    items = tuple((str(item["sku"]).strip(), int(item.get("quantity", 1))) for item in params.get("items", []))
    return Rule(
        id=promotion.id, name=promotion.name, kind=promotion.kind, scope=promotion.scope,
        targets=frozenset(str(target).strip() for target in promotion.targets or []),
        percent_bp=(percent_to_bp(params["percent"]) or 0) if "percent" in params else 0,
        amount=int(params.get("amount", 0)), per_item=bool(params.get("per_item", False)),
        max_discount=int(params["max_discount"]) if "max_discount" in params else None,
        buy=int(params.get("buy", 0)), get=int(params.get("get", 0)), bundle=items,
        bundle_price=int(params.get("price", 0)), min_subtotal=int(params.get("min_subtotal", 0)),
        gift_sku=str(params["gift_sku"]).strip() if "gift_sku" in params else None,
        gift_quantity=int(params.get("gift_quantity", 1)), priority=promotion.priority,
        exclusive=promotion.exclusive, group=promotion.stack_group or None,
        channels=frozenset(promotion.channels or []), tiers=frozenset(promotion.tiers or []),
        requires_coupon=promotion.requires_coupon, starts_at=promotion.starts_at, ends_at=promotion.ends_at)


# The version ------------------------------------------------------------------------------------------------


_VERSION = select(PricingVersion.token).where(PricingVersion.id == 1)


def current_version(session: Session) -> str:
    """The pricing version the database holds now (a token that changes with every change)."""
    return session.scalar(_VERSION) or ""


def bump_version(session: Session) -> None:
    """Mark every process's cached rules stale (helper: no commit)."""
    token = uuid.uuid4().hex
    changed = session.execute(update(PricingVersion).where(PricingVersion.id == 1).values(token=token))
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.add(PricingVersion(id=1, token=token))
        session.flush()
