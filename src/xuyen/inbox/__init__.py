"""The inbox: conversations across channels, agents, assignment, SLA and CSAT."""
