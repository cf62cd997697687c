"""Fire equipment and bridges in a real Chromium: the supervisor's board shows an extinguisher
whose beacon went missing the moment a bridge reports it (no reload), a bridge that stopped
sending heartbeats as stale, and clears a tamper mark; an admin registers equipment and a guard
filters the list and reads a beacon's history."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Playwright, expect

from tests.browser.browser_support import (
    BearerApi,
    assert_no_raw_keys,
    catalog,
    layout_problems,
    open_home,
    open_live_board,
    sign_in,
)
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

SITE_ID = 1  # 翠湖小区 in the demo
EXTINGUISHER = "B1 灭火器 03 Extinguisher"
BEACON = "f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:3"


class Api(BearerApi):
    """The test's own calls: people by bearer token, bridges by their device token."""

    default_user = "admin"

    def equipment(self, name: str) -> dict[str, Any]:
        page = self.call("GET", f"/api/sites/{SITE_ID}/fire-equipment?q={name[:6]}", "supervisor")
        return next(i for i in page["items"] if i["name"] == name)


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


@pytest.fixture(scope="module")
def bridges(api: Api) -> dict[str, dict[str, Any]]:
    """Two bridges: the lobby's reports in, the car park's has never sent a heartbeat."""
    made = {
        name: api.call("POST", f"/api/sites/{SITE_ID}/devices", data={"name": name})
        for name in ("大堂网关 Lobby bridge", "车库网关 Car park bridge")
    }
    api.call(
        "POST",
        "/api/bridge/heartbeat",
        made["大堂网关 Lobby bridge"]["token"],
        data={
            "sent_at": datetime.now(UTC).isoformat(),
            "version": "0.3.1",
            "adapter": {"present": True, "powered": True, "address": "00:1A:7D:DA:71:13"},
            "spool_size": 12,
            "dead_letters": 1,
        },
    )
    return made


@pytest.fixture(scope="module")
def extinguisher(api: Api) -> dict[str, Any]:
    zones = api.call("GET", f"/api/sites/{SITE_ID}/zones?limit=200")["items"]
    garage = next(z["id"] for z in zones if z["name"].startswith("地下车库"))
    return dict(
        api.call(
            "POST",
            f"/api/sites/{SITE_ID}/fire-equipment",
            data={
                "name": EXTINGUISHER,
                "type": "extinguisher",
                "zone_id": garage,
                "location": "电梯厅旁 by the lift lobby",
                "beacon_kind": "ibeacon",
                "beacon_ident": BEACON,
            },
        )
    )


def batch(api: Api, token: str, *events: tuple[str, datetime], seen: datetime | None = None):
    """What a bridge sends: an optional sighting of the beacon, then its events."""
    sightings = []
    if seen is not None:
        sightings.append(
            {
                "kind": "ibeacon",
                "ident": BEACON,
                "address": "C3:4F:21:7A:90:0B",
                "first_seen": (seen - timedelta(seconds=30)).isoformat(),
                "last_seen": seen.isoformat(),
                "rssi_max": -71,
                "count": 12,
                "battery_percent": 64,
            }
        )
    return api.call(
        "POST",
        "/api/bridge/batches",
        token,
        data={
            "batch_id": str(uuid.uuid4()),
            "sent_at": datetime.now(UTC).isoformat(),
            "sightings": sightings,
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "kind": "ibeacon",
                    "ident": BEACON,
                    "type": kind,
                    "at": at.isoformat(),
                    "detail": {},
                }
                for kind, at in events
            ],
        },
    )


def test_the_board_shows_a_missing_extinguisher_live_and_a_stale_bridge(
    new_context, api: Api, bridges: dict[str, dict[str, Any]], extinguisher: dict[str, Any]
):
    en = catalog("en")
    lobby, car_park = (bridges[n] for n in ("大堂网关 Lobby bridge", "车库网关 Car park bridge"))
    _, board, console = new_context(locale="en", viewport=(1024, 768))
    board.goto("/login")
    sign_in(board, "supervisor")
    open_home(board, "supervisor")
    board.locator(".tile[data-tile='live_board']").click()
    expect(board.locator("[data-testid=live]")).to_have_attribute("data-live", "live")

    # Bridge health: the silent one is stale, the other shows its spool and adapter.
    panel = board.locator("[data-testid=bridges]")
    silent = panel.locator(f"li[data-bridge='{car_park['id']}']")
    expect(silent).to_have_attribute("data-stale", "true")
    expect(silent.locator("[data-testid=stale]")).to_have_text(en["bridges.stale"])
    expect(silent).to_have_class(re.compile(r"\bcard-problem\b"))
    reporting = panel.locator(f"li[data-bridge='{lobby['id']}']")
    expect(reporting).to_have_attribute("data-stale", "false")
    expect(reporting).to_contain_text(en["bridges.reporting"])
    expect(reporting.locator("[data-testid=spool]")).to_have_text(
        en["bridges.spool"].format(n=12, dead=1)
    )
    expect(reporting).to_contain_text(en["bridges.adapter_on"])
    expect(reporting).to_contain_text("0.3.1")

    # Nothing needs attention yet: seen a minute ago with a good battery.
    alerts = board.locator("[data-testid=equipment-alerts]")
    batch(api, lobby["token"], seen=datetime.now(UTC) - timedelta(minutes=1))
    expect(alerts).to_contain_text(en["equipment.none_alerting"])
    board.evaluate("window.__notReloaded = true")

    # The bridge stops seeing the extinguisher: the board shows it without a reload.
    batch(api, lobby["token"], ("missing", datetime.now(UTC)))
    item = alerts.locator(f"li[data-equipment='{extinguisher['id']}']")
    expect(item).to_contain_text(EXTINGUISHER)
    expect(item.locator("[data-alert=missing]")).to_contain_text(en["equipment.alert.missing"])
    expect(item).to_contain_text("by the lift lobby")
    expect(item).to_contain_text(en["equipment.battery"].format(percent=64))
    assert board.evaluate("window.__notReloaded") is True
    assert api.equipment(EXTINGUISHER)["missing"] is True

    # Someone opens the cabinet: tampered with. A supervisor who has looked clears that mark;
    # the extinguisher stays listed as missing.
    batch(api, lobby["token"], ("tamper", datetime.now(UTC)))
    expect(item.locator("[data-alert=tamper]")).to_be_visible()
    item.locator("[data-action=acknowledge]").click()
    expect(item.locator("[data-alert=tamper]")).to_have_count(0)
    expect(item.locator("[data-action=acknowledge]")).to_have_count(0)
    expect(item.locator("[data-alert=missing]")).to_be_visible()
    stored = api.equipment(EXTINGUISHER)
    assert stored["tamper_at"] is None and stored["missing"] is True
    assert board.evaluate("window.__notReloaded") is True

    # Seen again: it leaves the list by itself.
    batch(api, lobby["token"], seen=datetime.now(UTC))
    expect(item).to_have_count(0)
    expect(alerts).to_contain_text(en["equipment.none_alerting"])
    assert layout_problems(board) == []
    assert_no_raw_keys(board, console)
    assert not console.page_errors and not console.csp_violations()


def test_an_admin_registers_equipment_and_a_guard_reads_its_beacons_history(
    new_context, api: Api, bridges: dict[str, dict[str, Any]], extinguisher: dict[str, Any]
):
    en, zh = catalog("en"), catalog("zh-CN")
    _, admin, admin_console = new_context(locale="en", viewport=(1024, 768))
    admin.goto("/login")
    sign_in(admin, "admin")
    open_home(admin, "admin")
    admin.locator(".tile[data-tile='fire_equipment']").click()
    form = admin.locator("[data-testid=register-equipment]")
    form.locator("input[name=name]").fill("2F 消火栓 Hydrant")
    form.locator("select[name=type]").select_option("hydrant")
    form.locator("select[name=zone_id]").select_option(label="1-3 号楼 Buildings 1-3")
    form.locator("select[name=beacon_kind]").select_option("eddystone_uid")
    # A beacon id of the wrong shape: refused with the reason, nothing registered.
    form.locator("input[name=beacon_ident]").fill("not-a-uid")
    form.locator("[data-action=register]").click()
    status = admin.locator("[data-testid=register-status]")
    expect(status).to_contain_text(en["field.bad_ident"])
    expect(admin.locator("[data-testid=equipment-list]")).not_to_contain_text("2F 消火栓 Hydrant")
    form.locator("input[name=beacon_ident]").fill("EDD1EBEAC04E5DEFA0170BADC0FFEE01")
    form.locator("[data-action=register]").click()
    expect(status).to_contain_text(en["equipment.registered"].format(name="2F 消火栓 Hydrant"))
    hydrant = admin.locator("[data-testid=equipment-list] li", has_text="2F 消火栓 Hydrant")
    expect(hydrant).to_contain_text(en["equipment.type.hydrant"])
    expect(hydrant).to_contain_text(en["equipment.state.ok"])
    assert api.equipment("2F 消火栓 Hydrant")["beacon_ident"] == "edd1ebeac04e5defa0170badc0ffee01"
    assert layout_problems(admin) == []
    assert_no_raw_keys(admin, admin_console)

    # A guard: no registering, but the list with filters and each beacon's history.
    lobby = bridges["大堂网关 Lobby bridge"]
    now = datetime.now(UTC)
    batch(api, lobby["token"], ("missing", now + timedelta(seconds=1)), ("tamper", now))
    api.call("POST", f"/api/fire-equipment/{extinguisher['id']}/acknowledge", "supervisor")
    _, phone, console = new_context(locale="zh-CN")
    phone.goto("/login")
    sign_in(phone, "guard")
    open_home(phone, "guard")
    phone.locator(".tile[data-tile='fire_checks']").click()
    listing = phone.locator("[data-testid=equipment-list]")
    expect(listing).to_contain_text("2F 消火栓 Hydrant")
    expect(phone.locator("[data-testid=register-equipment]")).to_have_count(0)
    phone.locator("input[data-filter=alerting]").check()
    expect(listing.locator("li[data-equipment]")).to_have_count(1)
    item = listing.locator(f"li[data-equipment='{extinguisher['id']}']")
    expect(item.locator("[data-alert=missing]")).to_contain_text(zh["equipment.alert.missing"])
    phone.locator("select[data-filter=type]").select_option("hydrant")
    expect(listing).to_contain_text(zh["equipment.none"])
    phone.locator("select[data-filter=type]").select_option("")
    item.locator("[data-action=history]").click()
    history = item.locator("[data-testid=history]")
    expect(history.locator("li[data-event=missing]").first).to_contain_text(
        zh["equipment.event.missing"]
    )
    expect(history.locator("li[data-event=tamper]").first).to_contain_text(
        zh["equipment.event.tamper"]
    )
    assert layout_problems(phone) == []
    assert_no_raw_keys(phone, console)
    assert not console.page_errors and not console.csp_violations()


def test_a_high_severity_incident_appears_on_the_board_without_a_reload(new_context, api: Api):
    _, board, console = new_context(locale="en", viewport=(1024, 768))
    open_live_board(board)
    incident_id = str(uuid.uuid4())
    api.call(
        "POST",
        f"/api/sites/{SITE_ID}/incidents",
        "guard",
        data={
            "id": incident_id,
            "type": "fire_hazard",
            "severity": "critical",
            "description": "地下车库冒烟 Smoke in the car park",
        },
    )
    panel = board.locator("[data-testid=incident-panel]")
    card = panel.locator(f"li[data-incident='{incident_id}']")
    expect(card).to_contain_text("Smoke in the car park")
    assert board.evaluate("window.__notReloaded") is True
    # Resolved: it leaves the board by itself.
    api.call("POST", f"/api/incidents/{incident_id}/resolve", "supervisor", data={"note": "Out"})
    expect(card).to_have_count(0)
    assert not console.page_errors and not console.csp_violations()
