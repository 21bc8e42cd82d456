"""Analytics' own tables (imported here so the metadata and the migrations know them)."""

from xuyen.analytics.schedule_models import ReportRun, ReportSchedule

__all__ = ["ReportRun", "ReportSchedule"]
