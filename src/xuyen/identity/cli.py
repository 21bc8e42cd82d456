"""The ``xuyen identity`` commands: find and show profiles, review conflicts, merge and unmerge by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from xuyen.cli_support import cli_actor, errors_reported, local_time, table
from xuyen.db import session_scope
from xuyen.errors import XuyenError
from xuyen.identity import graph, service
from xuyen.identity.identifiers import IdentifierType
from xuyen.identity.models import IdentityConflict, Merge, ProfileIdentifier

GROUP = "identity"
MAX_ID = 2**63 - 1
TYPE_HELP = ("The identifier type: " + ", ".join(IdentifierType) + ", or a custom type sent in Segment's "
             "context.externalIds.")

# What to do next, for errors whose message does not already say it.
HINTS = {
    "profile_not_found": "Find a profile with `xuyen identity find --type phone --value …`.",
    "merge_not_found": "`xuyen identity show PROFILE_ID` lists a profile's merges with their ids.",
    "merge_already_undone": "`xuyen identity show PROFILE_ID` shows the profiles as they are now.",
}

identity_app = typer.Typer(help="The identity graph: find and show profiles, review conflicts, merge and unmerge.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``identity`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(identity_app, name=GROUP)


# Helpers -------------------------------------------------------------------------------------------


def _identifiers_table(rows: Sequence[ProfileIdentifier]) -> str:
    """A profile's identifiers, one per line."""
    lines = [(row.type, row.scope or "-", row.value, ",".join(row.flags) or "-", local_time(row.first_seen_at),
              local_time(row.last_seen_at)) for row in rows]
    return table(("TYPE", "SCOPE", "VALUE", "FLAGS", "FIRST SEEN", "LAST SEEN"), lines)


def _merges_table(rows: Sequence[Merge]) -> str:
    """Merges, one per line."""
    lines = [(str(row.id), str(row.survivor_id), str(row.absorbed_id), row.actor, local_time(row.created_at),
              local_time(row.undone_at), row.reason) for row in rows]
    return table(("ID", "SURVIVOR", "ABSORBED", "BY", "WHEN", "UNDONE", "REASON"), lines)


def _conflicts_table(rows: Sequence[IdentityConflict]) -> str:
    """Conflicts, one per line."""
    lines = [(str(row.id), row.rule, str(row.profile_id), str(row.other_profile_id or "-"), row.identifier,
              local_time(row.created_at), local_time(row.resolved_at), row.detail) for row in rows]
    return table(("ID", "RULE", "PROFILE", "OTHER", "IDENTIFIER", "WHEN", "RESOLVED", "DETAIL"), lines)


def _print_profile(view: service.ProfileView, *, full: bool) -> None:
    """The profile's id and identifiers; with ``full``, also its merges and open conflicts."""
    profile = view.profile
    if view.merged_into is not None:
        typer.echo(f"Profile {view.requested_id} was merged into profile {profile.id}; showing {profile.id}.")
    typer.echo(f"Profile {profile.id}  first seen {local_time(profile.first_seen_at)}  "
               f"last seen {local_time(profile.last_seen_at)}")
    if view.merged_ids:
        typer.echo("Merged into it: " + ", ".join(str(merged) for merged in view.merged_ids))
    typer.echo("")
    typer.echo(_identifiers_table(view.identifiers) if view.identifiers else "No identifiers.")
    if not full:
        return
    typer.echo("\nMerges:")
    typer.echo(_merges_table(view.merges) if view.merges else "None.")
    typer.echo("\nOpen conflicts:")
    typer.echo(_conflicts_table(view.open_conflicts) if view.open_conflicts else "None.")


ProfileArg = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="A profile id (an absorbed one works too).")]


# Commands ------------------------------------------------------------------------------------------


@identity_app.command("find")
def find(
    type: Annotated[str, typer.Option("--type", help=TYPE_HELP)],
    value: Annotated[str, typer.Option(help="The value in any format, e.g. \"0168 123 4567\".")],
    scope: Annotated[str | None, typer.Option(
        help="The page id (facebook_psid), OA/app id (zalo_id) or shop id (marketplace_buyer_id).")] = None,
) -> None:
    """Find the profile that holds an identifier; prints its id and identifiers."""
    with errors_reported(HINTS), session_scope() as session:
        _print_profile(service.lookup_profile(session, type=type, value=value, scope=scope), full=False)


@identity_app.command("show")
def show(profile_id: ProfileArg) -> None:
    """Show a profile: identifiers, the profiles merged into it, merges and open conflicts."""
    with errors_reported(HINTS), session_scope() as session:
        _print_profile(service.get_profile_view(session, profile_id=profile_id), full=True)


@identity_app.command("conflicts")
def conflicts(
    all_conflicts: Annotated[bool, typer.Option("--all", help="Resolved conflicts too.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many to show, newest first.")] = 100,
) -> None:
    """List the merges and attachments the identity rules refused, newest first."""
    with errors_reported(HINTS), session_scope() as session:
        rows = service.list_conflicts(session, open_only=not all_conflicts, limit=limit)
        if not rows:
            typer.echo("No identity conflicts." if all_conflicts else "No open identity conflicts.")
            return
        typer.echo(_conflicts_table(rows))
        if not all_conflicts:
            typer.echo("\nMerge the profiles with `xuyen identity merge SURVIVOR ABSORBED --reason … --conflict ID`, "
                       "or mark a conflict reviewed with `xuyen identity resolve ID --note …`.")


@identity_app.command("resolve")
def resolve(
    conflict_id: Annotated[int, typer.Argument(metavar="CONFLICT_ID", min=1, max=MAX_ID,
                                               help="The conflict (see `xuyen identity conflicts`).")],
    note: Annotated[str, typer.Option(help="Why nothing more is needed, e.g. \"mother and son\".")] = "",
) -> None:
    """Mark a conflict reviewed without merging (e.g. not the same person)."""
    with errors_reported(HINTS), session_scope() as session:
        conflict = service.resolve_conflict(session, conflict_id=conflict_id, actor=cli_actor(), note=note)
        typer.echo(f"Identity conflict {conflict.id} resolved at {local_time(conflict.resolved_at)}.")


@identity_app.command("merge")
def merge(
    survivor: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The profile that keeps its id.")],
    absorbed: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The profile merged into it.")],
    reason: Annotated[str, typer.Option(help="Why they are one customer (kept with the merge).")],
    force: Annotated[bool, typer.Option("--force", help="Merge even past the identity rules.")] = False,
    conflict: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="A conflict this merge settles.")] = None,
) -> None:
    """Merge two profiles by hand; the identity rules apply unless --force."""
    with errors_reported(HINTS), session_scope() as session:
        try:
            merged = service.merge_profiles(session, survivor_id=survivor, absorbed_id=absorbed, actor=cli_actor(),
                                            reason=reason, force=force, conflict_id=conflict)
        except XuyenError as exc:
            if exc.code == "merge_breaks_rules":
                exc.message += " Add --force once you are sure."
            raise
        typer.echo(f"Merge {merged.id}: profile {absorbed} is now part of profile {survivor}. "
                   f"Undo it with `xuyen identity unmerge {merged.id}`.")


@identity_app.command("unmerge")
def unmerge(
    merge_id: Annotated[int, typer.Argument(metavar="MERGE_ID", min=1, max=MAX_ID,
                                            help="The merge (see `xuyen identity show PROFILE_ID`).")],
) -> None:
    """Undo a merge: the absorbed profile stands alone again with the identifiers it brought."""
    with errors_reported(HINTS), session_scope() as session:
        undone = graph.unmerge(session, merge_id=merge_id, actor=cli_actor())
        typer.echo(f"Merge {undone.id} undone: profiles {undone.survivor_id} and {undone.absorbed_id} are "
                   "separate again.")
