"""``xuyen identity`` on the real root command, against the test database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from xuyen import cli
from xuyen.identity.cli import register
from xuyen.identity.graph import CallIdentity, RawIdentifier, resolve_calls
from xuyen.identity.models import IdentityConflict, Merge
from xuyen.outbox import OutboxEvent

register(cli.app)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
T0_LOCAL = "01/11/2026 16:00:00"  # Asia/Ho_Chi_Minh, the default XUYEN_DEFAULT_TIMEZONE


class Run(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    """Run ``xuyen ARGS`` against the test database (XUYEN_DATABASE_URL is set by ``db_url``)."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli.app, list(args))

    return invoke


def call(*pairs: tuple[str, str]) -> CallIdentity:
    return CallIdentity(raw=[RawIdentifier(kind, value) for kind, value in pairs], seen_at=T0)


def resolve(session: Session, *calls: CallIdentity) -> list[int]:
    profiles = resolve_calls(session, calls=list(calls))
    session.commit()
    return [profile for profile in profiles if profile is not None]


@pytest.mark.parametrize("typed", ["0168 123 4567", "+84 38 123 4567", "038.123.4567"])
def test_find_prints_the_profile_and_its_identifiers(run: Run, session: Session, typed: str) -> None:
    [profile] = resolve(session, call(("phone", "0381234567"), ("email", "Lan@Shop.vn")))
    result = run("identity", "find", "--type", "phone", "--value", typed)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Profile {profile} ")
    assert any(line.split()[:3] == ["phone", "-", "+84381234567"] for line in lines)
    assert any(line.split()[:3] == ["email", "-", "lan@shop.vn"] for line in lines)
    assert T0_LOCAL in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--type", "phone", "--value", "0987 654 321"), "No profile holds phone +84987654321"),
    (("--type", "phone", "--value", "gọi sau"), "cannot be used as a phone"),
    (("--type", "Phone-Number", "--value", "1"), "Unknown identifier type 'Phone-Number'"),
    (("--type", "zalo_id", "--value", "z-1"), "needs the OA or app id as scope"),
])
def test_find_explains_what_went_wrong(run: Run, session: Session, args: tuple[str, ...], message: str) -> None:
    resolve(session, call(("phone", "0912345678")))
    result = run("identity", "find", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_show_follows_a_merge_and_lists_merges_and_conflicts(run: Run, session: Session) -> None:
    anonymous, known = resolve(session, call(("anonymous_id", "cookie-1")), call(("user_id", "KH-7")))
    resolve(session, call(("user_id", "KH-7"), ("anonymous_id", "cookie-1")))
    resolve(session, call(("user_id", "KH-8"), ("anonymous_id", "cookie-1")))  # someone else: a conflict
    result = run("identity", "show", str(known))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Profile {known} was merged into profile {anonymous}; showing {anonymous}." in out
    assert f"Merged into it: {known}" in out
    merge_line = next(line for line in out.splitlines() if line.split()[1:4] == [str(anonymous), str(known), "system"])
    assert merge_line and T0_LOCAL in out
    conflict_line = next(line for line in out.splitlines() if "shared_identifier" in line)
    assert "anonymous_id:cookie-1" in conflict_line


def test_show_of_an_unknown_profile_says_what_to_do(run: Run, db_url: str) -> None:
    result = run("identity", "show", "424242")
    assert result.exit_code == 1
    assert "There is no profile 424242." in result.stderr
    assert "xuyen identity find" in result.stderr
    too_big = run("identity", "show", str(2**63))
    assert too_big.exit_code == 2
    assert "Invalid value" in too_big.stderr


def test_conflicts_lists_open_ones_and_all_with_a_flag(run: Run, session: Session) -> None:
    assert "No open identity conflicts." in run("identity", "conflicts").stdout
    mother, _ = resolve(session, call(("user_id", "KH-MOTHER"), ("phone", "0912345678")),
                        call(("user_id", "KH-SON"), ("phone", "0912 345 678")))
    listed = run("identity", "conflicts")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if "shared_identifier" in line)
    conflict_id, _, profile = row.split()[:3]
    assert profile == str(mother) and "phone:+84912345678" in row
    assert "xuyen identity resolve" in listed.stdout

    resolved = run("identity", "resolve", conflict_id, "--note", "mẹ và con trai")
    assert resolved.exit_code == 0, resolved.output
    assert f"Identity conflict {conflict_id} resolved" in resolved.stdout
    assert "No open identity conflicts." in run("identity", "conflicts").stdout
    assert "shared_identifier" in run("identity", "conflicts", "--all").stdout
    session.rollback()
    conflict = session.get(IdentityConflict, int(conflict_id))
    assert conflict is not None and conflict.details["resolution_note"] == "mẹ và con trai"
    assert conflict.details["resolved_by"].startswith("cli:")
    again = run("identity", "resolve", conflict_id)
    assert again.exit_code == 1 and "already resolved" in again.stderr


def test_merge_obeys_the_rules_unless_forced_and_unmerge_undoes_it_once(run: Run, session: Session) -> None:
    mother, daughter = resolve(session, call(("user_id", "KH-1")), call(("user_id", "KH-2")))
    refused = run("identity", "merge", str(mother), str(daughter), "--reason", "same person")
    assert refused.exit_code == 1
    assert "2 user_id identifiers" in refused.stderr and "--force" in refused.stderr

    merged = run("identity", "merge", str(mother), str(daughter), "--reason", "same person", "--force")
    assert merged.exit_code == 0, merged.output
    session.rollback()
    merge: Merge = session.scalars(select(Merge)).one()
    assert (merge.survivor_id, merge.absorbed_id, merge.reason) == (mother, daughter, "same person")
    assert merge.actor.startswith("cli:")
    assert f"xuyen identity unmerge {merge.id}" in merged.stdout

    undone = run("identity", "unmerge", str(merge.id))
    assert undone.exit_code == 0, undone.output
    assert f"profiles {mother} and {daughter} are separate again" in undone.stdout
    session.rollback()
    assert list(session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id))) == [
        "profile.merged", "profile.unmerged"]
    twice = run("identity", "unmerge", str(merge.id))
    assert twice.exit_code == 1
    assert f"Merge {merge.id} was already undone." in twice.stderr


def test_merge_refuses_a_profile_into_itself_or_a_missing_reason(run: Run, session: Session) -> None:
    [profile] = resolve(session, call(("email", "a@shop.vn")))
    itself = run("identity", "merge", str(profile), str(profile), "--reason", "x")
    assert itself.exit_code == 1 and "cannot be merged into itself" in itself.stderr
    no_reason = run("identity", "merge", str(profile), "99")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.stderr


@pytest.mark.parametrize("command", [(), ("find",), ("show",), ("conflicts",), ("resolve",), ("merge",),
                                     ("unmerge",)])
def test_every_command_has_help(run: Run, command: tuple[str, ...]) -> None:
    result = run("identity", *command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
