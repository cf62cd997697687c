"""Offline-first sync in a real browser: the outbox survives a killed browser, is sent exactly
once, is pulled by a second guard; rejections are shown, fixed or discarded; Background Sync;
sign-out with unsent entries; the status bar."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.browser.browser_support import (
    BearerApi,
    assert_no_raw_keys,
    catalog,
    first_page,
    kill_browser,
    launch_phone,
    layout_problems,
    open_home,
    sign_in,
    wait_for_service_worker,
)

pytestmark = pytest.mark.browser


def launch(playwright: Playwright, server: Any, profile: Path, **kw: Any) -> BrowserContext:
    return launch_phone(playwright, server, profile, timeout_ms=10_000, **kw)


SITE_ID = 1  # 翠湖小区, where guard and guard2 work


# --- the server, seen through its API ----------------------------------------------------------


class Api(BearerApi):
    """The test's own view of the server: bearer tokens, no browser involved."""

    default_user = "supervisor"

    def entries(self, marker: str) -> list[dict[str, Any]]:
        """The server's duty log entries at the site whose text contains `marker`."""
        answer = self.call("GET", f"/api/sites/{SITE_ID}/duty-log?limit=200&q={marker}")
        return list(answer["items"])


@pytest.fixture(scope="module")
def api(playwright: Playwright, server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


def new_marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


def wait_until(page: Page, check, timeout_ms: int = 15_000, step_ms: int = 200) -> None:
    """Polls `check()` (a test-side condition, e.g. the server's count) from a browser wait."""
    waited = 0
    while not check():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(step_ms)
        waited += step_ms


# --- the phone -------------------------------------------------------------------------------


def open_duty_log(page: Page) -> None:
    page.locator(".tile[data-tile='duty_log']").click()
    page.locator("form.duty-form").wait_for()


def write_entry(
    page: Page, text: str, category: str = "patrol", zone_id: int | None = None
) -> None:
    form = page.locator("form.duty-form")
    form.locator("textarea[name=text]").fill(text)
    form.locator("select[name=category]").select_option(category)
    if zone_id is not None:
        form.locator("select[name=zone_id]").select_option(str(zone_id))
    form.locator("[data-action=save-entry]").click()
    # Saved on the phone (IndexedDB) before the screen says so, and the field is emptied.
    expect(form.locator("textarea[name=text]")).to_have_value("")


def status_bar(page: Page):
    return page.locator("[data-testid=sync-status]")


# --- 20 entries offline, a killed browser, sent exactly once, pulled by another guard ----------


@pytest.fixture(scope="module")
def offline_twenty(playwright: Playwright, server, api: Api, tmp_path_factory) -> dict[str, Any]:
    """A guard writes 20 entries offline, the browser is SIGKILLed, the phone restarts offline,
    then comes online. Returns what was seen on the way."""
    profile = tmp_path_factory.mktemp("phone") / "profile"
    marker = new_marker()
    seen: dict[str, Any] = {"marker": marker}

    # Day 1, online: sign in; the service worker installs and the duty log is opened once.
    context = launch(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        open_duty_log(page)
    finally:
        context.close()

    # In the basement: no network from the first moment (the page is offline from launch; the
    # server is out of reach for the service worker too, which Playwright's offline emulation
    # does not cover for a worker started after launch). 20 entries; then the phone dies.
    server.stop()
    context = launch(playwright, server, profile, offline=True)
    page = first_page(context)
    page.goto("/duty-log")
    expect(page.locator(".net[data-net=offline]")).to_be_visible()
    for i in range(20):
        write_entry(page, f"{marker} B1 车库巡查 #{i:02d}")
    expect(status_bar(page)).to_have_attribute("data-waiting", "20")
    kill_browser(context, profile)

    # Restarted, still offline: everything is still there, waiting.
    context = launch(playwright, server, profile, offline=True)
    try:
        page = first_page(context)
        pushes: list[dict[str, Any]] = []
        page.on(
            "requestfinished",  # answered pushes only: attempts while offline fail
            lambda r: pushes.append(r.post_data_json) if r.url.endswith("/api/sync/push") else None,
        )
        page.goto("/outbox")
        items = page.locator("[data-testid=outbox] > li")
        expect(items).to_have_count(20)
        seen["waiting_after_restart"] = page.locator(
            "[data-testid=outbox] > li[data-status=waiting]"
        ).count()
        # The bar counts from IndexedDB once the app has started: wait for its count, then keep it.
        expect(status_bar(page)).to_have_attribute("data-waiting", "20")
        seen["bar_after_restart"] = status_bar(page).get_attribute("data-waiting")
        page.goto("/duty-log")
        waiting_rows = page.locator("[data-testid=duty-log] > li[data-state=waiting]")
        expect(waiting_rows).to_have_count(20)
        seen["duty_list_waiting"] = waiting_rows.count()
        server.start()
        seen["server_while_offline"] = len(api.entries(marker))

        # Back online: the outbox empties into the server.
        context.set_offline(False)
        expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=20_000)
        expect(
            page.locator("[data-testid=duty-log] > li[data-state=synced]", has_text=marker)
        ).to_have_count(20)
        page.goto("/outbox")
        expect(page.locator("[data-testid=outbox] > li")).to_have_count(0)
        expect(page.locator("[data-testid=outbox-summary]")).to_have_text(
            catalog("zh-CN")["outbox.empty"]
        )
        seen["pushes"] = [p for p in pushes if p]
        seen["texts_on_server"] = sorted(e["text"] for e in api.entries(marker))
    finally:
        context.close()
    return seen


def test_twenty_offline_entries_survive_a_killed_browser(offline_twenty, api):
    marker = offline_twenty["marker"]
    assert offline_twenty["waiting_after_restart"] == 20
    assert offline_twenty["bar_after_restart"] == "20"
    assert offline_twenty["duty_list_waiting"] == 20
    assert offline_twenty["server_while_offline"] == 0
    # Exactly the 20 written, each once.
    assert offline_twenty["texts_on_server"] == [
        f"{marker} B1 车库巡查 #{i:02d}" for i in range(20)
    ]
    entries = api.entries(marker)
    assert len(entries) == 20
    assert {e["author_name"] for e in entries} == {"王保安 Wang (guard)"}
    assert {e["category"] for e in entries} == {"patrol"}


def test_replaying_the_sent_batch_changes_nothing(offline_twenty, api):
    marker = offline_twenty["marker"]
    pushes = offline_twenty["pushes"]
    assert pushes, "no push was seen"
    sent = [m for body in pushes for m in body["mutations"]]
    # In creation order, one id each (nothing sent twice by the phone).
    assert [m["args"]["text"] for m in sent] == [
        f"{marker} B1 车库巡查 #{i:02d}" for i in range(20)
    ]
    assert len({m["id"] for m in sent}) == 20
    assert all(re.search(r"[+-]\d\d:\d\d$", m["client_time"]) for m in sent)
    device_uid = pushes[0]["device_id"]

    # The same batch again, from the same device.
    token = api.login("guard", device_uid=device_uid)
    answer = api.request.post(
        "/api/sync/push",
        headers={"Authorization": f"Bearer {token}"},
        data={"device_id": device_uid, "mutations": sent},
    )
    assert answer.ok, answer.text()
    results = answer.json()["results"]
    assert [r["id"] for r in results] == [m["id"] for m in sent]
    assert {r["status"] for r in results} == {"duplicate"}
    assert len(api.entries(marker)) == 20


def test_a_second_guard_pulls_the_entries(offline_twenty, new_context):
    marker = offline_twenty["marker"]
    _, page, console = new_context(locale="en")
    sign_in(page, "guard2")
    open_home(page, "guard")
    open_duty_log(page)
    rows = page.locator("[data-testid=duty-log] > li[data-state=synced]", has_text=marker)
    expect(rows).to_have_count(20)
    # Newest first, with the author and the category in this user's language.
    expect(rows.first).to_contain_text(f"{marker} B1 车库巡查 #19")
    expect(rows.last).to_contain_text(f"{marker} B1 车库巡查 #00")
    expect(rows.first).to_contain_text("王保安 Wang (guard)")
    expect(rows.first).to_contain_text(catalog("en")["duty.category.patrol"])
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# --- rejected mutations: shown with the reason, fixed and resent, or discarded ----------------


def test_a_rejected_entry_is_shown_fixed_and_resent_or_discarded(new_context, api):
    marker = new_marker()
    zone = api.call(
        "POST", f"/api/sites/{SITE_ID}/zones", "admin", data={"name": f"天台 Roof {marker}"}
    )
    context, page, console = new_context(locale="en")
    sign_in(page, "guard")
    open_home(page, "guard")
    open_duty_log(page)
    zone_select = page.locator("form.duty-form select[name=zone_id]")
    expect(zone_select.locator(f"option[value='{zone['id']}']")).to_have_count(1)  # cached

    # Offline, the guard uses the zone an admin has just closed.
    context.set_offline(True)
    api.call("PATCH", f"/api/zones/{zone['id']}", "admin", data={"is_active": False})
    write_entry(page, f"{marker} fix me", zone_id=zone["id"])
    write_entry(page, f"{marker} drop me", zone_id=zone["id"])
    expect(status_bar(page)).to_have_attribute("data-waiting", "2")

    context.set_offline(False)
    expect(status_bar(page)).to_have_attribute("data-rejected", "2", timeout=15_000)
    expect(status_bar(page)).to_have_attribute("data-waiting", "0")
    texts = catalog("en")
    expect(page.locator("[data-testid=sync-rejected]")).to_have_text(
        texts["sync.rejected"].replace("{count}", "2")
    )
    # The duty log marks them, with the reason.
    rejected_rows = page.locator("[data-testid=duty-log] > li[data-state=rejected]")
    expect(rejected_rows).to_have_count(2)
    reason = texts["client.field_error"].format(
        field=texts["label.zone_id"], message=texts["field.not_found"]
    )
    expect(rejected_rows.first.locator("[data-testid=reason]")).to_contain_text(reason)

    # The outbox screen: both, with the localized reason.
    status_bar(page).click()
    items = page.locator("[data-testid=outbox] > li[data-status=rejected]")
    expect(items).to_have_count(2)
    for i in range(2):
        expect(items.nth(i).locator("[data-testid=reason]")).to_contain_text(
            texts["error.validation_failed"]
        )
        expect(items.nth(i).locator("[data-testid=reason]")).to_contain_text(reason)
    assert layout_problems(page) == []

    # Fix: drop the closed zone, send again (a new mutation id) → applied.
    fix_item = items.filter(has_text=f"{marker} fix me")
    fix_item.locator("[data-action=fix]").click()
    fix_item.locator("select[name=zone_id]").select_option("")
    fix_item.locator("textarea[name=text]").fill(f"{marker} fixed")
    fix_item.locator("[data-action=resend]").click()
    expect(items).to_have_count(1, timeout=15_000)
    wait_until(page, lambda: len(api.entries(marker)) == 1)
    entry = api.entries(marker)[0]
    assert entry["text"] == f"{marker} fixed" and entry["zone_id"] is None

    # Discard: asks first; cancelling keeps it.
    drop_item = items.filter(has_text=f"{marker} drop me")
    drop_item.locator("[data-action=discard]").click()
    page.locator("dialog [data-action=cancel]").click()
    expect(items).to_have_count(1)
    drop_item.locator("[data-action=discard]").click()
    page.locator("dialog [data-action=confirm]").click()
    expect(page.locator("[data-testid=outbox] > li")).to_have_count(0)
    expect(status_bar(page)).to_have_attribute("data-rejected", "0")
    page.wait_for_timeout(500)
    assert [e["text"] for e in api.entries(marker)] == [f"{marker} fixed"]
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# --- Background Sync: the service worker sends with no page open ------------------------------


IDB_OUTBOX_COUNT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('anbao');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('outbox').objectStore('outbox').count();
    req.onsuccess = () => { open.result.close(); resolve(req.result); };
  };
})"""


def dispatch_sync_event(context: BrowserContext, page: Page, origin: str) -> None:
    """Fires the outbox's Background Sync event now, as the browser would (CDP)."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    wait_until(page, lambda: any(r["scopeURL"].startswith(origin) for r in registrations))
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


def test_background_sync_sends_with_no_page_open(new_context, api, server):
    marker = new_marker()
    context, page, _ = new_context(locale="zh-CN")
    sign_in(page, "guard")
    open_home(page, "guard")
    wait_for_service_worker(page)
    open_duty_log(page)

    # The server is out of reach (the phone's network does not get there): the page cannot send,
    # and neither can the service worker when the sync registered by the page fires at once. Its
    # handler rejects while items remain, so the browser keeps the registration for a later retry
    # (minutes away). The guard closes the app.
    server.stop()
    page.reload()
    for i in range(3):
        write_entry(page, f"{marker} bg #{i}")
    expect(status_bar(page)).to_have_attribute("data-waiting", "3")
    expect(page.locator(".net[data-net=offline]")).to_be_visible()
    tags = page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())")
    assert tags == ["anbao-outbox"]
    page.close()

    # The server is back; with no page of ours open, nothing sends until a sync event comes.
    server.start()
    blank = context.new_page()  # about:blank: only for waiting and for CDP
    blank.wait_for_timeout(1_000)
    assert api.entries(marker) == [], "sent without a sync event"
    dispatch_sync_event(context, blank, server.url)
    wait_until(blank, lambda: len(api.entries(marker)) == 3)
    assert sorted(e["text"] for e in api.entries(marker)) == [f"{marker} bg #{i}" for i in range(3)]

    # The page opened later finds the outbox empty.
    page = context.new_page()
    page.goto("/outbox")
    expect(page.locator("[data-testid=outbox] > li")).to_have_count(0)
    expect(status_bar(page)).to_have_attribute("data-waiting", "0")


# --- sign-out with unsent entries; another user on the same phone -----------------------------


def test_sign_out_with_unsent_entries_warns_and_keeps_them(new_context, api):
    marker = new_marker()
    context, page, console = new_context(locale="zh-CN")
    texts = catalog("zh-CN")
    sign_in(page, "guard")
    open_home(page, "guard")
    open_duty_log(page)
    context.set_offline(True)
    # No signal for the service worker either: Playwright's offline mode covers the pages, and a
    # Background Sync event may fire in the worker at any moment and send the outbox.
    context.route("**/api/sync/push", lambda route: route.abort("internetdisconnected"))
    write_entry(page, f"{marker} 交接前记录", category="handover")

    page.locator("[data-action=sign-out]").click()
    dialog = page.locator("dialog")
    expect(dialog.locator(".dialog-title")).to_have_text(
        texts["signout.unsent_title"].replace("{count}", "1")
    )
    # "Stay and send": still signed in, on the outbox.
    dialog.locator("[data-action=cancel]").click()
    expect(page).to_have_url(re.compile(r"/outbox$"))
    expect(page.locator("[data-testid=outbox] > li")).to_have_count(1)

    # "Sign out anyway": the entry stays on the phone.
    page.locator("[data-action=sign-out]").click()
    page.locator("dialog [data-action=confirm]").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".notice")).to_contain_text(texts["signout.kept"].replace("{count}", "1"))
    assert (
        page.evaluate(
            """() => new Promise((resolve) => {
          const open = indexedDB.open('anbao');
          open.onsuccess = () => {
            const req = open.result.transaction('outbox').objectStore('outbox').count();
            req.onsuccess = () => { open.result.close(); resolve(req.result); };
          };
        })"""
        )
        == 1
    )

    # Another guard signs in on this phone: told about it, and it is not sent as theirs.
    context.unroute("**/api/sync/push")
    context.set_offline(False)
    sign_in(page, "guard2")
    open_home(page, "guard")
    expect(page.locator(".notice")).to_contain_text("王保安 Wang (guard)")
    expect(status_bar(page)).to_have_attribute("data-waiting", "0")
    page.wait_for_timeout(1_000)
    assert api.entries(marker) == []
    page.locator("[data-action=sign-out]").click()  # nothing of guard2's waits: no question
    expect(page).to_have_url(re.compile(r"/login$"))

    # The author signs in again: it is sent, as theirs.
    sign_in(page, "guard")
    open_home(page, "guard")
    wait_until(page, lambda: len(api.entries(marker)) == 1)
    assert api.entries(marker)[0]["author_name"] == "王保安 Wang (guard)"
    expect(status_bar(page)).to_have_attribute("data-waiting", "0")
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# --- the status bar ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_status_bar_shows_the_connection_and_the_waiting_count(new_context, lang):
    context, page, console = new_context(locale=lang, viewport=(360, 640))
    texts = catalog(lang)
    sign_in(page, "guard")
    open_home(page, "guard")
    bar = status_bar(page)
    expect(bar.locator(".net[data-net=online]")).to_have_text(texts["header.online"])
    expect(bar).to_contain_text(texts["sync.all_sent"])

    open_duty_log(page)
    context.set_offline(True)
    expect(bar.locator(".net[data-net=offline]")).to_have_text(texts["header.offline"])
    marker = new_marker()
    write_entry(page, f"{marker} one")
    write_entry(page, f"{marker} two")
    expect(page.locator("[data-testid=sync-waiting]")).to_have_text(
        texts["sync.waiting"].replace("{count}", "2")
    )
    expect(page.locator("[data-testid=duty-log] > li[data-state=waiting]")).to_have_count(2)
    expect(
        page.locator("[data-testid=duty-log] li[data-state=waiting] [data-badge=waiting]").first
    ).to_have_text(texts["duty.waiting"])
    assert layout_problems(page) == []
    bar.click()
    expect(page.locator("[data-testid=outbox] > li[data-status=waiting]")).to_have_count(2)
    assert layout_problems(page) == []

    context.set_offline(False)
    expect(bar.locator(".net[data-net=online]")).to_have_text(texts["header.online"])
    expect(bar).to_contain_text(texts["sync.all_sent"], timeout=15_000)
    expect(page.locator("[data-testid=outbox] > li")).to_have_count(0)
    assert_no_raw_keys(page, console)
    assert not console.page_errors
