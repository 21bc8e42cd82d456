"""``xuyen demo``: migrate, load the demo shop once, and run the server with a worker."""

from __future__ import annotations

from typing import Annotated

import typer

DEMO_COMMAND = "demo"


def register(app: typer.Typer) -> None:
    """Add ``xuyen demo`` to ``app`` (once, however often it is called)."""
    if any(info.name == DEMO_COMMAND for info in app.registered_commands):
        return
    app.command(DEMO_COMMAND)(demo)


def demo(
    host: Annotated[str | None, typer.Option(help="Address to listen on (XUYEN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (XUYEN_PORT).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the demo data (XUYEN_DEMO_SEED).")] = None,
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Run the server and a worker; --no-serve only migrates and loads.",
    )] = True,
) -> None:
    """Try Xuyên with a demo shop: migrate, load the demo data into an empty database, serve with a worker."""
    from xuyen.cli import run_server
    from xuyen.cli_support import fail
    from xuyen.config import get_settings
    from xuyen.migrate import upgrade

    settings = get_settings()
    if settings.is_production:
        raise fail("`xuyen demo` does not run with XUYEN_ENV=production: every demo account shares a "
                   "published password. Use `xuyen migrate` and `xuyen serve` instead.")
    upgrade(settings.database_url)
    has_demo_login = _load_if_empty(seed if seed is not None else settings.demo_seed)
    listen_host = host or settings.host
    listen_port = port or settings.port
    _print_welcome(url=_url(listen_host, listen_port), has_demo_login=has_demo_login)
    if not serve:
        typer.echo("--no-serve: the server was not started; `xuyen demo` starts it with a worker.")
        return
    typer.echo("Đang chạy máy chủ và worker; Ctrl-C để dừng. (Server and worker running; Ctrl-C stops them.)")
    run_server(host=listen_host, port=listen_port, with_worker=True, plain_logs=True)


def _load_if_empty(seed: int) -> bool:
    """Load the demo shop unless the database has data; returns whether the demo login exists."""
    from xuyen.auth.service import get_user_by_email
    from xuyen.db import get_engine, session_scope
    from xuyen.demo.inbox import finish_inbox
    from xuyen.demo.service import is_empty, load_demo
    from xuyen.demo.shop import DEMO_OWNER_EMAIL

    with session_scope() as session:
        if is_empty(session):
            done: list[str] = []
            typer.echo("Đang tạo dữ liệu mẫu…", nl=False)
            summary = load_demo(session, seed=seed, progress=lambda step: _tick(step, done))
            session.rollback()  # hand the database to the worker that builds SLA clocks and surveys
            finish_inbox(get_engine(), seed=seed)
            _tick("khảo sát", done)
            typer.echo("")
            typer.echo(f"Cửa hàng mẫu {summary.brand} đã sẵn sàng (seed {summary.seed}).")
        else:
            typer.echo("Dữ liệu đã có sẵn, không tạo lại dữ liệu mẫu. "
                       "(The database already has data; the demo shop was not loaded again.)")
        return get_user_by_email(session, email=DEMO_OWNER_EMAIL) is not None


def _tick(step: str, done: list[str]) -> None:
    """Show one finished step on the progress line: "… cửa hàng ✓, nguồn ✓"."""
    typer.echo(f"{',' if done else ''} {step} ✓", nl=False)
    done.append(step)


def _url(host: str, port: int) -> str:
    """The address to open in a browser for a server listening on ``host``."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _print_welcome(*, url: str, has_demo_login: bool) -> None:
    """The URL and the demo sign-in, in a box, then the other demo accounts."""
    from xuyen.db import session_scope
    from xuyen.demo.customers import showcase_customer
    from xuyen.demo.inbox import showcase_conversation
    from xuyen.demo.orders import showcase_return
    from xuyen.demo.service import demo_staff
    from xuyen.demo.shop import DEMO_OWNER_EMAIL, DEMO_PASSWORD, SHOP

    lines = [f"Xuyên — cửa hàng mẫu {SHOP.brand} (demo shop)", "", f"Mở / Open:      {url}"]
    if has_demo_login:
        lines += [f"Email:          {DEMO_OWNER_EMAIL}", f"Mật khẩu:       {DEMO_PASSWORD}", "",
                  "Mọi tài khoản mẫu dùng chung mật khẩu này; chỉ dùng để thử.",
                  "Every demo account shares this password: demo only."]
    else:
        lines += ["Đăng nhập bằng tài khoản của bạn. (Sign in with an existing account.)"]
    with session_scope() as session:
        showcase = showcase_customer(session)
        thread = showcase_conversation(session, profile_id=showcase) if showcase is not None else None
        returned = showcase_return(session)
    lines += ["", "Bán hàng và khách hàng mọi kênh (sales and customers dashboard):",
              f"                {url}/analytics/sales"]
    if showcase is not None:
        lines += ["Một khách hàng trên bốn kênh (one customer, four channels):",
                  f"                {url}/customers/{showcase}"]
    if thread is not None:
        lines += ["Một hội thoại qua Zalo, Messenger, e-mail, chat (one conversation):",
                  f"                {url}/inbox/{thread}"]
    if returned is not None:
        lines += ["Mua online, trả tại cửa hàng Hà Nội (bought online, returned in store):",
                  f"                {url}/orders/{returned}"]
    _print_box(lines)
    if not has_demo_login:
        return
    typer.echo("Tài khoản mẫu (demo accounts):")
    with session_scope() as session:
        for user in demo_staff(session):
            typer.echo(f"  {user.role.value:<8} {user.email:<28} {user.name}")


def _print_box(lines: list[str]) -> None:
    width = max(len(line) for line in lines)
    typer.echo("┌" + "─" * (width + 2) + "┐")
    for line in lines:
        typer.echo(f"│ {line:<{width}} │")
    typer.echo("└" + "─" * (width + 2) + "┘")
