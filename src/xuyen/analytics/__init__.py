"""The picture: dashboards, the customer-journey funnel, attribution, RFM, predicted customer value, the
omnichannel readiness report, exports and scheduled reports.

Analytics reads the other domains' tables and never changes them; what it keeps of its own (daily rollups,
scores, funnel stages, report schedules) lives in its own tables.
"""
