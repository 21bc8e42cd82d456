"""Customers for the duplicate tests: profiles made by the real identity graph, then their customer rows.

The customers domain builds ``customer_profiles`` from the event log; these tests write the rows
themselves, as that projection would, for profiles the identity graph created.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerProfile
from xuyen.identity.graph import CallIdentity, RawIdentifier, resolve_calls
from xuyen.identity.names import fold_name, split_vietnamese_name
from xuyen.identity.phones import normalise_phone

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_anonymous = itertools.count(1)


def add_customer(session: Session, *, name: str, birth_date: date | None = None, phone: str = "", email: str = "",
                 user_id: str = "", address: str = "", province_code: str = "") -> int:
    """A committed profile (through the identity graph) and its customer row; returns the profile id."""
    raw = [RawIdentifier(kind, value) for kind, value in (("user_id", user_id), ("phone", phone), ("email", email))
           if value] or [RawIdentifier("anonymous_id", f"anon-{next(_anonymous)}")]
    [profile_id] = resolve_calls(session, calls=[CallIdentity(raw=raw, seen_at=T0)])
    assert profile_id is not None
    family, _middle, given = split_vietnamese_name(name)
    session.add(CustomerProfile(
        profile_id=profile_id, display_name=name, name_folded=fold_name(name), family_name=family, given_name=given,
        birth_date=birth_date, gender="", phones=[ident.value for ident in normalise_phone(phone)] if phone else [],
        emails=[email.lower()] if email else [], user_ids=[user_id] if user_id else [], address=address,
        province_code=province_code, ward_code="", traits={}, computed={}, first_seen_at=T0, last_seen_at=T0,
        updated_at=T0))
    session.commit()
    return profile_id


def add_pair_and_strangers(session: Session) -> tuple[int, int, int]:
    """Two profiles of one customer (typed differently) and a stranger; returns their ids."""
    first = add_customer(session, name="Nguyễn Thị Minh Khai", birth_date=date(1990, 5, 1), phone="0912 345 678",
                         user_id="u-khai", address="12 Lê Lợi, Bến Nghé")
    second = add_customer(session, name="Nguyen Thi Minh Khai", birth_date=date(1990, 5, 1),
                          email="khai.nguyen@gmail.com", address="12 Le Loi Ben Nghe")
    stranger = add_customer(session, name="Trần Văn Dũng", birth_date=date(1975, 9, 2), phone="0987 000 111")
    return first, second, stranger
