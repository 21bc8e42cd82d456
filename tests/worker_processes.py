"""Real ``xuyen worker`` processes against the test database, for tests that kill workers mid-run: each logs to a
file, ``wait_for`` polls a condition (and shows the logs when it times out), ``stop_all`` ends them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class WorkerProcesses:
    """Starts ``xuyen worker`` processes against the test database and stops them at the end."""

    def __init__(self, db_url: str, log_dir: Path) -> None:
        self.db_url, self.log_dir = db_url, log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """One more worker process, with these extra command-line arguments."""
        env = dict(os.environ, XUYEN_DATABASE_URL=self.db_url, XUYEN_ENV="test", PYTHONPATH=str(REPO),
                   XUYEN_LOG_LEVEL="WARNING")
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "xuyen.cli", "worker", *args], cwd=REPO, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        """SIGTERM every live worker and wait for it (SIGKILL after 30 s)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        """The end of every worker's log."""
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log")))

    def wait_for(self, condition: Callable[[], bool], *, within: float, what: str) -> None:
        """Poll ``condition`` until it holds; fail with the workers' logs after ``within`` seconds or when a
        worker that was not killed on purpose died."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if condition():
                return
            if any(process.poll() not in (None, -signal.SIGKILL) for process in self.processes):
                break
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")
