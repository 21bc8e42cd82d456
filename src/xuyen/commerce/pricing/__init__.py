"""Prices, promotions, coupons, VAT and the quote every channel asks for."""
