"""The admin's Zones & units screen in a real Chromium: the home tile opens it on the admin's
current site; zones and units are added, renamed, deactivated and reactivated, and the server
holds each change; refused input shows the server's reason next to its field and changes
nothing; units are searched and paged; offline it says so; a supervisor never gets it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Playwright, expect

from tests.browser.browser_support import (
    BearerApi,
    Console,
    assert_no_raw_keys,
    catalog,
    layout_problems,
    sign_in,
)
from tests.browser.conftest import ContextFactory, Server

pytestmark = pytest.mark.browser

SITE_NAME = "翠湖小区 Cuihu Community"
DEMO_ZONES = [
    "南大门 South gate",
    "1-3 号楼 Buildings 1-3",
    "地下车库 Car park B1",
    "中心花园 Garden",
]
DEMO_UNITS = ["1-1-101", "1-2-201", "2-1-301", "3-1-502", "3-2-601"]
OTHER_SITE_ZONE = "大堂 Lobby"  # the admin's other site: never on this screen
EN = catalog("en")
ZH = catalog("zh-CN")
URL = re.compile(r"/admin/zones$")


class Api(BearerApi):
    default_user = "admin"

    def site_id(self) -> int:
        sites = self.call("GET", "/api/sites?limit=200")["items"]
        return int(next(s["id"] for s in sites if s["name"] == SITE_NAME))

    def zones(self) -> list[dict[str, Any]]:
        path = f"/api/sites/{self.site_id()}/zones?limit=200&include_inactive=true"
        return list(self.call("GET", path)["items"])

    def zone(self, name: str) -> dict[str, Any] | None:
        return next((z for z in self.zones() if z["name"] == name), None)

    def units(self, q: str = "") -> list[dict[str, Any]]:
        path = f"/api/sites/{self.site_id()}/units?limit=200&include_inactive=true&q={q}"
        return list(self.call("GET", path)["items"])

    def unit(self, label: str) -> dict[str, Any] | None:
        return next((u for u in self.units(label) if u["label"] == label), None)


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


def open_screen(
    new_context: ContextFactory, locale: str, viewport: tuple[int, int]
) -> tuple[Page, Console]:
    """The admin signs in, picks the community (they run both demo sites) and taps the tile."""
    _, page, console = new_context(locale=locale, viewport=viewport)
    sign_in(page, "admin")
    page.locator(".choice[data-role='admin']", has_text=SITE_NAME).click()
    tile = page.locator(".tile[data-tile='zones_units']")
    expect(tile).to_be_enabled()
    expect(tile.locator(".tile-badge")).to_have_count(0)  # no longer "coming soon"
    tile.click()
    expect(page).to_have_url(URL)
    cat = catalog(locale)
    expect(page.locator("#page-title")).to_have_text(cat["admin_zones.title"])
    expect(page.locator("[data-testid=zones] > li").first).to_be_visible()
    return page, console


def zone_card(page: Page, name: str) -> Locator:
    return page.locator(
        "[data-testid=zones] > li",
        has=page.locator(".card-title", has_text=re.compile(f"^{re.escape(name)}$")),
    )


def unit_card(page: Page, label: str) -> Locator:
    return page.locator(
        "[data-testid=units] > li",
        has=page.locator(".card-title", has_text=re.compile(f"^{re.escape(label)}$")),
    )


def field_error(form: Locator, name: str) -> Locator:
    return form.locator(f".field-error[data-error-for='{name}']")


def no_page_errors(console: Console) -> None:
    assert console.page_errors == [], console.page_errors
    assert console.csp_violations() == [], console.csp_violations()


def test_admin_adds_renames_and_deactivates_zones(new_context, api):
    page, console = open_screen(new_context, "en", (1280, 800))
    zones = page.locator("[data-testid=zones] > li .card-title")
    for name in DEMO_ZONES:
        expect(zone_card(page, name)).to_have_count(1)
    expect(page.locator("[data-testid=zones]")).not_to_contain_text(OTHER_SITE_ZONE)
    for label in DEMO_UNITS:
        expect(unit_card(page, label)).to_have_count(1)

    # Add a zone: it is listed with its kind, and the server holds it.
    add = page.locator("[data-testid=add-zone]")
    add.locator("#new-zone-name").fill("东区 East wing")
    add.locator("#new-zone-kind").select_option("building")
    add.locator("[data-action=add-zone]").click()
    expect(zone_card(page, "东区 East wing")).to_contain_text(EN["admin_zones.kind.building"])
    made = api.zone("东区 East wing")
    assert made is not None and made["kind"] == "building" and made["is_active"]
    card = page.locator(f"[data-testid=zones] > li[data-zone='{made['id']}']")
    expect(add.locator("#new-zone-name")).to_have_value("")

    # An empty name and a duplicate are refused: the reason next to the name, nothing changed.
    before = api.zones()
    add.locator("#new-zone-name").fill("   ")
    add.locator("[data-action=add-zone]").click()
    expect(field_error(add, "name")).to_have_text(EN["field.missing"])
    expect(add.locator("#new-zone-name")).to_have_attribute("aria-invalid", "true")
    add.locator("#new-zone-name").fill(DEMO_ZONES[0])
    add.locator("[data-action=add-zone]").click()
    expect(field_error(add, "name")).to_have_text(EN["admin_zones.zone_name_taken"])
    assert api.zones() == before
    expect(zones).to_have_count(len(before))

    # Rename it: a duplicate is refused in the card's own form, then a good name is saved.
    card.locator("[data-action=edit]").click()
    edit = card.locator("[data-testid=edit-zone]")
    edit.locator("input[name=name]").fill(DEMO_ZONES[1])
    edit.locator("[data-action=save]").click()
    expect(field_error(edit, "name")).to_have_text(EN["admin_zones.zone_name_taken"])
    assert api.zone("东区 East wing") is not None
    edit.locator("input[name=name]").fill("东区 East wing A")
    edit.locator("select[name=kind]").select_option("floor")
    edit.locator("[data-action=save]").click()
    expect(zone_card(page, "东区 East wing A")).to_contain_text(EN["admin_zones.kind.floor"])
    renamed = api.zone("东区 East wing A")
    assert renamed is not None and renamed["id"] == made["id"] and renamed["kind"] == "floor"
    assert api.zone("东区 East wing") is None

    # Deactivating asks first; cancelling changes nothing.
    card.locator("[data-action=deactivate]").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text("东区 East wing A")
    dialog.locator("[data-action=cancel]").click()
    expect(dialog).to_have_count(0)
    assert api.zone("东区 East wing A")["is_active"] is True
    card.locator("[data-action=deactivate]").click()
    page.locator("dialog [data-action=confirm]").click()
    expect(card).to_contain_text(EN["admin_zones.inactive"])
    expect(card.locator("[data-action=reactivate]")).to_be_visible()
    assert api.zone("东区 East wing A")["is_active"] is False
    # A deactivated zone is not offered for new units.
    assert "东区 East wing A" not in page.locator("#new-unit-zone option").all_inner_texts()

    card.locator("[data-action=reactivate]").click()
    expect(card.locator("[data-action=deactivate]")).to_be_visible()
    expect(card).not_to_contain_text(EN["admin_zones.inactive"])
    assert api.zone("东区 East wing A")["is_active"] is True

    assert_no_raw_keys(page, console)
    assert layout_problems(page) == []
    no_page_errors(console)


def test_admin_adds_searches_edits_and_deactivates_units(new_context, api):
    page, console = open_screen(new_context, "zh-CN", (1024, 768))
    garden = api.zone("中心花园 Garden")
    assert garden is not None

    # Add a unit in a zone: listed with its zone, and held by the server.
    add = page.locator("[data-testid=add-unit]")
    add.locator("#new-unit-label").fill("4-1-101")
    add.locator("#new-unit-zone").select_option(label="中心花园 Garden")
    add.locator("[data-action=add-unit]").click()
    expect(unit_card(page, "4-1-101")).to_contain_text("中心花园 Garden")
    made = api.unit("4-1-101")
    assert made is not None and made["zone_id"] == garden["id"] and made["is_active"]
    card = page.locator(f"[data-testid=units] > li[data-unit='{made['id']}']")

    # An empty number and one the site has already: the reason next to it, nothing added.
    before = api.units()
    add.locator("#new-unit-label").fill("")
    add.locator("[data-action=add-unit]").click()
    expect(field_error(add, "label")).to_have_text(ZH["field.missing"])
    add.locator("#new-unit-label").fill("3-1-502")
    add.locator("[data-action=add-unit]").click()
    expect(field_error(add, "label")).to_have_text(ZH["admin_zones.unit_label_taken"])
    expect(add.locator("#new-unit-label")).to_have_attribute("aria-invalid", "true")
    assert api.units() == before

    # Searching narrows the list (on the server: only what matches comes back).
    search = page.locator("#unit-search")
    search.fill("3-")
    expect(page.locator("[data-testid=units] > li")).to_have_count(2)
    expect(unit_card(page, "3-1-502")).to_have_count(1)
    expect(unit_card(page, "3-2-601")).to_have_count(1)
    expect(page.locator("[data-testid=units-count]")).to_have_text(
        ZH["admin_zones.units_shown"].format(**{"from": 1, "to": 2, "total": 2})
    )
    search.fill("no-such-unit")
    expect(page.locator("[data-testid=units] > li")).to_have_count(0)
    expect(page.locator("[data-testid=units-count]")).to_contain_text("no-such-unit")

    # Edit a unit: a new number and no zone.
    search.fill("4-1-101")
    expect(unit_card(page, "4-1-101")).to_have_count(1)
    card.locator("[data-action=edit]").click()
    edit = card.locator("[data-testid=edit-unit]")
    edit.locator("input[name=label]").fill("1-1-101")  # taken
    edit.locator("[data-action=save]").click()
    expect(field_error(edit, "label")).to_have_text(ZH["admin_zones.unit_label_taken"])
    assert api.unit("4-1-101")["zone_id"] == garden["id"]
    edit.locator("input[name=label]").fill("4-1-102")
    edit.locator("select[name=zone_id]").select_option("")
    edit.locator("[data-action=save]").click()
    search.fill("4-1-102")
    expect(unit_card(page, "4-1-102")).to_contain_text(ZH["admin_zones.no_zone"])
    moved = api.unit("4-1-102")
    assert moved is not None and moved["id"] == made["id"] and moved["zone_id"] is None

    # Deactivate after confirming: gone from the list, found again with "show deactivated".
    card.locator("[data-action=deactivate]").click()
    page.locator("dialog [data-action=confirm]").click()
    expect(card).to_have_count(0)
    assert api.unit("4-1-102")["is_active"] is False
    page.locator("[data-testid=unit-inactive]").check()
    expect(card).to_contain_text(ZH["admin_zones.inactive"])
    card.locator("[data-action=reactivate]").click()
    expect(card.locator("[data-action=deactivate]")).to_be_visible()
    assert api.unit("4-1-102")["is_active"] is True

    assert_no_raw_keys(page, console)
    assert layout_problems(page) == []
    no_page_errors(console)


def test_hundreds_of_units_are_paged(new_context, api):
    site = api.site_id()
    for n in range(1, 61):
        api.call("POST", f"/api/sites/{site}/units", data={"label": f"P-{n:03d}"})
    page, console = open_screen(new_context, "en", (1280, 800))
    page.locator("#unit-search").fill("P-")
    units = page.locator("[data-testid=units] > li")
    count = page.locator("[data-testid=units-count]")
    expect(count).to_have_text(
        EN["admin_zones.units_shown"].format(**{"from": 1, "to": 50, "total": 60})
    )
    expect(units).to_have_count(50)
    expect(page.locator("[data-action=prev-page]")).to_be_disabled()
    page.locator("[data-action=next-page]").click()
    expect(count).to_have_text(
        EN["admin_zones.units_shown"].format(**{"from": 51, "to": 60, "total": 60})
    )
    expect(units).to_have_count(10)
    expect(unit_card(page, "P-060")).to_have_count(1)
    expect(unit_card(page, "P-001")).to_have_count(0)
    expect(page.locator("[data-action=next-page]")).to_be_disabled()
    page.locator("[data-action=prev-page]").click()
    expect(unit_card(page, "P-001")).to_have_count(1)
    assert_no_raw_keys(page, console)
    no_page_errors(console)


@pytest.mark.parametrize("viewport", [(360, 640), (1280, 800)])
def test_the_screen_fits(new_context, viewport):
    page, console = open_screen(new_context, "zh-CN", viewport)
    expect(page.locator("[data-testid=units] > li").first).to_be_visible()
    assert layout_problems(page) == []
    # A card's edit form and a field error fit too.
    zone_card(page, DEMO_ZONES[0]).locator("[data-action=edit]").click()
    edit = page.locator("[data-testid=edit-zone]")
    edit.locator("input[name=name]").fill("")
    edit.locator("[data-action=save]").click()
    expect(field_error(edit, "name")).to_be_visible()
    assert layout_problems(page) == []
    assert_no_raw_keys(page, console)
    no_page_errors(console)


def test_offline_it_says_so_and_sends_nothing(new_context, api):
    page, console = open_screen(new_context, "en", (1024, 768))
    banner = page.locator("[data-testid=admin-zones-offline]")
    expect(banner).to_be_hidden()
    before = api.zones()
    page.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(EN["admin_zones.offline"])
    add = page.locator("[data-testid=add-zone]")
    add.locator("#new-zone-name").fill("离线 Offline zone")
    add.locator("[data-action=add-zone]").click()
    expect(add.locator(".form-error")).to_have_text(EN["admin_zones.offline"])
    expect(add.locator("#new-zone-name")).to_have_value("离线 Offline zone")
    assert api.zones() == before
    page.context.set_offline(False)
    expect(banner).to_be_hidden()
    add.locator("[data-action=add-zone]").click()
    expect(zone_card(page, "离线 Offline zone")).to_have_count(1)
    assert api.zone("离线 Offline zone") is not None
    assert_no_raw_keys(page, console)
    no_page_errors(console)


def test_a_supervisor_does_not_get_the_screen(new_context):
    _, page, _ = new_context(locale="en")
    sign_in(page, "supervisor")
    page.locator("section.home[data-role='supervisor']").wait_for()
    assert page.locator(".tile[data-tile='zones_units']").count() == 0
    page.goto("/admin/zones")
    expect(page.locator("section.home[data-role='supervisor']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("[data-testid=admin-zones]")).to_have_count(0)
