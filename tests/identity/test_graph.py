"""The identity graph: deterministic resolution, rule-bound merges, conflicts, unmerge, stitching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.errors import Conflict
from xuyen.identity.graph import (
    IDENTIFIER_LOCKS_MAX,
    CallIdentity,
    IdentityRules,
    RawIdentifier,
    find_profile,
    list_identifiers,
    resolve_calls,
    resolve_profile_id,
    unmerge,
)
from xuyen.identity.models import IdentityConflict, Merge, Profile, ProfileIdentifier
from xuyen.identity.normalise import BlockList
from xuyen.outbox import OutboxEvent

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def call(*pairs: tuple[str, str], at: datetime = T0, message_id: str | None = None) -> CallIdentity:
    return CallIdentity(raw=[RawIdentifier(kind, value) for kind, value in pairs], seen_at=at,
                        message_id=message_id)


def resolve(session: Session, *calls: CallIdentity, rules: IdentityRules | None = None) -> list[int | None]:
    profiles = resolve_calls(session, calls=list(calls), rules=rules)
    session.commit()
    return profiles


def test_one_customer_across_phone_formats_and_email_case(session: Session) -> None:
    first, second, third = resolve(
        session,
        call(("phone", "0168 123 4567")),
        call(("phone", "+84 38 123 4567"), ("email", " Lan.Nguyen@Gmail.com ")),
        call(("email", "lan.nguyen@gmail.com"), ("user_id", "KH-0001")),
    )
    assert first == second == third
    identifiers = {(i.type, i.value) for i in list_identifiers(session, profile_id=first)}  # type: ignore[arg-type]
    assert identifiers == {("phone", "+84381234567"), ("email", "lan.nguyen@gmail.com"), ("user_id", "KH-0001")}


def test_anonymous_history_is_stitched_when_the_visitor_identifies(session: Session) -> None:
    [anonymous] = resolve(session, call(("anonymous_id", "cookie-1")))
    [known] = resolve(session, call(("user_id", "KH-7")))
    assert anonymous != known
    [linked] = resolve(session, call(("user_id", "KH-7"), ("anonymous_id", "cookie-1"), message_id="m-link"))
    survivor = min(anonymous, known)  # type: ignore[type-var]
    assert linked == survivor
    assert resolve_profile_id(session, profile_id=anonymous) == survivor  # type: ignore[arg-type]
    assert resolve_profile_id(session, profile_id=known) == survivor  # type: ignore[arg-type]
    merge = session.scalars(select(Merge)).one()
    assert (merge.survivor_id, merge.absorbed_id) == (anonymous, known)
    assert merge.event_message_id == "m-link"
    assert "user_id:KH-7" in merge.reason or "anonymous_id:cookie-1" in merge.reason
    topics = [e.topic for e in session.scalars(select(OutboxEvent))]
    assert topics == ["profile.merged"]


def test_two_user_ids_never_merge_a_conflict_is_recorded_instead(session: Session) -> None:
    mother, daughter = resolve(session, call(("user_id", "KH-1"), ("phone", "0912345678")),
                               call(("user_id", "KH-2")))
    [resolved] = resolve(session, call(("user_id", "KH-2"), ("phone", "0912 345 678"), message_id="shared"))
    assert resolved == daughter, "the user id decides, it ranks above the phone"
    assert resolve_profile_id(session, profile_id=mother) == mother  # type: ignore[arg-type]
    assert session.scalars(select(Merge)).all() == []
    conflict = session.scalars(select(IdentityConflict)).one()
    assert conflict.rule == "max_per_profile"
    assert {conflict.profile_id, conflict.other_profile_id} == {mother, daughter}
    assert "user_id" in conflict.detail and conflict.event_message_id == "shared"


def test_a_profile_holds_at_most_the_configured_number_of_each_type(session: Session) -> None:
    rules = IdentityRules(max_per_profile={"user_id": 1, "email": 2})
    [profile] = resolve(session, call(("user_id", "KH-9"), ("email", "a@x.vn"), ("email", "b@x.vn")), rules=rules)
    resolve(session, call(("user_id", "KH-9"), ("email", "c@x.vn")), rules=rules)
    emails = sorted(i.value for i in list_identifiers(session, profile_id=profile) if i.type == "email")  # type: ignore[arg-type]
    assert emails == ["a@x.vn", "b@x.vn"]
    assert session.scalars(select(IdentityConflict.rule)).all() == ["max_per_profile"]


def test_blocked_values_never_link_strangers(session: Session) -> None:
    rules = IdentityRules(block_list=BlockList(extra_phones=["1900 6868"]))
    first, second = resolve(session, call(("user_id", "A"), ("phone", "1900 6868"), ("email", "test@test.com")),
                            call(("user_id", "B"), ("phone", "19006868"), ("email", "test@test.com")), rules=rules)
    assert first != second
    assert session.scalars(select(Merge)).all() == []


def test_unmerge_gives_back_two_profiles_with_their_identifiers(session: Session) -> None:
    anonymous, known = resolve(session, call(("anonymous_id", "c-1"), ("email", "an@shop.vn")),
                               call(("user_id", "KH-5"), ("phone", "0987654321")))
    resolve(session, call(("anonymous_id", "c-1"), ("user_id", "KH-5")))
    merge = session.scalars(select(Merge)).one()
    unmerge(session, merge_id=merge.id, actor="user:1")
    assert resolve_profile_id(session, profile_id=known) == known  # type: ignore[arg-type]
    assert {i.value for i in list_identifiers(session, profile_id=anonymous)} == {"c-1", "an@shop.vn"}  # type: ignore[arg-type]
    assert {i.value for i in list_identifiers(session, profile_id=known)} == {"KH-5", "+84987654321"}  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        unmerge(session, merge_id=merge.id, actor="user:1")
    topics = [e.topic for e in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert topics == ["profile.merged", "profile.unmerged"]


def test_find_profile_takes_any_format_of_an_identifier(session: Session) -> None:
    [profile] = resolve(session, call(("phone", "0912.345.678"), ("email", "Mai@Shop.VN")))
    assert find_profile(session, type="phone", value="+84 912 345 678") == profile
    assert find_profile(session, type="email", value="mai@shop.vn") == profile
    assert find_profile(session, type="phone", value="0900000001") is None


def test_first_and_last_seen_follow_the_calls(session: Session) -> None:
    [profile_id] = resolve(session, call(("user_id", "KH-3"), at=T0))
    resolve(session, call(("user_id", "KH-3"), at=T0 + timedelta(days=3)),
            call(("user_id", "KH-3"), at=T0 - timedelta(days=2)))
    session.expire_all()
    profile = session.get(Profile, profile_id)
    assert profile is not None
    assert profile.first_seen_at == T0 - timedelta(days=2)
    assert profile.last_seen_at == T0 + timedelta(days=3)


def test_an_identifier_remembers_its_first_and_latest_sighting(session: Session) -> None:
    resolve(session, call(("email", "an@shop.vn"), at=T0))
    resolve(session, call(("email", "an@shop.vn"), at=T0 + timedelta(days=3)),
            call(("email", "an@shop.vn"), at=T0 + timedelta(days=1)))
    resolve(session, call(("email", "an@shop.vn"), at=T0 - timedelta(days=2)))  # a late, old call
    session.expire_all()
    identifier = session.scalars(select(ProfileIdentifier)).one()
    assert (identifier.first_seen_at, identifier.last_seen_at) == (T0, T0 + timedelta(days=3))


def test_a_batch_with_more_new_identifiers_than_locks_resolves_whole(session: Session) -> None:
    count = IDENTIFIER_LOCKS_MAX + 10
    profiles = resolve(session, *[call(("user_id", f"KH-{n}"), ("anonymous_id", f"c-{n}")) for n in range(count)])
    assert len(set(profiles)) == count
    assert session.scalar(select(func.count()).select_from(ProfileIdentifier)) == 2 * count
    again = resolve(session, call(("anonymous_id", "c-7"), ("user_id", "KH-7")))
    assert again == [profiles[7]]


def test_a_call_with_only_blocked_or_invalid_identifiers_has_no_profile(session: Session) -> None:
    assert resolve(session, call(("email", "not an email"), ("user_id", "null"))) == [None]
    assert session.scalars(select(Profile)).all() == []


def test_a_new_customer_sharing_a_family_phone_gets_a_profile_of_their_own(session: Session) -> None:
    [mother] = resolve(session, call(("user_id", "KH-MOTHER"), ("phone", "0912345678")))
    [son] = resolve(session, call(("user_id", "KH-SON"), ("phone", "0912 345 678"), message_id="son-signup"))
    assert son != mother
    assert {i.value for i in list_identifiers(session, profile_id=mother)} == {"KH-MOTHER", "+84912345678"}
    assert {i.value for i in list_identifiers(session, profile_id=son)} == {"KH-SON"}  # type: ignore[arg-type]
    conflict = session.scalars(select(IdentityConflict)).one()
    assert conflict.rule == "shared_identifier"
    assert conflict.identifier == "phone:+84912345678"
    assert conflict.profile_id == mother and conflict.event_message_id == "son-signup"
    [again] = resolve(session, call(("phone", "0912345678")))
    assert again == mother, "the phone alone still finds the profile that holds it"


def test_a_shared_phone_does_not_keep_a_customer_from_their_own_history(session: Session) -> None:
    [mother] = resolve(session, call(("user_id", "KH-MOTHER"), ("phone", "0912345678")))
    [browsing] = resolve(session, call(("anonymous_id", "son-cookie")))
    [son] = resolve(session, call(("user_id", "KH-SON"), ("phone", "0912345678"), ("anonymous_id", "son-cookie")))
    assert son == browsing, "the son's own anonymous history is his, the family phone is not"
    assert {i.value for i in list_identifiers(session, profile_id=son)} == {"KH-SON", "son-cookie"}
    assert {i.value for i in list_identifiers(session, profile_id=mother)} == {"KH-MOTHER", "+84912345678"}
    assert session.scalars(select(IdentityConflict.rule)).all() == ["shared_identifier"]
