"""The daily sales rollups the sales and customers dashboard reads instead of raw orders.

``customer_id`` is the surviving profile of the order's customer (merged profiles count as one), ``0`` for a sale
with no customer (a walk-in at the till); ``store_id`` is ``0`` for an order taken by no store (online,
marketplaces). Every row is recomputed from the orders and events, never edited by hand: see
``xuyen.analytics.rollups``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.db import Base

NO_CUSTOMER = 0
NO_STORE = 0


class SalesDay(Base):
    """One local business day × sales channel × store: placed, non-cancelled orders and their customers."""

    __tablename__ = "analytics_sales_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24), primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    customers: Mapped[int] = mapped_column(Integer, default=0)  # known customers who ordered (walk-ins excluded)
    new_customers: Mapped[int] = mapped_column(Integer, default=0)  # of which this day is their first order day
    returning_customers: Mapped[int] = mapped_column(Integer, default=0)


class CustomerDay(Base):
    """One customer's orders on one local day, channel and store (``customer_id`` 0: the walk-ins together)."""

    __tablename__ = "analytics_customer_days"
    __table_args__ = (Index("ix_analytics_customer_days_customer", "customer_id", "day"),
                      Index("ix_analytics_customer_days_month", "month"))

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24), primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of ``day``'s month
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)


class TouchDay(Base):
    """A customer was in touch on a channel on a local day: they sent an event from it (page, message, …)."""

    __tablename__ = "analytics_touch_days"
    __table_args__ = (Index("ix_analytics_touch_days_customer", "customer_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)


class SalesCustomer(Base):
    """One customer's whole purchase history in brief: their first and last order day, orders and revenue, and the
    day that tells, for any range up to today, whether they used two channels in it (``elsewhere_day`` in it)."""

    __tablename__ = "analytics_sales_customers"
    __table_args__ = (Index("ix_analytics_sales_customers_first_month", "first_month"),
                      Index("ix_analytics_sales_customers_last_day", "last_day"))

    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date)
    first_month: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    # the latest day they ordered, or were in touch (see CustomerReach), on a channel other than their latest order's
    elsewhere_day: Mapped[date | None] = mapped_column(Date)


class CohortMonth(Base):
    """A monthly retention cohort's month: of the customers whose first order fell in ``first_month``, how many
    ordered in ``month`` (``month == first_month``: the cohort's size)."""

    __tablename__ = "analytics_cohort_months"

    first_month: Mapped[date] = mapped_column(Date, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    customers: Mapped[int] = mapped_column(Integer, default=0)


class CustomerReach(Base):
    """The two channels a customer was most recently in touch from (their events, see ``TouchDay``), with the last
    day of each: ``channel`` the latest, ``other_channel`` the latest of the rest (none when they used one).

    Enough to tell, for a range that runs to the newest touch-day, whether a customer was in touch from a channel
    other than a given one: the latest day of any other channel is ``last_day`` or, when ``channel`` is the given
    one, ``other_last_day``."""

    __tablename__ = "analytics_customer_reach"

    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    last_day: Mapped[date] = mapped_column(Date)
    other_channel: Mapped[str | None] = mapped_column(String(32))
    other_last_day: Mapped[date | None] = mapped_column(Date)
