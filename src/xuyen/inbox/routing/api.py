"""The routing API: teams and agents (managers manage them; every agent sets their own availability), assignment
rules (managers), labels and label rules (managers define them, agents put them on conversations), canned
responses, @mentions and conversation search."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Response
from pydantic import Field
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.errors import PermissionDenied
from xuyen.http import get_session
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.service import actor_name
from xuyen.inbox.models import ConversationStatus
from xuyen.inbox.routing import canned, labels, mentions, search, service
from xuyen.inbox.routing.schemas import (
    AgentOut,
    AvailabilityIn,
    CannedChangesIn,
    CannedIn,
    CannedOut,
    CapacityIn,
    ExpandIn,
    ExpandOut,
    HitOut,
    LabelChangesIn,
    LabelChoiceIn,
    LabelIn,
    LabelOut,
    LabelRuleChangesIn,
    LabelRuleIn,
    LabelRuleOut,
    MarkReadIn,
    MemberIn,
    MentionOut,
    MentionPageOut,
    RoutingOut,
    RuleChangesIn,
    RuleIn,
    RuleOrderIn,
    RuleOut,
    SearchOut,
    TeamChangesIn,
    TeamChoiceIn,
    TeamIn,
    TeamOut,
)
from xuyen.inbox.service import get_conversation
from xuyen.routing import Router

router = Router(tags=["inbox routing"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
SmallId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ConversationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _me(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDenied("This is about a signed-in agent; an API key has no availability, mentions or "
                               "personal replies of its own.", code="user_required")
    return principal.user_id


# Teams ------------------------------------------------------------------------------------------------


@router.get("/inbox/teams", summary="Teams and their members")
def list_teams(session: Db, _caller: Agent) -> list[TeamOut]:
    return [TeamOut.of(view) for view in service.list_teams(session)]


@router.post("/inbox/teams", status_code=201, summary="Make a team")
def create_team(body: TeamIn, session: Db, caller: Manager) -> TeamOut:
    return TeamOut.of(service.create_team(session, name=body.name, description=body.description,
                                          user_ids=body.user_ids, actor=actor_name(caller)))


@router.get("/inbox/teams/{team_id}", summary="A team and its members")
def get_team(team_id: SmallId, session: Db, _caller: Agent) -> TeamOut:
    return TeamOut.of(service.team_view(session, team_id=team_id))


@router.patch("/inbox/teams/{team_id}", summary="Rename a team")
def update_team(team_id: SmallId, body: TeamChangesIn, session: Db, caller: Manager) -> TeamOut:
    return TeamOut.of(service.update_team(session, team_id=team_id, name=body.name, description=body.description,
                                          actor=actor_name(caller)))


@router.delete("/inbox/teams/{team_id}", status_code=204, summary="Remove a team and its rules")
def delete_team(team_id: SmallId, session: Db, caller: Manager) -> Response:
    service.delete_team(session, team_id=team_id, actor=actor_name(caller))
    return Response(status_code=204)


@router.post("/inbox/teams/{team_id}/members", summary="Put someone in a team")
def add_member(team_id: SmallId, body: MemberIn, session: Db, caller: Manager) -> TeamOut:
    return TeamOut.of(service.add_member(session, team_id=team_id, user_id=body.user_id, actor=actor_name(caller)))


@router.delete("/inbox/teams/{team_id}/members/{user_id}", summary="Take someone out of a team")
def remove_member(team_id: SmallId, user_id: SmallId, session: Db, caller: Manager) -> TeamOut:
    return TeamOut.of(service.remove_member(session, team_id=team_id, user_id=user_id, actor=actor_name(caller)))


@router.get("/inbox/teams/{team_id}/queue", summary="A team's open conversations nobody holds, oldest first")
def team_queue(team_id: SmallId, session: Db, _caller: Agent,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[RoutingOut]:
    service.get_team(session, team_id=team_id)
    return [RoutingOut.of(conversation.id, service.routing_of(session, conversation_id=conversation.id), None)
            for conversation in service.queue(session, team_ids=[team_id], limit=limit)]


# Agents -----------------------------------------------------------------------------------------------


@router.get("/inbox/agents", summary="Agents' availability, capacity and open conversations")
def list_agents(session: Db, _caller: Agent) -> list[AgentOut]:
    return [AgentOut.of(view) for view in service.list_agents(session)]


@router.get("/inbox/agents/me", summary="My availability, capacity and open conversations")
def my_status(session: Db, caller: Agent) -> AgentOut:
    return AgentOut.of(service.agent_view(session, user_id=_me(caller)))


@router.put("/inbox/agents/me/availability", summary="Set myself online, busy or offline")
def set_my_availability(body: AvailabilityIn, session: Db, caller: Agent) -> AgentOut:
    return AgentOut.of(service.set_availability(session, user_id=_me(caller), availability=body.availability,
                                                actor=actor_name(caller)))


@router.put("/inbox/agents/{user_id}/availability", summary="Set an agent online, busy or offline (managers)")
def set_availability(user_id: SmallId, body: AvailabilityIn, session: Db, caller: Manager) -> AgentOut:
    return AgentOut.of(service.set_availability(session, user_id=user_id, availability=body.availability,
                                                actor=actor_name(caller)))


@router.put("/inbox/agents/{user_id}/capacity", summary="Set an agent's capacity (managers)")
def set_capacity(user_id: SmallId, body: CapacityIn, session: Db, caller: Manager) -> AgentOut:
    return AgentOut.of(service.set_capacity(session, user_id=user_id, capacity=body.capacity,
                                            actor=actor_name(caller)))


# Assignment rules -------------------------------------------------------------------------------------


@router.get("/inbox/assignment-rules", summary="Assignment rules in the order they are tried")
def list_rules(session: Db, _caller: Manager) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in service.list_rules(session)]


@router.post("/inbox/assignment-rules", status_code=201, summary="Add an assignment rule")
def create_rule(body: RuleIn, session: Db, caller: Manager) -> RuleOut:
    return RuleOut.of(service.create_rule(session, name=body.name, team_id=body.team_id,
                                          conditions=body.conditions.model_dump(), assign_agent=body.assign_agent,
                                          enabled=body.enabled, position=body.position, actor=actor_name(caller)))


@router.put("/inbox/assignment-rules/order", summary="Put the assignment rules in order")
def reorder_rules(body: RuleOrderIn, session: Db, caller: Manager) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in service.reorder_rules(session, rule_ids=body.rule_ids,
                                                               actor=actor_name(caller))]


@router.patch("/inbox/assignment-rules/{rule_id}", summary="Change an assignment rule")
def update_rule(rule_id: SmallId, body: RuleChangesIn, session: Db, caller: Manager) -> RuleOut:
    changes = body.model_dump(exclude_unset=True)
    if body.conditions is not None:
        changes["conditions"] = body.conditions.model_dump()
    return RuleOut.of(service.update_rule(session, rule_id=rule_id, changes={key: value for key, value in
                                                                             changes.items() if value is not None},
                                          actor=actor_name(caller)))


@router.delete("/inbox/assignment-rules/{rule_id}", status_code=204, summary="Remove an assignment rule")
def delete_rule(rule_id: SmallId, session: Db, caller: Manager) -> Response:
    service.delete_rule(session, rule_id=rule_id, actor=actor_name(caller))
    return Response(status_code=204)


# A conversation's team and labels ---------------------------------------------------------------------


@router.get("/conversations/search", summary="Search conversations")
def search_conversations(
    session: Db,
    _caller: Agent,
    q: Annotated[str, Query(max_length=search.MAX_QUERY, description="Words from messages, a customer's name, "
                            "phone or e-mail, or a label; case and diacritics are ignored.")] = "",
    label_id: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Query(
        description="Only conversations carrying this label (repeatable).", max_length=10)] = [],  # noqa: B006
    status: Annotated[ConversationStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchOut:
    page = search.search(session, query=q, label_ids=label_id, status=status, limit=limit, offset=offset)
    found = labels.labels_of(session, conversation_ids=[hit.conversation.id for hit in page.hits])
    items = [HitOut.of(hit, customer_id=resolve_profile_id(session, profile_id=hit.conversation.profile_id),
                       labels=found.get(hit.conversation.id, [])) for hit in page.hits]
    return SearchOut(items=items, total=page.total, limit=page.limit, offset=page.offset)


@router.get("/conversations/{conversation_id}/routing", summary="A conversation's team")
def get_routing(conversation_id: ConversationId, session: Db, _caller: Agent) -> RoutingOut:
    conversation = get_conversation(session, conversation_id=conversation_id)
    return RoutingOut.of(conversation_id, service.routing_of(session, conversation_id=conversation_id),
                         conversation.assignee_id)


@router.put("/conversations/{conversation_id}/team", summary="Send a conversation to a team")
def send_to_team(conversation_id: ConversationId, body: TeamChoiceIn, session: Db, caller: Agent) -> RoutingOut:
    routing = service.send_to_team(session, conversation_id=conversation_id, team_id=body.team_id,
                                   assign_agent=body.assign_agent, actor=actor_name(caller))
    conversation = get_conversation(session, conversation_id=conversation_id)
    return RoutingOut.of(conversation_id, routing, conversation.assignee_id)


@router.get("/conversations/{conversation_id}/labels", summary="A conversation's labels")
def conversation_labels(conversation_id: ConversationId, session: Db, _caller: Agent) -> list[LabelOut]:
    get_conversation(session, conversation_id=conversation_id)
    return [LabelOut.of(label) for label in labels.conversation_labels(session, conversation_id=conversation_id)]


@router.post("/conversations/{conversation_id}/labels", summary="Put a label on a conversation")
def label_conversation(conversation_id: ConversationId, body: LabelChoiceIn, session: Db,
                       caller: Agent) -> list[LabelOut]:
    found = labels.label_conversation(session, conversation_id=conversation_id, label_id=body.label_id,
                                      user_id=caller.user_id, actor=actor_name(caller))
    return [LabelOut.of(label) for label in found]


@router.delete("/conversations/{conversation_id}/labels/{label_id}", summary="Take a label off a conversation")
def unlabel_conversation(conversation_id: ConversationId, label_id: SmallId, session: Db,
                         caller: Agent) -> list[LabelOut]:
    found = labels.unlabel_conversation(session, conversation_id=conversation_id, label_id=label_id,
                                        actor=actor_name(caller))
    return [LabelOut.of(label) for label in found]


# Labels and their rules -------------------------------------------------------------------------------


@router.get("/inbox/labels", summary="Labels")
def list_labels(session: Db, _caller: Agent) -> list[LabelOut]:
    return [LabelOut.of(label) for label in labels.list_labels(session)]


@router.post("/inbox/labels", status_code=201, summary="Define a label")
def create_label(body: LabelIn, session: Db, caller: Manager) -> LabelOut:
    return LabelOut.of(labels.create_label(session, name=body.name, colour=body.colour, actor=actor_name(caller)))


@router.patch("/inbox/labels/{label_id}", summary="Rename or recolour a label")
def update_label(label_id: SmallId, body: LabelChangesIn, session: Db, caller: Manager) -> LabelOut:
    return LabelOut.of(labels.update_label(session, label_id=label_id, name=body.name, colour=body.colour,
                                           actor=actor_name(caller)))


@router.delete("/inbox/labels/{label_id}", status_code=204, summary="Remove a label everywhere")
def delete_label(label_id: SmallId, session: Db, caller: Manager) -> Response:
    labels.delete_label(session, label_id=label_id, actor=actor_name(caller))
    return Response(status_code=204)


@router.get("/inbox/label-rules", summary="Rules that label conversations automatically")
def list_label_rules(session: Db, _caller: Manager) -> list[LabelRuleOut]:
    return [LabelRuleOut.of(rule) for rule in labels.list_rules(session)]


@router.post("/inbox/label-rules", status_code=201, summary="Add a source or keyword label rule")
def create_label_rule(body: LabelRuleIn, session: Db, caller: Manager) -> LabelRuleOut:
    return LabelRuleOut.of(labels.create_rule(session, label_id=body.label_id, kind=body.kind,
                                              conditions=body.conditions.model_dump(), actor=actor_name(caller)))


@router.post("/inbox/label-rules/defaults", summary="Add the suggested Vietnamese labels and their rules")
def install_default_labels(session: Db, caller: Manager) -> list[LabelOut]:
    return [LabelOut.of(label) for label in labels.install_defaults(session, actor=actor_name(caller))]


@router.patch("/inbox/label-rules/{rule_id}", summary="Turn a label rule on or off")
def update_label_rule(rule_id: SmallId, body: LabelRuleChangesIn, session: Db, caller: Manager) -> LabelRuleOut:
    return LabelRuleOut.of(labels.set_rule_enabled(session, rule_id=rule_id, enabled=body.enabled,
                                                   actor=actor_name(caller)))


@router.delete("/inbox/label-rules/{rule_id}", status_code=204, summary="Remove a label rule")
def delete_label_rule(rule_id: SmallId, session: Db, caller: Manager) -> Response:
    labels.delete_rule(session, rule_id=rule_id, actor=actor_name(caller))
    return Response(status_code=204)


# Canned responses -------------------------------------------------------------------------------------


@router.get("/inbox/canned-responses", summary="Shared canned responses and my own")
def list_canned(session: Db, caller: Agent) -> list[CannedOut]:
    return [CannedOut.of(response) for response in canned.list_responses(session, user_id=caller.user_id)]


@router.post("/inbox/canned-responses", status_code=201, summary="Save a canned response")
def create_canned(body: CannedIn, session: Db, caller: Agent) -> CannedOut:
    return CannedOut.of(canned.create_response(session, shortcut=body.shortcut, text=body.text, shared=body.shared,
                                               principal=caller, actor=actor_name(caller)))


@router.post("/inbox/canned-responses/expand", summary="Expand the /shortcut a reply starts with")
def expand_canned(body: ExpandIn, session: Db, caller: Agent) -> ExpandOut:
    return ExpandOut.of(canned.expand(session, text=body.text, conversation_id=body.conversation_id,
                                      principal=caller))


@router.patch("/inbox/canned-responses/{response_id}", summary="Change a canned response")
def update_canned(response_id: SmallId, body: CannedChangesIn, session: Db, caller: Agent) -> CannedOut:
    return CannedOut.of(canned.update_response(session, response_id=response_id, shortcut=body.shortcut,
                                               text=body.text, principal=caller, actor=actor_name(caller)))


@router.delete("/inbox/canned-responses/{response_id}", status_code=204, summary="Remove a canned response")
def delete_canned(response_id: SmallId, session: Db, caller: Agent) -> Response:
    canned.delete_response(session, response_id=response_id, principal=caller, actor=actor_name(caller))
    return Response(status_code=204)


# Mentions ---------------------------------------------------------------------------------------------


@router.get("/inbox/mentions", summary="Private notes that mention me, newest first")
def list_mentions(session: Db, caller: Agent, unread: bool = False,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> MentionPageOut:
    user_id = _me(caller)
    found = mentions.list_mentions(session, user_id=user_id, unread_only=unread, limit=limit, offset=offset)
    return MentionPageOut(items=[MentionOut.of(mention) for mention in found],
                          unread=mentions.unread_count(session, user_id=user_id))


@router.post("/inbox/mentions/read", summary="Mark my mentions read (of one conversation, or all)")
def mark_mentions_read(body: MarkReadIn, session: Db, caller: Agent) -> dict[str, int]:
    return {"marked": mentions.mark_all_read(session, user_id=_me(caller), conversation_id=body.conversation_id)}


@router.post("/inbox/mentions/{mention_id}/read", summary="Mark one mention read")
def mark_mention_read(mention_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: Db, caller: Agent) -> MentionOut:
    return MentionOut.of(mentions.mark_read(session, user_id=_me(caller), mention_id=mention_id))
