"""The service worker, offline start from its cache, the update prompt, and the web manifest."""

from __future__ import annotations

import re
import struct

import pytest
from playwright.sync_api import expect

from tests.browser.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_no_raw_keys,
    catalog,
    open_home,
    sign_in,
    wait_for_service_worker,
)

pytestmark = pytest.mark.browser


def test_service_worker_precaches_the_shell_and_serves_it_offline(new_context):
    context, page, console = new_context(locale="en")
    sign_in(page, "guard")
    open_home(page, "guard")
    wait_for_service_worker(page)

    caches = page.evaluate("caches.keys()")
    shell = [name for name in caches if re.match(r"^anbao-shell-v[\w.-]+$", name)]
    assert shell, caches
    urls = page.evaluate(
        "async (name) => (await (await caches.open(name)).keys())"
        ".map((r) => new URL(r.url).pathname)",
        shell[0],
    )
    assert "/index.html" in urls
    assert any(u.startswith("/assets/") and u.endswith(".js") for u in urls)
    assert any(u.startswith("/assets/") and u.endswith(".css") for u in urls)
    assert not [u for u in urls if u.startswith("/api/")]

    context.set_offline(True)
    page.reload()
    home = page.locator("section.home[data-role='guard']")
    expect(home).to_be_visible()
    expect(home.locator(".tile[data-tile='patrol']")).to_contain_text(catalog("en")["tile.patrol"])
    expect(page.locator(".net[data-net=offline]")).to_have_text(catalog("en")["header.offline"])
    # A client route never visited before is served the shell too.
    page.goto("/sessions")
    expect(page.locator("#page-title")).to_have_text(catalog("en")["sessions.title"])
    # /api is never answered from a cache.
    assert page.evaluate("fetch('/api/auth/me').then(() => 'answered', () => 'failed')") == "failed"
    assert_no_raw_keys(page, console)
    assert not console.page_errors


def test_offline_cold_start_shows_the_signed_in_home(playwright, server, tmp_path):
    profile = tmp_path / "phone"
    options = {
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
        "base_url": server.url,
        "locale": "zh-CN",
        "viewport": {"width": 360, "height": 640},
    }
    context = playwright.chromium.launch_persistent_context(profile, **options)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        user = page.locator("[data-testid=header-user]").inner_text()
    finally:
        context.close()

    # The phone restarts in a basement: no network at all from the first moment.
    context = playwright.chromium.launch_persistent_context(profile, offline=True, **options)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/")
        home = page.locator("section.home[data-role='guard']")
        expect(home).to_be_visible()
        expect(home.locator(".tile[data-tile='patrol']")).to_contain_text("巡更")
        expect(page.locator("[data-testid=header-user]")).to_have_text(user)
        expect(page.locator(".net[data-net=offline]")).to_be_visible()
        # Interactive: the language switch still works without the network.
        page.locator("[data-action=lang]").click()
        expect(home.locator(".tile[data-tile='patrol']")).to_contain_text("Patrol rounds")
        assert_no_raw_keys(page)
    finally:
        context.close()


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def test_manifest_is_installable(new_context):
    context, page, _ = new_context()
    page.goto("/login")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href
    response = context.request.get(href)
    assert response.status == 200
    manifest = response.json()
    assert manifest["name"] == "安保 Anbao"
    assert manifest["short_name"] == "安保"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    for color in ("theme_color", "background_color"):
        r, g, b = (int(manifest[color][i : i + 2], 16) for i in (1, 3, 5))
        assert max(r, g, b) < 0x40, f"{color} should be dark: {manifest[color]}"

    seen = set()
    for icon in manifest["icons"]:
        got = context.request.get(icon["src"])
        assert got.status == 200, icon
        assert got.headers["content-type"].startswith("image/png")
        size = png_size(got.body())
        assert f"{size[0]}x{size[1]}" == icon["sizes"]
        seen.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= seen


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_signal_lost_before_the_screens_are_saved(new_context, lang):
    """The first minute after a sign-in: the service worker has not saved the screens yet (here
    it never will: the context blocks service workers). What is still unsent can be seen all the
    same; any other screen not loaded yet says so plainly and opens by itself once online."""
    context, page, console = new_context(locale=lang, service_workers="block")
    texts = catalog(lang)
    sign_in(page, "guard")
    open_home(page, "guard")
    context.set_offline(True)
    expect(page.locator(".net[data-net=offline]")).to_have_text(texts["header.offline"])

    page.locator("[data-testid=sync-status]").click()
    expect(page.locator("#page-title")).to_have_text(texts["outbox.title"])
    expect(page.locator("[data-testid=outbox-summary]")).to_have_text(texts["outbox.empty"])

    page.go_back()
    page.locator(".tile[data-tile='incidents']").click()
    missing = page.locator("[data-testid=screen-not-saved]")
    expect(missing).to_contain_text(texts["app.screen_not_saved"])
    expect(missing).to_contain_text(texts["app.screen_when_online"])
    expect(page.locator("#page-title")).to_have_count(0)

    context.set_offline(False)
    expect(page.locator("#page-title")).to_have_text(texts["incidents.title"])
    expect(missing).to_have_count(0)
    assert_no_raw_keys(page, console)
    assert not console.page_errors
