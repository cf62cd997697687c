"""A deploy while the app is open: the new worker waits, the page offers a reload, it takes over."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.browser_support import DIST, catalog, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pwa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the build this module can redeploy."""
    if not (DIST / "sw.js").is_file():
        pytest.fail("pwa/dist is missing: build the PWA first (`npm ci && npm run build` in pwa/)")
    copy = tmp_path_factory.mktemp("pwa") / "dist"
    shutil.copytree(DIST, copy)
    return copy


def test_a_new_version_is_offered_and_taken_on_reload(new_context, pwa_dir):
    _, page, console = new_context(locale="en")
    page.goto("/login")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("[data-action=update]")).to_have_count(0)
    page.evaluate("caches.open('anbao-shell-v0.0.1').then(() => true)")  # left by an old version

    # Deploy: the worker script changes (as it does whenever any precached file changes).
    sw = pwa_dir / "sw.js"
    sw.write_bytes(sw.read_bytes() + b"\n// next version\n")
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")

    button = page.locator("[data-action=update]")
    expect(button).to_have_text(catalog("en")["update.reload"])
    expect(page.locator(".update")).to_contain_text(catalog("en")["update.available"])
    assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => !!r.waiting)")

    page.evaluate("window.__beforeUpdate = true")
    button.click()
    wait_until(page, "window.__beforeUpdate === undefined")  # the page reloaded
    wait_until(page, "navigator.serviceWorker.controller !== null")
    state = page.evaluate(
        "navigator.serviceWorker.getRegistration()"
        ".then((r) => [!!r.waiting, r.active && r.active.state])"
    )
    assert state == [False, "activated"]
    caches = page.evaluate("caches.keys()")
    assert "anbao-shell-v0.0.1" not in caches
    assert any(name.startswith("anbao-shell-v") for name in caches)
    expect(page.locator("#login-title")).to_have_text(catalog("en")["login.title"])
    expect(page.locator("[data-action=update]")).to_have_count(0)
    assert not console.page_errors
