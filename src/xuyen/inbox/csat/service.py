"""CSAT: a survey on the customer's channel when an agent resolves a conversation (a link to a rating page, signed,
no sign-in), ratings from the page or from a digit reply on a chat channel, the survey settings, and the report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.service import get_user
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.errors import Conflict, NotFound, ValidationFailed, XuyenError
from xuyen.inbox import service as inbox
from xuyen.inbox.csat.models import (
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_REPLY_HOURS,
    DEFAULT_SURVEY_TEXT,
    Response,
    SurveySettings,
)
from xuyen.inbox.models import Channel, ChannelStatus, ConversationStatus, Direction, Message
from xuyen.inbox.sla.service import check_period

CSAT_ACTOR = "csat"
LINK_PLACEHOLDER = "{link}"
MAX_SURVEY_TEXT = 1000
MAX_COMMENT = 2000
# Channels where a reply of one digit is taken as the rating (not e-mail, whose replies carry quotes).
NOT_CHAT_KINDS = frozenset({"email"})
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{22})$")
_PURPOSE = b"xuyen csat links v1:"


class SurveyExpired(XuyenError):
    """The survey's link is past its expiry."""

    status, default_code, title = 410, "survey_expired", "Survey expired"


# Signed links ------------------------------------------------------------------------------------------


def _signature(secret: str, response_id: int) -> str:
    digest = hmac.new(secret.encode(), _PURPOSE + str(response_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def token_for(response_id: int) -> str:
    """The signed token of a survey's rating page."""
    return f"{response_id}.{_signature(get_settings().secret_key.get_secret_value(), response_id)}"


def _response_id(token: str) -> int | None:
    """The survey id a token carries, if its signature is right (under the current or a previous key)."""
    found = _TOKEN.match(token)
    if found is None:
        return None
    response_id = int(found.group(1))
    settings = get_settings()
    keys = [settings.secret_key.get_secret_value(), *settings.previous_secret_key_list]
    if any(hmac.compare_digest(_signature(key, response_id), found.group(2)) for key in keys if key):
        return response_id
    return None


def survey_link(token: str) -> str:
    """The rating page's address, on ``XUYEN_PUBLIC_URL`` (else the address the server listens on)."""
    settings = get_settings()
    base = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
    return f"{base}/csat/{token}"


# Settings ----------------------------------------------------------------------------------------------


def get_survey_settings(session: Session) -> SurveySettings:
    """The survey settings (the defaults until someone changes them)."""
    row = session.get(SurveySettings, 1)
    if row is None:
        row = SurveySettings(id=1, enabled=True, survey_text=DEFAULT_SURVEY_TEXT, expiry_days=DEFAULT_EXPIRY_DAYS,
                             reply_hours=DEFAULT_REPLY_HOURS, updated_at=utcnow())
    return row


def _settings_problems(changes: Mapping[str, Any]) -> list[str]:
    problems = []
    unknown = sorted(set(changes) - {"enabled", "survey_text", "expiry_days", "reply_hours"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(repr, unknown))}; the fields are enabled, survey_text, "
                        "expiry_days, reply_hours")
    text = changes.get("survey_text", LINK_PLACEHOLDER)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_SURVEY_TEXT:
        problems.append(f"survey_text: give a text of 1 to {MAX_SURVEY_TEXT} characters")
    elif LINK_PLACEHOLDER not in text:
        problems.append("survey_text: put {link} where the rating page's address goes")
    for name, low, high in (("expiry_days", 1, 90), ("reply_hours", 0, 168)):
        value = changes.get(name, low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{name}: give a whole number from {low} to {high}")
    if not isinstance(changes.get("enabled", True), bool):
        problems.append("enabled: give true or false")
    return problems


def update_survey_settings(session: Session, *, changes: Mapping[str, Any], actor: str) -> SurveySettings:
    """Change the survey settings (text with {link}, link expiry in days, hours a digit reply counts, on/off)."""
    problems = _settings_problems(changes)
    if problems:
        raise ValidationFailed("The survey settings are not valid: " + "; ".join(problems) + ".",
                               code="invalid_csat_settings", details={"problems": problems})
    row = get_survey_settings(session)
    for name, value in changes.items():
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    row.updated_at = utcnow()
    session.add(row)
    audit.record(session, actor=actor, action="csat_settings.updated", subject_type="csat_settings", subject_id=1,
                 detail={"fields": sorted(changes)})
    session.commit()
    return row


# Sending -----------------------------------------------------------------------------------------------


def _agent_of(session: Session, conversation_id: int, assignee_id: int | None) -> int | None:
    """Whom the rating is about: the assignee, else the agent who replied last."""
    if assignee_id is not None:
        return assignee_id
    return session.scalar(select(Message.author_id).where(
        Message.conversation_id == conversation_id, Message.direction == Direction.outbound,
        Message.author_id.is_not(None)).order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))


def _waiting_survey(session: Session, conversation_id: int, now: datetime) -> Response | None:
    return session.scalar(select(Response).where(
        Response.conversation_id == conversation_id, Response.sent_at.is_not(None), Response.answered_at.is_(None),
        Response.expires_at > now).order_by(Response.id.desc()).limit(1))


def send_survey(session: Session, *, conversation_id: int, event_id: int, resolved_at: datetime) -> Response | None:
    """Send the survey of a conversation an agent resolved, on a channel that takes free text now; when none
    does, keep the survey as not sent with the reason. Once per resolution (``event_id``) (helper)."""
    if session.scalar(select(Response.id).where(Response.event_id == event_id)) is not None:
        return None
    settings = get_survey_settings(session)
    conversation = inbox.get_conversation(session, conversation_id=conversation_id)
    if not settings.enabled or conversation.status != ConversationStatus.resolved:
        return None  # surveys are off, or the conversation was reopened before its survey could go out
    now = utcnow()
    row = Response(conversation_id=conversation_id, event_id=event_id, resolved_at=resolved_at, created_at=now,
                   agent_id=_agent_of(session, conversation_id, conversation.assignee_id))
    session.add(row)
    waiting = _waiting_survey(session, conversation_id, now)
    options = inbox.reply_options(session, conversation_id=conversation_id)
    open_options = [option for option in options
                    if option.rule.free_text and option.channel.status == ChannelStatus.active]
    if waiting is not None:
        row.not_sent_reason = f"The survey sent {waiting.sent_at:%Y-%m-%d %H:%M} UTC is still waiting for an answer."
    elif not open_options:
        row.not_sent_reason = ("No channel can take a message now: " +
                               "; ".join(f"{option.channel.name}: {option.rule.reason}" for option in options)
                               if options else "The customer cannot be reached on any connected channel.")
    if row.not_sent_reason:
        session.flush()
        return row
    chosen = open_options[0]
    session.flush()
    text = settings.survey_text.replace(LINK_PLACEHOLDER, survey_link(token_for(row.id)))
    message = inbox.send_system_message(session, conversation_id=conversation_id, text=text,
                                        channel_id=chosen.channel.id, kind="csat")
    row.channel_id, row.channel_kind, row.message_id = chosen.channel.id, chosen.channel.kind, message.id
    row.sent_at, row.expires_at = now, now + timedelta(days=settings.expiry_days)
    if chosen.channel.kind not in NOT_CHAT_KINDS and settings.reply_hours > 0:
        row.reply_until = now + timedelta(hours=settings.reply_hours)
    session.flush()
    return row


# Answers -----------------------------------------------------------------------------------------------


def digit_rating(text: str) -> int | None:
    """The rating a reply gives when it is only one digit from 1 to 5 (full-width digits too)."""
    folded = unicodedata.normalize("NFKC", text).strip().rstrip(".!")
    return int(folded) if len(folded) == 1 and folded in "12345" else None


def _answer(session: Session, row: Response, *, rating: int, comment: str | None, at: datetime, via: str) -> bool:
    marked = session.execute(update(Response).where(Response.id == row.id, Response.answered_at.is_(None))
                             .values(rating=rating, comment=comment, answered_at=at, answered_via=via)
                             .execution_options(synchronize_session=False))
    if not marked.rowcount:  # type: ignore[attr-defined]
        return False
    session.refresh(row)
    return True


def note_reply(session: Session, *, conversation_id: int, message_id: int, channel_kind: str | None,
               at: datetime) -> Response | None:
    """Take a customer's one-digit reply on a chat channel, within the survey's reply window, as its rating; the
    conversation it reopened is resolved again (helper)."""
    message = session.get(Message, message_id)
    if message is None or channel_kind in NOT_CHAT_KINDS:
        return None
    rating = digit_rating(message.text)
    if rating is None:
        return None
    # After the survey: stored after it (provider clocks may run a little behind ours), within its reply window.
    row = session.scalar(select(Response).where(
        Response.conversation_id == conversation_id, Response.answered_at.is_(None),
        Response.message_id < message_id, Response.reply_until >= at).order_by(Response.id.desc()).limit(1))
    if row is None or not _answer(session, row, rating=rating, comment=None, at=at, via="reply"):
        return None
    inbox.resolve_again(session, conversation_id=conversation_id, message_id=message_id, actor=CSAT_ACTOR)
    return row


def survey_for_token(session: Session, *, token: str, now: datetime | None = None) -> Response:
    """The survey behind a rating page's token: NotFound for a wrong or forged one, SurveyExpired for one past
    its expiry that was never answered."""
    response_id = _response_id(token)
    row = session.get(Response, response_id) if response_id is not None else None
    if row is None or row.sent_at is None or row.expires_at is None:
        raise NotFound("This survey link is not valid. Check that it was copied whole.", code="survey_not_found")
    if row.answered_at is None and (now or utcnow()) >= row.expires_at:
        raise SurveyExpired("This survey has closed.")
    return row


def rate(session: Session, *, token: str, rating: object, comment: str | None) -> Response:
    """Record the rating (1-5) and comment given on the rating page; a survey is answered once."""
    row = survey_for_token(session, token=token)
    if row.answered_at is not None:
        raise Conflict("This survey has been answered already.", code="survey_answered")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed("Choose a rating from 1 to 5.", code="invalid_rating")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(f"A comment is at most {MAX_COMMENT} characters.", code="comment_too_long")
    if not _answer(session, row, rating=rating, comment=text or None, at=utcnow(), via="page"):
        session.rollback()
        raise Conflict("This survey has been answered already.", code="survey_answered")
    session.commit()
    return row


# Reading -----------------------------------------------------------------------------------------------


def conversation_surveys(session: Session, *, conversation_id: int) -> list[Response]:
    """A conversation's surveys, newest first."""
    inbox.get_conversation(session, conversation_id=conversation_id)
    return list(session.scalars(select(Response).where(Response.conversation_id == conversation_id)
                                .order_by(Response.id.desc())))


@dataclass
class Figures:
    """Survey figures of one group: surveys, sent, answered, the ratings' distribution and average."""

    surveys: int = 0
    sent: int = 0
    answered: int = 0
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))

    @property
    def average(self) -> float | None:
        """The average rating, two decimals."""
        total = sum(rating * count for rating, count in self.distribution.items())
        return round(total / self.answered, 2) if self.answered else None

    @property
    def response_rate(self) -> float | None:
        """The share of sent surveys that were answered."""
        return round(self.answered / self.sent, 4) if self.sent else None

    def add(self, *, sent: bool, rating: int | None, count: int) -> None:
        """Count ``count`` surveys alike."""
        self.surveys += count
        self.sent += count if sent else 0
        if rating is not None:
            self.answered += count
            self.distribution[rating] += count


_Group = tuple[int | None, str | None, int | None, int, int | None, int]


@dataclass
class Report:
    """CSAT over a period (conversations resolved in it): overall, per channel, per agent."""

    since: datetime
    until: datetime
    overall: Figures
    channels: list[tuple[int | None, str, str | None, Figures]]  # id, name, kind
    agents: list[tuple[int | None, str, Figures]]  # id, name


def csat_report(session: Session, *, since: datetime, until: datetime) -> Report:
    """Average, count and distribution of ratings per channel and per agent, for conversations resolved in the
    period."""
    check_period(since, until)
    sent = case((Response.sent_at.is_(None), 0), else_=1)
    rows = session.execute(select(Response.channel_id, Response.channel_kind, Response.agent_id, sent,
                                  Response.rating, func.count())
                           .where(Response.resolved_at >= since, Response.resolved_at < until)
                           .group_by(Response.channel_id, Response.channel_kind, Response.agent_id, sent,
                                     Response.rating)).all()
    overall = Figures()
    channels: dict[int | None, tuple[str | None, Figures]] = {}
    agents: dict[int | None, Figures] = {}
    for row in rows:
        channel_id, kind, agent_id, was_sent, rating, count = cast(_Group, tuple(row))
        for figures in (overall, channels.setdefault(channel_id, (kind, Figures()))[1],
                        agents.setdefault(agent_id, Figures())):
            figures.add(sent=bool(was_sent), rating=rating, count=int(count))
    return Report(since=since, until=until, overall=overall,
                  channels=[(channel_id, _channel_name(session, channel_id), kind, figures)
                            for channel_id, (kind, figures) in sorted(channels.items(), key=_none_last)],
                  agents=[(agent_id, _user_name(session, agent_id), figures)
                          for agent_id, figures in sorted(agents.items(), key=_none_last)])


def _none_last(item: tuple[int | None, object]) -> tuple[bool, int]:
    return item[0] is None, item[0] or 0


def _channel_name(session: Session, channel_id: int | None) -> str:
    channel = session.get(Channel, channel_id) if channel_id is not None else None
    return channel.name if channel is not None else ""


def _user_name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    try:
        return get_user(session, user_id=user_id).name
    except NotFound:
        return ""
