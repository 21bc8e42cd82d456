"""The ``xuyen user`` and ``xuyen apikey`` commands: staff users and API keys from the shell."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from xuyen.auth import service
from xuyen.auth.models import Role
from xuyen.cli_support import errors_reported, local_time, table
from xuyen.config import get_settings
from xuyen.db import session_scope
from xuyen.stores import service as stores_service


class Locale(enum.StrEnum):
    """The languages of the UI."""

    vi = "vi"
    en = "en"


MAX_ID = 2**31 - 1
ROLE_HELP = ("owner: everything, every store; manager: staff and data of their store, adds agents; "
             "agent: day-to-day work in their store.")

user_app = typer.Typer(help="Staff users who sign in to the UI: add, list, reset a password.",
                       no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machine clients: create, list, revoke.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``user`` and ``apikey`` command groups to the root command (once)."""
    present = {group.name for group in app.registered_groups}
    if "user" not in present:
        app.add_typer(user_app, name="user")
    if "apikey" not in present:
        app.add_typer(apikey_app, name="apikey")


# Helpers -------------------------------------------------------------------------------------------






def _store_id(session: Session, code: str | None) -> int | None:
    """The id of the store with ``code`` (None when no code is given)."""
    return stores_service.get_by_code(session, code=code).id if code else None


def _store_codes(session: Session) -> dict[int, str]:
    """Store codes by id, to show in listings."""
    return {store.id: store.code for store in stores_service.list_all(session)}


def _ask_password(password: str | None) -> str:
    """The given password, or one typed twice without echo."""
    if password is not None:
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


# Users ---------------------------------------------------------------------------------------------

EmailOption = Annotated[str, typer.Option(help="The e-mail address the user signs in with.")]
PasswordOption = Annotated[str | None, typer.Option(
    help="The password (at least 8 characters). Leave it out to type it hidden, twice: a password given "
         "here stays in the shell history.")]


@user_app.command("create")
def user_create(
    email: EmailOption,
    name: Annotated[str, typer.Option(help="The user's full name, as colleagues see it.")],
    role: Annotated[Role, typer.Option(help=ROLE_HELP, case_sensitive=False)],
    store: Annotated[str | None, typer.Option(
        help="Code of the store the user works in (managers and agents; owners have none).")] = None,
    locale: Annotated[Locale | None, typer.Option(
        help="Language of the UI (default: XUYEN_DEFAULT_LOCALE).", case_sensitive=False)] = None,
    password: PasswordOption = None,
) -> None:
    """Add a staff user who can sign in to the UI."""
    secret = _ask_password(password)
    with errors_reported(), session_scope() as session:
        user = service.create_user(session, email=email, name=name, password=secret, role=role,
                                   store_id=_store_id(session, store),
                                   locale=locale.value if locale else get_settings().default_locale)
        where = f" in store {store.strip().upper()}" if store else ""
        typer.echo(f"Created {user.role.value} {user.email} (id {user.id}){where}. They can sign in now.")


@user_app.command("list")
def user_list(
    store: Annotated[str | None, typer.Option(help="Only the users of the store with this code.")] = None,
) -> None:
    """List staff users with their role, store and last sign-in."""
    with errors_reported(), session_scope() as session:
        users = service.list_users(session, store_id=_store_id(session, store))
        codes = _store_codes(session)
        if not users:
            typer.echo("No users yet. Add the first owner with `xuyen user create --role owner`.")
            return
        rows = [(str(user.id), user.email, user.name, user.role.value, codes.get(user.store_id or 0, "-"),
                 "yes" if user.is_active else "no", user.locale, local_time(user.last_login_at))
                for user in users]
        headers = ("ID", "E-MAIL", "NAME", "ROLE", "STORE", "ACTIVE", "LANG", "LAST SIGN-IN")
        typer.echo(table(headers, rows))


@user_app.command("set-password")
def user_set_password(email: EmailOption, password: PasswordOption = None) -> None:
    """Give a user a new password: their browser sessions end and a sign-in lock is lifted."""
    secret = _ask_password(password)
    with errors_reported(), session_scope() as session:
        user = service.reset_password(session, email=email, password=secret)
        typer.echo(f"New password set for {user.email}; they were signed out everywhere and may sign in now.")


# API keys ------------------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    role: Annotated[Role, typer.Option(help="What the key may do. " + ROLE_HELP, case_sensitive=False)],
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'POS sync Q1'.")],
    store: Annotated[str | None, typer.Option(
        help="Code of the store the key is limited to (not for owner keys).")] = None,
) -> None:
    """Create an API key; the key is printed once, as the last line on stdout."""
    with errors_reported(), session_scope() as session:
        row, key = service.create_api_key(session, name=name, role=role, store_id=_store_id(session, store))
        typer.secho(f"Created API key {row.id} ({row.name}, {row.role.value}). Copy the key below now: it is "
                    "shown only this once and cannot be recovered. Send it as `Authorization: Bearer <key>`.",
                    err=True, fg=typer.colors.YELLOW)
        typer.echo(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (their prefixes, never the keys), newest first."""
    with errors_reported(), session_scope() as session:
        rows = service.list_api_keys(session)
        codes = _store_codes(session)
        if not rows:
            typer.echo("No API keys yet. Create one with `xuyen apikey create --role agent --name NAME`.")
            return
        lines = [(str(row.id), f"{service.API_KEY_PREFIX}_{row.prefix}_…", row.name, row.role.value,
                  codes.get(row.store_id or 0, "-"), local_time(row.created_at), local_time(row.last_used_at),
                  local_time(row.revoked_at)) for row in rows]
        headers = ("ID", "PREFIX", "NAME", "ROLE", "STORE", "CREATED", "LAST USED", "REVOKED")
        typer.echo(table(headers, lines))


@apikey_app.command("revoke")
def apikey_revoke(
    api_key_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=MAX_ID,
                                              help="The id of the key (see `xuyen apikey list`).")],
) -> None:
    """Revoke an API key at once: requests with it are refused from now on."""
    with errors_reported(), session_scope() as session:
        row = service.revoke_api_key(session, api_key_id=api_key_id)
        typer.echo(f"API key {row.id} ({row.name}) is revoked since {local_time(row.revoked_at)}.")
