"""Strict CSP without violations, and layouts a thumb can use at 360×640 and on a tablet."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.browser_support import layout_problems, open_home, sign_in

pytestmark = pytest.mark.browser


def no_csp_trouble(page: Page, console) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert console.csp_violations() == []
    assert not console.page_errors


def test_pages_load_under_the_strict_csp_without_violations(new_context):
    _, page, console = new_context(locale="en", viewport=(1024, 768))
    response = page.goto("/login")
    assert response is not None
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, csp
    page.locator("#login-title").wait_for()
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    no_csp_trouble(page, console)

    page.locator("[data-action=theme]").click()
    page.locator("[data-action=lang]").click()
    sign_in(page, "supervisor")
    open_home(page, "supervisor")
    page.locator(".tile[data-tile='devices']").click()
    page.locator("[data-testid=devices] > li").first.wait_for()
    page.locator("[data-action=revoke]").first.click()  # the dialog opens...
    page.locator("dialog button[value=cancel]").click()  # ...and closes
    page.goto("/sessions")
    page.locator("[data-testid=sessions] > li").first.wait_for()
    no_csp_trouble(page, console)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_phone_layout_is_one_handed(new_context, lang, tmp_path):
    _, page, console = new_context(locale=lang, viewport=(360, 640))
    page.goto("/login")
    page.locator("#login-title").wait_for()
    assert layout_problems(page) == []

    sign_in(page, "guard")
    open_home(page, "guard")
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(7)
    for i in range(tiles.count()):
        box = tiles.nth(i).bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 48, box
    # Two tiles per row on a phone: big, and within reach of a thumb.
    first, second = tiles.nth(0).bounding_box(), tiles.nth(1).bounding_box()
    assert first and second and first["y"] == second["y"] and first["width"] >= 140
    assert layout_problems(page) == []
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    shot = tmp_path / f"guard-home-360-{lang}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    no_csp_trouble(page, console)


def test_tablet_landscape_layout(new_context):
    _, page, console = new_context(locale="zh-CN", viewport=(1024, 768))
    sign_in(page, "supervisor")
    open_home(page, "supervisor")
    assert layout_problems(page) == []
    # Landscape uses the width: at least four tiles side by side.
    boxes = [b for b in (t.bounding_box() for t in page.locator(".tile").all()) if b]
    assert sum(1 for b in boxes if round(b["y"]) == round(boxes[0]["y"])) >= 4, boxes
    page.locator(".tile[data-tile='devices']").click()
    page.locator("[data-testid=devices] > li").first.wait_for()
    assert layout_problems(page) == []
    no_csp_trouble(page, console)
