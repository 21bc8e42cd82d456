"""The messaging policy's decisions: consent per channel and purpose, frequency caps per channel and across
channels, sending hours in the customer's time zone (exact deferrals), channel choice, reply windows,
suppression and one message per campaign. Every time is given explicitly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.journeys.policy.conftest import connected, consent, customer, utc, wrote
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.service import merge_profiles
from xuyen.journeys.policy import settings, suppressions
from xuyen.journeys.policy.service import (
    Ask,
    Sent,
    add_sends,
    decide,
    decide_many,
    engagement_rates,
    record_engagement,
    record_send,
)
from xuyen.journeys.policy.settings import Cap, PolicyConfig

DAY = utc("2026-12-07 03:00")  # 10:00 in Hồ Chí Minh City


def test_marketing_needs_a_grant_on_the_channel_and_for_marketing(session: Session) -> None:
    lan = customer(session)
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY).code == "no_channel"
    consent(session, lan, "sms", purpose="care")
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY, channel="sms").code == "no_consent"
    consent(session, lan, "sms")
    granted = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (granted.action, granted.channel, granted.routes[0].address) == ("send", "sms", "+84912345678")
    assert granted.refused["email"] == "no_consent"
    consent(session, lan, "sms", granted=False)
    withdrawn = decide(session, profile_id=lan, purpose="marketing", at=DAY, channel="sms")
    assert (withdrawn.action, withdrawn.code) == ("skip", "consent_withdrawn")
    assert withdrawn.reason == "The customer withdrew consent for this purpose on this channel."


def test_transactional_and_care_go_unless_the_customer_withdrew_them(session: Session) -> None:
    lan = customer(session)
    receipt = decide(session, profile_id=lan, purpose="transactional", at=DAY)
    assert receipt.action == "send" and {receipt.channel, *receipt.fallbacks} == {"sms", "email"}
    consent(session, lan, "email", purpose="care", granted=False)
    care = decide(session, profile_id=lan, purpose="care", at=DAY)
    assert (care.channel, care.fallbacks, care.refused) == ("sms", (), {"email": "consent_withdrawn",
                                                                        "zalo": "unreachable",
                                                                        "messenger": "unreachable",
                                                                        "whatsapp": "unreachable"})
    consent(session, lan, "email", purpose="marketing", granted=False)
    assert decide(session, profile_id=lan, purpose="transactional", at=DAY, channel="email").action == "send"


def test_caps_count_per_channel_and_across_channels(session: Session) -> None:
    settings.change(session, config=PolicyConfig(total=Cap(4, 24), channel_caps={"sms": Cap(2, 24)}),
                    actor="user:1")
    lan = customer(session)
    consent(session, lan, "sms")
    consent(session, lan, "email")
    record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=utc("2026-12-07 01:00"))
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY).channel == "sms"
    record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=utc("2026-12-07 02:00"))
    other = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (other.action, other.channel, other.fallbacks) == ("send", "email", ())
    record_send(session, profile_id=lan, channel="email", purpose="marketing", at=utc("2026-12-07 02:10"))
    record_send(session, profile_id=lan, channel="email", purpose="transactional",
                at=utc("2026-12-07 02:20"))
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY).channel == "email"
    record_send(session, profile_id=lan, channel="email", purpose="marketing", at=utc("2026-12-07 02:30"))
    capped = decide(session, profile_id=lan, purpose="marketing", at=DAY, on_cap="skip")
    assert (capped.action, capped.code) == ("skip", "frequency_capped")
    later = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (later.action, later.code, later.until) == ("defer", "frequency_capped", utc("2026-12-08 01:00"))
    assert decide(session, profile_id=lan, purpose="marketing", at=utc("2026-12-08 01:00")).channel == "sms"
    assert decide(session, profile_id=lan, purpose="transactional", at=DAY).action == "send"


def test_a_fixed_channel_waits_for_its_own_cap(session: Session) -> None:
    lan = customer(session)
    consent(session, lan, "sms")
    consent(session, lan, "email")
    for hour in ("00:30", "01:00", "01:30"):
        record_send(session, profile_id=lan, channel="email", purpose="marketing", at=utc(f"2026-12-07 {hour}"))
    waiting = decide(session, profile_id=lan, purpose="marketing", at=DAY, channel="email")
    assert (waiting.action, waiting.until) == ("defer", utc("2026-12-08 00:30"))


def test_a_cap_that_frees_at_night_defers_to_the_morning(session: Session) -> None:
    settings.change(session, config=PolicyConfig(total=Cap(3, 26), channel_caps={}), actor="user:1")
    lan = customer(session)
    consent(session, lan, "sms")
    for hour in ("14:00", "14:10", "14:20"):  # 21:00 to 21:20 in Hồ Chí Minh City: the first frees at 23:00
        record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=utc(f"2026-12-06 {hour}"))
    waiting = decide(session, profile_id=lan, purpose="marketing", at=utc("2026-12-07 10:00"))
    assert (waiting.code, waiting.until) == ("frequency_capped", utc("2026-12-08 00:00"))


@pytest.mark.parametrize(("at", "until"), [
    ("2026-12-07 15:00", "2026-12-08 00:00"),  # 22:00 sharp: the next morning at 07:00
    ("2026-12-07 16:59", "2026-12-08 00:00"),  # 23:59
    ("2026-12-07 17:00", "2026-12-08 00:00"),  # 00:00, across midnight
    ("2026-12-07 23:59", "2026-12-08 00:00"),  # 06:59 the same morning
])
def test_marketing_at_night_waits_for_seven_in_the_morning(session: Session, at: str, until: str) -> None:
    lan = customer(session)
    consent(session, lan, "sms")
    night = decide(session, profile_id=lan, purpose="marketing", at=utc(at))
    assert (night.action, night.code, night.until) == ("defer", "quiet_hours", utc(until))
    assert decide(session, profile_id=lan, purpose="marketing", at=utc(until)).action == "send"
    assert decide(session, profile_id=lan, purpose="marketing", at=utc(until) - timedelta(minutes=1)).until == \
        utc(until)


def test_sending_hours_follow_the_customers_own_time_zone(session: Session) -> None:
    anna = customer(session, phone="+4915112345678", email="anna@example.de", traits={"timezone": "Europe/Berlin"})
    consent(session, anna, "email")
    at_four_in_berlin = utc("2026-12-07 03:00")
    deferred = decide(session, profile_id=anna, purpose="marketing", at=at_four_in_berlin)
    assert (deferred.action, deferred.until) == ("defer", utc("2026-12-07 06:00"))
    late = decide(session, profile_id=anna, purpose="marketing", at=utc("2026-12-07 21:30"))  # 22:30 in Berlin
    assert late.until == utc("2026-12-08 06:00")
    settings.change(session, config=PolicyConfig(allowed_from=20 * 60, allowed_until=2 * 60), actor="user:1")
    assert decide(session, profile_id=anna, purpose="marketing", at=utc("2026-12-07 23:30")).action == "send"
    assert decide(session, profile_id=anna, purpose="marketing", at=utc("2026-12-08 01:00")).until == \
        utc("2026-12-08 19:00")


def test_transactional_messages_go_at_night_unless_the_settings_say_otherwise(session: Session) -> None:
    lan = customer(session)
    night = utc("2026-12-07 18:00")  # 01:00
    assert decide(session, profile_id=lan, purpose="transactional", at=night).action == "send"
    assert decide(session, profile_id=lan, purpose="care", at=night).until == utc("2026-12-08 00:00")
    settings.change(session, config=PolicyConfig(quiet_exempt=(), capped_purposes=("marketing", "care")),
                    actor="user:1")
    assert decide(session, profile_id=lan, purpose="transactional", at=night).until == utc("2026-12-08 00:00")


def test_the_preferred_channel_comes_first_then_engagement_then_the_order(session: Session) -> None:
    lan = customer(session)
    zalo = connected(session, "zalo")
    wrote(session, lan, zalo, at=DAY - timedelta(days=1))
    for channel in ("sms", "email", "zalo"):
        consent(session, lan, channel)
    plain = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (plain.channel, plain.fallbacks) == ("zalo", ("sms", "email"))
    assert plain.routes[0].channel_id == zalo.id
    record_send(session, profile_id=lan, channel="email", purpose="transactional", at=DAY - timedelta(days=2))
    record_engagement(session, profile_id=lan, channel="email", kind="opened")
    engaged = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (engaged.channel, engaged.fallbacks) == ("email", ("zalo", "sms"))
    chosen = customer(session, phone="0987654321", email="hoa@example.vn", traits={"preferred_channel": "SMS"})
    consent(session, chosen, "sms")
    consent(session, chosen, "email")
    record_send(session, profile_id=chosen, channel="email", purpose="transactional", at=DAY - timedelta(days=2))
    record_engagement(session, profile_id=chosen, channel="email", kind="clicked")
    preferred = decide(session, profile_id=chosen, purpose="marketing", at=DAY)
    assert (preferred.channel, preferred.fallbacks) == ("sms", ("email",))


def test_a_closed_reply_window_passes_to_the_next_channel(session: Session) -> None:
    lan = customer(session)
    messenger, zalo = connected(session, "messenger"), connected(session, "zalo")
    wrote(session, lan, messenger, at=DAY - timedelta(hours=25))  # 24 hours on Messenger
    wrote(session, lan, zalo, at=DAY - timedelta(days=6))  # 7 days on Zalo
    for channel in ("messenger", "zalo", "sms"):
        consent(session, lan, channel)
    decision = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (decision.channel, decision.fallbacks) == ("zalo", ("sms",))
    assert decision.refused["messenger"] == "reply_window_closed"
    closed = decide(session, profile_id=lan, purpose="marketing", at=DAY + timedelta(days=1), channel="zalo")
    assert (closed.action, closed.code) == ("skip", "reply_window_closed")
    assert decide(session, profile_id=lan, purpose="transactional", at=DAY, channel="whatsapp").code == "unreachable"


def test_suppressed_customers_and_addresses_get_nothing(session: Session) -> None:
    lan = customer(session)
    consent(session, lan, "sms")
    consent(session, lan, "email")
    suppressions.add_suppression(session, kind="email", value=" LAN@Example.VN ", reason="Hard bounce",
                                 source="bounce", actor="system")
    bounced = decide(session, profile_id=lan, purpose="marketing", at=DAY)
    assert (bounced.channel, bounced.refused["email"]) == ("sms", "address_suppressed")
    phone = suppressions.add_suppression(session, kind="phone", value="0912 345 678", reason="Báo spam",
                                         actor="user:1")
    assert phone.value == "+84912345678"
    assert decide(session, profile_id=lan, purpose="transactional", at=DAY).code == "no_channel"
    suppressions.remove_suppression(session, suppression_id=phone.id, actor="user:1")
    suppressions.add_suppression(session, kind="profile", value=str(lan), reason="Yêu cầu không liên hệ",
                                 actor="user:1")
    assert decide(session, profile_id=lan, purpose="care", at=DAY).code == "suppressed"
    with pytest.raises(Conflict):
        suppressions.add_suppression(session, kind="profile", value=str(lan), reason="Lần nữa", actor="user:1")
    with pytest.raises(ValidationFailed):
        suppressions.add_suppression(session, kind="phone", value="không phải số", reason="x", actor="user:1")


def test_one_message_per_customer_per_campaign(session: Session) -> None:
    lan = customer(session)
    consent(session, lan, "sms")
    key = "tet-2027"
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY, campaign_key=key).action == "send"
    record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=DAY, campaign_key=key)
    again = decide(session, profile_id=lan, purpose="marketing", at=DAY, campaign_key=key)
    assert (again.action, again.code) == ("skip", "already_sent")
    with pytest.raises(Conflict):
        record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=DAY, campaign_key=key)
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY, campaign_key="tet-2028").action == "send"


def test_bad_input_is_refused(session: Session) -> None:
    lan = customer(session)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"purpose": "spam"}, "invalid_purpose"), ({"channel": "fax"}, "invalid_channel"),
        ({"campaign_key": ""}, "invalid_campaign_key"),
        ({"campaign_key": "x" * 201}, "invalid_campaign_key"), ({"at": DAY.replace(tzinfo=None)}, "naive_time")]
    for values, code in cases:
        arguments = {"profile_id": lan, "purpose": "marketing", "at": DAY, **values}
        with pytest.raises(ValidationFailed) as refused:
            decide(session, **arguments)
        assert refused.value.code == code
    with pytest.raises(NotFound):
        decide(session, profile_id=999_999, purpose="marketing", at=DAY)
    with pytest.raises(ValidationFailed):
        record_engagement(session, profile_id=lan, channel="sms", kind="liked")


def test_a_merged_customer_keeps_the_caps_campaigns_and_suppression_of_both_profiles(session: Session) -> None:
    lan = customer(session, email=None)
    twin = customer(session, phone=None, email="lan.nguyen@example.vn")
    consent(session, lan, "sms")
    record_send(session, profile_id=twin, channel="email", purpose="marketing", at=utc("2026-12-07 01:00"),
                campaign_key="tet-2027")
    suppressions.add_suppression(session, kind="profile", value=str(twin), reason="Khách yêu cầu", actor="user:1")
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY, campaign_key="tet-2027").action == "send"
    merge_profiles(session, survivor_id=lan, absorbed_id=twin, actor="user:1", reason="Cùng một người")
    session.commit()
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY).code == "suppressed"
    suppressions.remove_suppression(session, suppression_id=suppressions.list_suppressions(session)[0].id,
                                    actor="user:1")
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY, campaign_key="tet-2027").code == \
        "already_sent"
    for hour in ("01:30", "02:00"):
        record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=utc(f"2026-12-07 {hour}"))
    assert decide(session, profile_id=twin, purpose="marketing", at=DAY).until == utc("2026-12-08 01:00")


def test_a_cap_of_zero_turns_a_channel_off_for_marketing(session: Session) -> None:
    settings.change(session, config=PolicyConfig(channel_caps={"sms": Cap(0, 24), "email": Cap(3, 24)}),
                    actor="user:1")
    lan = customer(session)
    consent(session, lan, "sms")
    consent(session, lan, "email")
    assert decide(session, profile_id=lan, purpose="marketing", at=DAY).routes[0].channel == "email"
    off = decide(session, profile_id=lan, purpose="marketing", at=DAY, channel="sms")
    assert (off.action, off.code, off.until) == ("skip", "frequency_capped", None)
    assert decide(session, profile_id=lan, purpose="transactional", at=DAY, channel="sms").action == "send"


def test_deciding_for_many_customers_at_once_gives_each_the_decision_it_would_get_alone(session: Session) -> None:
    settings.change(session, config=PolicyConfig(total=Cap(2, 24)), actor="user:1")
    granted = customer(session, phone="0912000001", email=None)
    consent(session, granted, "sms")
    silent = customer(session, phone="0912000002", email=None)
    capped = customer(session, phone="0912000003", email=None)
    consent(session, capped, "sms")
    for hour in ("01:00", "02:00"):
        record_send(session, profile_id=capped, channel="sms", purpose="marketing", at=utc(f"2026-12-07 {hour}"))
    blocked = customer(session, phone="0912000004", email=None)
    consent(session, blocked, "sms")
    suppressions.add_suppression(session, kind="phone", value="0912000004", reason="Báo spam", actor="user:1")
    lan = customer(session, phone="0912000005", email=None)
    twin = customer(session, phone=None, email="twin@example.vn")
    consent(session, lan, "sms")
    record_send(session, profile_id=twin, channel="email", purpose="marketing", at=DAY, campaign_key="tet-2027")
    merge_profiles(session, survivor_id=lan, absorbed_id=twin, actor="user:1", reason="Cùng một người")
    session.commit()
    asks = [Ask(profile_id=granted, campaign_key="tet-2027"), Ask(profile_id=silent), Ask(profile_id=capped),
            Ask(profile_id=blocked), Ask(profile_id=twin, campaign_key="tet-2027"),
            Ask(profile_id=lan, campaign_key="tet-2028"), Ask(profile_id=granted, campaign_key="tet-2028")]

    together = decide_many(session, asks=asks, purpose="marketing", at=DAY)

    alone = [decide(session, profile_id=ask.profile_id, purpose="marketing", at=DAY, campaign_key=ask.campaign_key)
             for ask in asks]
    assert together == alone
    assert [(decision.action, decision.code) for decision in together] == [
        ("send", ""), ("skip", "no_channel"), ("defer", "frequency_capped"), ("skip", "no_channel"),
        ("skip", "already_sent"), ("send", ""), ("send", "")]
    assert together[3].refused["sms"] == "address_suppressed"
    with pytest.raises(NotFound):
        decide_many(session, asks=[Ask(profile_id=granted), Ask(profile_id=999_999)], purpose="marketing", at=DAY)


def test_sends_counted_together_count_as_each_alone_and_a_repeat_is_refused(session: Session) -> None:
    lan = customer(session, phone="0912000011", email=None)
    hoa = customer(session, phone="0912000012", email=None)
    add_sends(session, sends=[Sent(profile_id=lan, channel="sms", campaign_key="a"),
                              Sent(profile_id=lan, channel="sms", campaign_key="b"),
                              Sent(profile_id=hoa, channel="sms", campaign_key="a")], purpose="marketing", at=DAY)
    session.commit()
    assert engagement_rates(session, profile_ids=[lan]) == {"sms": 0.0}
    record_engagement(session, profile_id=lan, channel="sms", kind="clicked")
    assert engagement_rates(session, profile_ids=[lan]) == {"sms": 0.5}  # 1 engaged of 2 received
    assert decide(session, profile_id=hoa, purpose="marketing", at=DAY, campaign_key="a").code == "already_sent"
    with pytest.raises(Conflict):
        add_sends(session, sends=[Sent(profile_id=hoa, channel="sms", campaign_key="c"),
                                  Sent(profile_id=hoa, channel="sms", campaign_key="a")], purpose="marketing", at=DAY)
    session.rollback()
    assert decide(session, profile_id=hoa, purpose="marketing", at=DAY, campaign_key="c").code != "already_sent"
