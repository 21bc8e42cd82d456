"""``xuyen serve --workers N``: several server processes on one port, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xuyen import cli
from xuyen.events.models import ChannelType, Event
from xuyen.events.service import create_source

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_processes(parent: int) -> list[int]:
    """The children ``parent`` started to serve (uvicorn spawns them through multiprocessing)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(child) for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def _wait_ready(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            if httpx.get(f"{base}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not become ready within {STARTUP_SECONDS:.0f} s")


def test_two_server_processes_share_the_port_and_stop_together(db_url: str, session: Session,
                                                               tmp_path: Path) -> None:
    _, key = create_source(session, name="Website", channel=ChannelType.web)
    port = _free_port()
    env = dict(os.environ, XUYEN_DATABASE_URL=db_url, XUYEN_ENV="test", XUYEN_LOG_LEVEL="WARNING",
               PYTHONPATH=str(REPO))
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "xuyen.cli", "serve", "--port", str(port), "--workers", "2"],
                                   cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(process, base)
            servers = _server_processes(process.pid)
            assert len(servers) == 2
            with httpx.Client(base_url=base, auth=(key, ""), timeout=30) as http:
                for number in range(10):
                    batch = {"batch": [{"type": "track", "event": "Product Viewed", "userId": f"KH-{number}",
                                        "messageId": f"m-{number}-{item}"} for item in range(5)]}
                    assert http.post("/v1/batch", json=batch).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    assert all(not Path(f"/proc/{server}").exists() for server in servers), "SIGTERM stops every server process"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Event)) == 50


def test_workers_must_be_at_least_one() -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output
