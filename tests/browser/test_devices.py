"""A supervisor signs a lost phone out; the phone's next request lands on sign-in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.browser_support import assert_no_raw_keys, catalog, open_home, sign_in

pytestmark = pytest.mark.browser


def test_supervisor_revokes_the_guards_phone(new_context):
    _, phone, _ = new_context(locale="zh-CN")
    sign_in(phone, "guard")
    open_home(phone, "guard")
    guard_device = phone.evaluate("fetch('/api/auth/me').then((r) => r.json())")["device"]["id"]

    _, tablet, console = new_context(locale="zh-CN", viewport=(1024, 768))
    sign_in(tablet, "supervisor")
    open_home(tablet, "supervisor")
    tablet.locator(".tile[data-tile='devices']").click()
    zh = catalog("zh-CN")
    expect(tablet.locator("#page-title")).to_have_text(zh["devices.title"])
    card = tablet.locator(f"[data-testid=devices] > li[data-device='{guard_device}']")
    expect(card).to_contain_text(zh["devices.active"])

    # Cancelling the confirmation changes nothing.
    card.locator("[data-action=revoke]").click()
    expect(tablet.locator("dialog")).to_contain_text(zh["devices.confirm_title"])
    tablet.locator("dialog button[value=cancel]").click()
    expect(tablet.locator("dialog")).to_have_count(0)
    expect(card).to_contain_text(zh["devices.active"])
    phone.reload()
    expect(phone.locator("section.home[data-role='guard']")).to_be_visible()

    card.locator("[data-action=revoke]").click()
    tablet.locator("dialog [data-action=confirm]").click()
    expect(card).to_contain_text(zh["devices.revoked"])
    expect(card.locator("[data-action=revoke]")).to_have_count(0)
    expect(tablet.locator("[data-testid=devices-status]")).to_contain_text("已下线")
    assert_no_raw_keys(tablet, console)

    # The guard's next request: signed out, told why, and nothing of the session left on the phone.
    phone.locator(".tile[data-tile='sessions']").click()
    expect(phone).to_have_url(re.compile(r"/login$"))
    expect(phone.locator(".notice")).to_have_text(zh["error.session_revoked"])
    phone.reload()
    expect(phone.locator("#login-title")).to_have_text(zh["login.title"])
    assert_no_raw_keys(phone)

    # The supervisor's own session is untouched.
    tablet.reload()
    expect(tablet.locator("#page-title")).to_have_text(zh["devices.title"])


def test_guards_and_residents_have_no_devices_screen(new_context):
    _, page, _ = new_context(locale="en")
    sign_in(page, "guard")
    open_home(page, "guard")
    assert page.locator(".tile[data-tile='devices']").count() == 0
    page.goto("/devices")
    expect(page.locator("section.home[data-role='guard']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/home$"))
