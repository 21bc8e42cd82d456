"""Inbox jobs: parse a kept webhook, send a queued reply, poll the mailboxes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.inbox import intake, merging, sending, service, threads
from xuyen.inbox.service import SEND_JOB
from xuyen.jobs import add_job, batch_job, job, periodic
from xuyen.outbox import DomainEvent, on_event

POLL_JOB = "inbox.poll_channels"
WAKE_JOB = "inbox.wake_snoozed"
POLL_ONE_JOB = "inbox.poll_channel"


@batch_job(intake.PROCESS_JOB, max_batch=100)
def process_receipts(session: Session, payloads: list[dict[str, Any]]) -> None:
    """Parse kept webhook deliveries into messages, statuses and contact events."""
    intake.process_receipts(session, receipt_ids=[int(payload["receipt_id"]) for payload in payloads])


@job(SEND_JOB, isolated=True, max_attempts=3)
def send_message(session: Session, payload: dict[str, Any]) -> None:
    """Send one queued reply through its channel."""
    sending.send_message(session, message_id=int(payload["message_id"]))


@job(POLL_JOB)
def poll_channels(session: Session, payload: dict[str, Any]) -> None:
    """Queue a poll of every polled channel (each in a job of its own: one failing mailbox holds up no other)."""
    for channel_id in intake.polled_channel_ids(session):
        add_job(session, name=POLL_ONE_JOB, payload={"channel_id": channel_id})


@job(POLL_ONE_JOB, isolated=True, max_attempts=1)
def poll_channel(session: Session, payload: dict[str, Any]) -> None:
    """Fetch what one polled channel received."""
    intake.poll_channel(session, channel_id=int(payload["channel_id"]))


periodic(POLL_JOB, every=timedelta(minutes=1))


@job(WAKE_JOB)
def wake_snoozed(session: Session, payload: dict[str, Any]) -> None:
    """Reopen snoozed conversations whose snooze ran out."""
    service.wake_snoozed(session)


periodic(WAKE_JOB, every=timedelta(minutes=1))


@on_event("customer.erased", name="inbox.erase_messages")
def erase_messages(session: Session, event: DomainEvent) -> None:
    """An erased person's messages are blanked and their channel addresses forgotten."""
    threads.erase_messages_of(session, profile_ids=[int(item) for item in event.payload["profile_ids"]])


@on_event("profile.merged", "profile.unmerged", name="inbox.follow_profile_merges")
def follow_profile_merges(session: Session, event: DomainEvent) -> None:
    """A merge of profiles hands the absorbed one's contact points and conversations to the survivor (two in
    progress become one); its undoing gives back what it moved. One handler for both, so that a merge and its
    undoing are followed in the order they happened."""
    payload = event.payload
    ids = {"merge_id": int(payload["merge_id"]), "survivor_id": int(payload["survivor_id"]),
           "absorbed_id": int(payload["absorbed_id"])}
    if event.topic == "profile.merged":
        merging.follow_merge(session, **ids)
    else:
        merging.follow_unmerge(session, **ids)
