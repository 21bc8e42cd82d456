"""The demo inbox: teams, agents, rules, labels and saved replies made through the routing helpers; conversations
routed by those rules as they open, answered by their agents, mostly in the shop's opening hours; SLA clocks met,
at risk and breached; surveys answered; notes that @mention the agents."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.demo import customers
from xuyen.demo import inbox as demo_inbox
from xuyen.demo import routing as demo_routing
from xuyen.demo.journeys import VIETNAM
from xuyen.demo.service import load_demo
from xuyen.inbox.csat.models import Response as SurveyResponse
from xuyen.inbox.models import Conversation, ConversationStatus, Direction, Message
from xuyen.inbox.routing import canned, labels, mentions, service
from xuyen.inbox.routing.models import Availability, ConversationLabel, ConversationRouting, LabelRuleKind
from xuyen.inbox.sla import service as sla

# Enough customers for about forty conversations, as `xuyen demo` has.
CUSTOMERS = 90


@pytest.fixture
def demo(session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Session:
    """The demo shop loaded and its inbox finished by a worker, as `xuyen demo` does."""
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", CUSTOMERS)
    load_demo(session, seed=2026)
    session.rollback()
    demo_inbox.finish_inbox(engine, seed=2026)
    session.rollback()
    return session


def _users(session: Session) -> dict[int, User]:
    return {user.id: user for user in session.scalars(select(User))}


def test_routing_is_set_up_and_conversations_are_labelled_and_assigned_by_it(demo: Session) -> None:
    """One load of the demo per database, checked at length: loading it is what takes the time."""
    check_the_routing_setup(demo)
    check_conversations_are_labelled_and_assigned(demo)


def test_agents_reply_in_opening_hours_and_clocks_surveys_and_mentions_follow(demo: Session) -> None:
    check_replies_have_authors_and_customers_write_in_opening_hours(demo)
    check_sla_clocks_surveys_and_mentions(demo)


def check_the_routing_setup(session: Session) -> None:
    teams = {view.team.name: view for view in service.list_teams(session)}
    assert set(teams) == set(demo_routing.TEAMS)
    assert all(view.members for view in teams.values())
    agents = {view.user.email: view for view in service.list_agents(session)}
    assert agents["cskh@demo.xuyen.vn"].availability == Availability.online
    assert agents["cskh@demo.xuyen.vn"].capacity_set
    danang = [member.email for member in teams[demo_routing.DANANG].members]
    assert all(agents[email].availability != Availability.online for email in danang)  # its queue waits

    rules = service.list_rules(session)
    assert [rule.name for rule in rules][-2:] == ["Zalo, Facebook, chat trên web → CSKH trực tuyến",
                                                  "E-mail, SMS và còn lại → CSKH trực tuyến"]
    assert all(rule.enabled for rule in rules) and rules[-1].conditions == {}
    names = {label.id: label.name for label in labels.list_labels(session)}
    assert {"Facebook Ads", "Zalo OA", "Form website", "Đổi trả", demo_routing.HANOI} <= set(names.values())
    keyword_rules = [rule for rule in labels.list_rules(session) if rule.kind == LabelRuleKind.keyword]
    words = {word for rule in keyword_rules for word in rule.conditions["keywords"]}
    assert {"đổi size", "hoàn tiền", "hàng gai"} <= words
    assert any(rule.kind == LabelRuleKind.source for rule in labels.list_rules(session))
    replies = canned.list_responses(session, user_id=None)
    assert {reply.shortcut for reply in replies} >= {"chao", "doisize", "hoantien"}
    assert all(reply.owner_id is None for reply in replies)


def check_conversations_are_labelled_and_assigned(session: Session) -> None:
    # The conversations customers wrote in; those holding only the journeys' messages wait, resolved and unrouted,
    # until the customer answers.
    written = select(Message.conversation_id).where(Message.direction == Direction.inbound)
    conversations = list(session.scalars(select(Conversation).where(Conversation.id.in_(written))))
    assert len(conversations) >= 30
    routed = {row.conversation_id: row for row in session.scalars(select(ConversationRouting))}
    assert set(routed) == {conversation.id for conversation in conversations}  # every one went through routing
    teams = {view.team.id: view.team.name for view in service.list_teams(session)}
    per_team = Counter(teams[row.team_id] for row in routed.values() if row.team_id is not None)
    assert per_team[demo_routing.ONLINE_CARE] > per_team[demo_routing.HANOI] > 0
    assert all(row.rule_id is not None for row in routed.values())
    users = _users(session)
    assigned = [conversation for conversation in conversations if conversation.assignee_id is not None]
    assert len(assigned) > len(conversations) * 0.7
    assert len({conversation.assignee_id for conversation in assigned}) >= 3  # round-robin shares them out
    for conversation in assigned:  # each agent holds conversations of their own teams only
        team_id = routed[conversation.id].team_id
        assert team_id is not None
        assert conversation.assignee_id in service.member_ids(session, team_id=team_id)
        assert users[conversation.assignee_id].is_active
    queued = service.queue(session, team_ids=[team_id for team_id, name in teams.items()
                                              if name == demo_routing.DANANG])
    assert all(conversation.assignee_id is None for conversation in queued)

    label_names = dict(session.execute(select(ConversationLabel.label_id, func.count())
                                       .group_by(ConversationLabel.label_id)).all())
    by_name = {label.name: label_names.get(label.id, 0) for label in labels.list_labels(session)}
    assert by_name["Đổi trả"] > 0 and by_name["Zalo OA"] > 0 and by_name[demo_routing.HANOI] > 0
    origins = set(session.scalars(select(ConversationLabel.origin)))
    assert {"source", "keyword"} <= origins


def check_replies_have_authors_and_customers_write_in_opening_hours(session: Session) -> None:
    users = _users(session)
    outbound = list(session.scalars(select(Message).where(Message.direction == Direction.outbound)))
    replies = [message for message in outbound if not message.meta.get("system") and not message.meta.get("outreach")]
    assert replies and all(message.author_id in users for message in replies)
    assert all(message.conversation_id for message in replies)
    authored = {message.conversation_id: message.author_id for message in replies}
    for conversation_id, author_id in authored.items():  # the agent holding it answered
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.assignee_id == author_id
        assert conversation.first_reply_at is not None

    inbound = list(session.scalars(select(Message.sent_at).where(Message.direction == Direction.inbound)))
    local = [moment.astimezone(VIETNAM) for moment in inbound]
    in_hours = [moment for moment in local if moment.weekday() < 6 and 8 <= moment.hour < 18]
    assert len(in_hours) > len(local) * 0.6


def check_sla_clocks_surveys_and_mentions(session: Session) -> None:
    written = select(Message.conversation_id).where(Message.direction == Direction.inbound)
    conversations = list(session.scalars(select(Conversation).where(Conversation.id.in_(written))))
    states = Counter(view.state for conversation in conversations
                     for view in sla.conversation_clocks(session, conversation_id=conversation.id))
    assert states["met"] > states["breached"] > 0
    assert states["running"] > 0
    warnings = [view for conversation in conversations
                for view in sla.conversation_clocks(session, conversation_id=conversation.id) if view.warning]
    assert warnings  # a customer waits close to the first response's deadline
    statuses = Counter(conversation.status for conversation in conversations)
    assert statuses[ConversationStatus.resolved] > statuses[ConversationStatus.open] > 0
    ratings = list(session.scalars(select(SurveyResponse.rating).where(SurveyResponse.rating.is_not(None))))
    assert len(ratings) >= 5

    notes = list(session.scalars(select(Message).where(Message.direction == Direction.note)))
    assert len(notes) == len(demo_inbox.NOTES)
    for note in notes:
        found = mentions.list_mentions(session, user_id=_conversation_agent(session, note.conversation_id))
        assert note.id in [mention.message_id for mention in found]  # an agent may be named in several notes


def _conversation_agent(session: Session, conversation_id: int) -> int:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None and conversation.assignee_id is not None
    return conversation.assignee_id
