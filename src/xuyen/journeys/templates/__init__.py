"""Message templates: per-channel variants rendered for one customer in a sandbox, with SMS and ZNS checks."""
