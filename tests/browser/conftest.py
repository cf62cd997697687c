"""Browser tests: a real Anbao server per test module, driven through Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.browser_support import CHROMIUM, CHROMIUM_ARGS, DIST, REPO, Console

BACKEND = "backend.cli"

# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", BACKEND, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"`anbao {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Server:
    """One `anbao serve` process on a fixed port; a test may stop it (the phone's network does
    not reach it) and start it again on the same address and data."""

    def __init__(self, port: int, data_dir: Path, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.data_dir = data_dir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log_path = self.data_dir / "server.log"
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    BACKEND,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not _healthy(self.url) and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # a plain wait for the server to come up
        if not _healthy(self.url):
            pytest.fail(
                "the server did not answer /api/health:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="module")
def pwa_dir() -> Path:
    """The built PWA the server serves; a module may override it with a copy it can change."""
    if not (DIST / "index.html").is_file() or not (DIST / "sw.js").is_file():
        pytest.fail("pwa/dist is missing: build the PWA first (`npm ci && npm run build` in pwa/)")
    return DIST


@contextmanager
def demo_server(
    tmp_path_factory: pytest.TempPathFactory,
    pwa_dir: Path,
    settings: dict[str, str] | None = None,
    commands: tuple[str, ...] = (),
) -> Iterator[Server]:
    """The demo community migrated and seeded in a fresh data directory, served by its own
    process; `settings` are extra ANBAO_ variables, `commands` further `anbao` commands run
    before it starts (`vapid`)."""
    data = tmp_path_factory.mktemp("anbao")
    env = {
        **os.environ,
        "ANBAO_DATA_DIR": str(data),
        "ANBAO_DATABASE_URL": f"sqlite://{data}/anbao.sqlite3",
        "ANBAO_PWA_DIR": str(pwa_dir),
        **(settings or {}),
    }
    for command in ("migrate", "demo", *commands):
        _cli(env, command)
    server = Server(_free_port(), data, env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pwa_dir: Path) -> Iterator[Server]:
    with demo_server(tmp_path_factory, pwa_dir) as server:
        yield server


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


# Runs in every page before its scripts: records CSP violations the page itself sees.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


ContextFactory = Callable[..., tuple[BrowserContext, Page, Console]]


@pytest.fixture
def new_context(browser: Browser, server: Server) -> Iterator[ContextFactory]:
    """Makes isolated contexts (one phone/tablet each) on the module's server."""
    made: list[BrowserContext] = []

    def make(
        locale: str = "zh-CN", viewport: tuple[int, int] = (360, 640), **kwargs: Any
    ) -> tuple[BrowserContext, Page, Console]:
        context = browser.new_context(
            base_url=server.url,
            locale=locale,
            viewport={"width": viewport[0], "height": viewport[1]},
            **kwargs,
        )
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_WATCH)
        console = Console()
        console.attach(context)
        made.append(context)
        return context, context.new_page(), console

    yield make
    for context in made:
        context.close()
