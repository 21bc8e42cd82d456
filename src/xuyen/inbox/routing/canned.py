"""Canned responses: a ``/shortcut`` an agent types in the reply box becomes the saved text, with
``{{ten_khach}}`` (the customer's name), ``{{ten_nhan_vien}}`` (the agent's) and ``{{ten_cua_hang}}`` (the shop's)
filled in. Shared responses are kept by managers; every agent may keep personal ones, which win over a shared one
with the same shortcut."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.models import Role
from xuyen.auth.service import Principal, get_user
from xuyen.config import get_settings
from xuyen.customers.service import display_names
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox.routing.models import CannedResponse
from xuyen.inbox.service import get_conversation
from xuyen.stores import service as stores_service

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
LEADING_SHORTCUT = re.compile(r"^\s*/([A-Za-z0-9][A-Za-z0-9_-]{0,39})(?=\s|$)")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PLACEHOLDERS = ("ten_khach", "ten_nhan_vien", "ten_cua_hang")
MAX_TEXT = 5000
MAX_PER_OWNER = 500


@dataclass(frozen=True)
class Expansion:
    """A reply with its ``/shortcut`` replaced: the text, the response used, and the placeholders left empty
    because their value is unknown (the agent fills them in)."""

    text: str
    response: CannedResponse
    missing: list[str]


def fill_placeholders(template: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """``template`` with each known ``{{placeholder}}`` replaced by its value (empty, and listed as missing, when
    the value is unknown); placeholders Xuyên does not know are left as written."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name not in PLACEHOLDERS:
            return match.group(0)
        value = values.get(name)
        if not value:
            if name not in missing:
                missing.append(name)
            return ""
        return value

    return PLACEHOLDER.sub(replace, template), missing


def expand_text(text: str, *, response: CannedResponse, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """``text`` (which starts with the response's ``/shortcut``) with the shortcut replaced by the filled-in
    response; what followed the shortcut is kept."""
    match = LEADING_SHORTCUT.match(text)
    filled, missing = fill_placeholders(response.text, values)
    rest = text[match.end():] if match else ""
    return filled + rest, missing


def shortcut_in(text: str) -> str | None:
    """The ``/shortcut`` a reply starts with, lower-cased, if any."""
    match = LEADING_SHORTCUT.match(text)
    return match.group(1).lower() if match else None


# Reading ------------------------------------------------------------------------------------------------


def list_responses(session: Session, *, user_id: int | None) -> list[CannedResponse]:
    """The shared responses and the user's personal ones, by shortcut (a personal one first)."""
    query = select(CannedResponse).where(or_(CannedResponse.owner_id.is_(None), CannedResponse.owner_id == user_id))
    return list(session.scalars(query.order_by(CannedResponse.shortcut, CannedResponse.owner_key.desc())))


def find_response(session: Session, *, shortcut: str, user_id: int | None) -> CannedResponse | None:
    """The response a user means by ``shortcut``: their personal one, else the shared one."""
    shortcut = shortcut.lower()
    personal = (session.scalar(select(CannedResponse).where(CannedResponse.owner_id == user_id,
                                                            CannedResponse.shortcut == shortcut))
                if user_id is not None else None)
    return personal or session.scalar(select(CannedResponse).where(CannedResponse.owner_id.is_(None),
                                                                   CannedResponse.shortcut == shortcut))


def get_response(session: Session, *, response_id: int, principal: Principal) -> CannedResponse:
    """A response the caller can see; NotFound for someone else's personal one."""
    response = session.get(CannedResponse, response_id)
    if response is None or (response.owner_id is not None and response.owner_id != principal.user_id):
        raise NotFound(f"There is no canned response {response_id}.", code="canned_response_not_found")
    return response


# Writing ------------------------------------------------------------------------------------------------


def _clean(shortcut: str, text: str) -> tuple[str, str]:
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise ValidationFailed("A shortcut is 1 to 40 letters (a–z), digits, - or _, without spaces.",
                               code="canned_shortcut_invalid")
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailed(f"A canned response has 1 to {MAX_TEXT:,} characters.", code="canned_text_invalid")
    return shortcut, text


def _check_may_edit(principal: Principal, *, shared: bool) -> None:
    if principal.user_id is None and not shared:
        raise ValidationFailed("An API key has no personal canned responses; make a shared one.",
                               code="canned_personal_needs_user")
    if shared and not principal.can(Role.manager):
        raise PermissionDenied("Shared canned responses are kept by managers; make a personal one instead.",
                               code="role_required")


def _check_free(session: Session, *, owner_key: int, shortcut: str, other_than: int | None = None) -> None:
    found = session.scalar(select(CannedResponse).where(CannedResponse.owner_key == owner_key,
                                                        CannedResponse.shortcut == shortcut))
    if found is not None and found.id != other_than:
        raise Conflict(f"/{shortcut} is taken already; choose another shortcut.", code="canned_shortcut_taken",
                       details={"canned_response_id": found.id})


def add_response(session: Session, *, shortcut: str, text: str, owner_id: int | None,
                 created_by_id: int | None) -> CannedResponse:
    """A new canned response, shared (no owner) or personal to ``owner_id`` (helper: the caller commits)."""
    shortcut, text = _clean(shortcut, text)
    owner_key = owner_id or 0
    _check_free(session, owner_key=owner_key, shortcut=shortcut)
    count = len(session.scalars(select(CannedResponse.id).where(CannedResponse.owner_key == owner_key)).all())
    if count >= MAX_PER_OWNER:
        raise ValidationFailed(f"At most {MAX_PER_OWNER} canned responses each.", code="too_many_canned_responses")
    response = CannedResponse(shortcut=shortcut, text=text, owner_id=owner_id, owner_key=owner_key,
                              created_by_id=created_by_id)
    session.add(response)
    session.flush()
    return response


def create_response(session: Session, *, shortcut: str, text: str, shared: bool, principal: Principal,
                    actor: str) -> CannedResponse:
    """Save a canned response, shared (managers) or personal."""
    _check_may_edit(principal, shared=shared)
    response = add_response(session, shortcut=shortcut, text=text, owner_id=None if shared else principal.user_id,
                            created_by_id=principal.user_id)
    audit.record(session, actor=actor, action="inbox.canned.created", subject_type="inbox_canned_response",
                 subject_id=response.id, detail={"shortcut": response.shortcut, "shared": shared})
    session.commit()
    return response


def update_response(session: Session, *, response_id: int, shortcut: str | None, text: str | None,
                    principal: Principal, actor: str) -> CannedResponse:
    """Change a canned response's shortcut or text."""
    response = get_response(session, response_id=response_id, principal=principal)
    _check_may_edit(principal, shared=response.owner_id is None)
    new_shortcut, new_text = _clean(shortcut if shortcut is not None else response.shortcut,
                                    text if text is not None else response.text)
    _check_free(session, owner_key=response.owner_key, shortcut=new_shortcut, other_than=response.id)
    response.shortcut, response.text = new_shortcut, new_text
    audit.record(session, actor=actor, action="inbox.canned.updated", subject_type="inbox_canned_response",
                 subject_id=response.id, detail={"shortcut": new_shortcut})
    session.commit()
    return response


def delete_response(session: Session, *, response_id: int, principal: Principal, actor: str) -> None:
    """Remove a canned response."""
    response = get_response(session, response_id=response_id, principal=principal)
    _check_may_edit(principal, shared=response.owner_id is None)
    audit.record(session, actor=actor, action="inbox.canned.deleted", subject_type="inbox_canned_response",
                 subject_id=response.id, detail={"shortcut": response.shortcut})
    session.delete(response)
    session.commit()


# Expanding ----------------------------------------------------------------------------------------------


def placeholder_values(session: Session, *, conversation_id: int | None, user_id: int | None) -> dict[str, str | None]:
    """What the placeholders stand for in a conversation answered by ``user_id``."""
    values: dict[str, str | None] = {"ten_khach": None, "ten_nhan_vien": None,
                                     "ten_cua_hang": get_settings().inbox_shop_name or None}
    if conversation_id is not None:
        conversation = get_conversation(session, conversation_id=conversation_id)
        root = resolve_profile_id(session, profile_id=conversation.profile_id)
        values["ten_khach"] = display_names(session, profile_ids=[root]).get(root) or None
    if user_id is not None:
        user = get_user(session, user_id=user_id)
        values["ten_nhan_vien"] = user.name
        if user.store_id is not None:
            values["ten_cua_hang"] = stores_service.get(session, store_id=user.store_id).name
    return values


def expand(session: Session, *, text: str, conversation_id: int | None, principal: Principal) -> Expansion:
    """The reply with its leading ``/shortcut`` replaced by the caller's canned response, placeholders filled in;
    NotFound when the text starts with no shortcut the caller has."""
    shortcut = shortcut_in(text)
    if shortcut is None:
        raise ValidationFailed("Start with a /shortcut to expand.", code="canned_shortcut_missing")
    response = find_response(session, shortcut=shortcut, user_id=principal.user_id)
    if response is None:
        raise NotFound(f"There is no canned response /{shortcut}.", code="canned_response_not_found")
    values = placeholder_values(session, conversation_id=conversation_id, user_id=principal.user_id)
    expanded, missing = expand_text(text, response=response, values=values)
    return Expansion(text=expanded, response=response, missing=missing)
