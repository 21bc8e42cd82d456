"""Loyalty tables: the programme's settings, tiers and earning rules; the ledger (accounts, postings, entries);
points lots (for expiry), the orders that earned points, the spend that makes tiers, and followed merges."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class AccountKind(enum.StrEnum):
    """A customer's two balances."""

    points = "points"
    stored_value = "stored_value"


class ShopAccount(enum.StrEnum):
    """The shop's counter-accounts: where a customer's points and stored value come from and go to."""

    points_issued = "points_issued"
    points_redeemed = "points_redeemed"
    points_expired = "points_expired"
    stored_value_cash_in = "stored_value_cash_in"
    stored_value_redeemed = "stored_value_redeemed"
    stored_value_refunds = "stored_value_refunds"


class PostingKind(enum.StrEnum):
    """What a posting records."""

    earn = "earn"
    redeem = "redeem"
    refund = "refund"
    top_up = "top_up"
    expire = "expire"
    take_back = "take_back"
    merge = "merge"
    unmerge = "unmerge"


class ExpiryMode(enum.StrEnum):
    """When earned points expire: at the end of the year after the one they were earned in, or N months on."""

    end_of_next_year = "end_of_next_year"
    months = "months"


KindColumn = Enum(PostingKind, native_enum=False, length=16, validate_strings=True)
AccountColumn = Enum(AccountKind, native_enum=False, length=16, validate_strings=True)


class LoyaltySettings(Base):
    """The programme's settings (one row, id 1)."""

    __tablename__ = "loyalty_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spend_per_point: Mapped[int] = mapped_column(Integer, default=10_000)
    point_value: Mapped[int] = mapped_column(Integer, default=100)
    expiry_mode: Mapped[ExpiryMode] = mapped_column(
        Enum(ExpiryMode, native_enum=False, length=24, validate_strings=True), default=ExpiryMode.end_of_next_year)
    expiry_months: Mapped[int] = mapped_column(Integer, default=12)
    tier_window_months: Mapped[int] = mapped_column(Integer, default=12)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class Tier(Base):
    """A tier reached by spending at least ``min_spend`` đồng over the rolling window."""

    __tablename__ = "loyalty_tiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    min_spend: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EarnRule(Base):
    """A multiplier on the points a line earns, where every condition it names holds (channel, category, tier)."""

    __tablename__ = "loyalty_earn_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(32))
    category_id: Mapped[int | None] = mapped_column(Integer)
    tier_code: Mapped[str | None] = mapped_column(String(32))
    multiplier_percent: Mapped[int] = mapped_column(Integer, default=100)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("multiplier_percent >= 0", name="multiplier_not_negative"),)


class LedgerAccount(Base):
    """A customer's points or stored-value account (``profile_id`` set; its balance is kept and never below 0),
    or one of the shop's counter-accounts (no profile; its balance is the sum of its entries)."""

    __tablename__ = "loyalty_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    profile_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("profile_id IS NULL OR balance >= 0", name="customer_balance_not_negative"),
        Index("ix_loyalty_accounts_profile", "profile_id"),
    )


class Posting(Base):
    """One change to the ledger: entries that sum to zero, recorded once per idempotency ``key``."""

    __tablename__ = "loyalty_postings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[PostingKind] = mapped_column(KindColumn)
    profile_id: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[AccountKind] = mapped_column(AccountColumn)
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_loyalty_postings_profile", "profile_id", "id"),)


class Entry(Base):
    """One leg of a posting: ``amount`` (signed) on one account."""

    __tablename__ = "loyalty_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("loyalty_postings.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("loyalty_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_loyalty_entries_account", "account_id", "id"),
        Index("ix_loyalty_entries_posting", "posting_id"),
    )


class PointLot(Base):
    """Points earned (or given back) together, with the moment they expire; spending takes the soonest first."""

    __tablename__ = "loyalty_point_lots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(BigInteger)
    posting_id: Mapped[int] = mapped_column(ForeignKey("loyalty_postings.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        Index("ix_loyalty_point_lots_profile", "profile_id", "expires_at"),
        Index("ix_loyalty_point_lots_expiring", "expires_at"),
    )


class OrderEarning(Base):
    """What a completed order earned, and how it was weighed, so that a return takes back its share."""

    __tablename__ = "loyalty_order_earnings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    number: Mapped[str] = mapped_column(String(64), default="")
    profile_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(32))
    tier_code: Mapped[str | None] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    weights: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    taken_back: Mapped[int] = mapped_column(BigInteger, default=0)
    uncollected: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpendRecord(Base):
    """Spend that counts towards tiers: + on a completed order, − on a return (the profile the order named)."""

    __tablename__ = "loyalty_spend"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    profile_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_loyalty_spend_profile", "profile_id", "at"),)


class CustomerTier(Base):
    """A customer's current tier and the spend it was computed from."""

    __tablename__ = "loyalty_customer_tiers"

    profile_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tier_code: Mapped[str | None] = mapped_column(String(32))
    window_spend: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MergeTransfer(Base):
    """What the ledger moved when it followed a merge of profiles, so that undoing the merge gives it back."""

    __tablename__ = "loyalty_merge_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merge_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    survivor_id: Mapped[int] = mapped_column(BigInteger)
    absorbed_id: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_value: Mapped[int] = mapped_column(BigInteger, default=0)
    lot_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
