"""Pulling in real Chromium: the phone pulls every minute on its own; a cursor the server refuses
(`bad_cursor`) or one older than its compaction (`reset_sites`) makes the phone drop what it
pulled and read it again, while what it has not sent yet stays and goes out once.

The minute is the page's own timer, fired through Playwright's clock instead of waited for.
Pushes are held at the network (answered later by the real server) where a test needs entries
that are still on their way while a pull runs.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Response, Route, expect

from tests.browser.browser_support import DIST, PASSWORDS, open_home, sign_in
from tests.browser.conftest import Server
from tests.support import make_settings, run_in_db

pytestmark = pytest.mark.browser

SITE_ID = 1
MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def pwa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built app, so a rebuild elsewhere cannot change it under these tests."""
    if not (DIST / "index.html").is_file() or not (DIST / "sw.js").is_file():
        pytest.fail("pwa/dist is missing: build the PWA first (`npm ci && npm run build` in pwa/)")
    copy = tmp_path_factory.mktemp("pwa") / "dist"
    shutil.copytree(DIST, copy)
    return copy


# --- the server --------------------------------------------------------------------------------


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
    body = {"username": username, "password": PASSWORDS[username]}
    return str(call(server, "POST", "/api/auth/login", body=body)["token"])


def written_by_guard2(server: Server, text: str) -> str:
    """An entry another guard writes (online, through the plain API); returns its id."""
    entry_id = str(uuid.uuid4())
    body = {"id": entry_id, "text": text, "category": "patrol"}
    call(server, "POST", f"/api/sites/{SITE_ID}/duty-log", token_of(server, "guard2"), body)
    return entry_id


def entries_on_server(server: Server, marker: str) -> list[str]:
    token = token_of(server, "supervisor")
    query = urllib.parse.urlencode({"limit": 200, "q": marker})
    answer = call(server, "GET", f"/api/sites/{SITE_ID}/duty-log?{query}", token)
    return sorted(e["text"] for e in answer["items"])


def delete_and_compact(server: Server, entry_id: str) -> None:
    """The entry is deleted, and compaction later drops its tombstone (a month on): a cursor
    from before that delete can no longer learn of it from the change feed."""
    from tortoise.transactions import in_transaction

    from backend.models.duty_log import DutyLogEntry
    from backend.models.sync import Change, ChangeOp
    from backend.services.changes import compact, record_change

    async def work() -> None:
        async with in_transaction():
            await DutyLogEntry.filter(id=entry_id).delete()
            await record_change(SITE_ID, "duty_log", entry_id, ChangeOp.delete, None)
        old = datetime.now(UTC) - timedelta(days=60)
        await Change.filter(op=ChangeOp.delete).update(at=old)
        await compact(datetime.now(UTC), timedelta(days=30))

    settings = make_settings(server.data_dir, server.env["ANBAO_DATABASE_URL"])
    # Its own thread: sync Playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run_in_db, settings, work).result()


# --- the phone ---------------------------------------------------------------------------------


class HeldPushes:
    """Pushes wait at the network until released, then go to the real server unchanged."""

    def __init__(self, context: BrowserContext) -> None:
        self.routes: list[Route] = []
        self.released = False
        context.route("**/api/sync/push", self.hold)

    def hold(self, route: Route) -> None:
        if self.released:
            route.continue_()
        else:
            self.routes.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.routes:
            route.continue_()


def phone(new_context: Any) -> tuple[BrowserContext, Page, Any, list[dict[str, Any]]]:
    """A guard's phone on the duty log, its timers on Playwright's (paused) clock; returns the
    pull answers it gets, in order."""
    context, page, console = new_context(locale="en")
    # Paused: the page's timers fire only when the test moves its clock on, so a minute on the
    # page is exactly a minute after the timer was set.
    page.clock.install()
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    pulls: list[dict[str, Any]] = []

    def seen(response: Response) -> None:
        if "/api/sync/pull" in response.url:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.url).query)
            pulls.append(
                {
                    "cursor": query.get("cursor", [""])[0],
                    "status": response.status,
                    "body": response.json(),
                }
            )

    page.on("response", seen)
    sign_in(page, "guard")
    open_home(page, "guard")
    page.locator(".tile[data-tile='duty_log']").click()
    page.locator("form.duty-form").wait_for()
    return context, page, console, pulls


def wait_for(page: Page, check: Any, timeout_ms: int = 10_000) -> None:
    waited = 0
    while not check():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(100)
        waited += 100


def write_entry(page: Page, text: str) -> None:
    form = page.locator("form.duty-form")
    form.locator("textarea[name=text]").fill(text)
    form.locator("[data-action=save-entry]").click()
    expect(form.locator("textarea[name=text]")).to_have_value("")


def rows(page: Page, text: str, state: str = "synced") -> Any:
    return page.locator(f"[data-testid=duty-log] > li[data-state={state}]", has_text=text)


def status_bar(page: Page) -> Any:
    return page.locator("[data-testid=sync-status]")


IDB = """(async ([store, key, value]) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('anbao');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const mode = value === undefined ? 'readonly' : 'readwrite';
  const os = db.transaction(store, mode).objectStore(store);
  const req = value === undefined ? (key === null ? os.getAll() : os.get(key))
    : (os.keyPath ? os.put(value) : os.put(value, key));
  const result = await new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  db.close();
  return result ?? null;
})"""


def idb(page: Page, store: str, key: Any = None, value: Any = None) -> Any:
    args = [store, key] if value is None else [store, key, value]
    return page.evaluate(IDB, args)


def replica_texts(page: Page, marker: str) -> list[str]:
    return sorted(r["text"] for r in idb(page, "duty_log") if marker in str(r.get("text")))


def outbox_texts(page: Page) -> list[str]:
    return [m["args"]["text"] for m in idb(page, "outbox")]


# --- the minute --------------------------------------------------------------------------------


def test_the_phone_pulls_every_minute_on_its_own(new_context, server):
    marker = f"m{uuid.uuid4().hex[:10]}"
    _, page, console, pulls = phone(new_context)
    started = len(pulls)
    written_by_guard2(server, f"{marker} lift 2 stuck")

    # Nothing asks for it: no reload, no reconnect, the page stays in front.
    page.wait_for_timeout(1_500)
    expect(rows(page, marker)).to_have_count(0)
    assert len(pulls) == started

    page.clock.fast_forward(MINUTE_MS)
    expect(rows(page, f"{marker} lift 2 stuck")).to_have_count(1)
    wait_for(page, lambda: len(pulls) == started + 1)

    written_by_guard2(server, f"{marker} lift 2 fixed")
    page.clock.fast_forward(MINUTE_MS - 1_000)
    page.wait_for_timeout(500)
    expect(rows(page, f"{marker} lift 2 fixed")).to_have_count(0)  # not a minute yet
    page.clock.fast_forward(1_000)
    expect(rows(page, f"{marker} lift 2 fixed")).to_have_count(1)
    assert not console.page_errors


# --- bad_cursor: start over -----------------------------------------------------------------------


def test_a_refused_cursor_makes_the_phone_read_everything_again_keeping_what_is_unsent(
    new_context, server
):
    marker = f"m{uuid.uuid4().hex[:10]}"
    before = written_by_guard2(server, f"{marker} before")
    context, page, console, pulls = phone(new_context)
    expect(rows(page, f"{marker} before")).to_have_count(1)
    user_id = idb(page, "meta", "pull")["user_id"]

    # Two entries are on their way (their push has not been answered yet) when the phone's
    # cursor turns out to be one the server refuses; its copy also holds a row the server
    # never had.
    held = HeldPushes(context)
    write_entry(page, f"{marker} mine 1")
    write_entry(page, f"{marker} mine 2")
    expect(status_bar(page)).to_have_attribute("data-waiting", "2")
    assert held.routes
    idb(page, "meta", "pull", {"user_id": user_id, "cursor": "c1.not-a-cursor"})
    idb(page, "duty_log", None, {"id": "ghost", "site_id": SITE_ID, "text": f"{marker} ghost"})
    written_by_guard2(server, f"{marker} after")

    seen = len(pulls)
    page.clock.fast_forward(MINUTE_MS)
    expect(rows(page, f"{marker} after")).to_have_count(1)
    wait_for(page, lambda: len(pulls) >= seen + 2)
    refused, fresh = pulls[seen], pulls[seen + 1]
    assert (refused["cursor"], refused["status"]) == ("c1.not-a-cursor", 400)
    assert refused["body"]["error"]["code"] == "bad_cursor"
    assert (fresh["cursor"], fresh["status"]) == ("", 200)  # from the start
    # The copy is the server's again: the stray row is gone, everything live is back...
    assert replica_texts(page, marker) == [f"{marker} after", f"{marker} before"]
    expect(rows(page, f"{marker} ghost")).to_have_count(0)
    assert idb(page, "duty_log", before)["text"] == f"{marker} before"
    # ...and what was on its way is still there, shown as waiting.
    assert outbox_texts(page) == [f"{marker} mine 1", f"{marker} mine 2"]
    expect(rows(page, f"{marker} mine", "waiting")).to_have_count(2)

    held.release()
    expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=15_000)
    expect(rows(page, f"{marker} mine")).to_have_count(2)
    assert entries_on_server(server, marker) == sorted(
        [f"{marker} after", f"{marker} before", f"{marker} mine 1", f"{marker} mine 2"]
    )
    assert outbox_texts(page) == []
    assert not console.page_errors


# --- reset_sites: the site is read again from zero --------------------------------------------


def test_a_reset_site_is_dropped_and_read_again_keeping_what_is_unsent(new_context, server):
    marker = f"m{uuid.uuid4().hex[:10]}"
    gone = written_by_guard2(server, f"{marker} gone")
    written_by_guard2(server, f"{marker} kept")
    context, page, console, pulls = phone(new_context)
    expect(rows(page, marker)).to_have_count(2)

    held = HeldPushes(context)
    write_entry(page, f"{marker} mine")
    expect(status_bar(page)).to_have_attribute("data-waiting", "1")
    # Meanwhile the entry is deleted on the server and, a month later, compaction drops the
    # tombstone this phone never pulled.
    delete_and_compact(server, gone)

    seen = len(pulls)
    page.clock.fast_forward(MINUTE_MS)
    expect(rows(page, f"{marker} gone")).to_have_count(0)
    wait_for(page, lambda: len(pulls) > seen)
    assert pulls[seen]["body"]["reset_sites"] == [SITE_ID]
    assert replica_texts(page, marker) == [f"{marker} kept"]
    expect(rows(page, f"{marker} kept")).to_have_count(1)
    assert outbox_texts(page) == [f"{marker} mine"]
    expect(rows(page, f"{marker} mine", "waiting")).to_have_count(1)
    # The next pull carries on from the new cursor: no second reset.
    page.clock.fast_forward(MINUTE_MS)
    page.wait_for_timeout(500)
    assert [p["body"]["reset_sites"] for p in pulls[seen + 1 :]] in ([], [[]])

    held.release()
    expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=15_000)
    expect(rows(page, f"{marker} mine")).to_have_count(1)
    assert entries_on_server(server, marker) == [f"{marker} kept", f"{marker} mine"]
    assert not console.page_errors
