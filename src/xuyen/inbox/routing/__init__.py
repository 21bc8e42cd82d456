"""Routing in the inbox: teams and agents' availability, assignment rules with round-robin, labels (by hand, by
source, by keyword), canned responses, @mentions in private notes, and conversation search."""
