"""Helpers for the browser tests: console capture, catalogs, signing in through the UI."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    APIRequestContext,
    APIResponse,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    expect,
)
from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parents[2]
# A build elsewhere can be tested without touching pwa/dist (parallel work on one checkout).
DIST = Path(os.environ.get("ANBAO_TEST_PWA_DIST") or REPO / "pwa" / "dist")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORDS = {
    name: f"{name}-demo-1" for name in ("guard", "guard2", "supervisor", "resident", "admin")
}


def demo_password(username: str) -> str:
    """Every demo account's password (those above, and the others `anbao demo` makes)."""
    return PASSWORDS.get(username, f"{username}-demo-1")


class BearerApi:
    """A test's own calls to the server with bearer tokens, no browser involved. Test files
    subclass it with their default user and the calls they need."""

    default_user = "admin"

    def __init__(self, request: APIRequestContext) -> None:
        self.request = request
        self.tokens: dict[str, str] = {}

    def login(self, username: str, device_uid: str | None = None) -> str:
        body: dict[str, Any] = {"username": username, "password": demo_password(username)}
        if device_uid:
            body["device"] = {"uid": device_uid, "name": "test replay"}
        answer = self.request.post("/api/auth/login", data=body)
        assert answer.ok, answer.text()
        return str(answer.json()["token"])

    def token(self, who: str) -> str:
        """A user's session token (signed in once), or a device token (`d_…`) as it is."""
        if who.startswith("d_"):
            return who
        if who not in self.tokens:
            self.tokens[who] = self.login(who)
        return self.tokens[who]

    def raw(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> APIResponse:
        headers = {
            "Authorization": f"Bearer {self.token(who or self.default_user)}",
            **kwargs.pop("headers", {}),
        }
        return self.request.fetch(path, method=method, headers=headers, **kwargs)

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        answer = self.raw(method, path, who, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status} {answer.text()}"
        return answer.json() if answer.text() else None


class Console:
    """Everything a context's pages said on the console, plus uncaught page errors."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.page_errors: list[str] = []

    def attach(self, context: BrowserContext) -> None:
        context.on("console", lambda msg: self.messages.append((msg.type, msg.text)))
        context.on("weberror", lambda err: self.page_errors.append(str(err.error)))

    def csp_violations(self) -> list[str]:
        return [text for _, text in self.messages if "Content Security Policy" in text]

    def i18n_misses(self) -> list[str]:
        return [text for _, text in self.messages if "[i18n] missing" in text]


def catalog(lang: str) -> dict[str, str]:
    """The merged catalog the PWA uses: backend error texts, then the UI strings."""
    merged: dict[str, str] = json.loads(
        (REPO / "backend" / "locales" / f"{lang}.json").read_text("utf-8")
    )
    merged.update(json.loads((REPO / "pwa" / "src" / "i18n" / f"{lang}.json").read_text("utf-8")))
    return merged


def all_keys() -> set[str]:
    return set(catalog("en")) | set(catalog("zh-CN"))


RAW_KEY = re.compile(
    r"\b(?:error|field|client|label|tile|role|login|header|home|devices|sessions|sync|duty|outbox"
    r"|signout|mutation)\.[a-z_]+\b"
)


def assert_no_raw_keys(page: Page, console: Console | None = None) -> None:
    """Fails when a catalog key (not its text) is visible or was reported missing."""
    text = page.locator("body").inner_text()
    leaked = sorted(k for k in all_keys() if k in text) + RAW_KEY.findall(text)
    assert not leaked, f"raw i18n keys on screen: {leaked}\n---\n{text}"
    if console is not None:
        assert not console.i18n_misses(), console.i18n_misses()


def sign_in(page: Page, username: str, password: str | None = None) -> None:
    """Signs in through the form and waits until the sign-in screen is gone."""
    if not page.url.endswith("/login"):
        page.goto("/login")
    page.locator("#login-username").fill(username)
    page.locator("#login-password").fill(PASSWORDS[username] if password is None else password)
    page.locator("form button[type=submit]").click()


def open_home(page: Page, role: str) -> None:
    """After a sign-in: picks `role` if the site/role picker shows, then waits for that home."""
    page.locator("section.home, .choices").first.wait_for()
    if page.locator(".choices").count():
        page.locator(f".choice[data-role='{role}']").first.click()
    page.locator(f"section.home[data-role='{role}']").wait_for()


def open_live_board(page: Page, username: str = "supervisor") -> None:
    """Signs in and opens the live board, connected; `window.__notReloaded` then tells whether
    the page was reloaded since."""
    page.goto("/login")
    sign_in(page, username)
    open_home(page, "supervisor")
    page.locator(".tile[data-tile='live_board']").click()
    expect(page.locator("[data-testid=live]")).to_have_attribute("data-live", "live")
    page.evaluate("window.__notReloaded = true")


def open_patrol(page: Page, username: str) -> None:
    """Signs a guard in and opens Patrol with its plan loaded (an English page)."""
    page.goto("/login")
    sign_in(page, username)
    open_home(page, "guard")
    page.locator(".tile[data-tile='patrol']").click()
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("updated")


def layout_problems(page: Page) -> list[str]:
    """Horizontal scroll, and controls smaller than 48×48 px or past the right edge."""
    return page.evaluate(
        """() => {
      const problems = [];
      const root = document.documentElement;
      if (root.scrollWidth > window.innerWidth) {
        problems.push(`horizontal scroll: ${root.scrollWidth}px`);
      }
      for (const el of document.querySelectorAll('button, input, select, textarea, a[href]')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;  // not shown
        const name = el.dataset.tile || el.dataset.action || el.id || el.textContent.trim();
        if (r.height < 48) problems.push(`${name}: ${r.height}px tall`);
        if (r.width < 48) problems.push(`${name}: ${r.width}px wide`);
        if (r.right > window.innerWidth + 0.5) problems.push(`${name}: past the right edge`);
      }
      return problems;
    }"""
    )


def wait_for_service_worker(page: Page) -> None:
    """Until the service worker is active and controls the page (one install, no retries: a
    failed install is a failure)."""
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout_ms=15_000)


def wait_until(page: Page, expression: str, timeout_ms: int = 10_000) -> None:
    """Poll a condition through `page.evaluate`.

    Not `wait_for_function` with a string: around a reload Playwright may evaluate that string
    with eval() in the page, which our CSP rightly refuses, and the test then reports the
    refusal as a violation of the app's own.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError:
            pass  # the page is between documents (reloading); ask again
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)


def natural_size(img: Locator, timeout_ms: int = 10_000) -> list[int]:
    """`[naturalWidth, naturalHeight]` of an `<img>` once it has loaded.

    Polled, never awaited in the page: `img.decode()` on a lazy image that is off screen, or
    that a redraw has just replaced, never settles, and `evaluate` has no timeout of its own (a
    CI run once hung there until it was killed). Each poll finds the element again.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        with contextlib.suppress(PlaywrightError):
            img.scroll_into_view_if_needed(timeout=1_000)
            size = img.evaluate(
                "(img) => img.complete && img.naturalWidth > 0"
                " ? [img.naturalWidth, img.naturalHeight] : null",
                timeout=1_000,
            )
            if size:
                return list(size)
        if time.monotonic() > deadline:
            raise AssertionError("the image did not load in time")
        img.page.wait_for_timeout(100)


# --- a phone: a persistent profile that can be killed and relaunched (offline) ---------------


def launch_phone(
    playwright: Playwright,
    server: Any,
    profile: Path,
    camera: Path | None = None,
    *,
    locale: str = "zh-CN",
    timeout_ms: int = 15_000,
    **kw: Any,
) -> BrowserContext:
    """Chromium on `profile`, phone-sized; `camera` is a video file Chromium plays as the camera.
    Launch with `offline=True` for a phone restarted with no signal (set_offline after launch
    would let an `online` event slip through)."""
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += [
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ]
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        args=args,
        headless=True,
        base_url=server.url,
        locale=locale,
        viewport={"width": 360, "height": 640},
        **kw,
    )
    context.set_default_timeout(timeout_ms)
    return context


def first_page(context: BrowserContext) -> Page:
    return context.pages[0] if context.pages else context.new_page()


def browser_pid(profile: Path) -> int:
    """The browser process (not a renderer or helper) running on `profile`."""
    wanted = f"--user-data-dir={profile}"
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if wanted in args and not any(a.startswith("--type=") for a in args):
            found.append(int(proc.name))
    assert len(found) == 1, f"browser processes on {profile}: {found}"
    return found[0]


def kill_browser(context: BrowserContext, profile: Path) -> None:
    """SIGKILL: the browser dies with no chance to flush anything."""
    os.kill(browser_pid(profile), signal.SIGKILL)
    with contextlib.suppress(PlaywrightError):  # the driver may already know it is gone
        context.close()
