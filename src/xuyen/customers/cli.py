"""The ``xuyen customers`` commands: find and show customers, export or erase a person, rebuild customers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from xuyen.cli_support import cli_actor, errors_reported, local_time, table
from xuyen.customers import privacy, service
from xuyen.db import session_scope
from xuyen.domains import load_handlers

GROUP = "customers"
MAX_ID = 2**63 - 1

customers_app = typer.Typer(help="Customers: find them, see their profile, import customer lists, export or "
                                 "erase a person's data.", no_args_is_help=True)

CustomerArg = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The customer's profile id (an absorbed one "
                                                                    "works too).")]


def register(app: typer.Typer) -> None:
    """Add the ``customers`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(customers_app, name=GROUP)


@customers_app.command("find")
def find(
    query: Annotated[str, typer.Argument(help="A name (with or without diacritics), a phone in any format, an "
                                              "e-mail or any identifier.")],
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many to list at most.")] = 20,
) -> None:
    """Find customers by name, phone, e-mail or any identifier."""
    with errors_reported(), session_scope() as session:
        rows = service.search_customers(session, query=query, limit=limit)
        if not rows:
            typer.echo(f"No customer matches {query!r}. Try fewer words, or another phone format.")
            return
        typer.echo(table(("ID", "NAME", "PHONES", "E-MAILS", "LAST SEEN"),
                         [(str(row.profile_id), row.display_name or "-", ", ".join(row.phones) or "-",
                           ", ".join(row.emails) or "-", local_time(row.last_seen_at)) for row in rows]))


@customers_app.command("show")
def show(customer_id: CustomerArg) -> None:
    """Show a customer: traits with their source, computed traits, consents and identifiers (audited)."""
    with errors_reported(), session_scope() as session:
        customer = service.get_customer(session, profile_id=customer_id, actor=cli_actor())
        state, names = customer.state, customer.source_names
        if customer.view.merged_into is not None:
            typer.echo(f"Customer {customer_id} was merged into {state.profile_id}; showing {state.profile_id}.")
        typer.echo(f"Customer {state.profile_id}: {state.name or '(no name)'}\n")
        typer.echo(table(("TRAIT", "VALUE", "SOURCE", "WHEN"),
                         [(name, json.dumps(o.value, ensure_ascii=False)[:60], names.get(o.source_id, "?"),
                           local_time(o.at)) for name, o in sorted(state.traits.items())]) if state.traits
                   else "No traits.")
        computed = state.computed
        typer.echo(f"\nSeen {local_time(computed.first_seen_at)} – {local_time(computed.last_seen_at)}; "
                   f"{computed.events} events on " + (", ".join(c["channel"] for c in computed.channels) or "-")
                   + f"; {computed.orders} orders; revenue " + (", ".join(
                       f"{amount:,} {currency}" for currency, amount in computed.revenue.items()) or "0")
                   + f"; prefers {computed.preferred_channel or '-'}.")
        typer.echo("\nConsents:")
        typer.echo(table(("CHANNEL", "PURPOSE", "STATUS", "WHEN", "PROOF"),
                         [(c.channel, c.purpose, c.status, local_time(c.recorded_at), c.proof.get("text", "-"))
                          for c in state.consents]) if state.consents else "None recorded.")
        typer.echo("\nIdentifiers:")
        typer.echo(table(("TYPE", "SCOPE", "VALUE"), [(i.type, i.scope or "-", i.value) for i in state.identifiers]))


@customers_app.command("export")
def export(
    customer_id: CustomerArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON here instead of printing "
                                                                         "it.")] = None,
) -> None:
    """Export everything held about a person as JSON (audited)."""
    load_handlers()  # every domain's section of the export
    with errors_reported(), session_scope() as session:
        data = privacy.export_person(session, profile_id=customer_id, actor=cli_actor())
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"Wrote the data of customer {data['profile_id']} ({len(data['events'])} events) to {output}.")


@customers_app.command("erase")
def erase(
    customer_id: CustomerArg,
    reason: Annotated[str, typer.Option(help="Why: the person's request, its date and channel.")],
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking (it cannot be undone).")] = False,
) -> None:
    """Erase a person: identifiers, traits, consents and their events' personal fields (audited, irreversible)."""
    if not yes:
        typer.confirm(f"Erase customer {customer_id} for good? This cannot be undone.", abort=True)
    with errors_reported(), session_scope() as session:
        erasure = privacy.erase_person(session, profile_id=customer_id, actor=cli_actor(), reason=reason)
        counts = erasure.counts
    typer.echo(f"Erased customer {customer_id}: {counts['identifiers']} identifiers removed, {counts['events']} "
               f"events stripped of personal data.")


@customers_app.command("rebuild")
def rebuild() -> None:
    """Rebuild every customer from the event log (after changing XUYEN_TRAIT_PRECEDENCE, say)."""
    with errors_reported(), session_scope() as session:
        done = service.rebuild_all_customers(session, progress=lambda n: typer.echo(f"  {n:,} customers rebuilt…"))
    typer.echo(f"Rebuilt {done:,} customers.")
