"""Sign-in, each role's home in both languages, errors, sign-out, language and theme."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.browser_support import assert_no_raw_keys, catalog, open_home, sign_in

pytestmark = pytest.mark.browser

ROLE_TILES = {
    "guard": ["patrol", "duty_log", "visitors", "parcels", "incidents", "fire_checks"],
    "supervisor": [
        "live_board",
        "review_queue",
        "incidents",
        "fire_equipment",
        "duty_log",
        "devices",
        "parcels",
        "gate",
        "invites",
        "notifications",
        "labels",
    ],
    "resident": ["my_parcels", "invites", "goods_passes", "notifications"],
    "admin": [
        "sites",
        "zones_units",
        "people",
        "devices",
        "duty_log",
        "live_board",
        "fire_equipment",
        "gate",
        "labels",
    ],
}
# Tiles whose screens are not built yet: none today (the home still supports them).
COMING_SOON: dict[str, list[str]] = {}
# Literal texts, so a broken catalog fails too, not only a broken view.
LITERAL = {
    ("guard", "zh-CN"): "巡更",
    ("guard", "en"): "Patrol rounds",
    ("supervisor", "zh-CN"): "设备管理",
    ("supervisor", "en"): "Devices",
    ("resident", "zh-CN"): "我的快递",
    ("resident", "en"): "My parcels",
    ("admin", "zh-CN"): "区域与房号",
    ("admin", "en"): "Zones & units",
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("role", ["guard", "supervisor", "resident", "admin"])
def test_sign_in_lands_on_the_roles_home(new_context, role, lang):
    _, page, console = new_context(locale=lang)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert page.evaluate("document.documentElement.lang") == lang
    texts = catalog(lang)
    expect(page.locator("#login-title")).to_have_text(texts["login.title"])

    sign_in(page, role)
    open_home(page, role)

    home = page.locator(f"section.home[data-role='{role}']")
    tiles = home.locator(".tile[data-tile]")
    expect(tiles).to_have_count(len(ROLE_TILES[role]) + 1)  # + "my sessions"
    for tile_id in ROLE_TILES[role]:
        expect(home.locator(f".tile[data-tile='{tile_id}'] .tile-label")).to_have_text(
            texts[f"tile.{tile_id}"]
        )
    expect(home).to_contain_text(LITERAL[(role, lang)])
    # Features not built yet say so and cannot be pressed; built ones can.
    soon = home.locator(".tile[data-tile]:disabled")
    expect(soon).to_have_count(len(COMING_SOON.get(role, [])))
    for tile_id in COMING_SOON.get(role, []):
        tile = home.locator(f".tile[data-tile='{tile_id}']")
        expect(tile).to_be_disabled()
        expect(tile).to_contain_text(texts["tile.coming_soon"])
    for tile_id in set(ROLE_TILES[role]) - set(COMING_SOON.get(role, [])):
        expect(home.locator(f".tile[data-tile='{tile_id}']")).to_be_enabled()
    expect(home.locator(".tile[data-tile='sessions']")).to_be_enabled()
    if role in ("supervisor", "admin"):
        expect(home.locator(".tile[data-tile='devices']")).to_be_enabled()
    # The header names the user, the site and the connection state.
    expect(page.locator("[data-testid=header-user]")).not_to_be_empty()
    expect(page.locator("[data-testid=header-site]")).to_contain_text(texts[f"role.{role}"])
    expect(page.locator(".net[data-net=online]")).to_have_text(texts["header.online"])
    assert_no_raw_keys(page, console)
    assert not console.page_errors


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_wrong_password_shows_the_localized_message(new_context, lang):
    _, page, console = new_context(locale=lang)
    page.goto("/login")
    sign_in(page, "guard", "not-the-password")
    error = page.locator("[data-testid=login-error]")
    expect(error).to_have_text(catalog(lang)["error.invalid_credentials"])
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#login-password")).to_have_value("")
    assert_no_raw_keys(page, console)


def test_missing_fields_are_named(new_context):
    _, page, console = new_context(locale="en")
    page.goto("/login")
    page.locator("form button[type=submit]").click()
    error = page.locator("[data-testid=login-error]")
    texts = catalog("en")
    expect(error).to_contain_text(texts["error.validation_failed"])
    expect(error).to_contain_text(texts["label.username"])
    expect(page.locator("#login-username")).to_have_attribute("aria-invalid", "true")
    # "at least 1 character", from the server's message: no placeholder left unfilled.
    expect(error).to_contain_text("at least 1")
    expect(error).not_to_contain_text("{")
    assert_no_raw_keys(page, console)


def test_sign_out_clears_the_phone_and_the_session(new_context):
    context, page, console = new_context(locale="en")
    sign_in(page, "guard")
    open_home(page, "guard")
    page.locator("[data-action=sign-out]").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".notice")).to_have_text(catalog("en")["login.signed_out"])
    assert context.request.get("/api/auth/me").status == 401
    # Nothing cached is left to show a home from.
    page.reload()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#login-title")).to_be_visible()
    assert_no_raw_keys(page, console)


def test_language_and_theme_switches_persist(new_context):
    _, page, console = new_context(locale="zh-CN")
    page.goto("/login")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    expect(page.locator("#login-title")).to_have_text("登录")

    page.locator("[data-action=lang]").click()
    expect(page.locator("#login-title")).to_have_text("Sign in")
    page.locator("[data-action=theme]").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"

    page.reload()
    expect(page.locator("#login-title")).to_have_text("Sign in")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    sign_in(page, "guard")
    open_home(page, "guard")
    expect(page.locator(".tile[data-tile='patrol']")).to_contain_text("Patrol rounds")
    page.locator("[data-action=lang]").click()
    expect(page.locator(".tile[data-tile='patrol']")).to_contain_text("巡更")
    assert_no_raw_keys(page, console)


def test_switching_language_keeps_what_was_typed(new_context):
    _, page, _ = new_context(locale="zh-CN")
    page.goto("/login")
    expect(page.locator("#login-title")).to_have_text("登录")
    page.locator("#login-username").fill("guard")
    page.locator("#login-password").fill("half a pass")
    page.locator("[data-action=lang]").click()
    # Drawn again in English, with the fields as they were.
    expect(page.locator("#login-title")).to_have_text("Sign in")
    expect(page.locator("#login-username")).to_have_value("guard")
    expect(page.locator("#login-password")).to_have_value("half a pass")
    page.locator("#login-password").fill("")
    sign_in(page, "guard")
    open_home(page, "guard")


def test_sessions_screen_revokes_another_session(new_context):
    _, phone, _ = new_context(locale="en")
    _, tablet, console = new_context(locale="en", viewport=(1024, 768))
    sign_in(phone, "guard")
    open_home(phone, "guard")
    sign_in(tablet, "guard")
    open_home(tablet, "guard")

    phone_session = phone.evaluate("fetch('/api/auth/me').then((r) => r.json())")["session_id"]
    tablet.locator(".tile[data-tile='sessions']").click()
    current = tablet.locator("[data-testid=sessions] > li[data-current=true]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text(catalog("en")["sessions.current"])
    expect(current.locator("[data-action=revoke]")).to_have_count(0)  # not from this list

    other = tablet.locator(f"[data-testid=sessions] > li[data-session='{phone_session}']")
    expect(other).to_have_attribute("data-current", "false")
    other.locator("[data-action=revoke]").click()
    tablet.locator("dialog [data-action=confirm]").click()
    expect(other).to_have_count(0)
    expect(current).to_have_count(1)
    assert_no_raw_keys(tablet, console)

    # The other phone's next request finds its session gone.
    phone.reload()
    expect(phone).to_have_url(re.compile(r"/login$"))
    texts = catalog("en")
    expect(phone.locator(".notice")).to_have_text(
        re.compile(
            f"^({re.escape(texts['error.session_revoked'])}|{re.escape(texts['error.not_authenticated'])})$"
        )
    )


def test_signing_in_offline_says_a_connection_is_needed(new_context):
    context, page, console = new_context(locale="zh-CN")
    page.goto("/login")
    page.locator("#login-title").wait_for()
    context.set_offline(True)
    sign_in(page, "guard")
    expect(page.locator("[data-testid=login-error]")).to_have_text(
        catalog("zh-CN")["client.offline_signin"]
    )
    expect(page.locator(".net[data-net=offline]")).to_be_visible()
    assert_no_raw_keys(page, console)
