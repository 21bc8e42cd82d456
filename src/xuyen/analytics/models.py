"""Every table analytics keeps of its own (it reads the other domains' tables and never writes them), so the
migrations and the metadata know them."""

from __future__ import annotations

from xuyen.analytics.funnel_models import FunnelStageRule
from xuyen.analytics.sales_models import CohortMonth, CustomerDay, CustomerReach, SalesCustomer, SalesDay, TouchDay
from xuyen.analytics.schedule_models import ReportRun, ReportSchedule
from xuyen.analytics.value_models import CustomerScore, ValueModelFit

__all__ = ["CohortMonth", "CustomerDay", "CustomerReach", "CustomerScore", "FunnelStageRule", "ReportRun",
           "ReportSchedule", "SalesCustomer", "SalesDay", "TouchDay", "ValueModelFit"]
