"""Leads the channels receive in their providers' own forms: Facebook Lead Ads (the Page's ``leadgen`` webhook)
and Zalo OA information requests (``user_submit_info``).

The inbox parses the webhook in a worker and writes ``channel.lead_received``. A Zalo submission carries its
answers and is captured at once. A Lead Ads webhook only names the lead: a **retrieval** row
(``sales_lead_retrievals``) keeps it, and the ``leads.fetch_channel_lead`` job reads the answers from the Graph
API with the Page's token and captures them. A failed read is tried again with a growing delay (one minute,
then four, sixteen… up to six hours, ``MAX_ATTEMPTS`` times in all, about a day and a half); a refused token or
a missing ``leads_retrieval`` permission also marks the channel as needing its owner. A retrieval that runs out of
attempts, or that can never succeed (an unknown lead), stays ``failed`` with its reason on the Channels page until
it is read again from there. The provider's lead id is the capture's key, so a webhook delivered twice captures once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.channels.base import ChannelError, FetchFailed, LeadNotice
from xuyen.clock import utcnow
from xuyen.inbox.connections import build_adapter, flag_credentials, is_sandbox
from xuyen.inbox.models import Channel, ChannelStatus
from xuyen.jobs import add_job_once
from xuyen.sales.leads.capturing import Captured, Identifier, record_capture
from xuyen.sales.leads.models import LeadRetrieval, RetrievalStatus, SourceKind

log = logging.getLogger("xuyen.sales.leads")

FETCH_JOB = "leads.fetch_channel_lead"
SWEEP_JOB = "leads.retry_channel_leads"
MAX_ATTEMPTS = 12
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=6)
# A pending retrieval whose next try is this late lost its job (a worker died with it): it is queued again.
OVERDUE = timedelta(minutes=30)

# Facebook's standard questions, by what the lead keeps them as.
_FACEBOOK_NAME = ("full_name",)
_FACEBOOK_PHONE = ("phone_number", "phone")
_FACEBOOK_EMAIL = ("email", "work_email")
_FACEBOOK_PROVINCE = ("province", "city", "state")
_PRODUCT_INTEREST = ("product_interest", "san_pham_quan_tam")


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed read: 1, 4, 16, 64, 256 minutes, then 6 hours."""
    return min(FIRST_DELAY * (4 ** max(attempts - 1, 0)), LONGEST_DELAY)


# Arrival ----------------------------------------------------------------------------------------------


def receive(session: Session, *, payload: Mapping[str, Any]) -> Captured | LeadRetrieval | None:
    """Take a ``channel.lead_received`` event: capture a lead that came with its answers, keep and queue the
    reading of one that did not (helper: the worker commits)."""
    channel = session.get(Channel, int(payload["channel_id"]))
    if channel is None:
        return None
    notice = LeadNotice(source=str(payload["source"]), provider_lead_id=str(payload["provider_lead_id"]),
                        at=datetime.fromisoformat(str(payload["at"])), complete=bool(payload.get("complete")),
                        fields=dict(payload.get("fields") or {}), detail=dict(payload.get("detail") or {}))
    identifiers = [(str(kind), str(value), None if scope is None else str(scope))
                   for kind, value, scope in payload.get("identifiers") or []]
    if notice.complete:
        return capture_notice(session, channel=channel, notice=notice, identifiers=identifiers,
                              name=str(payload.get("name") or ""))
    return keep_retrieval(session, channel=channel, notice=notice)


def keep_retrieval(session: Session, *, channel: Channel, notice: LeadNotice) -> LeadRetrieval:
    """Keep a lead named without its answers and queue its reading; the same lead named again is kept once
    (helper: flushes)."""
    existing = session.scalar(select(LeadRetrieval).where(LeadRetrieval.channel_id == channel.id,
                                                          LeadRetrieval.provider_lead_id == notice.provider_lead_id))
    if existing is not None:
        return existing
    now = utcnow()
    retrieval = LeadRetrieval(channel_id=channel.id, source=SourceKind(notice.source),
                              provider_lead_id=notice.provider_lead_id[:100], status=RetrievalStatus.pending,
                              attempts=0, notice={**notice.detail, "at": notice.at.isoformat()},
                              next_attempt_at=now, created_at=now, updated_at=now)
    session.add(retrieval)
    session.flush()
    _queue_fetch(session, retrieval)
    return retrieval


def _queue_fetch(session: Session, retrieval: LeadRetrieval, *, suffix: str = "") -> None:
    add_job_once(session, name=FETCH_JOB, dedupe_key=f"{FETCH_JOB}:{retrieval.id}:{retrieval.attempts}{suffix}",
                 payload={"retrieval_id": retrieval.id}, run_at=retrieval.next_attempt_at)


# Reading ----------------------------------------------------------------------------------------------


def fetch(session: Session, *, retrieval_id: int) -> LeadRetrieval | None:
    """Read a kept lead's answers from its provider and capture them; on failure note why and, when it may
    still work, queue the next try (helper for the job: the worker commits)."""
    retrieval = session.get(LeadRetrieval, retrieval_id)
    if retrieval is None or retrieval.status != RetrievalStatus.pending:
        return retrieval
    channel = session.get(Channel, retrieval.channel_id)
    if channel is None or channel.status == ChannelStatus.disabled:
        _give_up(retrieval, code="channel_disabled", reason="The channel was switched off before the lead could be "
                 "read; switch it on again and retry.")
        return retrieval
    if is_sandbox(channel):
        _give_up(retrieval, code="sandbox", reason="The channel is a sandbox, which fetches nothing from the "
                 "provider.")
        return retrieval
    try:
        adapter = build_adapter(channel)
    except ChannelError as exc:
        _give_up(retrieval, code="misconfigured", reason=exc.message)
        return retrieval
    try:
        notice = adapter.fetch_lead(retrieval.provider_lead_id)
    except FetchFailed as exc:
        _note_failure(session, retrieval, channel=channel, failure=exc)
        return retrieval
    finally:
        adapter.close()
    done = capture_notice(session, channel=channel, notice=notice)
    retrieval.status, retrieval.lead_id, retrieval.next_attempt_at = RetrievalStatus.captured, done.lead.id, None
    retrieval.error_code, retrieval.last_error, retrieval.updated_at = None, None, utcnow()
    return retrieval


def _note_failure(session: Session, retrieval: LeadRetrieval, *, channel: Channel, failure: FetchFailed) -> None:
    retrieval.attempts += 1
    retrieval.error_code, retrieval.last_error = failure.code, failure.message
    retrieval.updated_at = utcnow()
    if failure.credentials_revoked:
        flag_credentials(channel, reason=failure.message)
    may_work_later = failure.retryable or failure.credentials_revoked
    if may_work_later and retrieval.attempts < MAX_ATTEMPTS:
        retrieval.next_attempt_at = utcnow() + retry_delay(retrieval.attempts)
        _queue_fetch(session, retrieval)
        log.warning("lead %s of channel %s could not be read (attempt %s, again at %s): %s",
                    retrieval.provider_lead_id, channel.id, retrieval.attempts, retrieval.next_attempt_at,
                    failure.message)
        return
    _give_up(retrieval, code=failure.code, reason=failure.message)


def _give_up(retrieval: LeadRetrieval, *, code: str, reason: str) -> None:
    retrieval.status, retrieval.error_code, retrieval.last_error = RetrievalStatus.failed, code, reason
    retrieval.next_attempt_at, retrieval.updated_at = None, utcnow()
    log.error("lead %s of channel %s was not captured: %s", retrieval.provider_lead_id, retrieval.channel_id, reason)


def queue_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Queue again the pending retrievals whose next try is long overdue (their job was lost); how many
    (helper: the worker commits)."""
    now = now or utcnow()
    overdue = list(session.scalars(select(LeadRetrieval).where(
        LeadRetrieval.status == RetrievalStatus.pending, LeadRetrieval.next_attempt_at < now - OVERDUE)
        .order_by(LeadRetrieval.id).limit(500)))
    for retrieval in overdue:
        _queue_fetch(session, retrieval, suffix=f":again-{now:%Y%m%d%H}")
    return len(overdue)


def retry_now(session: Session, *, channel_id: int | None = None) -> int:
    """Read the waiting and the failed retrievals (of one channel) again now, the failed ones with fresh attempts,
    and commit; how many (after the owner fixed the channel's token or permission)."""
    query = select(LeadRetrieval).where(LeadRetrieval.status != RetrievalStatus.captured)
    if channel_id is not None:
        query = query.where(LeadRetrieval.channel_id == channel_id)
    now, retried = utcnow(), list(session.scalars(query))
    for retrieval in retried:
        if retrieval.status == RetrievalStatus.failed:
            retrieval.status, retrieval.attempts = RetrievalStatus.pending, 0
        retrieval.next_attempt_at, retrieval.updated_at = now, now
        _queue_fetch(session, retrieval, suffix=f":now-{now.timestamp():.0f}")
    session.commit()
    return len(retried)


def retrieval_summary(session: Session) -> dict[int, dict[str, Any]]:
    """Per channel, the leads still waiting to be read and those that could not be, with the latest reason."""
    found: dict[int, dict[str, Any]] = {}
    counts = session.execute(select(LeadRetrieval.channel_id, LeadRetrieval.status, func.count())
                             .where(LeadRetrieval.status != RetrievalStatus.captured)
                             .group_by(LeadRetrieval.channel_id, LeadRetrieval.status))
    for channel_id, status, count in counts:
        found.setdefault(channel_id, {"pending": 0, "failed": 0, "last_error": None})[status.value] = count
    for channel_id, summary in found.items():
        summary["last_error"] = session.scalar(
            select(LeadRetrieval.last_error).where(LeadRetrieval.channel_id == channel_id,
                                                   LeadRetrieval.status != RetrievalStatus.captured,
                                                   LeadRetrieval.last_error.is_not(None))
            .order_by(LeadRetrieval.updated_at.desc(), LeadRetrieval.id.desc()).limit(1))
    return found


# Capture ----------------------------------------------------------------------------------------------


def capture_notice(session: Session, *, channel: Channel, notice: LeadNotice,
                   identifiers: Sequence[Identifier] = (), name: str = "", check_mx: bool = True) -> Captured:
    """Capture a lead with its answers, the way its source asks (helper: flushes). ``check_mx=False`` leaves the
    e-mail domain unchecked (demo data)."""
    if notice.source == SourceKind.facebook_lead_ads:
        return _capture_facebook(session, channel=channel, notice=notice, check_mx=check_mx)
    return _capture_zalo(session, channel=channel, notice=notice, identifiers=identifiers, name=name,
                         check_mx=check_mx)


def _first(fields: Mapping[str, Any], names: Sequence[str]) -> str:
    return next((str(fields[key]).strip() for key in names if str(fields.get(key) or "").strip()), "")


def _capture_facebook(session: Session, *, channel: Channel, notice: LeadNotice, check_mx: bool) -> Captured:
    answers, detail = dict(notice.fields), notice.detail
    name = _first(answers, _FACEBOOK_NAME) or " ".join(
        part for part in (_first(answers, ("last_name",)), _first(answers, ("first_name",))) if part)
    ad = detail.get("ad_name") or detail.get("ad_id", "")
    where = [f"form {detail['form_id']}" if detail.get("form_id") else "",
             f"ad {ad}" if ad else "", f"ad set {detail['adset_name']}" if detail.get("adset_name") else "",
             f"lead {notice.provider_lead_id}"]
    utm = {"utm_source": "instagram" if detail.get("platform") == "ig" else "facebook",
           "utm_medium": "organic" if detail.get("is_organic") == "true" else "paid_social",
           "utm_campaign": detail.get("campaign_name", ""), "utm_term": detail.get("adset_name", ""),
           "utm_content": detail.get("ad_name", "")}
    return record_capture(session, source=SourceKind.facebook_lead_ads, name=name,
                          phone=_first(answers, _FACEBOOK_PHONE), email=_first(answers, _FACEBOOK_EMAIL),
                          province=_first(answers, _FACEBOOK_PROVINCE),
                          product_interest=_first(answers, _PRODUCT_INTEREST),
                          campaign=detail.get("campaign_name", ""),
                          source_detail=f"{channel.name}: " + ", ".join(part for part in where if part),
                          utm=utm, fields=answers, dedupe_key=f"fb:{notice.provider_lead_id}",
                          captured_at=notice.at, check_mx=check_mx)


def _capture_zalo(session: Session, *, channel: Channel, notice: LeadNotice, identifiers: Sequence[Identifier],
                  name: str, check_mx: bool) -> Captured:
    answers = dict(notice.fields)
    oa_id = notice.detail.get("oa_id", "")
    return record_capture(session, source=SourceKind.zalo_form, name=_first(answers, ("name",)) or name,
                          phone=_first(answers, ("phone",)),
                          identifiers=[found for found in identifiers if found[0] != "phone"],
                          province=_first(answers, ("city",)), fields=answers,
                          source_detail=f"Zalo OA {channel.name} ({oa_id}): information request",
                          dedupe_key=f"zalo:{notice.provider_lead_id}", captured_at=notice.at, check_mx=check_mx)
