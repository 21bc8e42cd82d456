"""SMS through Vietnamese brand-name gateways (eSMS.vn, SpeedSMS, or any HTTP gateway configured by settings)."""

from xuyen.channels.sms.adapter import SmsAdapter
from xuyen.channels.sms.encoding import SegmentInfo, fold_diacritics, segments

__all__ = ["SegmentInfo", "SmsAdapter", "fold_diacritics", "segments"]
