"""Labels: managers define them (name, colour) and the rules that put them on conversations automatically, by
where a conversation came from when it opens (channel kind, channel, an ad the customer clicked) or by words in
what the customer writes; agents add and remove them by hand."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.names import fold_name
from xuyen.inbox.models import Channel, Conversation, Direction, Message
from xuyen.inbox.routing.models import ConversationLabel, Label, LabelRule, LabelRuleKind
from xuyen.inbox.routing.rows import insert_new
from xuyen.inbox.service import get_conversation
from xuyen.inbox.threads import announce

MAX_LABELS = 500
MAX_RULES = 500
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class DefaultLabel:
    """A label Xuyên suggests, with the rule that puts it on conversations."""

    name: str
    colour: str
    kind: LabelRuleKind
    conditions: dict[str, Any]


DEFAULT_LABELS: tuple[DefaultLabel, ...] = (
    DefaultLabel("Facebook Ads", "#1877f2", LabelRuleKind.source, {"channel_kinds": ["messenger"], "referral": "ad"}),
    DefaultLabel("Zalo OA", "#0068ff", LabelRuleKind.source, {"channel_kinds": ["zalo"]}),
    DefaultLabel("Form website", "#0f766e", LabelRuleKind.source, {"channel_kinds": ["webchat"]}),
    DefaultLabel("Đổi trả", "#dc2626", LabelRuleKind.keyword,
                 {"keywords": ["đổi trả", "trả hàng", "đổi hàng", "hoàn tiền", "đổi size"]}),
    DefaultLabel("Khiếu nại", "#9f1239", LabelRuleKind.keyword, {"keywords": ["khiếu nại", "phàn nàn", "bực mình"]}),
    DefaultLabel("Hỏi giá", "#ca8a04", LabelRuleKind.keyword,
                 {"keywords": ["giá bao nhiêu", "bao nhiêu tiền", "báo giá", "giá sao"]}),
    DefaultLabel("Giao hàng", "#7c3aed", LabelRuleKind.keyword,
                 {"keywords": ["giao hàng", "ship hàng", "phí ship", "mã vận đơn", "chưa nhận được hàng"]}),
)


# Labels -------------------------------------------------------------------------------------------------


def label_key(name: str) -> str:
    """The folded name labels are told apart by ("Đổi trả" and "doi tra" are one label)."""
    return fold_name(name)[:60]


def _clean_name(name: str) -> tuple[str, str]:
    name = " ".join(name.split())
    key = label_key(name)
    if not name or not key:
        raise ValidationFailed("Give the label a name with at least one letter or digit.", code="label_name_invalid")
    return name[:60], key


def _clean_colour(colour: str) -> str:
    if not COLOUR.match(colour):
        raise ValidationFailed("A colour is written #rrggbb, e.g. #dc2626.", code="label_colour_invalid")
    return colour.lower()


def get_label(session: Session, *, label_id: int) -> Label:
    """The label ``label_id``; NotFound when there is none."""
    label = session.get(Label, label_id)
    if label is None:
        raise NotFound(f"There is no label {label_id}.", code="label_not_found")
    return label


def list_labels(session: Session) -> list[Label]:
    """Every label, by name."""
    return list(session.scalars(select(Label).order_by(Label.name_key, Label.id)))


def _check_unique(session: Session, key: str, *, other_than: int | None = None) -> None:
    found = session.scalar(select(Label).where(Label.name_key == key))
    if found is not None and found.id != other_than:
        raise Conflict(f"There is a label “{found.name}” already.", code="label_exists",
                       details={"label_id": found.id})


def add_label(session: Session, *, name: str, colour: str = "#64748b") -> Label:
    """A new label (helper: the caller commits)."""
    name, key = _clean_name(name)
    _check_unique(session, key)
    if len(list_labels(session)) >= MAX_LABELS:
        raise ValidationFailed(f"There are {MAX_LABELS} labels already; remove some first.", code="too_many_labels")
    label = Label(name=name, name_key=key, colour=_clean_colour(colour))
    session.add(label)
    session.flush()
    return label


def create_label(session: Session, *, name: str, colour: str, actor: str) -> Label:
    """Define a label."""
    label = add_label(session, name=name, colour=colour)
    audit.record(session, actor=actor, action="inbox.label.created", subject_type="inbox_label", subject_id=label.id,
                 detail={"name": label.name})
    session.commit()
    return label


def update_label(session: Session, *, label_id: int, name: str | None, colour: str | None, actor: str) -> Label:
    """Rename a label or change its colour."""
    label = get_label(session, label_id=label_id)
    if name is not None:
        clean, key = _clean_name(name)
        _check_unique(session, key, other_than=label.id)  # before the change, which a query would flush
        label.name, label.name_key = clean, key
    if colour is not None:
        label.colour = _clean_colour(colour)
    audit.record(session, actor=actor, action="inbox.label.updated", subject_type="inbox_label", subject_id=label.id,
                 detail={"name": label.name, "colour": label.colour})
    session.commit()
    return label


def delete_label(session: Session, *, label_id: int, actor: str) -> None:
    """Remove a label from every conversation, with its rules."""
    label = get_label(session, label_id=label_id)
    audit.record(session, actor=actor, action="inbox.label.deleted", subject_type="inbox_label", subject_id=label.id,
                 detail={"name": label.name})
    session.delete(label)
    session.commit()


# Rules --------------------------------------------------------------------------------------------------


def get_rule(session: Session, *, rule_id: int) -> LabelRule:
    """The label rule ``rule_id``; NotFound when there is none."""
    rule = session.get(LabelRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no label rule {rule_id}.", code="label_rule_not_found")
    return rule


def list_rules(session: Session) -> list[LabelRule]:
    """Every label rule, oldest first."""
    return list(session.scalars(select(LabelRule).order_by(LabelRule.id)))


def _checked_conditions(kind: LabelRuleKind, conditions: dict[str, Any]) -> dict[str, Any]:
    if kind == LabelRuleKind.keyword:
        keywords = [" ".join(str(word).split()) for word in conditions.get("keywords") or []]
        keywords = [word for word in keywords if fold_name(word)]
        if not keywords:
            raise ValidationFailed("A keyword rule needs at least one keyword with a letter or digit.",
                                   code="label_rule_invalid")
        return {"keywords": keywords}
    kept = {key: value for key, value in conditions.items()
            if key in ("channel_kinds", "channel_ids", "referral") and value not in (None, [])}
    if not kept:
        raise ValidationFailed("A source rule needs a channel kind, a channel or a referral to look for.",
                               code="label_rule_invalid")
    return kept


def add_rule(session: Session, *, label_id: int, kind: LabelRuleKind, conditions: dict[str, Any]) -> LabelRule:
    """A new label rule (helper: the caller commits)."""
    get_label(session, label_id=label_id)
    if len(list_rules(session)) >= MAX_RULES:
        raise ValidationFailed(f"There are {MAX_RULES} label rules already.", code="too_many_label_rules")
    rule = LabelRule(label_id=label_id, kind=kind, conditions=_checked_conditions(kind, conditions), enabled=True)
    session.add(rule)
    session.flush()
    return rule


def create_rule(session: Session, *, label_id: int, kind: LabelRuleKind, conditions: dict[str, Any],
                actor: str) -> LabelRule:
    """Add a rule that puts a label on conversations by their source or by keywords."""
    rule = add_rule(session, label_id=label_id, kind=kind, conditions=conditions)
    audit.record(session, actor=actor, action="inbox.label_rule.created", subject_type="inbox_label_rule",
                 subject_id=rule.id, detail={"label_id": label_id, "kind": kind.value, "conditions": rule.conditions})
    session.commit()
    return rule


def set_rule_enabled(session: Session, *, rule_id: int, enabled: bool, actor: str) -> LabelRule:
    """Turn a label rule on or off."""
    rule = get_rule(session, rule_id=rule_id)
    rule.enabled = enabled
    audit.record(session, actor=actor, action="inbox.label_rule.updated", subject_type="inbox_label_rule",
                 subject_id=rule.id, detail={"enabled": enabled})
    session.commit()
    return rule


def delete_rule(session: Session, *, rule_id: int, actor: str) -> None:
    """Remove a label rule (the labels it put on conversations stay)."""
    rule = get_rule(session, rule_id=rule_id)
    audit.record(session, actor=actor, action="inbox.label_rule.deleted", subject_type="inbox_label_rule",
                 subject_id=rule.id)
    session.delete(rule)
    session.commit()


def install_defaults(session: Session, *, actor: str) -> list[Label]:
    """Add the suggested Vietnamese labels and their rules where a label of that name does not exist yet; the
    labels added."""
    added = []
    for default in DEFAULT_LABELS:
        if session.scalar(select(Label.id).where(Label.name_key == label_key(default.name))) is not None:
            continue
        label = add_label(session, name=default.name, colour=default.colour)
        add_rule(session, label_id=label.id, kind=default.kind, conditions=default.conditions)
        added.append(label)
    audit.record(session, actor=actor, action="inbox.label.defaults_installed", subject_type="inbox_label",
                 subject_id=0, detail={"added": [label.name for label in added]})
    session.commit()
    return added


# Labels on conversations --------------------------------------------------------------------------------


def conversation_labels(session: Session, *, conversation_id: int) -> list[Label]:
    """The labels on a conversation, by name."""
    return list(session.scalars(select(Label).join(ConversationLabel, ConversationLabel.label_id == Label.id)
                                .where(ConversationLabel.conversation_id == conversation_id)
                                .order_by(Label.name_key)))


def labels_of(session: Session, *, conversation_ids: Iterable[int]) -> dict[int, list[Label]]:
    """The labels of each of several conversations (for a list)."""
    ids = list(conversation_ids)
    found: dict[int, list[Label]] = {conversation_id: [] for conversation_id in ids}
    if not ids:
        return found
    rows = session.execute(select(ConversationLabel.conversation_id, Label)
                           .join(Label, Label.id == ConversationLabel.label_id)
                           .where(ConversationLabel.conversation_id.in_(ids)).order_by(Label.name_key))
    for conversation_id, label in rows:
        found[conversation_id].append(label)
    return found


def put_label(session: Session, *, conversation_id: int, label_id: int, origin: str,
              user_id: int | None = None) -> bool:
    """Put a label on a conversation unless it is there; whether it was added (helper: no commit)."""
    return insert_new(session, ConversationLabel, keys=["conversation_id", "label_id"],
                      values={"conversation_id": conversation_id, "label_id": label_id, "origin": origin,
                              "added_by_id": user_id})


def label_conversation(session: Session, *, conversation_id: int, label_id: int, user_id: int | None,
                       actor: str) -> list[Label]:
    """An agent puts a label on a conversation (nothing happens if it is there); the conversation's labels."""
    get_conversation(session, conversation_id=conversation_id)
    get_label(session, label_id=label_id)
    if put_label(session, conversation_id=conversation_id, label_id=label_id, origin="agent", user_id=user_id):
        audit.record(session, actor=actor, action="conversation.labelled", subject_type="conversation",
                     subject_id=conversation_id, detail={"label_id": label_id})
        announce(session, kind="conversation", conversation_id=conversation_id)
    session.commit()
    return conversation_labels(session, conversation_id=conversation_id)


def unlabel_conversation(session: Session, *, conversation_id: int, label_id: int, actor: str) -> list[Label]:
    """An agent takes a label off a conversation; NotFound when it does not carry it."""
    get_conversation(session, conversation_id=conversation_id)
    removed = session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == conversation_id,
                                                              ConversationLabel.label_id == label_id))
    if not getattr(removed, "rowcount", 0):
        raise NotFound(f"Conversation {conversation_id} does not carry label {label_id}.",
                       code="conversation_label_not_found")
    audit.record(session, actor=actor, action="conversation.unlabelled", subject_type="conversation",
                 subject_id=conversation_id, detail={"label_id": label_id})
    announce(session, kind="conversation", conversation_id=conversation_id)
    session.commit()
    return conversation_labels(session, conversation_id=conversation_id)


# Automatic labels ---------------------------------------------------------------------------------------


def _rules(session: Session, kind: LabelRuleKind) -> list[LabelRule]:
    return list(session.scalars(select(LabelRule).where(LabelRule.kind == kind, LabelRule.enabled.is_(True))
                                .order_by(LabelRule.id)))


def is_ad_referral(referral: object) -> bool:
    """Whether a message's referral (as channels put it in the message's thread hints) says the customer came
    from an ad."""
    if not isinstance(referral, dict):
        return False
    return bool(referral.get("ad_id")) or str(referral.get("source") or "").upper() == "ADS"


def _referral(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    hints = (message.meta or {}).get("thread_hints") or {}
    found = hints.get("referral") if isinstance(hints, dict) else None
    return found if isinstance(found, dict) else None


def source_matches(conditions: dict[str, Any], *, channel: Channel | None, first: Message | None) -> bool:
    """Whether a conversation that opened on ``channel`` with the message ``first`` matches a source rule."""
    kinds, ids, referral = conditions.get("channel_kinds"), conditions.get("channel_ids"), conditions.get("referral")
    if kinds and (channel is None or channel.kind not in kinds):
        return False
    if ids and (channel is None or channel.id not in ids):
        return False
    if referral == "ad":
        return is_ad_referral(_referral(first))
    if referral == "any":
        return _referral(first) is not None
    return True


def keyword_matches(conditions: dict[str, Any], folded_text: str) -> bool:
    """Whether folded text holds one of a keyword rule's keywords as whole words."""
    padded = f" {folded_text} "
    return any(f" {word} " in padded for word in (fold_name(str(item)) for item in conditions.get("keywords") or [])
               if word)


def first_inbound(session: Session, *, conversation_id: int) -> Message | None:
    """The first message the customer sent in a conversation."""
    return session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                Message.direction == Direction.inbound)
                          .order_by(Message.sent_at, Message.id).limit(1))


def apply_source_labels(session: Session, *, conversation: Conversation) -> list[int]:
    """Put the labels whose source rules match where a conversation came from; the label ids added (helper)."""
    first = first_inbound(session, conversation_id=conversation.id)
    channel_id = first.channel_id if first is not None else conversation.last_inbound_channel_id
    channel = session.get(Channel, channel_id) if channel_id is not None else None
    added = []
    for rule in _rules(session, LabelRuleKind.source):
        if source_matches(rule.conditions, channel=channel, first=first) and put_label(
                session, conversation_id=conversation.id, label_id=rule.label_id, origin="source"):
            added.append(rule.label_id)
    return added


def apply_keyword_labels(session: Session, *, conversation_id: int, texts: Iterable[str]) -> list[int]:
    """Put the labels whose keyword rules match any of the customer's texts; the label ids added (helper)."""
    folded = [fold_name(text) for text in texts if text]
    added = []
    for rule in _rules(session, LabelRuleKind.keyword):
        if any(keyword_matches(rule.conditions, text) for text in folded) and put_label(
                session, conversation_id=conversation_id, label_id=rule.label_id, origin="keyword"):
            added.append(rule.label_id)
    return added


def inbound_texts(session: Session, *, conversation_id: int, limit: int = 50) -> list[str]:
    """The subject and text of the customer's first messages in a conversation."""
    rows = session.execute(select(Message.subject, Message.text).where(Message.conversation_id == conversation_id,
                                                                        Message.direction == Direction.inbound)
                           .order_by(Message.sent_at, Message.id).limit(limit))
    return [" ".join(part for part in (subject, text) if part) for subject, text in rows]
