"""Points expire lot by lot: a periodic job finds the lots past their expiry that still hold points and posts
each one's expiry (once per lot), the customer's points account locked as for any other posting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.loyalty import ledger
from xuyen.loyalty.ledger import Leg
from xuyen.loyalty.models import AccountKind, PointLot, PostingKind, ShopAccount

ACTOR = "loyalty.expiry"


def expire_due(session: Session, *, at: datetime | None = None, limit: int = 1000) -> int:
    """Expire up to ``limit`` lots past their expiry; the points expired (helper: no commit)."""
    now = at or utcnow()
    due = list(session.execute(select(PointLot.id, PointLot.profile_id)
                               .where(PointLot.expires_at <= now, PointLot.remaining > 0)
                               .order_by(PointLot.profile_id, PointLot.id).limit(limit)))
    expired = 0
    counter = ledger.shop_account(session, code=ShopAccount.points_expired) if due else None
    for lot_id, profile_id in due:
        held = ledger.customer_account(session, profile_id=profile_id, kind=AccountKind.points)
        lot = session.scalar(select(PointLot).where(PointLot.id == lot_id)
                             .execution_options(populate_existing=True))
        if lot is None or lot.remaining == 0 or lot.profile_id != profile_id:
            continue  # spent or moved by a merge meanwhile: the next run sees it as it is now
        points = lot.remaining
        lot.remaining = 0
        assert counter is not None
        ledger.post(session, key=f"expire:lot:{lot.id}", kind=PostingKind.expire, profile_id=profile_id,
                    account=AccountKind.points, amount=points, reference=f"lot:{lot.id}", actor=ACTOR,
                    legs=[Leg(held, -points), Leg(counter, points)],
                    detail={"lot_id": lot.id, "expires_at": lot.expires_at.isoformat()}, at=now)
        expired += points
    return expired
