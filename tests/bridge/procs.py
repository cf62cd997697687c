"""`anbao-bridge` as real subprocesses: configured by a TOML file and the environment, talking
to the fake BlueZ's bus and to a backend on a real port."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BridgeCli:
    tmp: Path
    bus_address: str
    backend_url: str
    token: str
    extra: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def spool_path(self) -> Path:
        return self.tmp / "spool" / "spool.sqlite3"

    @property
    def config_path(self) -> Path:
        path = self.tmp / "bridge.toml"
        path.write_text(
            f'backend_url = "{self.backend_url}"\n'
            f'token = "{self.token}"\n'
            'adapter = "hci0"\n'
            f'spool_path = "{self.spool_path}"\n'
            "batch_seconds = 0.3\n"
            "adapter_poll_seconds = 0.2\n"
            "retry_max_seconds = 0.5\n"
            "http_timeout_seconds = 3\n",
            encoding="utf-8",
        )
        return path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANBAO_")}
        env.update(DBUS_SYSTEM_BUS_ADDRESS=self.bus_address, PYTHONUNBUFFERED="1", **self.extra)
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ble_bridge.cli", "--config", str(self.config_path), *args]

    def run(
        self, *args: str, timeout: float = 60, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        log = (self.tmp / f"bridge-{len(self.procs)}.log").open("w")
        proc = subprocess.Popen(
            self.argv(*args),
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, index: int = -1) -> str:
        n = len(self.procs) + index if index < 0 else index
        return (self.tmp / f"bridge-{n}.log").read_text(encoding="utf-8")

    def spooled(self) -> list[str]:
        """Batch ids in the spool file, oldest first (read beside the running bridge)."""
        if not self.spool_path.exists():
            return []
        conn = sqlite3.connect(self.spool_path, timeout=10)
        try:
            return [r[0] for r in conn.execute("SELECT batch_id FROM batches ORDER BY seq")]
        except sqlite3.OperationalError:  # the bridge has not created the tables yet
            return []
        finally:
            conn.close()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
