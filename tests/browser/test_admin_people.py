"""The site admin's People screen in a real Chromium: the site's people and their roles, adding a
guard who can then sign in, a resident who needs a unit, changing a role, removing someone from
the site, deactivating an account (asked first; it ends their sign-in), the server's field
errors shown next to their field, offline told plainly, and no screen for a supervisor."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import APIResponse, Page, Playwright, expect

from tests.browser.browser_support import (
    BearerApi,
    Console,
    assert_no_raw_keys,
    catalog,
    layout_problems,
    open_home,
    sign_in,
)
from tests.browser.conftest import ContextFactory, Server

pytestmark = pytest.mark.browser

SITE_ID = 1  # 翠湖小区 Cuihu Community in the demo; the admin's first membership
SITE_NAME = "翠湖小区 Cuihu Community"
RUN = uuid.uuid4().hex[:6]  # the module's server is shared: every name made here is unique
EN = catalog("en")
ZH = catalog("zh-CN")


def unique(prefix: str) -> str:
    return f"{prefix}-{RUN}-{uuid.uuid4().hex[:4]}"


def password_for(username: str) -> str:
    return f"{username}-Secret-pass"


class Api(BearerApi):
    """The server's side of things, asked as the demo admin."""

    default_user = "admin"

    def person(self, username: str) -> dict[str, Any] | None:
        """The account at the site (deactivated ones too), or None."""
        page = self.call("GET", f"/api/users?site_id={SITE_ID}&include_inactive=true&q={username}")
        return next((u for u in page["items"] if u["username"] == username), None)

    def roles(self, user_id: int, include_inactive: bool = False) -> list[dict[str, Any]]:
        flag = "true" if include_inactive else "false"
        rows = self.call(
            "GET", f"/api/sites/{SITE_ID}/memberships?limit=200&include_inactive={flag}"
        )["items"]
        return [m for m in rows if m["user_id"] == user_id]

    def unit_id(self, label: str) -> int:
        units = self.call("GET", f"/api/sites/{SITE_ID}/units?q={label}")["items"]
        return int(next(u["id"] for u in units if u["label"] == label))

    def sign_in_as(self, username: str, password: str) -> APIResponse:
        return self.request.post(
            "/api/auth/login", data={"username": username, "password": password}
        )

    def me(self, token: str) -> APIResponse:
        return self.request.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})

    def add_guard(self, username: str) -> dict[str, Any]:
        return dict(
            self.call(
                "POST",
                "/api/users",
                data={
                    "username": username,
                    "display_name": f"Guard {username}",
                    "password": password_for(username),
                    "membership": {"site_id": SITE_ID, "role": "guard"},
                },
            )
        )


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


def people_screen(
    new_context: ContextFactory, locale: str = "en", viewport: tuple[int, int] = (1280, 800)
) -> tuple[Any, Page, Console]:
    """The admin signed in at the demo site, on People opened from its home tile."""
    context, page, console = new_context(locale=locale, viewport=viewport)
    sign_in(page, "admin")
    open_home(page, "admin")
    tile = page.locator(".tile[data-tile='people']")
    expect(tile).to_be_enabled()
    tile.click()
    expect(page).to_have_url(re.compile(r"/admin/people$"))
    expect(page.locator("#page-title")).to_have_text(catalog(locale)["admin_people.title"])
    expect(page.locator("[data-testid=people] > li").first).to_be_visible()
    return context, page, console


def card(page: Page, username: str):
    return page.locator(f"[data-testid=people] > li[data-username='{username}']")


def find(page: Page, text: str) -> None:
    """Searches the list and waits until it shows just the one person found."""
    page.locator("#people-search").fill(text)
    expect(page.locator("[data-testid=people] > li")).to_have_count(1)


def fill_person(page: Page, username: str, display: str, password: str, role: str) -> None:
    form = page.locator("#people-add")
    if form.is_hidden():
        page.locator("[data-action=add-person]").click()
    form.locator("[name=username]").fill(username)
    form.locator("[name=display_name]").fill(display)
    form.locator("[name=password]").fill(password)
    form.locator("select[name=role]").select_option(role)


def typed_values(page: Page) -> list[str]:
    return list(page.evaluate("() => [...document.querySelectorAll('input')].map((i) => i.value)"))


def settled(page: Page, console: Console) -> None:
    assert_no_raw_keys(page, console)
    assert console.page_errors == []
    assert console.csp_violations() == []


def test_the_tile_opens_the_sites_people_with_their_roles(new_context):
    _, page, console = people_screen(new_context, locale="zh-CN", viewport=(1280, 800))
    expect(page.locator(".people-admin")).to_contain_text(SITE_NAME)
    expect(card(page, "guard")).to_contain_text(ZH["role.guard"])
    expect(card(page, "supervisor")).to_contain_text(ZH["role.supervisor"])
    expect(card(page, "resident")).to_contain_text(f"{ZH['role.resident']} · 3-1-502")
    expect(card(page, "resident2")).to_contain_text(f"{ZH['role.resident']} · 1-2-201")
    # The admin is marked as themself and cannot deactivate or demote their own account here.
    me = card(page, "admin")
    expect(me).to_contain_text(ZH["admin_people.you"])
    expect(me.locator("[data-action=deactivate], [data-action=change-role]")).to_have_count(0)
    # People of the other demo site are not listed.
    expect(card(page, "tower-guard")).to_have_count(0)
    expect(card(page, "tenant")).to_have_count(0)
    assert layout_problems(page) == []

    # Searching by name narrows the list.
    find(page, "Chen")
    expect(card(page, "resident")).to_be_visible()
    page.locator("#people-search").fill("nobody-by-this-name")
    expect(page.locator("[data-testid=people]")).to_contain_text(ZH["admin_people.none_found"])
    settled(page, console)


def test_an_added_guard_is_on_the_server_and_signs_in_with_the_password_given(new_context, api):
    username = unique("g")
    password = password_for(username)
    _, page, console = people_screen(new_context, locale="en", viewport=(1024, 768))
    fill_person(page, username, f"New Guard {RUN}", password, "guard")
    page.locator("#people-add [data-action=save-person]").click()

    expect(card(page, username)).to_contain_text(EN["role.guard"])
    expect(page.locator("#people-add")).to_be_hidden()
    expect(page.locator("[data-testid=people-status]")).to_contain_text(f"New Guard {RUN}")
    # The password is neither shown back nor left in any field of the page.
    assert password not in page.locator("body").inner_text()
    assert password not in typed_values(page)

    user = api.person(username)
    assert user is not None and user["display_name"] == f"New Guard {RUN}" and user["is_active"]
    assert [(m["role"], m["unit_id"]) for m in api.roles(user["id"])] == [("guard", None)]
    answer = api.sign_in_as(username, password)
    assert answer.ok, answer.text()
    me = api.me(answer.json()["token"]).json()
    assert [(m["role"], m["site"]["id"]) for m in me["memberships"]] == [("guard", SITE_ID)]
    settled(page, console)


def test_bad_values_show_next_to_their_field_and_change_nothing(new_context, api):
    _, page, console = people_screen(new_context, locale="en", viewport=(360, 640))
    form = page.locator("#people-add")

    # A username already taken: said at the username, nobody created, the password gone.
    display = f"Taken {RUN}"
    fill_person(page, "guard", display, password_for("x-taken"), "guard")
    form.locator("[data-action=save-person]").click()
    username_error = form.locator("[data-field-error=username]")
    expect(username_error).to_have_text(EN["error.username_taken"])
    expect(form.locator("[name=username]")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("[name=password]")).to_have_value("")
    expect(form.locator("[data-field-error=password]")).to_be_hidden()
    hint = form.locator("[data-testid=people-taken-hint]")
    expect(hint).to_have_text(EN["admin_people.taken_hint"])  # they may have worked here before
    assert api.call("GET", f"/api/users?site_id={SITE_ID}&q={display}")["total"] == 0
    assert layout_problems(page) == []

    # A password too short: said at the password; the username's error is gone.
    username = unique("short")
    form.locator("[name=username]").fill(username)
    form.locator("[name=password]").fill("short1")
    form.locator("[data-action=save-person]").click()
    password_error = form.locator("[data-field-error=password]")
    expect(password_error).to_be_visible()
    expect(password_error).to_contain_text("10")
    expect(username_error).to_be_hidden()
    expect(hint).to_have_count(0)
    expect(form.locator("[name=password]")).to_have_value("")
    assert api.person(username) is None

    # A malformed username: the server's own field error, at the username.
    form.locator("[name=username]").fill("-no spaces-")
    form.locator("[name=password]").fill(password_for("x-bad"))
    form.locator("[data-action=save-person]").click()
    expect(username_error).to_have_text(EN["field.string_pattern_mismatch"])
    assert api.call("GET", f"/api/users?site_id={SITE_ID}&q={display}")["total"] == 0
    assert layout_problems(page) == []
    settled(page, console)


def test_a_resident_needs_a_unit_from_the_site(new_context, api):
    username = unique("r")
    _, page, console = people_screen(new_context, locale="zh-CN", viewport=(360, 640))
    form = page.locator("#people-add")
    fill_person(page, username, f"住户 {RUN}", password_for(username), "resident")
    expect(form.locator("[data-field=unit_id]")).to_be_visible()

    form.locator("[data-action=save-person]").click()
    expect(form.locator("[data-field-error=unit_id]")).to_have_text(ZH["field.unit_required"])
    assert api.person(username) is None

    # The unit is found by searching its number, then the person is added with it.
    form.locator("[data-field=unit_id] input[type=search]").fill("3-2")
    pick = form.locator("[data-action=pick-unit][data-unit='3-2-601']")
    expect(pick).to_be_visible()
    assert layout_problems(page) == []
    pick.click()
    expect(form.locator("[data-testid=unit-chosen]")).to_contain_text("3-2-601")
    form.locator("[name=password]").fill(password_for(username))
    form.locator("[data-action=save-person]").click()

    expect(card(page, username)).to_contain_text(f"{ZH['role.resident']} · 3-2-601")
    user = api.person(username)
    assert user is not None
    roles = [(m["role"], m["unit_id"]) for m in api.roles(user["id"])]
    assert roles == [("resident", api.unit_id("3-2-601"))]
    settled(page, console)


def test_changing_a_role_shows_on_the_server(new_context, api):
    username = unique("c")
    user = api.add_guard(username)
    _, page, console = people_screen(new_context, locale="en", viewport=(1280, 800))
    find(page, username)
    row = card(page, username).locator(".people-role")
    expect(row).to_contain_text(EN["role.guard"])
    row.locator("[data-action=change-role]").click()
    form = card(page, username).locator(".people-role-form")
    form.locator("select[name=role]").select_option("supervisor")
    form.locator("[data-action=save-role]").click()

    expect(card(page, username).locator(".people-role-badge")).to_have_text(EN["role.supervisor"])
    assert [m["role"] for m in api.roles(user["id"])] == ["supervisor"]
    assert layout_problems(page) == []
    settled(page, console)


def test_deactivating_asks_first_and_ends_their_sign_in(new_context, api):
    username = unique("d")
    user = api.add_guard(username)
    answer = api.sign_in_as(username, password_for(username))
    assert answer.ok, answer.text()
    token = answer.json()["token"]
    _, page, console = people_screen(new_context, locale="en", viewport=(1024, 768))
    find(page, username)
    person = card(page, username)

    # Cancelled: nothing changes, their session still works.
    person.locator("[data-action=deactivate]").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(EN["admin_people.deactivate_body"])
    dialog.locator("button[value=cancel]").click()
    expect(dialog).to_have_count(0)
    assert api.person(username)["is_active"] is True
    assert api.me(token).ok

    person.locator("[data-action=deactivate]").click()
    page.locator("dialog [data-action=confirm]").click()
    expect(person).to_contain_text(EN["admin_people.inactive"])
    expect(person.locator("[data-action=reactivate]")).to_be_visible()
    assert api.person(username)["is_active"] is False
    assert api.me(token).status == 401  # signed out at once
    assert api.sign_in_as(username, password_for(username)).status == 401

    # Reactivated: they can sign in again.
    person.locator("[data-action=reactivate]").click()
    expect(person.locator("[data-action=deactivate]")).to_be_visible()
    assert api.person(username)["is_active"] is True
    assert api.sign_in_as(username, password_for(username)).ok
    assert user["id"] == api.person(username)["id"]
    settled(page, console)


def test_removing_from_the_site_asks_first_and_a_search_finds_them_again(new_context, api):
    username = unique("x")
    user = api.add_guard(username)
    _, page, console = people_screen(new_context, locale="en", viewport=(360, 640))
    find(page, username)
    card(page, username).locator("[data-action=remove-membership]").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(EN["admin_people.remove_keeps_account"])
    dialog.locator("[data-action=confirm]").click()

    # Still found by the search, with no role here and a way to give one back.
    person = card(page, username)
    expect(person.locator("[data-former=true]")).to_contain_text(EN["admin_people.no_role"])
    assert api.roles(user["id"]) == []
    assert [m["is_active"] for m in api.roles(user["id"], include_inactive=True)] == [False]
    assert api.person(username) is None  # no longer one of the site's people

    # Without a search the list is the site's people only.
    page.locator("#people-search").fill("")
    expect(page.locator("[data-testid=people] > li").first).to_be_visible()
    expect(card(page, username)).to_have_count(0)

    find(page, username)
    card(page, username).locator("[data-action=give-role]").click()
    form = card(page, username).locator(".people-role-form")
    form.locator("select[name=role]").select_option("supervisor")
    form.locator("[data-action=save-role]").click()
    expect(card(page, username).locator(".people-role-badge")).to_have_text(EN["role.supervisor"])
    assert [(m["role"], m["is_active"]) for m in api.roles(user["id"])] == [("supervisor", True)]
    assert api.person(username)["id"] == user["id"]
    assert layout_problems(page) == []
    settled(page, console)


def test_offline_is_said_plainly(new_context):
    context, page, console = people_screen(new_context, locale="en", viewport=(1280, 800))
    offline = page.locator("[data-testid=people-offline]")
    expect(offline).to_be_hidden()
    context.set_offline(True)
    expect(offline).to_have_text(re.compile(re.escape(EN["admin_people.offline"])))
    expect(page.locator("[data-action=add-person]")).to_be_disabled()
    offline.locator("[data-action=retry]").click()
    expect(offline).to_be_visible()
    context.set_offline(False)
    expect(offline).to_be_hidden()
    expect(page.locator("[data-action=add-person]")).to_be_enabled()
    expect(card(page, "guard")).to_be_visible()
    settled(page, console)


def test_a_supervisor_does_not_get_the_people_screen(new_context):
    _, page, console = new_context(locale="en", viewport=(1024, 768))
    sign_in(page, "supervisor")
    open_home(page, "supervisor")
    assert page.locator(".tile[data-tile='people']").count() == 0
    page.goto("/admin/people")
    expect(page.locator("section.home[data-role='supervisor']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("#people-search")).to_have_count(0)
    settled(page, console)
