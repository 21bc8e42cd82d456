"""Auth: staff users and roles, sign-in sessions with CSRF protection, API keys for machine clients."""
