"""The promotions engine: pure functions over an in-memory cart and promotion rules, no database.

``apply_promotions`` picks the promotions a cart gets and splits each one's discount over the cart's lines:

1. A rule is *eligible* when it is in its validity window at the quote's time, allowed on the channel and for the
   customer's tier, and (when it needs a coupon) unlocked by an accepted coupon.
2. Of the stackable (non-exclusive) rules, at most one per ``group`` stays: the one worth most on its own.
3. The stack applies in order of priority (higher first, then id); each rule works on what the lines cost after the
   rules before it, so percentages compound and no line ever goes below zero.
4. Each exclusive rule is tried alone; the customer gets whichever is worth most: the stack or one exclusive
   (on a tie the stack, then the exclusive of higher priority).

Every discount is in whole minor units; how a discount is split over lines is ``allocation.allocate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction

from xuyen.commerce.pricing.allocation import allocate, allocate_whole, divide_half_up, percent_of
from xuyen.commerce.pricing.models import PromotionKind, PromotionScope

FULL = 10_000  # 100 % in basis points


@dataclass(frozen=True)
class CartLine:
    """A line of the cart at its price in the quote's context (after overrides, before promotions)."""

    variant_id: int
    sku: str
    product_id: int
    category_id: int | None
    quantity: int
    unit_price: int
    is_gift: bool = False
    amount: int = field(init=False)  # the line before discounts (a plain attribute: every run reads it)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", self.unit_price * self.quantity)


@dataclass(frozen=True)
class Rule:
    """A promotion as the engine sees it (see docs/pricing.md for each kind's parameters)."""

    id: int
    name: str
    kind: PromotionKind
    scope: PromotionScope = PromotionScope.order
    targets: frozenset[str] = frozenset()
    percent_bp: int = 0
    amount: int = 0
    per_item: bool = False
    max_discount: int | None = None
    buy: int = 0
    get: int = 0
    bundle: tuple[tuple[str, int], ...] = ()
    bundle_price: int = 0
    min_subtotal: int = 0
    gift_sku: str | None = None
    gift_quantity: int = 1
    priority: int = 0
    exclusive: bool = False
    group: str | None = None
    channels: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    requires_coupon: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def order_key(self) -> tuple[int, int]:
        """Stacking order: higher priority first, then the older rule."""
        return (-self.priority, self.id)


@dataclass(frozen=True)
class CartContext:
    """Who asks and when: the channel, the customer's tier, the time, and the rules unlocked by coupons."""

    channel: str
    at: datetime
    tier: str | None = None
    unlocked: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Applied:
    """A promotion the cart got: its discount and how it is split over the cart's lines."""

    rule_id: int
    name: str
    amount: int
    per_line: tuple[int, ...]


@dataclass(frozen=True)
class PricedCart:
    """The cart after promotions: its lines (gift lines appended), each line's discount and the totals."""

    lines: tuple[CartLine, ...]
    applied: tuple[Applied, ...]
    line_discounts: tuple[int, ...]
    gift_rules: Mapping[int, int] = field(default_factory=dict)  # line index → rule id that gave it

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(self.line_discounts)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_total

    def line_total(self, index: int) -> int:
        """What the customer pays for the line."""
        return self.lines[index].amount - self.line_discounts[index]


def is_eligible(rule: Rule, context: CartContext) -> bool:
    """Whether ``rule`` may apply in ``context`` at all (window, channel, tier, coupon)."""
    if rule.starts_at is not None and context.at < rule.starts_at:
        return False
    if rule.ends_at is not None and context.at >= rule.ends_at:
        return False
    if rule.channels and context.channel not in rule.channels:
        return False
    if rule.tiers and context.tier not in rule.tiers:
        return False
    return not rule.requires_coupon or rule.id in context.unlocked


def apply_promotions(lines: Sequence[CartLine], rules: Sequence[Rule], context: CartContext,
                     gifts: Mapping[str, CartLine] | None = None) -> PricedCart:
    """The best the cart gets from ``rules`` by the stacking rules (module docstring); ``gifts`` gives the price
    of each gift SKU a threshold rule may add (a gift not in it is not given)."""
    gifts = gifts or {}
    eligible = [rule for rule in rules if is_eligible(rule, context)]
    scopes = _scopes(eligible, lines)
    stackable = _one_per_group([rule for rule in eligible if not rule.exclusive], lines, gifts, scopes)
    best = _run(sorted(stackable, key=lambda rule: rule.order_key), lines, gifts, scopes)
    for rule in sorted((rule for rule in eligible if rule.exclusive), key=lambda rule: rule.order_key):
        alone = _run([rule], lines, gifts, scopes)
        if alone.discount_total > best.discount_total:
            best = alone
    return best.priced()


def _one_per_group(rules: list[Rule], lines: Sequence[CartLine], gifts: Mapping[str, CartLine],
                   scopes: Mapping[int, tuple[int, ...]]) -> list[Rule]:
    kept: list[Rule] = [rule for rule in rules if rule.group is None]
    groups: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.group is not None:
            groups.setdefault(rule.group, []).append(rule)
    for members in groups.values():
        worth = {rule.id: _run([rule], lines, gifts, scopes).discount_total for rule in members}
        kept.append(min(members, key=lambda rule: (-worth[rule.id], rule.order_key)))
    return kept


@dataclass
class _Working:
    lines: list[CartLine]
    remaining: list[int]
    gift_rules: dict[int, int]
    scopes: Mapping[int, tuple[int, ...]]  # id(rule) → the indexes of the cart's lines in its scope


@dataclass
class _Outcome:
    """What a run of rules did to the cart: the worked cart and each rule's discount per line."""

    work: _Working
    found: list[tuple[Rule, dict[int, int]]]

    @property
    def discount_total(self) -> int:
        return sum(line.amount for line in self.work.lines) - sum(self.work.remaining)

    def priced(self) -> PricedCart:
        """The outcome as the priced cart (built only for the run that wins)."""
        work = self.work
        count = len(work.lines)
        applied = tuple(Applied(rule_id=rule.id, name=rule.name, amount=sum(parts.values()),
                                per_line=tuple([parts.get(index, 0) for index in range(count)]))
                        for rule, parts in self.found)
        discounts = tuple([line.amount - left for line, left in zip(work.lines, work.remaining, strict=True)])
        return PricedCart(lines=tuple(work.lines), applied=applied, line_discounts=discounts,
                          gift_rules=dict(work.gift_rules))


def _run(rules: Sequence[Rule], lines: Sequence[CartLine], gifts: Mapping[str, CartLine],
         scopes: Mapping[int, tuple[int, ...]]) -> _Outcome:
    work = _Working(lines=list(lines), remaining=[line.amount for line in lines], gift_rules={}, scopes=scopes)
    found: list[tuple[Rule, dict[int, int]]] = []
    for rule in rules:
        parts = _discounts(rule, work, gifts)
        parts = {index: amount for index, amount in parts.items() if amount > 0}
        if parts:
            for index, amount in parts.items():
                work.remaining[index] -= amount
            found.append((rule, parts))
    return _Outcome(work=work, found=found)


def _scopes(rules: Sequence[Rule], lines: Sequence[CartLine]) -> dict[int, tuple[int, ...]]:
    """The indexes of the lines each rule may touch, by ``id(rule)``: it depends on the rule and the line only, so
    it is worked out once per quote, not on every run. Gift lines are never in scope."""
    keys: dict[PromotionScope, list[str | None]] = {
        PromotionScope.products: [str(line.product_id) for line in lines],
        PromotionScope.categories: [None if line.category_id is None else str(line.category_id) for line in lines],
        PromotionScope.skus: [line.sku for line in lines]}
    sellable = [index for index, line in enumerate(lines) if not line.is_gift]
    found = {}
    for rule in rules:
        if rule.scope is PromotionScope.order:
            found[id(rule)] = tuple(sellable)
        else:
            key = keys[rule.scope]
            found[id(rule)] = tuple([index for index in sellable if key[index] in rule.targets])
    return found


def _discounts(rule: Rule, work: _Working, gifts: Mapping[str, CartLine]) -> dict[int, int]:
    # Gift lines a rule added are never in scope, so the cart's own lines are all there is to look at.
    scope = [index for index in work.scopes[id(rule)] if work.remaining[index] > 0]
    if rule.kind is PromotionKind.percent:
        return _percent_off(rule, work, scope, rule.percent_bp)
    if rule.kind is PromotionKind.fixed:
        return _fixed_off(rule, work, scope)
    if rule.kind is PromotionKind.buy_x_get_y:
        return _buy_x_get_y(rule, work, scope)
    if rule.kind is PromotionKind.bundle:
        return _bundle(rule, work)
    return _threshold(rule, work, scope, gifts)


def _spread(amount: int, work: _Working, scope: list[int]) -> dict[int, int]:
    parts = allocate_whole(amount, [work.remaining[index] for index in scope])
    return dict(zip(scope, parts, strict=True))


def _percent_off(rule: Rule, work: _Working, scope: list[int], basis_points: int) -> dict[int, int]:
    base = sum(work.remaining[index] for index in scope)
    amount = min(percent_of(base, min(basis_points, FULL)), base)
    if rule.max_discount is not None:
        amount = min(amount, rule.max_discount)
    return _spread(amount, work, scope)


def _fixed_off(rule: Rule, work: _Working, scope: list[int]) -> dict[int, int]:
    if rule.per_item:
        return {index: min(rule.amount * work.lines[index].quantity, work.remaining[index]) for index in scope}
    base = sum(work.remaining[index] for index in scope)
    return _spread(min(rule.amount, base), work, scope)


def _buy_x_get_y(rule: Rule, work: _Working, scope: list[int]) -> dict[int, int]:
    """Of every ``buy + get`` units in scope, the ``get`` cheapest are ``percent_bp`` off (free by default)."""
    if rule.buy < 1 or rule.get < 1:
        return {}
    units = sum(work.lines[index].quantity for index in scope)
    reduced = units // (rule.buy + rule.get) * rule.get
    percent = rule.percent_bp or FULL
    taken: dict[int, int] = {}
    for index in sorted(scope, key=lambda index: (Fraction(work.remaining[index], work.lines[index].quantity),
                                                  index)):
        if reduced <= 0:
            break
        count = min(reduced, work.lines[index].quantity)
        taken[index] = count
        reduced -= count
    return {index: min(work.remaining[index],
                       divide_half_up(work.remaining[index] * count * min(percent, FULL),
                                      work.lines[index].quantity * FULL))
            for index, count in taken.items()}


def _bundle(rule: Rule, work: _Working) -> dict[int, int]:
    """As many complete bundles as the cart holds cost ``bundle_price`` each instead of their units' prices."""
    if not rule.bundle:
        return {}
    held: dict[str, list[int]] = {}
    for index, line in enumerate(work.lines):
        if not line.is_gift and work.remaining[index] > 0:
            held.setdefault(line.sku, []).append(index)
    count = min((sum(work.lines[index].quantity for index in held.get(sku, [])) // need
                 for sku, need in rule.bundle), default=0)
    if count <= 0:
        return {}
    values: dict[int, Fraction] = {}
    for sku, need in rule.bundle:
        wanted = need * count
        for index in held[sku]:
            used = min(wanted, work.lines[index].quantity)
            values[index] = values.get(index, Fraction(0)) + Fraction(work.remaining[index] * used,
                                                                      work.lines[index].quantity)
            wanted -= used
            if wanted == 0:
                break
    regular = sum(values.values(), Fraction(0))
    amount = regular.numerator // regular.denominator - count * rule.bundle_price
    if amount <= 0:
        return {}
    indexes = list(values)
    return dict(zip(indexes, allocate(amount, [values[index] for index in indexes]), strict=True))


def _threshold(rule: Rule, work: _Working, scope: list[int], gifts: Mapping[str, CartLine]) -> dict[int, int]:
    """Spend at least ``min_subtotal`` (in scope, after the rules before) to get a gift, a percentage or an
    amount off."""
    base = sum(work.remaining[index] for index in scope)
    if base <= 0 or base < rule.min_subtotal:
        return {}
    if rule.gift_sku is not None:
        gift = gifts.get(rule.gift_sku)
        if gift is None or rule.gift_quantity < 1:
            return {}
        line = replace(gift, quantity=rule.gift_quantity, is_gift=True)
        work.lines.append(line)
        work.remaining.append(line.amount)
        index = len(work.lines) - 1
        work.gift_rules[index] = rule.id
        return {index: line.amount}
    if rule.percent_bp:
        return _percent_off(rule, work, scope, rule.percent_bp)
    return _spread(min(rule.amount, base), work, scope)
