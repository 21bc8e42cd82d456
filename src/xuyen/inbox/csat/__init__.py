"""CSAT: a short survey after a conversation is resolved, ratings from a signed page or a digit reply, reports."""
