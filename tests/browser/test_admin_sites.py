"""The admin's Sites screen in a real Chromium: the home tile opens it and lists the demo sites;
an admin adds a site and edits one, bad values come back as the server's error next to their
field and change nothing, deactivating asks first, offline the screen says it needs a
connection, a platform operator reactivates a site, and a supervisor gets no such screen."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright, expect

from tests.browser.browser_support import (
    REPO,
    BearerApi,
    assert_no_raw_keys,
    catalog,
    demo_password,
    layout_problems,
    open_home,
    sign_in,
)
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

CUIHU, CUIHU_ID = "翠湖小区 Cuihu Community", 1
TOWER, TOWER_ID = "国贸大厦 Guomao Tower", 2
OPERATOR = "operator"  # a platform operator (superuser) who is also admin at 翠湖小区
OPERATOR_ARGS = ("--superuser", "--site-id", str(CUIHU_ID), "--role", "admin", "--password-stdin")


class Api(BearerApi):
    """The server's state, as the platform operator sees it (an admin no longer sees a site
    they deactivated)."""

    default_user = OPERATOR

    def sites(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/sites?include_inactive=true&limit=200")["items"])

    def site(self, site_id: int) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/sites/{site_id}"))


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    made = subprocess.run(
        [sys.executable, "-m", "backend.cli", "create-user", OPERATOR, *OPERATOR_ARGS],
        cwd=REPO,
        env=server.env,
        input=demo_password(OPERATOR),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


def open_sites(page: Page, user: str = "admin") -> None:
    sign_in(page, user, demo_password(user))
    open_home(page, "admin")
    page.locator(".tile[data-tile='sites']").click()
    expect(page).to_have_url(re.compile(r"/admin/sites$"))
    expect(page.locator("[data-testid=sites] > li[data-site]").first).to_be_visible()


def site_card(page: Page, name: str):
    return page.locator("[data-testid=sites] > li[data-site]").filter(
        has=page.locator(".card-title", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def test_the_tile_opens_the_screen_with_the_demo_sites(new_context, api):
    _, page, console = new_context(locale="zh-CN", viewport=(1280, 800))
    zh = catalog("zh-CN")
    sign_in(page, "admin")
    open_home(page, "admin")
    tile = page.locator(".tile[data-tile='sites']")
    expect(tile).not_to_have_class(re.compile("tile-soon"))
    expect(tile.locator(".tile-badge")).to_have_count(0)
    tile.click()
    expect(page.locator("#page-title")).to_have_text(zh["admin_sites.title"])
    for name, site_id in ((CUIHU, CUIHU_ID), (TOWER, TOWER_ID)):
        card = site_card(page, name)
        expect(card).to_have_attribute("data-site", str(site_id))
        expect(card).to_contain_text(zh["admin_sites.active"])
        expect(card.locator("[data-action=edit]")).to_be_visible()
    expect(site_card(page, TOWER)).to_contain_text("上海市黄浦区国贸路 1 号")
    expect(site_card(page, TOWER)).to_contain_text(zh["site.kind.building"])
    assert page.locator("[data-testid=sites] > li[data-site]").count() == 2
    assert layout_problems(page) == []

    # The form too, at a laptop's size and a small phone's.
    page.locator("[data-action=new-site]").click()
    expect(page.locator("#site-name")).to_be_focused()
    assert layout_problems(page) == []
    page.set_viewport_size({"width": 360, "height": 640})
    assert layout_problems(page) == []
    page.locator("[data-action=cancel-site]").click()
    expect(page.locator("[data-testid=site-form]")).to_be_hidden()
    site_card(page, TOWER).locator("[data-action=edit]").click()
    expect(page.locator("#site-name")).to_have_value(TOWER)
    assert layout_problems(page) == []
    assert_no_raw_keys(page, console)
    assert console.page_errors == []
    assert console.csp_violations() == []


def test_admin_adds_a_site_and_edits_one(new_context, api):
    _, page, console = new_context(locale="en", viewport=(1024, 768))
    en = catalog("en")
    open_sites(page)

    page.locator("[data-action=new-site]").click()
    expect(page.locator("#site-organization_id option")).to_have_count(1)
    page.locator("#site-name").fill("滨江花园 Riverside Gardens")
    page.locator("#site-kind").select_option("community")
    page.locator("#site-address").fill("杭州市滨江区江南大道 9 号")
    page.locator("#site-timezone").fill("Asia/Urumqi")
    page.locator("[data-action=save-site]").click()
    expect(page.locator("[data-testid=sites-status]")).to_contain_text(
        en["admin_sites.created"].replace("{name}", "滨江花园 Riverside Gardens")
    )
    card = site_card(page, "滨江花园 Riverside Gardens")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Asia/Urumqi")
    held = [s for s in api.sites() if s["name"] == "滨江花园 Riverside Gardens"]
    assert len(held) == 1, held
    assert held[0]["address"] == "杭州市滨江区江南大道 9 号"
    assert held[0]["timezone"] == "Asia/Urumqi"
    assert held[0]["kind"] == "community" and held[0]["is_active"] is True
    # The admin who made it manages it: it stays in their list, with its own actions.
    expect(card.locator("[data-action=edit]")).to_be_visible()

    # Editing a site changes it on the server, and only what was changed.
    before = api.site(TOWER_ID)
    site_card(page, TOWER).locator("[data-action=edit]").click()
    page.locator("#site-address").fill("上海市黄浦区国贸路 2 号")
    page.locator("#site-timezone").fill("Asia/Hong_Kong")
    page.locator("#site-after_hours_start").fill("21:30")
    page.locator("[data-action=save-site]").click()
    expect(page.locator("[data-testid=sites-status]")).to_contain_text(
        en["admin_sites.saved"].replace("{name}", TOWER)
    )
    expect(page.locator("[data-testid=site-form]")).to_be_hidden()
    after = api.site(TOWER_ID)
    assert after["address"] == "上海市黄浦区国贸路 2 号"
    assert after["timezone"] == "Asia/Hong_Kong"
    assert after["after_hours_start"] == "21:30"
    assert {
        k: v for k, v in after.items() if k not in ("address", "timezone", "after_hours_start")
    } == {k: v for k, v in before.items() if k not in ("address", "timezone", "after_hours_start")}
    page.reload()
    expect(site_card(page, TOWER)).to_contain_text("上海市黄浦区国贸路 2 号")
    expect(site_card(page, TOWER)).to_contain_text("Asia/Hong_Kong")
    assert_no_raw_keys(page, console)
    assert console.page_errors == []


def test_bad_values_show_the_servers_error_by_the_field_and_change_nothing(new_context, api):
    _, page, console = new_context(locale="en", viewport=(360, 640))
    en = catalog("en")
    open_sites(page)
    sites_before = api.sites()

    # An empty name: refused, said next to the name, no site made.
    page.locator("[data-action=new-site]").click()
    page.locator("#site-name").fill("   ")
    page.locator("[data-action=save-site]").click()
    name_error = page.locator("#site-name-error")
    expect(name_error).to_have_text(en["field.string_too_short"].replace("{min_length}", "1"))
    expect(page.locator("#site-name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-testid=site-form-status]")).to_contain_text(
        en["error.validation_failed"]
    )
    expect(page.locator("#site-timezone-error")).to_be_hidden()
    assert layout_problems(page) == []
    assert api.sites() == sites_before

    # A name already used in the organization: said next to the name as well.
    page.locator("#site-name").fill(CUIHU)
    page.locator("[data-action=save-site]").click()
    expect(name_error).to_have_text(en["error.duplicate_name"])
    assert api.sites() == sites_before

    # An unknown time zone on an edit: said next to the time zone; the site is unchanged.
    page.locator("[data-action=cancel-site]").click()
    site_card(page, CUIHU).locator("[data-action=edit]").click()
    expect(page.locator("#site-name-error")).to_be_hidden()
    page.locator("#site-name").fill("翠湖小区 renamed")
    page.locator("#site-timezone").fill("Mars/Olympus_Mons")
    page.locator("[data-action=save-site]").click()
    expect(page.locator("#site-timezone-error")).to_have_text(en["field.timezone"])
    expect(page.locator("#site-timezone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#site-name-error")).to_be_hidden()
    assert api.sites() == sites_before

    # Fixing it clears the error and saves.
    page.locator("#site-name").fill(CUIHU)
    page.locator("#site-timezone").fill("Asia/Shanghai")
    page.locator("[data-action=save-site]").click()
    expect(page.locator("[data-testid=site-form]")).to_be_hidden()
    expect(page.locator("[data-testid=sites-status]")).to_contain_text(en["admin_sites.unchanged"])
    assert api.sites() == sites_before
    assert_no_raw_keys(page, console)
    assert console.page_errors == []


def test_offline_the_screen_says_it_needs_a_connection(new_context, api):
    context, page, console = new_context(locale="zh-CN", viewport=(1024, 768))
    zh = catalog("zh-CN")
    open_sites(page)
    sites_before = api.sites()
    page.locator("[data-action=new-site]").click()
    page.locator("#site-name").fill("离线站点 Offline site")
    context.set_offline(True)
    page.locator("[data-action=save-site]").click()
    expect(page.locator("[data-testid=site-form-status]")).to_have_text(zh["admin_sites.offline"])
    expect(page.locator("[data-testid=sites-offline]")).to_be_visible()
    expect(page.locator("#site-name")).to_have_value("离线站点 Offline site")  # nothing lost
    assert api.sites() == sites_before

    # Opened offline: the message, not an empty or broken screen.
    page.locator(".page-head button").first.click()  # back home, inside the app
    page.locator("section.home[data-role='admin']").wait_for()
    page.locator(".tile[data-tile='sites']").click()
    expect(page.locator("[data-testid=sites-offline]")).to_have_text(
        re.compile(re.escape(zh["admin_sites.offline"]))
    )
    expect(page.locator("[data-action=new-site]")).to_be_disabled()

    # Back online: the list comes back by itself.
    context.set_offline(False)
    expect(site_card(page, CUIHU)).to_be_visible()
    expect(page.locator("[data-testid=sites-offline]")).to_be_hidden()
    assert_no_raw_keys(page, console)
    assert console.page_errors == []


def test_deactivating_asks_first_and_an_operator_reactivates(new_context, api):
    _, page, console = new_context(locale="zh-CN", viewport=(1280, 800))
    zh = catalog("zh-CN")
    open_sites(page)
    card = site_card(page, TOWER)

    # Cancelling the question changes nothing.
    card.locator("[data-action=deactivate]").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(zh["admin_sites.deactivate_title"].replace("{name}", TOWER))
    expect(dialog).to_contain_text(zh["admin_sites.deactivate_final"])
    dialog.locator("button[value=cancel]").click()
    expect(dialog).to_have_count(0)
    expect(card).to_contain_text(zh["admin_sites.active"])
    assert api.site(TOWER_ID)["is_active"] is True

    card.locator("[data-action=deactivate]").click()
    page.locator("dialog [data-action=confirm]").click()
    expect(page.locator("[data-testid=sites-status]")).to_contain_text(
        zh["admin_sites.deactivated"].replace("{name}", TOWER)
    )
    assert api.site(TOWER_ID)["is_active"] is False
    expect(card).to_have_count(0)  # the admin's role there ended with it
    expect(site_card(page, CUIHU)).to_be_visible()
    assert_no_raw_keys(page, console)
    assert console.page_errors == []

    # A platform operator still sees it, greyed, and brings it back.
    _, op_page, op_console = new_context(locale="zh-CN", viewport=(1280, 800))
    open_sites(op_page, OPERATOR)
    gone = site_card(op_page, TOWER)
    expect(gone).to_have_attribute("data-active", "false")
    expect(gone).to_contain_text(zh["admin_sites.inactive"])
    expect(gone.locator("[data-action=edit]")).to_have_count(0)
    gone.locator("[data-action=reactivate]").click()
    expect(gone).to_have_attribute("data-active", "true")
    assert api.site(TOWER_ID)["is_active"] is True
    assert layout_problems(op_page) == []
    assert_no_raw_keys(op_page, op_console)
    assert op_console.page_errors == []


def test_a_supervisor_gets_no_sites_screen(new_context, api):
    _, page, _ = new_context(locale="en")
    sign_in(page, "supervisor")
    open_home(page, "supervisor")
    assert page.locator(".tile[data-tile='sites']").count() == 0
    page.goto("/admin/sites")
    expect(page.locator("section.home[data-role='supervisor']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("[data-testid=sites]")).to_have_count(0)
    # And the server refuses a supervisor's change whatever the screen shows.
    answer = api.raw("PATCH", f"/api/sites/{CUIHU_ID}", "supervisor", data={"name": "x"})
    assert answer.status == 403
