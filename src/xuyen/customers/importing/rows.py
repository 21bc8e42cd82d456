"""One data row → the Segment calls it becomes (an ``identify``, and a ``Consent Updated`` track per consent
column) and the reasons it is rejected or flagged. Pure: no database.

The rule for bad cells: a row with at least one good identifier (phone, e-mail, customer code or loyalty
card) is imported without its bad cells and listed in the report as *flagged*; a row with none is
*rejected*. A possible-but-not-valid phone number is kept and flagged, as the identity graph does.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from xuyen.customers.importing.cells import CellProblem, birthday, gender, phone_text, yes_no
from xuyen.customers.importing.mapping import CONSENT_PREFIX, IGNORE, TRAIT_PREFIX
from xuyen.customers.importing.reading import Cell, cell_text, is_blank
from xuyen.identity.normalise import POSSIBLE_NOT_VALID, Identifier, normalise

MAX_EXTERNAL_ID = 200  # the tracking API's limit on userId
MAX_TEXT = 1000
CONSENT_EVENT = "Consent Updated"
_ANONYMOUS_NAMESPACE = uuid.UUID("6f1c4c1e-3d0b-4f57-9a44-1d2b8e0c7a15")
_EMAIL_PROBLEM_PREFIX = "not an e-mail address: "


@dataclass(frozen=True)
class ImportContext:
    """What every row of one import shares."""

    import_id: int
    file_name: str
    today: date
    content_key: str  # the file's content and mapping: the same file imported again gives the same call ids


@dataclass
class RowResult:
    """What became of one row: its calls, its reasons, whether it is rejected, the identifiers it carries."""

    row: int
    raw: dict[str, str]
    calls: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    rejected: bool = False

    def note(self, code: str, column: str | None = None, **params: Any) -> None:
        """Add a reason to the row's report line."""
        self.reasons.append({"code": code, "column": column, "params": params})


@dataclass
class _Person:
    user_id: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    external_ids: list[dict[str, str]] = field(default_factory=list)
    consents: list[tuple[str, str, bool, str]] = field(default_factory=list)


def content_key(*, sha256: str, mapping: dict[str, str]) -> str:
    """What identifies an import's calls: the file's bytes and the mapping applied to them."""
    return hashlib.sha256(f"{sha256}:{json.dumps(mapping, sort_keys=True)}".encode()).hexdigest()[:20]


def message_id(key: str, row: int, part: str = "identify") -> str:
    """The deterministic messageId of a row's call: the same file, mapping and row always give the same id,
    so importing a file again (or retrying a batch) stores nothing twice."""
    return f"import-{key}-row-{row}-{part}"


def anonymous_id(key: str, row: int) -> str:
    """The anonymousId of a row without a customer code, the same on every import of the same file."""
    return str(uuid.uuid5(_ANONYMOUS_NAMESPACE, f"customer-import:{key}:row:{row}"))


def convert_row(*, context: ImportContext, headers: list[str], mapping: dict[str, str], row: int,
                cells: list[Cell]) -> RowResult:
    """The calls and reasons of one row (see the module docstring for the rule on bad cells)."""
    result = RowResult(row=row, raw={header: cell_text(cell) for header, cell in zip(headers, cells, strict=False)
                                     if not is_blank(cell)})
    person = _Person()
    for index, header in enumerate(headers):
        target = mapping.get(header, IGNORE)
        cell = cells[index] if index < len(cells) else None
        if target != IGNORE and not is_blank(cell):
            _apply(person, result, target, header, cell, context)
    if not result.identifiers:
        result.rejected = True
        result.note("no_identifier")
        return result
    result.calls = _calls(person, result, context)
    return result


def _apply(person: _Person, result: RowResult, target: str, column: str, cell: Cell, context: ImportContext) -> None:
    if target == "phone":
        _phone(person, result, column, phone_text(cell))
    elif target == "email":
        _email(person, result, column, cell_text(cell))
    elif target == "external_id":
        _external_id(person, result, column, cell_text(cell))
    elif target == "loyalty_card":
        _loyalty_card(person, result, column, cell_text(cell))
    elif target.startswith(CONSENT_PREFIX):
        _consent(person, result, target, column, cell)
    else:
        _trait(person, result, target, column, cell, context)


def _phone(person: _Person, result: RowResult, column: str, text: str) -> None:
    found = normalise("phone", text)
    for rejection in found.rejected:
        code = {"blocked": "phone_blocked", "too_long": "phone_too_long"}.get(rejection.reason_code, "not_a_phone")
        result.note(code, column, value=rejection.raw)
    for identifier in found.identifiers:
        if POSSIBLE_NOT_VALID in identifier.flags:
            result.note("phone_possible_not_valid", column, value=identifier.value)
    kept = [identifier.value for identifier in found.identifiers]
    if kept:
        person.traits["phone"] = text if not found.rejected else " / ".join(kept)
        result.identifiers.extend(("phone", value) for value in kept)


def _email(person: _Person, result: RowResult, column: str, text: str) -> None:
    found = normalise("email", text)
    for rejection in found.rejected:
        if rejection.reason_code == "blocked":
            result.note("email_blocked", column, value=rejection.raw)
        else:
            detail = rejection.message.removeprefix(_EMAIL_PROBLEM_PREFIX)
            result.note("not_an_email", column, value=rejection.raw, detail=detail)
    kept = [identifier.value for identifier in found.identifiers]
    if kept:
        person.traits["email"] = kept[0] if len(kept) == 1 else ", ".join(kept)
        result.identifiers.extend(("email", value) for value in kept)


def _external_id(person: _Person, result: RowResult, column: str, text: str) -> None:
    if len(text) > MAX_EXTERNAL_ID:
        result.note("external_id_too_long", column, limit=MAX_EXTERNAL_ID)
        return
    person.user_id = text
    result.identifiers.append(("external_id", text))


def _loyalty_card(person: _Person, result: RowResult, column: str, text: str) -> None:
    found: list[Identifier] = normalise("loyalty_card", text).identifiers
    if found:
        person.external_ids.append({"id": found[0].value, "type": "loyalty_card", "collection": "users",
                                    "encoding": "none"})
        person.traits["loyaltyCard"] = found[0].value
        result.identifiers.append(("loyalty_card", found[0].value))


def _consent(person: _Person, result: RowResult, target: str, column: str, cell: Cell) -> None:
    _, channel, purpose = target.split(":")
    try:
        person.consents.append((channel, purpose, yes_no(cell), column))
    except CellProblem as problem:
        result.note(problem.code, column, value=cell_text(cell))


def _trait(person: _Person, result: RowResult, target: str, column: str, cell: Cell, context: ImportContext) -> None:
    text = cell_text(cell)[:MAX_TEXT]
    try:
        if target == "birthday":
            person.traits["birthday"] = birthday(cell, today=context.today).isoformat()
        elif target == "gender":
            person.traits["gender"] = gender(cell)
        elif target == "address":
            person.address["street"] = text
        elif target == "city":
            person.address["city"] = text
        elif target in ("name", "first_name", "last_name"):
            person.traits[{"name": "name", "first_name": "firstName", "last_name": "lastName"}[target]] = text
        elif target.startswith(TRAIT_PREFIX):
            person.traits[target[len(TRAIT_PREFIX):]] = text
    except CellProblem as problem:
        result.note(problem.code, column, value=text)


def _calls(person: _Person, result: RowResult, context: ImportContext) -> list[dict[str, Any]]:
    ids: dict[str, str] = ({"userId": person.user_id} if person.user_id
                           else {"anonymousId": anonymous_id(context.content_key, result.row)})
    traits = dict(person.traits)
    if person.address:
        traits["address"] = person.address
    row_context: dict[str, Any] = {"import": {"id": context.import_id, "row": result.row, "file": context.file_name}}
    if person.external_ids:
        row_context["externalIds"] = person.external_ids
    calls = [{"type": "identify", "messageId": message_id(context.content_key, result.row), **ids, "traits": traits,
              "context": row_context}]
    for channel, purpose, granted, column in person.consents:
        calls.append({
            "type": "track", "event": CONSENT_EVENT, **ids, "context": row_context,
            "messageId": message_id(context.content_key, result.row, f"consent-{channel}-{purpose}"),
            "properties": {"channel": channel, "purpose": purpose, "granted": granted,
                           "proof": f"import {context.import_id} of {context.file_name}, row {result.row}",
                           "column": column},
        })
    return calls
