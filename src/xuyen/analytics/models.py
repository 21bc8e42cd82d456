"""Every table analytics keeps of its own (it reads the other domains' tables and never writes them), so the
migrations and the metadata know them."""

from __future__ import annotations

from xuyen.analytics.funnel_models import FunnelStageRule
from xuyen.analytics.schedule_models import ReportRun, ReportSchedule
from xuyen.analytics.value_models import CustomerScore, ValueModelFit

__all__ = ["CustomerScore", "FunnelStageRule", "ReportRun", "ReportSchedule", "ValueModelFit"]
