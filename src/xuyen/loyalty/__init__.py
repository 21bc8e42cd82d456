"""Loyalty: points and stored value on a double-entry ledger per customer, earning rules, tiers and expiry."""
