"""The promotions engine on in-memory carts: each kind, stacking, and properties that hold for any cart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from xuyen.commerce.pricing.allocation import allocate, round_half_up
from xuyen.commerce.pricing.engine import CartContext, CartLine, Rule, apply_promotions
from xuyen.commerce.pricing.models import PromotionKind, PromotionScope
from xuyen.commerce.pricing.vat import split, totals_per_rate

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
WEB = CartContext(channel="web", at=NOW)


def line(sku: str, price: int, quantity: int = 1, *, product: int = 1, category: int | None = None) -> CartLine:
    return CartLine(variant_id=hash(sku) % 10_000, sku=sku, product_id=product, category_id=category,
                    quantity=quantity, unit_price=price)


def rule(rule_id: int, kind: PromotionKind, **fields: object) -> Rule:
    return Rule(id=rule_id, name=f"R{rule_id}", kind=kind, **fields)


def test_allocation_adds_up_and_rounds_by_largest_remainder() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 3, 3, 1]) == [3, 3, 3, 1]
    assert allocate(0, [5, 7]) == [0, 0]
    assert allocate(7, [0, 10]) == [0, 7]
    assert round_half_up(Fraction(5, 2)) == 3 and round_half_up(Fraction(-5, 2)) == -3


def test_a_percentage_on_a_category_spares_the_other_lines() -> None:
    cart = [line("AO", 200_000, 2, category=1), line("MU", 100_000, category=2)]
    result = apply_promotions(cart, [rule(1, PromotionKind.percent, scope=PromotionScope.categories,
                                          targets=frozenset({"1"}), percent_bp=1500)], WEB)
    assert result.line_discounts == (60_000, 0) and result.total == 440_000


def test_a_fixed_amount_per_item_and_on_the_order() -> None:
    cart = [line("AO", 200_000, 3), line("MU", 100_000)]
    per_item = rule(1, PromotionKind.fixed, scope=PromotionScope.skus, targets=frozenset({"AO"}), amount=10_000,
                    per_item=True)
    assert apply_promotions(cart, [per_item], WEB).line_discounts == (30_000, 0)
    on_order = rule(2, PromotionKind.fixed, amount=70_000)
    assert apply_promotions(cart, [on_order], WEB).line_discounts == (60_000, 10_000)
    too_much = rule(3, PromotionKind.fixed, amount=10_000_000)
    assert apply_promotions(cart, [too_much], WEB).total == 0


def test_buy_two_get_one_free_gives_the_cheapest() -> None:
    cart = [line("A", 300_000), line("B", 100_000), line("C", 200_000, 2)]
    result = apply_promotions(cart, [rule(1, PromotionKind.buy_x_get_y, buy=2, get=1)], WEB)
    assert result.line_discounts == (0, 100_000, 0)  # 4 units: one group of 3, the cheapest free
    half = apply_promotions(cart * 2, [rule(1, PromotionKind.buy_x_get_y, buy=2, get=1, percent_bp=5000)], WEB)
    assert half.discount_total == 50_000 + 50_000  # 8 units: two groups, the two cheapest units half off


def test_a_bundle_sells_complete_sets_at_its_price() -> None:
    cart = [line("AO", 199_000, 3), line("QUAN", 299_000, 2), line("MU", 99_000)]
    bundle = rule(1, PromotionKind.bundle, bundle=(("AO", 1), ("QUAN", 1)), bundle_price=399_000)
    result = apply_promotions(cart, [bundle], WEB)
    assert result.discount_total == 2 * (199_000 + 299_000 - 399_000)
    assert result.line_discounts[2] == 0 and sum(result.line_discounts) == result.discount_total


def test_a_threshold_gives_a_discount_or_a_gift_once_reached() -> None:
    cart = [line("AO", 250_000, 2)]
    off = rule(1, PromotionKind.threshold, min_subtotal=500_000, amount=50_000)
    assert apply_promotions(cart, [off], WEB).discount_total == 50_000
    assert apply_promotions([line("AO", 250_000)], [off], WEB).discount_total == 0
    gift = rule(2, PromotionKind.threshold, min_subtotal=500_000, gift_sku="MU")
    result = apply_promotions(cart, [gift], WEB, {"MU": line("MU", 99_000)})
    assert [(item.sku, item.is_gift, result.line_total(index)) for index, item in enumerate(result.lines)] == [
        ("AO", False, 500_000), ("MU", True, 0)]
    assert result.subtotal == 599_000 and result.total == 500_000


def test_windows_channels_tiers_and_coupons_restrict_a_rule() -> None:
    cart = [line("AO", 100_000)]
    base = {"kind": PromotionKind.fixed, "amount": 10_000}
    assert apply_promotions(cart, [rule(1, starts_at=NOW + timedelta(hours=1), **base)], WEB).discount_total == 0
    assert apply_promotions(cart, [rule(1, ends_at=NOW, **base)], WEB).discount_total == 0
    assert apply_promotions(cart, [rule(1, channels=frozenset({"pos"}), **base)], WEB).discount_total == 0
    assert apply_promotions(cart, [rule(1, tiers=frozenset({"gold"}), **base)], WEB).discount_total == 0
    gold = CartContext(channel="web", at=NOW, tier="gold")
    assert apply_promotions(cart, [rule(1, tiers=frozenset({"gold"}), **base)], gold).discount_total == 10_000
    coupon = rule(1, requires_coupon=True, **base)
    assert apply_promotions(cart, [coupon], WEB).discount_total == 0
    unlocked = CartContext(channel="web", at=NOW, unlocked=frozenset({1}))
    assert apply_promotions(cart, [coupon], unlocked).discount_total == 10_000


def test_stackable_rules_compound_in_priority_order() -> None:
    cart = [line("AO", 100_000)]
    first = rule(1, PromotionKind.percent, percent_bp=1000, priority=5)
    then = rule(2, PromotionKind.fixed, amount=10_000, priority=1)
    result = apply_promotions(cart, [then, first], WEB)
    assert [item.rule_id for item in result.applied] == [1, 2] and result.total == 80_000


def test_one_rule_per_group_the_best_for_the_customer() -> None:
    cart = [line("AO", 100_000)]
    small = rule(1, PromotionKind.percent, percent_bp=1000, group="flash", priority=9)
    large = rule(2, PromotionKind.fixed, amount=15_000, group="flash")
    result = apply_promotions(cart, [small, large], WEB)
    assert [item.rule_id for item in result.applied] == [2]


def test_the_best_exclusive_wins_only_when_it_beats_the_stack() -> None:
    cart = [line("AO", 100_000)]
    stack = [rule(1, PromotionKind.fixed, amount=10_000), rule(2, PromotionKind.fixed, amount=5_000)]
    weak = rule(3, PromotionKind.percent, percent_bp=1200, exclusive=True)
    strong = rule(4, PromotionKind.percent, percent_bp=2000, exclusive=True)
    assert [item.rule_id for item in apply_promotions(cart, [*stack, weak], WEB).applied] == [1, 2]
    assert [item.rule_id for item in apply_promotions(cart, [*stack, weak, strong], WEB).applied] == [4]


def test_vat_is_split_so_before_tax_and_tax_add_up() -> None:
    assert split(108_000, 800) == (100_000, 8_000)
    assert split(199_000, 800) == (184_259, 14_741)
    assert split(150_000, None) == (150_000, 0)
    totals = totals_per_rate([(800, 100, 8), (None, 50, 0), (800, 10, 1), (1000, 20, 2)])
    assert [(item.rate_bp, item.net, item.vat) for item in totals] == [(1000, 20, 2), (800, 110, 9), (None, 50, 0)]


# Properties ------------------------------------------------------------------------------------------------

SKUS = ["A", "B", "C", "D", "E"]
lines_strategy = st.lists(
    st.builds(lambda sku, price, quantity, category: line(sku, price, quantity, product=SKUS.index(sku) + 1,
                                                          category=category),
              st.sampled_from(SKUS), st.integers(0, 5_000_000), st.integers(1, 999), st.sampled_from([1, 2, None])),
    min_size=1, max_size=12)


@st.composite
def rules_strategy(draw: st.DrawFn) -> list[Rule]:
    found = []
    for rule_id in range(1, draw(st.integers(0, 8)) + 1):
        kind = draw(st.sampled_from(list(PromotionKind)))
        scope = draw(st.sampled_from(list(PromotionScope)))
        targets = {PromotionScope.order: frozenset(), PromotionScope.products: frozenset({"1", "3"}),
                   PromotionScope.categories: frozenset({"1"}), PromotionScope.skus: frozenset({"B", "E"})}[scope]
        found.append(Rule(
            id=rule_id, name=f"R{rule_id}", kind=kind, scope=scope, targets=targets,
            percent_bp=draw(st.integers(1, 10_000)), amount=draw(st.integers(1, 10_000_000)),
            per_item=draw(st.booleans()), max_discount=draw(st.none() | st.integers(1, 1_000_000)),
            buy=draw(st.integers(1, 4)), get=draw(st.integers(1, 3)),
            bundle=tuple((sku, draw(st.integers(1, 3))) for sku in draw(st.sets(st.sampled_from(SKUS), max_size=3))),
            bundle_price=draw(st.integers(0, 2_000_000)), min_subtotal=draw(st.integers(0, 5_000_000)),
            gift_sku=draw(st.none() | st.just("GIFT")), priority=draw(st.integers(-5, 5)),
            exclusive=draw(st.booleans()), group=draw(st.none() | st.sampled_from(["g1", "g2"]))))
    return found


@settings(max_examples=300, deadline=None)
@given(lines_strategy, rules_strategy())
def test_any_cart_keeps_its_sums_and_never_goes_negative(cart: list[CartLine], rules: list[Rule]) -> None:
    result = apply_promotions(cart, rules, WEB, {"GIFT": line("GIFT", 55_000)})
    assert all(result.line_total(index) >= 0 for index in range(len(result.lines)))
    assert sum(result.line_total(index) for index in range(len(result.lines))) == result.total
    assert result.total == result.subtotal - result.discount_total >= 0
    assert sum(item.amount for item in result.applied) == result.discount_total
    for item in result.applied:
        assert sum(item.per_line) == item.amount > 0
    for index in range(len(result.lines)):
        assert sum(item.per_line[index] for item in result.applied) == result.line_discounts[index]
    by_id = {rule.id: rule for rule in rules}
    chosen = [by_id[item.rule_id] for item in result.applied]
    assert len(chosen) == 1 or not any(rule.exclusive for rule in chosen)
    groups = [rule.group for rule in chosen if rule.group is not None]
    assert len(groups) == len(set(groups))
    assert result.discount_total >= max((apply_promotions(cart, [rule], WEB, {"GIFT": line("GIFT", 55_000)})
                                         .discount_total for rule in rules if rule.exclusive), default=0)
    no_promotions = apply_promotions(cart, [], WEB)
    assert result.discount_total >= 0 and no_promotions.total == sum(item.amount for item in cart)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**8), min_size=1, max_size=30))
def test_allocation_always_adds_up_within_each_weight(amount: int, weights: list[int]) -> None:
    amount = min(amount, sum(weights))
    parts = allocate(amount, weights) if sum(weights) else [0] * len(weights)
    assert sum(parts) == amount
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, 0, 500, 800, 1000]), st.integers(0, 10**10)), max_size=20))
def test_vat_per_rate_sums_the_lines(lines: list[tuple[int | None, int]]) -> None:
    split_lines = [(rate, *split(total, rate)) for rate, total in lines]
    assert all(net + vat == total for (_, total), (_, net, vat) in zip(lines, split_lines, strict=True))
    totals = totals_per_rate(split_lines)
    assert sum(item.net + item.vat for item in totals) == sum(total for _, total in lines)
    assert len({item.rate_bp for item in totals}) == len(totals)
