"""What managers set up for leads: the website lead forms and the assignment rules."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.errors import NotFound, ValidationFailed
from xuyen.inbox.routing.models import Team
from xuyen.sales.leads.models import AssignmentRule, LeadForm
from xuyen.stores.models import Store

FORM_FIELDS = ("name", "allowed_origins", "campaign", "labels", "owner_id", "team_id", "store_id", "active")
RULE_FIELDS = ("position", "name", "source", "province", "product_interest", "team_id", "assign_user_id",
               "assign_team_id", "active")


def clean_origin(raw: str) -> str:
    """``https://shop.vn`` from any way of writing a site's address; ValidationFailed when it is not one."""
    text = raw.strip().rstrip("/")
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValidationFailed(f"{raw!r} is not a site address such as https://shop.vn.", code="bad_origin")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _check_refs(session: Session, values: dict[str, Any]) -> None:
    for key, model, what in (("owner_id", User, "user"), ("assign_user_id", User, "user"), ("team_id", Team, "team"),
                             ("assign_team_id", Team, "team"), ("store_id", Store, "store")):
        if values.get(key) is not None and session.get(model, values[key]) is None:
            raise ValidationFailed(f"No {what} {values[key]}.", code=f"unknown_{what}")


def list_forms(session: Session) -> list[LeadForm]:
    """Every lead form, by name."""
    return list(session.scalars(select(LeadForm).order_by(LeadForm.name, LeadForm.id)))


def get_form(session: Session, *, form_id: int) -> LeadForm:
    """One lead form."""
    form = session.get(LeadForm, form_id)
    if form is None:
        raise NotFound(f"No lead form {form_id}.", code="lead_form_not_found")
    return form


def form_by_key(session: Session, *, key: str) -> LeadForm | None:
    """The active form with ``key``, if any."""
    return session.scalar(select(LeadForm).where(LeadForm.key == key, LeadForm.active.is_(True)))


def _form_values(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    _check_refs(session, values)
    if "allowed_origins" in values:
        values["allowed_origins"] = list(dict.fromkeys(clean_origin(o) for o in values["allowed_origins"] if o.strip()))
    if "labels" in values:
        values["labels"] = [label.strip()[:60] for label in values["labels"] if label.strip()]
    return values


def create_form(session: Session, **values: Any) -> LeadForm:
    """Add a lead form with a new random key, and commit."""
    form = LeadForm(key=secrets.token_urlsafe(12), **_form_values(session, {k: values[k] for k in values
                                                                             if k in FORM_FIELDS}))
    session.add(form)
    session.commit()
    return form


def update_form(session: Session, *, form_id: int, **values: Any) -> LeadForm:
    """Change a lead form's settings, and commit."""
    form = get_form(session, form_id=form_id)
    for key, value in _form_values(session, {k: values[k] for k in values if k in FORM_FIELDS}).items():
        setattr(form, key, value)
    session.commit()
    return form


def list_rules(session: Session) -> list[AssignmentRule]:
    """The assignment rules in the order they are tried."""
    return list(session.scalars(select(AssignmentRule).order_by(AssignmentRule.position, AssignmentRule.id)))


def _rule_values(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    _check_refs(session, values)
    if values.get("assign_user_id") is None and values.get("assign_team_id") is None:
        raise ValidationFailed("A rule gives the lead to a user or a team: name one.", code="rule_without_target")
    return values


def create_rule(session: Session, **values: Any) -> AssignmentRule:
    """Add an assignment rule, and commit."""
    rule = AssignmentRule(**_rule_values(session, {k: values[k] for k in values if k in RULE_FIELDS}))
    session.add(rule)
    session.commit()
    return rule


def update_rule(session: Session, *, rule_id: int, **values: Any) -> AssignmentRule:
    """Change an assignment rule, and commit."""
    rule = session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound(f"No assignment rule {rule_id}.", code="lead_rule_not_found")
    merged = {key: getattr(rule, key) for key in RULE_FIELDS} | {k: values[k] for k in values if k in RULE_FIELDS}
    for key, value in _rule_values(session, merged).items():
        setattr(rule, key, value)
    session.commit()
    return rule


def delete_rule(session: Session, *, rule_id: int) -> None:
    """Remove an assignment rule, and commit."""
    rule = session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound(f"No assignment rule {rule_id}.", code="lead_rule_not_found")
    session.delete(rule)
    session.commit()
