"""SLA deadlines in business time: opening hours, lunch breaks and holidays, in the shop's time zone."""

from xuyen.inbox.sla.calendar import (
    BusinessCalendar,
    CalendarError,
    NoOpeningHours,
    Span,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
)
from xuyen.inbox.sla.holidays import (
    Holiday,
    vietnam_calendar,
    vietnam_holidays,
    vietnam_moved_working_days,
)

__all__ = [
    "BusinessCalendar",
    "CalendarError",
    "Holiday",
    "NoOpeningHours",
    "Span",
    "add_business_time",
    "business_time_between",
    "is_open",
    "next_opening",
    "vietnam_calendar",
    "vietnam_holidays",
    "vietnam_moved_working_days",
]
