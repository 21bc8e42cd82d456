"""The ``xuyen`` command line: serve, worker, migrate, jobs, and each domain's own commands."""

from __future__ import annotations

import importlib
import signal
import threading
from typing import Annotated

import typer

from xuyen.cli_support import fail, local_time
from xuyen.config import InsecureProductionSettings, get_settings
from xuyen.db import get_engine, session_scope
from xuyen.domains import cli_modules, load_handlers
from xuyen.errors import XuyenError
from xuyen.logs import configure_logging

app = typer.Typer(
    name="xuyen",
    help="Xuyên: one customer, one conversation, one stock, one price and one journey across every channel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
jobs_app = typer.Typer(help="Inspect background jobs and retry dead ones.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision (default: the newest).")] = "head",
) -> None:
    """Create or upgrade the database schema to the newest version."""
    from xuyen.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision=revision)
    typer.echo(f"Database is at revision {revision} ({settings.database_url.split('@')[-1]}).")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (XUYEN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (XUYEN_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Server processes sharing the port (XUYEN_SERVE_WORKERS); about one per CPU core. Each "
                    "has its own database connections, up to 30.")] = None,
    with_worker: Annotated[bool, typer.Option("--with-worker", help="Also run a worker in this process.")] = False,
) -> None:
    """Run the web server (the UI and the API)."""
    run_server(host=host, port=port, with_worker=with_worker, workers=workers)


def run_server(*, host: str | None, port: int | None, with_worker: bool, plain_logs: bool = False,
               workers: int | None = None) -> None:
    """Serve the app with uvicorn, optionally with a worker thread beside it (``plain_logs``: text, not JSON).

    With several ``workers``, uvicorn starts that many server processes, each building the app itself
    (``xuyen.app:create_served_app``); this process watches them and runs the worker thread, if any.
    """
    import uvicorn

    from xuyen.app import create_app

    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json and not plain_logs)
    processes = workers or settings.serve_workers
    try:
        application = create_app(settings) if processes == 1 else "xuyen.app:create_served_app"
    except InsecureProductionSettings as exc:
        raise fail(str(exc)) from exc
    stop = threading.Event()
    worker_thread = None
    if with_worker:
        worker_thread = start_worker_thread(stop)
    try:
        uvicorn.run(application, host=host or settings.host, port=port or settings.port, log_config=None,
                    proxy_headers=True, workers=processes, factory=processes > 1)
    finally:
        stop.set()
        if worker_thread is not None:
            worker_thread.join(timeout=30)


def start_worker_thread(stop: threading.Event) -> threading.Thread:
    """Start a worker in a background thread of this process."""
    from xuyen.worker import Worker

    load_handlers()
    worker = Worker(engine=get_engine())
    thread = threading.Thread(target=worker.run, args=(stop,), name="xuyen-worker", daemon=True)
    thread.start()
    return thread


@app.command()
def worker(
    import_modules: Annotated[
        list[str] | None,
        typer.Option("--import", help="Extra module whose job handlers to load (repeatable)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Jobs claimed at a time (XUYEN_WORKER_BATCH_SIZE).")] = None,
    lease_seconds: Annotated[float | None, typer.Option(help="Job lease (XUYEN_JOB_LEASE_SECONDS).")] = None,
    poll_seconds: Annotated[float | None, typer.Option(help="Sleep when idle (XUYEN_WORKER_POLL_SECONDS).")] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", help="Leave jobs of this name to other workers (repeatable), e.g. "
                                    "inbox.process_receipt for a worker of follow-ups only."),
    ] = None,
) -> None:
    """Run a worker: deliver outbox events and run due jobs until stopped (Ctrl-C or SIGTERM)."""
    from datetime import timedelta

    from xuyen.worker import Worker

    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    load_handlers()
    for module in import_modules or []:
        importlib.import_module(module)
    the_worker = Worker(engine=get_engine(), skip=frozenset(skip or ()))
    if batch_size:
        the_worker.batch_size = batch_size
    if lease_seconds:
        the_worker.lease = timedelta(seconds=lease_seconds)
    if poll_seconds:
        the_worker.poll_seconds = poll_seconds
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"Worker {the_worker.worker_id} running; Ctrl-C to stop.", err=True)
    the_worker.run(stop)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="queued, running, done or dead.")] = None,
    name: Annotated[str | None, typer.Option(help="Only jobs with this handler name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many to show.")] = 50,
) -> None:
    """List recent jobs with their status, attempts and last error."""
    from xuyen.jobs import JobStatus, count_by_status, list_jobs

    try:
        wanted = JobStatus(status) if status else None
    except ValueError as exc:
        raise fail(f"Unknown status {status!r}; use one of: {', '.join(s.value for s in JobStatus)}.") from exc
    with session_scope() as session:
        counts = count_by_status(session)
        rows = list_jobs(session, status=wanted, name=name, limit=limit)
        typer.echo("  ".join(f"{key}: {value}" for key, value in counts.items()))
        for row in rows:
            error = (row.last_error or "").strip().splitlines()[-1:] or [""]
            typer.echo(f"{row.id:>8}  {row.status.value:<8} {row.name:<32} attempts {row.attempts}/"
                       f"{row.max_attempts}  run at {local_time(row.run_at)}  {error[0][:100]}")


@jobs_app.command("retry")
def jobs_retry(
    job_id: Annotated[int | None, typer.Argument(help="The dead job to retry.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Retry every dead job.")] = False,
    name: Annotated[str | None, typer.Option(help="With --all: only dead jobs with this handler name.")] = None,
) -> None:
    """Put a dead job (or every dead job) back in the queue."""
    from xuyen.jobs import retry_dead_jobs, retry_job

    if job_id is None and not all_dead:
        raise fail("Give a job id, or --all to retry every dead job. `xuyen jobs list --status dead` shows them.")
    with session_scope() as session:
        if all_dead:
            count = retry_dead_jobs(session, name=name)
            typer.echo(f"{count} dead job(s) queued again.")
            return
        assert job_id is not None
        try:
            retry_job(session, job_id=job_id)
        except XuyenError as exc:
            raise fail(exc.message) from exc
        typer.echo(f"Job {job_id} queued again.")


@app.callback()
def _check_settings() -> None:
    """Refuse to run anything in production while a secret has its development default."""
    try:
        get_settings().check_production_ready()
    except InsecureProductionSettings as exc:
        raise fail(str(exc)) from exc


def main() -> None:
    """Entry point of the ``xuyen`` command."""
    for module in cli_modules():
        module.register(app)
    app()


if __name__ == "__main__":
    main()
