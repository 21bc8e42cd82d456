"""The identity API: lookups in any format, absorbed ids, manual merges within the rules, undo, conflicts, roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.identity.graph import CallIdentity, RawIdentifier, resolve_calls
from xuyen.identity.models import IdentityConflict, Merge
from xuyen.outbox import OutboxEvent

BrowserFor = Callable[[User], Browser]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
HUGE = 2**63  # one past the largest 64-bit id


def call(*pairs: tuple[str, str], message_id: str | None = None) -> CallIdentity:
    return CallIdentity(raw=[RawIdentifier(kind, value) for kind, value in pairs], seen_at=T0, message_id=message_id)


def resolve(session: Session, *calls: CallIdentity) -> list[int]:
    profiles = resolve_calls(session, calls=list(calls))
    session.commit()
    assert all(profile is not None for profile in profiles)
    return [profile for profile in profiles if profile is not None]





def _events(session: Session, topic: str) -> list[OutboxEvent]:
    session.rollback()
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)))


# Looking up ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0381234567", "038 123 4567", "+84 38 123 4567", "0168.123.4567", "84 168 123 4567",
                                   "(038) 123-4567", "ĐT: 0168 123 4567 (chị Lan)"])
def test_lookup_finds_the_profile_in_any_phone_format(session: Session, agent: Browser, typed: str) -> None:
    [profile] = resolve(session, call(("phone", "0168 123 4567"), ("email", "Lan@Shop.vn")))
    found = agent.request("GET", "/profiles/lookup", params={"type": "phone", "value": typed})
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["id"], body["merged_into"]) == (profile, None)
    assert {(i["type"], i["value"]) for i in body["identifiers"]} == {("phone", "+84381234567"),
                                                                      ("email", "lan@shop.vn")}


def test_lookup_of_emails_and_scoped_ids(session: Session, agent: Browser) -> None:
    [profile] = resolve(session, call(("email", "Mai@Shop.VN")))
    resolve_calls(session, calls=[CallIdentity(raw=[RawIdentifier("zalo_id", "z-42", scope="oa-1"),
                                                    RawIdentifier("email", "mai@shop.vn")], seen_at=T0)])
    session.commit()
    by_email = agent.request("GET", "/profiles/lookup", params={"type": "email", "value": " MAI@shop.vn "})
    assert by_email.json()["id"] == profile
    by_zalo = agent.request("GET", "/profiles/lookup", params={"type": "zalo_id", "value": "z-42", "scope": "oa-1"})
    assert by_zalo.json()["id"] == profile
    other_oa = agent.request("GET", "/profiles/lookup", params={"type": "zalo_id", "value": "z-42", "scope": "oa-2"})
    assert_problem(other_oa, 404, "profile_not_found")
    no_scope = agent.request("GET", "/profiles/lookup", params={"type": "zalo_id", "value": "z-42"})
    body = assert_problem(no_scope, 422, "missing_scope")
    assert "OA or app id" in body["detail"]


def test_lookup_says_why_it_finds_nothing(session: Session, agent: Browser) -> None:
    resolve(session, call(("phone", "0912345678")))
    nobody = assert_problem(agent.request("GET", "/profiles/lookup", params={"type": "phone", "value": "0987 654 321"}),
                            404, "profile_not_found")
    assert "+84987654321" in nobody["detail"]
    not_a_phone = agent.request("GET", "/profiles/lookup", params={"type": "phone", "value": "gọi sau"})
    assert assert_problem(not_a_phone, 422, "not_a_phone")["details"] == {"type": "phone", "reason": "not_a_phone"}
    assert_problem(agent.request("GET", "/profiles/lookup", params={"type": "email", "value": "an@shop"}),
                   422, "not_an_email")
    assert_problem(agent.request("GET", "/profiles/lookup", params={"type": "email", "value": "test@test.com"}),
                   422, "blocked")
    unknown = assert_problem(agent.request("GET", "/profiles/lookup", params={"type": "Phone-Number", "value": "1"}),
                             422, "unknown_identifier_type")
    assert "phone, email" in unknown["detail"]
    assert_problem(agent.request("GET", "/profiles/lookup", params={"type": "phone"}), 422, "validation_failed")
    too_long = agent.request("GET", "/profiles/lookup", params={"type": "phone", "value": "9" * 501})
    assert_problem(too_long, 422, "validation_failed")


# Reading a profile -----------------------------------------------------------------------------------


def test_an_absorbed_id_answers_with_the_survivors_view(session: Session, agent: Browser) -> None:
    anonymous, known = resolve(session, call(("anonymous_id", "cookie-1")), call(("user_id", "KH-7")))
    resolve(session, call(("user_id", "KH-7"), ("anonymous_id", "cookie-1"), message_id="m-link"))
    survivor, absorbed = min(anonymous, known), max(anonymous, known)

    through_old_id = agent.request("GET", f"/profiles/{absorbed}")
    assert through_old_id.status_code == 200, through_old_id.text
    body = through_old_id.json()
    assert (body["id"], body["requested_id"], body["merged_into"]) == (survivor, absorbed, survivor)
    assert body["merged_ids"] == [absorbed]
    assert {i["value"] for i in body["identifiers"]} == {"cookie-1", "KH-7"}
    [merge] = body["merges"]
    assert (merge["survivor_id"], merge["absorbed_id"], merge["actor"]) == (survivor, absorbed, "system")
    assert merge["event_message_id"] == "m-link" and merge["undone_at"] is None

    direct = agent.request("GET", f"/profiles/{survivor}").json()
    assert direct["merged_into"] is None
    assert {key: value for key, value in direct.items() if key not in ("requested_id", "merged_into")} == {
        key: value for key, value in body.items() if key not in ("requested_id", "merged_into")}


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/profiles/999999", 404, "profile_not_found"),
    (f"/profiles/{HUGE}", 422, "validation_failed"),
    (f"/profiles/{2**70}", 422, "validation_failed"),
    ("/profiles/0", 422, "validation_failed"),
    ("/profiles/abc", 422, "validation_failed"),
    (f"/identity/merges?profile_id={HUGE}", 422, "validation_failed"),
    ("/identity/merges?profile_id=999999", 404, "profile_not_found"),
    ("/identity/conflicts?limit=0", 422, "validation_failed"),
    ("/identity/conflicts?open=maybe", 422, "validation_failed"),
])
def test_bad_ids_and_parameters_are_clear_problems(agent: Browser, path: str, status: int, code: str) -> None:
    assert_problem(agent.request("GET", path), status, code)


def test_the_largest_id_is_accepted_and_simply_not_found(agent: Browser, manager: Browser) -> None:
    assert_problem(agent.request("GET", f"/profiles/{HUGE - 1}"), 404, "profile_not_found")
    assert_problem(manager.request("POST", f"/identity/merges/{HUGE - 1}/undo"), 404, "merge_not_found")
    assert_problem(manager.request("POST", f"/identity/merges/{HUGE}/undo"), 422, "validation_failed")
    assert_problem(manager.request("POST", f"/identity/conflicts/{HUGE}/resolve"), 422, "validation_failed")


# Merging by hand -------------------------------------------------------------------------------------


def test_a_manager_merges_two_profiles_and_undoes_it_once(session: Session, manager: Browser) -> None:
    first, second = resolve(session, call(("anonymous_id", "c-1"), ("email", "an@shop.vn")),
                            call(("phone", "0987654321"), ("email", "an.nguyen@gmail.com")))
    created = manager.request("POST", "/identity/merges", json={
        "survivor_id": second, "absorbed_id": first, "reason": "  Same customer, confirmed by phone  "})
    assert created.status_code == 201, created.text
    merge = created.json()
    assert (merge["survivor_id"], merge["absorbed_id"]) == (second, first)
    assert merge["actor"] == f"user:{manager.user_id}"
    assert merge["reason"] == "Same customer, confirmed by phone" and merge["linking_identifier"] == ""
    [event] = _events(session, "profile.merged")
    assert event.payload == {"survivor_id": second, "absorbed_id": first, "merge_id": merge["id"],
                             "actor": f"user:{manager.user_id}"}

    seen = manager.request("GET", f"/profiles/{first}").json()
    assert (seen["id"], seen["merged_into"]) == (second, second)
    assert len(seen["identifiers"]) == 4

    undone = manager.request("POST", f"/identity/merges/{merge['id']}/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    again = manager.request("GET", f"/profiles/{first}").json()
    assert (again["id"], again["merged_into"]) == (first, None)
    assert {i["value"] for i in again["identifiers"]} == {"c-1", "an@shop.vn"}
    [unmerged] = _events(session, "profile.unmerged")
    assert unmerged.payload["actor"] == f"user:{manager.user_id}"

    twice = assert_problem(manager.request("POST", f"/identity/merges/{merge['id']}/undo"), 409,
                           "merge_already_undone")
    assert str(merge["id"]) in twice["detail"]
    assert_problem(manager.request("POST", "/identity/merges/999999/undo"), 404, "merge_not_found")


def test_merges_are_undone_newest_first(session: Session, manager: Browser) -> None:
    a, b, c = resolve(session, call(("email", "a@shop.vn")), call(("email", "b@shop.vn")), call(("email", "c@shop.vn")))
    first = manager.request("POST", "/identity/merges", json={"survivor_id": b, "absorbed_id": a, "reason": "x"})
    second = manager.request("POST", "/identity/merges", json={"survivor_id": c, "absorbed_id": b, "reason": "y"})
    assert (first.status_code, second.status_code) == (201, 201), second.text
    body = assert_problem(manager.request("POST", f"/identity/merges/{first.json()['id']}/undo"), 409,
                          "merge_not_last")
    assert f"merge {second.json()['id']}" in body["detail"]
    assert manager.request("GET", f"/profiles/{a}").json()["merged_ids"] == [a, b]
    assert manager.request("POST", f"/identity/merges/{second.json()['id']}/undo").status_code == 200
    assert manager.request("POST", f"/identity/merges/{first.json()['id']}/undo").status_code == 200
    assert [manager.request("GET", f"/profiles/{p}").json()["id"] for p in (a, b, c)] == [a, b, c]


def test_a_merge_that_breaks_the_rules_is_refused_naming_the_type(
        session: Session, manager: Browser, owner: Browser) -> None:
    mother, daughter = resolve(session, call(("user_id", "KH-1"), ("phone", "0912345678")), call(("user_id", "KH-2")))
    wanted = {"survivor_id": mother, "absorbed_id": daughter, "reason": "the clerk says so"}
    refused = assert_problem(manager.request("POST", "/identity/merges", json=wanted), 409, "merge_breaks_rules")
    assert refused["details"] == {"type": "user_id", "limit": 1, "total": 2}
    assert "2 user_id identifiers" in refused["detail"] and "at most 1" in refused["detail"]

    not_owner = assert_problem(manager.request("POST", "/identity/merges", json={**wanted, "force": True}), 403,
                               "force_needs_owner")
    assert "owner" in not_owner["detail"]
    session.rollback()
    assert session.scalars(select(Merge)).all() == []

    forced = owner.request("POST", "/identity/merges", json={**wanted, "force": True})
    assert forced.status_code == 201, forced.text
    seen = owner.request("GET", f"/profiles/{daughter}").json()
    assert seen["id"] == mother
    assert sorted(i["value"] for i in seen["identifiers"] if i["type"] == "user_id") == ["KH-1", "KH-2"]


def test_a_merge_needs_two_separate_surviving_profiles(session: Session, manager: Browser) -> None:
    a, b, c = resolve(session, call(("email", "a@shop.vn")), call(("email", "b@shop.vn")), call(("email", "c@shop.vn")))
    same = manager.request("POST", "/identity/merges", json={"survivor_id": a, "absorbed_id": a, "reason": "x"})
    assert_problem(same, 422, "same_profile")
    assert manager.request("POST", "/identity/merges",
                           json={"survivor_id": a, "absorbed_id": b, "reason": "x"}).status_code == 201
    into_absorbed = manager.request("POST", "/identity/merges", json={"survivor_id": b, "absorbed_id": c,
                                                                      "reason": "x"})
    body = assert_problem(into_absorbed, 409, "profile_already_merged")
    assert f"merged into profile {a}" in body["detail"]
    assert body["details"] == {"profile_id": b, "merged_into": a}
    absorbed_again = manager.request("POST", "/identity/merges", json={"survivor_id": c, "absorbed_id": b,
                                                                       "reason": "x"})
    assert_problem(absorbed_again, 409, "profile_already_merged")
    missing = manager.request("POST", "/identity/merges", json={"survivor_id": a, "absorbed_id": 999999,
                                                                "reason": "x"})
    assert_problem(missing, 404, "profile_not_found")


@pytest.mark.parametrize("body", [
    {},
    {"survivor_id": 1, "absorbed_id": 2},
    {"survivor_id": 1, "absorbed_id": 2, "reason": "   "},
    {"survivor_id": 1, "absorbed_id": 2, "reason": "x" * 2001},
    {"survivor_id": 0, "absorbed_id": 2, "reason": "x"},
    {"survivor_id": 1, "absorbed_id": HUGE, "reason": "x"},
    {"survivor_id": "one", "absorbed_id": 2, "reason": "x"},
    {"survivor_id": 1, "absorbed_id": 2, "reason": "x", "priority": "high"},
])
def test_bad_merge_bodies_are_refused(manager: Browser, body: dict[str, object]) -> None:
    assert_problem(manager.request("POST", "/identity/merges", json=body), 422, "validation_failed")


def test_merges_are_listed_newest_first_and_by_profile(session: Session, manager: Browser) -> None:
    a, b, c, d = resolve(session, *(call(("email", f"{name}@shop.vn")) for name in "abcd"))
    ids = [manager.request("POST", "/identity/merges", json={"survivor_id": s, "absorbed_id": x, "reason": "r"})
           .json()["id"] for s, x in ((a, b), (c, d))]
    everything = manager.request("GET", "/identity/merges").json()
    assert [m["id"] for m in everything] == ids[::-1]
    assert [m["id"] for m in manager.request("GET", "/identity/merges", params={"profile_id": b}).json()] == [ids[0]]
    assert [m["id"] for m in manager.request("GET", "/identity/merges", params={"limit": 1}).json()] == [ids[1]]


# Conflicts -------------------------------------------------------------------------------------------


def test_conflicts_are_listed_and_resolved_once(session: Session, agent: Browser, manager: Browser) -> None:
    mother, son = resolve(session, call(("user_id", "KH-MOTHER"), ("phone", "0912345678")),
                          call(("user_id", "KH-SON"), ("phone", "0912 345 678"), message_id="son-signup"))
    listed = agent.request("GET", "/identity/conflicts")
    assert listed.status_code == 200, listed.text
    [conflict] = listed.json()
    assert (conflict["rule"], conflict["identifier"], conflict["profile_id"]) == (
        "shared_identifier", "phone:+84912345678", mother)
    assert conflict["event_message_id"] == "son-signup" and conflict["resolved_at"] is None
    assert [c["id"] for c in agent.request("GET", f"/profiles/{mother}").json()["open_conflicts"]] == [conflict["id"]]

    assert_problem(agent.request("POST", f"/identity/conflicts/{conflict['id']}/resolve"), 403, "role_required")
    resolved = manager.request("POST", f"/identity/conflicts/{conflict['id']}/resolve",
                               json={"note": "mother and son share the phone"})
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["resolved_at"] is not None
    assert (body["resolved_by"], body["resolution_note"]) == (f"user:{manager.user_id}",
                                                              "mother and son share the phone")
    assert agent.request("GET", "/identity/conflicts").json() == []
    assert [c["id"] for c in agent.request("GET", "/identity/conflicts?open=false").json()] == [conflict["id"]]
    assert agent.request("GET", f"/profiles/{mother}").json()["open_conflicts"] == []
    assert_problem(manager.request("POST", f"/identity/conflicts/{conflict['id']}/resolve"), 409,
                   "conflict_already_resolved")
    assert_problem(manager.request("POST", "/identity/conflicts/999999/resolve"), 404, "conflict_not_found")
    assert son != mother


def test_a_merge_settles_the_conflicts_between_its_profiles(session: Session, owner: Browser) -> None:
    mother, daughter = resolve(session, call(("user_id", "KH-1"), ("phone", "0912345678")), call(("user_id", "KH-2")))
    resolve(session, call(("user_id", "KH-2"), ("phone", "0912 345 678")))  # refused: two user ids
    unrelated, _ = resolve(session, call(("user_id", "KH-3"), ("email", "x@shop.vn")),
                           call(("user_id", "KH-4"), ("email", "x@shop.vn")))
    open_before = owner.request("GET", "/identity/conflicts").json()
    assert len(open_before) == 2
    ours = next(c for c in open_before if {c["profile_id"], c["other_profile_id"]} == {mother, daughter})

    merged = owner.request("POST", "/identity/merges", json={
        "survivor_id": mother, "absorbed_id": daughter, "reason": "one person, two accounts", "force": True})
    assert merged.status_code == 201, merged.text
    [still_open] = owner.request("GET", "/identity/conflicts").json()
    assert still_open["id"] != ours["id"] and still_open["profile_id"] == unrelated
    settled = next(c for c in owner.request("GET", "/identity/conflicts?open=false").json() if c["id"] == ours["id"])
    assert settled["settled_by_merge_id"] == merged.json()["id"]
    assert settled["resolved_by"] == f"user:{owner.user_id}"


def test_a_merge_can_name_the_conflict_it_settles(session: Session, owner: Browser) -> None:
    mother, son = resolve(session, call(("user_id", "KH-MOTHER"), ("phone", "0912345678")),
                          call(("user_id", "KH-SON"), ("phone", "0912 345 678")))
    a, b = resolve(session, call(("email", "a@shop.vn")), call(("email", "b@shop.vn")))
    [conflict] = owner.request("GET", "/identity/conflicts").json()
    assert conflict["other_profile_id"] is None  # the graph does not record the new profile
    unrelated = owner.request("POST", "/identity/merges", json={"survivor_id": a, "absorbed_id": b, "reason": "r",
                                                                "conflict_id": conflict["id"]})
    assert_problem(unrelated, 422, "conflict_unrelated")
    merged = owner.request("POST", "/identity/merges", json={
        "survivor_id": mother, "absorbed_id": son, "reason": "same person after all", "force": True,
        "conflict_id": conflict["id"]})
    assert merged.status_code == 201, merged.text
    assert owner.request("GET", "/identity/conflicts").json() == []
    again = owner.request("POST", "/identity/merges", json={"survivor_id": a, "absorbed_id": b, "reason": "r",
                                                            "conflict_id": conflict["id"]})
    assert_problem(again, 409, "conflict_already_resolved")
    session.rollback()
    assert session.get(IdentityConflict, conflict["id"]).details["settled_by_merge_id"] == merged.json()["id"]  # type: ignore[union-attr]


# Who may do what -------------------------------------------------------------------------------------


def test_an_agent_reads_but_cannot_merge_or_undo(session: Session, agent: Browser, client: TestClient) -> None:
    a, b = resolve(session, call(("email", "a@shop.vn")), call(("email", "b@shop.vn")))
    assert agent.request("GET", f"/profiles/{a}").status_code == 200
    assert agent.request("GET", "/identity/merges").status_code == 200
    refused = agent.request("POST", "/identity/merges", json={"survivor_id": a, "absorbed_id": b, "reason": "r"})
    assert "manager" in assert_problem(refused, 403, "role_required")["detail"]
    assert_problem(agent.request("POST", "/identity/merges/1/undo"), 403, "role_required")
    assert_problem(client.get(f"{API}/profiles/{a}"), 401, "not_authenticated")
    assert_problem(client.get(f"{API}/profiles/lookup", params={"type": "email", "value": "a@shop.vn"}), 401,
                   "not_authenticated")


def test_an_api_key_merges_and_undoes_under_its_own_name(session: Session, client: TestClient) -> None:
    a, b = resolve(session, call(("email", "a@shop.vn")), call(("email", "b@shop.vn")))
    row, key = create_api_key(session, name="CRM sync", role=Role.manager)
    merged = client.post(f"{API}/identity/merges", headers=bearer(key),
                         json={"survivor_id": a, "absorbed_id": b, "reason": "CRM says so"})
    assert merged.status_code == 201, merged.text
    assert merged.json()["actor"] == f"api_key:{row.id}"
    forced = client.post(f"{API}/identity/merges", headers=bearer(key),
                         json={"survivor_id": a, "absorbed_id": b, "reason": "x", "force": True})
    assert_problem(forced, 403, "force_needs_owner")
    undone = client.post(f"{API}/identity/merges/{merged.json()['id']}/undo", headers=bearer(key))
    assert undone.status_code == 200, undone.text
    [event] = _events(session, "profile.unmerged")
    assert event.payload["actor"] == f"api_key:{row.id}"
