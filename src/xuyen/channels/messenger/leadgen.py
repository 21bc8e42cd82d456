"""Facebook Lead Ads on the Page's webhook: ``entry[].changes[]`` with ``field: "leadgen"`` names a lead
(``leadgen_id``, ``form_id``, ``ad_id``, ``adgroup_id``, ``created_time``) without its answers; they are read
afterwards from the Graph API (``GET /{version}/{leadgen_id}``) with the Page access token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from xuyen.channels.base import LeadNotice, PayloadInvalid
from xuyen.channels.meta import as_dict, dicts, moment, text_of

SOURCE = "facebook_lead_ads"
LEADGEN_FIELD = "leadgen"
#: What is asked of the Graph API for one lead.
LEAD_FIELDS = ("created_time,field_data,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,"
               "platform,is_organic")
_NOTICE_IDS = ("form_id", "ad_id", "adgroup_id", "page_id")
_LEAD_DETAIL = ("ad_id", "ad_name", "adset_id", "adset_name", "campaign_id", "campaign_name", "form_id", "platform")
MAX_FIELDS = 100
MAX_VALUE = 2000


def parse_leadgen(payload: dict[str, Any], page_id: str, received_at: datetime) -> list[LeadNotice]:
    """The leads this Page's webhook names, in order (those of other Pages are left out)."""
    found: list[LeadNotice] = []
    for entry in dicts(payload.get("entry")):
        entry_page = text_of(entry.get("id"))
        if entry_page is not None and entry_page != page_id:
            continue
        for change in dicts(entry.get("changes")):
            if change.get("field") == LEADGEN_FIELD:
                notice = _notice(as_dict(change.get("value")), page_id, received_at)
                if notice is not None:
                    found.append(notice)
    return found


def _notice(value: dict[str, Any], page_id: str, received_at: datetime) -> LeadNotice | None:
    leadgen_id = text_of(value.get("leadgen_id"))
    if leadgen_id is None or not leadgen_id.isdigit() or len(leadgen_id) > 40:
        raise PayloadInvalid("A leadgen change of the Messenger webhook carries no leadgen_id Meta would give (a "
                             "number), so there is no lead to fetch.")
    if (text_of(value.get("page_id")) or page_id) != page_id:
        return None
    detail = {key: found for key in _NOTICE_IDS if (found := text_of(value.get(key)))}
    return LeadNotice(source=SOURCE, provider_lead_id=leadgen_id, complete=False, detail=detail,
                      at=moment(value.get("created_time"), milliseconds=False, default=received_at))


def lead_from_graph(leadgen_id: str, answer: dict[str, Any], received_at: datetime) -> LeadNotice:
    """A lead as the Graph API gives it: each answer by its question's name (several values joined by ", "),
    and the ad, ad set, campaign and form it came through."""
    fields: dict[str, str] = {}
    for item in dicts(answer.get("field_data"))[:MAX_FIELDS]:
        name = text_of(item.get("name"))
        values = item.get("values")
        if name is None or not isinstance(values, list):
            continue
        said = [text for value in values if (text := text_of(value))]
        fields[name[:200]] = ", ".join(said)[:MAX_VALUE]
    detail = {key: found[:200] for key in _LEAD_DETAIL if (found := text_of(answer.get(key)))}
    if isinstance(answer.get("is_organic"), bool):
        detail["is_organic"] = "true" if answer["is_organic"] else "false"
    return LeadNotice(source=SOURCE, provider_lead_id=leadgen_id, complete=True, fields=fields, detail=detail,
                      at=_graph_time(answer.get("created_time"), received_at))


def _graph_time(value: Any, default: datetime) -> datetime:
    """The Graph API's ``2026-12-06T09:12:44+0000``, or a number of seconds, as an aware datetime."""
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            pass
    return moment(value, milliseconds=False, default=default)
