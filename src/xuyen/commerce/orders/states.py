"""The order state machine: which status may follow which, and what each move means for stock.

::

    pending_payment ──► placed ──► fulfilling ──► shipped ──► completed
          │               │  │         │                         ▲
          │               │  └─────────┴──► ready_for_pickup ────┘
          ▼               ▼            ▼            ▼
      cancelled ◄─────────┴────────────┴────────────┘

A web order paid online waits in ``pending_payment`` with its stock held until the payment is confirmed (then
``placed``) or the hold expires (then ``cancelled``); an order paid on delivery is ``placed`` at once. A sale over
the counter is ``completed`` at once. A shipped order can no longer be cancelled: what comes back is a return.
``completed`` and ``cancelled`` are final.
"""

from __future__ import annotations

from xuyen.commerce.orders.models import OrderStatus
from xuyen.errors import Conflict

S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.pending_payment: frozenset({S.placed, S.cancelled}),
    S.placed: frozenset({S.fulfilling, S.ready_for_pickup, S.shipped, S.completed, S.cancelled}),
    S.fulfilling: frozenset({S.ready_for_pickup, S.shipped, S.cancelled}),
    S.ready_for_pickup: frozenset({S.completed, S.cancelled}),
    S.shipped: frozenset({S.completed}),
    S.completed: frozenset(),
    S.cancelled: frozenset(),
}

# How far along an order is: a marketplace update never moves an order back to an earlier stage.
STAGE: dict[OrderStatus, int] = {
    S.pending_payment: 0, S.placed: 1, S.fulfilling: 2, S.ready_for_pickup: 3, S.shipped: 3, S.completed: 4,
    S.cancelled: 4,
}

FINAL = frozenset({S.completed, S.cancelled})
HOLDS_STOCK = frozenset({S.pending_payment, S.placed, S.fulfilling, S.ready_for_pickup})


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether an order in ``current`` may move to ``target``."""
    return target in TRANSITIONS[current]


def check_move(current: OrderStatus, target: OrderStatus, *, number: str) -> None:
    """Refuse a move the state machine does not allow, saying which moves are possible."""
    if can_move(current, target):
        return
    allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (it is final)"
    raise Conflict(f"Order {number} is {current.value} and cannot become {target.value}; from {current.value} it "
                   f"can become: {allowed}.", code="illegal_transition",
                   details={"status": current.value, "target": target.value, "allowed": sorted(TRANSITIONS[current])})
