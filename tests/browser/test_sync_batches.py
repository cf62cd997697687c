"""The outbox against a server that refuses big batches (413) and a session revoked mid-flush,
in real Chromium: every entry still reaches the server exactly once, nothing unsent is lost.

The server here takes at most 5 mutations per push and 6,000-byte bodies; phones send up to 100.
Every push (the page's and the service worker's) goes through a proxy route that forwards it to
the real server unchanged and notes what was sent and answered.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.browser_support import (
    DIST,
    PASSWORDS,
    catalog,
    open_home,
    sign_in,
    wait_for_service_worker,
)
from tests.browser.conftest import Server, demo_server

pytestmark = pytest.mark.browser

SITE_ID = 1
MAX_BATCH = 5
MAX_BODY = 6_000
# A failed first try is retried after 5 s, then 15 s: a loaded machine gets that long.
SENT_WITHIN_MS = 45_000


@pytest.fixture(scope="module")
def pwa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built app, so a rebuild elsewhere cannot change it under these tests."""
    if not (DIST / "index.html").is_file() or not (DIST / "sw.js").is_file():
        pytest.fail("pwa/dist is missing: build the PWA first (`npm ci && npm run build` in pwa/)")
    copy = tmp_path_factory.mktemp("pwa") / "dist"
    shutil.copytree(DIST, copy)
    return copy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pwa_dir: Path) -> Iterator[Server]:
    with demo_server(
        tmp_path_factory,
        pwa_dir,
        {"ANBAO_SYNC_MAX_BATCH": str(MAX_BATCH), "ANBAO_MAX_BODY_BYTES": str(MAX_BODY)},
    ) as server:
        yield server


# --- the server, seen from the test (plain HTTP, usable inside a route handler) ---------------


def call(server: Server, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


def token_of(server: Server, username: str) -> str:
    answer = call(
        server,
        "POST",
        "/api/auth/login",
        body={"username": username, "password": PASSWORDS[username]},
    )
    return str(answer["token"])


def entries_on_server(server: Server, marker: str) -> list[dict[str, Any]]:
    token = token_of(server, "supervisor")
    answer = call(server, "GET", f"/api/sites/{SITE_ID}/duty-log?limit=200&q={marker}", token)
    return list(answer["items"])


# --- the phone ---------------------------------------------------------------------------------


@dataclass
class Push:
    ids: list[str]
    texts: list[str]
    status: int
    code: str
    by_worker: bool  # sent by the service worker (Background Sync), not by the page


@dataclass
class PushProxy:
    """Forwards every push to the server as it is, remembering what went and what came back.
    `before(n)` runs before the n-th push (counting from 1) is forwarded.

    A routed request is sent by Playwright, past the browser's offline emulation: while the
    phone is offline the proxy fails it as the network would.
    """

    context: BrowserContext
    pushes: list[Push] = field(default_factory=list)
    before: Callable[[int], None] | None = None
    offline: bool = False

    def set_offline(self, offline: bool) -> None:
        self.offline = offline
        self.context.set_offline(offline)

    def __call__(self, route: Route) -> None:
        if self.offline:
            route.abort("internetdisconnected")
            return
        if self.before is not None:
            self.before(len(self.pushes) + 1)
        body = route.request.post_data_json or {}
        answer = route.fetch()
        code = ""
        if answer.status != 200:
            code = (answer.json().get("error") or {}).get("code", "")
        mutations = body.get("mutations", [])
        self.pushes.append(
            Push(
                [m["id"] for m in mutations],
                [m["args"]["text"] for m in mutations],
                answer.status,
                code,
                route.request.service_worker is not None,
            )
        )
        route.fulfill(response=answer)

    def applied_ids(self) -> list[str]:
        return [i for p in self.pushes if p.status == 200 for i in p.ids]


def phone(new_context: Any) -> tuple[Page, Any, PushProxy]:
    context, page, console = new_context(locale="en")
    proxy = PushProxy(context)
    context.route("**/api/sync/push", proxy)  # the service worker's pushes too
    sign_in(page, "guard")
    open_home(page, "guard")
    page.locator(".tile[data-tile='duty_log']").click()
    page.locator("form.duty-form").wait_for()
    return page, console, proxy


def write_entry(page: Page, text: str) -> None:
    form = page.locator("form.duty-form")
    form.locator("textarea[name=text]").fill(text)
    form.locator("select[name=category]").select_option("patrol")
    form.locator("[data-action=save-entry]").click()
    expect(form.locator("textarea[name=text]")).to_have_value("")
    # Saved on the phone: it is listed (a redraw of the view would also empty the field).
    expect(page.locator("[data-testid=duty-log] > li", has_text=text)).to_have_count(1)


def status_bar(page: Page) -> Any:
    return page.locator("[data-testid=sync-status]")


OUTBOX_COUNT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('anbao');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('outbox').objectStore('outbox').getAll();
    req.onsuccess = () => {
      open.result.close();
      resolve(req.result.map((m) => ({text: m.args.text, status: m.status, code: m.code})));
    };
  };
})"""


def wait_for(page: Page, check: Callable[[], bool], timeout_ms: int = 20_000) -> None:
    waited = 0
    while not check():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(200)
        waited += 200


# --- 413: the outbox halves its batch ----------------------------------------------------------


def test_a_batch_the_server_finds_too_large_is_halved_and_sent_once(new_context, server):
    marker = f"m{uuid.uuid4().hex[:10]}"
    page, console, proxy = phone(new_context)
    proxy.set_offline(True)
    texts = [f"{marker} #{i:02d}" for i in range(12)]
    for text in texts:
        write_entry(page, text)
    expect(status_bar(page)).to_have_attribute("data-waiting", "12")

    proxy.set_offline(False)
    expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=SENT_WITHIN_MS)
    expect(status_bar(page)).to_have_attribute("data-rejected", "0")

    # The first try carried all 12 and was refused whole; then batches of the server's limit.
    first = proxy.pushes[0]
    assert (len(first.ids), first.status, first.code) == (12, 413, "batch_too_large")
    accepted = [p for p in proxy.pushes if p.status == 200]
    assert [len(p.ids) for p in accepted] == [5, 5, 2]
    assert not [p for p in proxy.pushes[1:] if p.status != 200]
    # Each entry once, in the order written.
    assert [t for p in accepted for t in p.texts] == texts
    on_server = entries_on_server(server, marker)
    assert sorted(e["text"] for e in on_server) == texts
    expect(
        page.locator("[data-testid=duty-log] > li[data-state=synced]", has_text=marker)
    ).to_have_count(12)
    assert page.evaluate(OUTBOX_COUNT) == []
    assert not console.page_errors


def test_a_body_over_the_servers_limit_is_halved_and_one_too_big_alone_is_rejected(
    new_context, server
):
    marker = f"m{uuid.uuid4().hex[:10]}"
    page, console, proxy = phone(new_context)
    proxy.set_offline(True)
    # ~1,550 bytes each: four make a body over 6,000 bytes, two do not.
    texts = [f"{marker} long #{i} " + "x" * 1_520 for i in range(4)]
    # 2,000 characters of 3 bytes each: over the limit even alone.
    huge = f"{marker} huge " + "巡" * 1_980
    write_entry(page, texts[0])
    write_entry(page, huge)
    for text in texts[1:]:
        write_entry(page, text)
    expect(status_bar(page)).to_have_attribute("data-waiting", "5")

    proxy.set_offline(False)
    expect(status_bar(page)).to_have_attribute("data-rejected", "1", timeout=SENT_WITHIN_MS)
    expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=SENT_WITHIN_MS)

    refused = [p for p in proxy.pushes if p.status == 413]
    assert refused and {p.code for p in refused} == {"body_too_large"}
    assert len(refused[0].ids) == 5
    # The entry too big on its own was tried alone once, then kept as rejected, not retried.
    assert [p.texts for p in refused if len(p.ids) == 1] == [[huge]]
    assert [t for p in proxy.pushes if p.status == 200 for t in p.texts] == texts
    assert sorted(e["text"] for e in entries_on_server(server, marker)) == sorted(texts)
    kept = page.evaluate(OUTBOX_COUNT)
    assert [(m["text"], m["status"], m["code"]) for m in kept] == [
        (huge, "rejected", "body_too_large")
    ]
    # The guard sees it with its reason.
    status_bar(page).click()
    item = page.locator("[data-testid=outbox] > li[data-status=rejected]")
    expect(item).to_have_count(1)
    expect(item.locator("[data-testid=reason]")).to_contain_text(
        catalog("en")["error.body_too_large"].split("{")[0].strip()
    )
    assert not console.page_errors


# --- 401 in the middle of a flush ----------------------------------------------------------------


def test_a_session_revoked_mid_flush_keeps_the_rest_until_the_guard_signs_in_again(
    new_context, server
):
    marker = f"m{uuid.uuid4().hex[:10]}"
    page, console, proxy = phone(new_context)
    session_id = page.evaluate("fetch('/api/auth/me').then((r) => r.json())")["session_id"]
    proxy.set_offline(True)
    texts = [f"{marker} #{i:02d}" for i in range(12)]
    for text in texts:
        write_entry(page, text)
    expect(status_bar(page)).to_have_attribute("data-waiting", "12")

    # A supervisor signs the phone out while it is sending: after the first batch went in.
    revoked: list[int] = []

    def revoke_before(n: int) -> None:
        if len(proxy.applied_ids()) >= MAX_BATCH and not revoked:
            call(server, "DELETE", f"/api/auth/sessions/{session_id}", token_of(server, "guard"))
            revoked.append(n)

    proxy.before = revoke_before
    proxy.set_offline(False)

    # The phone stops, says why, and asks to sign in again.
    expect(page).to_have_url(re.compile(r"/login$"), timeout=SENT_WITHIN_MS)
    texts_en = catalog("en")
    expect(page.locator(".notice")).to_contain_text(texts_en["error.session_revoked"])
    assert revoked, "the session was never revoked mid-flush"
    refused = [p for p in proxy.pushes if p.status == 401]
    assert refused and {p.code for p in refused} == {"session_revoked"}
    page.wait_for_timeout(1_000)  # nothing more goes out meanwhile
    attempts = len(proxy.pushes)
    sent_first = [t for p in proxy.pushes if p.status == 200 for t in p.texts]
    assert sent_first == texts[: len(sent_first)] and len(sent_first) >= MAX_BATCH
    kept = page.evaluate(OUTBOX_COUNT)
    assert [m["text"] for m in kept] == texts[len(sent_first) :]
    assert {m["status"] for m in kept} == {"waiting"}
    assert sorted(e["text"] for e in entries_on_server(server, marker)) == sent_first
    page.wait_for_timeout(1_000)
    assert len(proxy.pushes) == attempts

    # Signed in again: the rest goes, each once.
    sign_in(page, "guard")
    open_home(page, "guard")
    expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=SENT_WITHIN_MS)
    assert sorted(e["text"] for e in entries_on_server(server, marker)) == texts
    assert sorted(proxy.applied_ids()) == sorted(set(proxy.applied_ids()))
    assert page.evaluate(OUTBOX_COUNT) == []
    assert not console.page_errors


def dispatch_sync_event(context: BrowserContext, page: Page, origin: str) -> None:
    """Fires the outbox's Background Sync event now, as the browser would (CDP)."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    wait_for(page, lambda: any(r["scopeURL"].startswith(origin) for r in registrations))
    registration = next(r for r in registrations if r["scopeURL"].startswith(origin))
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": origin,
            "registrationId": registration["registrationId"],
            "tag": "anbao-outbox",
            "lastChance": False,
        },
    )
    cdp.detach()


def test_a_session_revoked_while_the_service_worker_sends_asks_at_the_next_start(
    new_context, server
):
    marker = f"m{uuid.uuid4().hex[:10]}"
    page, console, proxy = phone(new_context)
    wait_for_service_worker(page)
    session_id = page.evaluate("fetch('/api/auth/me').then((r) => r.json())")["session_id"]
    proxy.set_offline(True)
    texts = [f"{marker} #{i:02d}" for i in range(12)]
    for text in texts:
        write_entry(page, text)
    expect(status_bar(page)).to_have_attribute("data-waiting", "12")
    page.close()  # the guard puts the phone away

    revoked: list[int] = []

    def revoke_before(n: int) -> None:
        if len(proxy.applied_ids()) >= MAX_BATCH and not revoked:
            call(server, "DELETE", f"/api/auth/sessions/{session_id}", token_of(server, "guard"))
            revoked.append(n)

    proxy.before = revoke_before
    proxy.set_offline(False)
    blank = proxy.context.new_page()  # about:blank: only for waiting and for CDP
    dispatch_sync_event(proxy.context, blank, server.url)
    wait_for(blank, lambda: any(p.status == 401 for p in proxy.pushes))
    assert revoked and all(p.by_worker for p in proxy.pushes)
    sent_first = [t for p in proxy.pushes if p.status == 200 for t in p.texts]
    assert sent_first == texts[: len(sent_first)] and len(sent_first) >= MAX_BATCH
    blank.wait_for_timeout(1_000)
    attempts = len(proxy.pushes)

    # The guard opens the app: asked to sign in again, with nothing lost.
    page = proxy.context.new_page()
    page.goto("/duty-log")
    expect(page).to_have_url(re.compile(r"/login$"), timeout=SENT_WITHIN_MS)
    expect(page.locator(".notice")).to_contain_text(catalog("en")["error.session_revoked"])
    kept = page.evaluate(OUTBOX_COUNT)
    assert [m["text"] for m in kept] == texts[len(sent_first) :]
    # The page may try its cached session once more on start; the server refuses that too.
    assert {p.status for p in proxy.pushes[attempts:]} <= {401}
    sign_in(page, "guard")
    open_home(page, "guard")
    expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=SENT_WITHIN_MS)
    assert sorted(e["text"] for e in entries_on_server(server, marker)) == texts
    assert page.evaluate(OUTBOX_COUNT) == []
    assert not console.page_errors


def test_a_tab_left_open_learns_at_once_that_another_was_signed_out(new_context, server):
    marker = f"m{uuid.uuid4().hex[:10]}"
    idle, console, proxy = phone(new_context)  # tab A: open on the duty log, nothing to send
    session_id = idle.evaluate("fetch('/api/auth/me').then((r) => r.json())")["session_id"]
    busy = proxy.context.new_page()  # tab B: the same phone, the same session
    busy.goto("/duty-log")
    busy.locator("form.duty-form").wait_for()
    busy.wait_for_load_state("networkidle")  # the start-up refresh draws the view again
    write_entry(busy, f"{marker} one")
    wait_for(busy, lambda: [p.status for p in proxy.pushes] == [200])
    expect(status_bar(busy)).to_have_attribute("data-waiting", "0")

    call(server, "DELETE", f"/api/auth/sessions/{session_id}", token_of(server, "guard"))
    write_entry(busy, f"{marker} two")
    expect(busy).to_have_url(re.compile(r"/login$"))  # its push answered 401
    assert [p.status for p in proxy.pushes] == [200, 401]

    # Tab A did not send anything, yet asks to sign in again now, not at its next pull.
    expect(idle).to_have_url(re.compile(r"/login$"), timeout=5_000)
    expect(idle.locator(".notice")).to_contain_text(catalog("en")["error.session_revoked"])
    assert [m["text"] for m in idle.evaluate(OUTBOX_COUNT)] == [f"{marker} two"]

    sign_in(idle, "guard")
    open_home(idle, "guard")
    expect(status_bar(idle)).to_have_attribute("data-waiting", "0", timeout=SENT_WITHIN_MS)
    assert sorted(e["text"] for e in entries_on_server(server, marker)) == [
        f"{marker} one",
        f"{marker} two",
    ]
    assert not console.page_errors
