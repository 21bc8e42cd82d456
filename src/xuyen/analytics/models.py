"""Every table analytics keeps of its own, so the migrations and the metadata know them."""

from __future__ import annotations

from xuyen.analytics.schedule_models import ReportRun, ReportSchedule
from xuyen.analytics.value_models import CustomerScore, ValueModelFit

__all__ = ["CustomerScore", "ReportRun", "ReportSchedule", "ValueModelFit"]
