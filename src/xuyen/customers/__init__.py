"""Customers: profiles' traits and consents, computed traits, search and the customer 360 timeline."""
