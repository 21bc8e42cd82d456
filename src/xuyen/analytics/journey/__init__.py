"""The customer-journey dashboards: the funnel, attribution and the omnichannel readiness report."""
