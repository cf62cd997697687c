"""Patrol in a real Chromium: an offline round scanned by QR through Chromium's fake camera and
the app's own decoder, synced to a complete round; an NTAG 424 tap signed out, then recorded
after sign-in; manual entry, the live board and its review queue; hotspots; scan from a photo."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, Playwright, expect
from reportlab.graphics.barcode import qrencoder

from tests.browser.browser_support import (
    BearerApi,
    assert_no_raw_keys,
    catalog,
    first_page,
    layout_problems,
    natural_size,
    open_home,
    open_live_board,
    open_patrol,
    sign_in,
    wait_for_service_worker,
)
from tests.browser.browser_support import (
    launch_phone as _launch,
)
from tests.browser.conftest import Server, demo_server

pytestmark = pytest.mark.browser


def launch_phone(
    playwright: Playwright,
    server: Server,
    profile: Path,
    camera: Path | None = None,
    locale: str = "zh-CN",
    **kw: Any,
) -> BrowserContext:
    return _launch(
        playwright,
        server,
        profile,
        camera,
        locale=locale,
        permissions=["camera", "geolocation"],
        geolocation={"latitude": 31.2304, "longitude": 121.4737, "accuracy": 20},
        **kw,
    )


SITE_ID = 1  # 翠湖小区 in the demo: guard, guard2, supervisor and admin work there
# AN12196's published SUN example: all-zero keys; the tap reads UID 04DE5F1EACC040, counter 61.
SUN_E, SUN_C, SUN_UID = "EF963FF7828658A599F3041510671E88", "94EED9EE65337086", "04DE5F1EACC040"
ZERO_KEY = "00" * 16


# --- the server and what the test sets up on it ----------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pwa_dir: Path) -> Iterator[Server]:
    """The demo on its own server. Several tests scan within a minute with the same guards; the
    burst rule (tested in the backend) would doubt them, so it is widened here."""
    with demo_server(tmp_path_factory, pwa_dir, {"ANBAO_PATROL_BURST_COUNT": "100"}) as server:
        yield server


class Api(BearerApi):
    """The test's own view of the server: bearer tokens, no browser involved."""

    default_user = "admin"

    def scans(self) -> list[dict[str, Any]]:
        return list(
            self.call("GET", f"/api/sites/{SITE_ID}/scans?limit=200", "supervisor")["items"]
        )

    def user_id(self, username: str) -> int:
        answer = self.request.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {self.token(username)}"}
        )
        return int(answer.json()["user"]["id"])

    def round(self, round_id: int) -> dict[str, Any]:
        rounds = self.call("GET", f"/api/sites/{SITE_ID}/rounds?hours_back=3&hours_ahead=3")
        return next(r for r in rounds if r["id"] == round_id)


class Site:
    """Checkpoints made for this module: name → (id, QR code)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.zones = {
            z["name"]: z["id"]
            for z in api.call("GET", f"/api/sites/{SITE_ID}/zones?limit=200")["items"]
        }
        self.checkpoints: dict[str, tuple[int, str]] = {}

    def checkpoint(self, name: str, zone: str, checklist: list[dict[str, str]] | None = None):
        cp = self.api.call(
            "POST",
            f"/api/sites/{SITE_ID}/checkpoints",
            data={"name": name, "zone_id": self.zones[zone], "checklist": checklist or []},
        )
        code = self.api.call(
            "POST", f"/api/sites/{SITE_ID}/tags", data={"kind": "qr", "checkpoint_id": cp["id"]}
        )["identifier"]
        self.checkpoints[name] = (cp["id"], code)
        return cp["id"], code

    def id(self, name: str) -> int:
        return self.checkpoints[name][0]

    def code(self, name: str) -> str:
        return self.checkpoints[name][1]


ROUND_STOPS = [
    "B1 车库入口 Car park entrance",
    "1 号楼消防门 Building 1 fire door",
    "中心花园 Garden",
]
GARAGE = "地下车库 Car park B1"


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


@pytest.fixture(scope="module")
def site(api: Api) -> Site:
    s = Site(api)
    s.checkpoint(ROUND_STOPS[0], GARAGE)
    s.checkpoint(
        ROUND_STOPS[1],
        "1-3 号楼 Buildings 1-3",
        [
            {"key": "door", "label": "消防门关闭 Fire door closed", "kind": "check"},
            {"key": "remark", "label": "备注 Note", "kind": "note"},
        ],
    )
    s.checkpoint(ROUND_STOPS[2], "中心花园 Garden")
    for name in ("南门岗亭 Gate booth", "B1 水泵房 Pump room", "B1 电梯厅 Lift lobby", "屋顶 Roof"):
        s.checkpoint(name, GARAGE if name.startswith("B1") else "南大门 South gate")
    # The NTAG 424 of AN12196's example, on the gate booth.
    api.call(
        "POST",
        f"/api/sites/{SITE_ID}/tags",
        data={
            "kind": "nfc_sun",
            "checkpoint_id": s.id("南门岗亭 Gate booth"),
            "identifier": SUN_UID,
            "sdm_meta_read_key": ZERO_KEY,
            "sdm_file_read_key": ZERO_KEY,
        },
    )
    return s


@pytest.fixture(scope="module")
def tour(api: Api, site: Site) -> dict[str, Any]:
    """Any order over the three round stops; a round every hour, each open two hours, so one is
    always open with an hour or more left."""
    return dict(
        api.call(
            "POST",
            f"/api/sites/{SITE_ID}/tours",
            data={
                "name": "整点巡更 Hourly round",
                "order": "any",
                "days": [1, 2, 3, 4, 5, 6, 7],
                "start_time": "00:00",
                "end_time": "00:00",
                "every_minutes": 60,
                "window_minutes": 120,
                "stops": [site.id(n) for n in ROUND_STOPS],
            },
        )
    )


def open_round(api: Api, tour: dict[str, Any]) -> dict[str, Any]:
    """The round of `tour` open now with the most time left."""
    now = datetime.now(UTC)
    rounds = api.call("GET", f"/api/sites/{SITE_ID}/rounds?hours_back=3&hours_ahead=1")
    open_now = [
        r
        for r in rounds
        if r["tour_id"] == tour["id"]
        and r["status"] == "scheduled"
        and datetime.fromisoformat(r["due_at"]) <= now < datetime.fromisoformat(r["closes_at"])
    ]
    assert open_now, rounds
    return max(open_now, key=lambda r: r["closes_at"])


# --- QR codes as the camera and a photo see them ---------------------------------------------


def qr_matrix(text: str) -> list[list[bool]]:
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    n = code.getModuleCount()
    return [[bool(code.isDark(r, c)) for c in range(n)] for r in range(n)]


def qr_luma(text: str, width: int, height: int, module: int = 8) -> bytes:
    """A printed label filmed straight on: black modules on white, quiet zone, centred."""
    matrix = qr_matrix(text)
    size = (len(matrix) + 8) * module
    assert size <= min(width, height)
    left, top = (width - size) // 2, (height - size) // 2
    rows = bytearray(b"\xeb" * (width * height))  # white (video range)
    for r, line in enumerate(matrix):
        for c, dark in enumerate(line):
            if not dark:
                continue
            y0, x0 = top + (r + 4) * module, left + (c + 4) * module
            for y in range(y0, y0 + module):
                rows[y * width + x0 : y * width + x0 + module] = b"\x10" * module
    return bytes(rows)


def fake_camera_file(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A Y4M video (4:2:0) showing the QR label; Chromium plays it as the camera."""
    luma = qr_luma(text, width, height)
    chroma = b"\x80" * ((width // 2) * (height // 2) * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + luma + chroma)
    return path


def qr_photo(text: str) -> bytes:
    """A photo of the label (PNG)."""
    image = Image.frombytes("L", (800, 600), qr_luma(text, 800, 600, module=10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- the phone -------------------------------------------------------------------------------


def status_bar(page: Page):
    return page.locator("[data-testid=sync-status]")


def panel(page: Page):
    return page.locator("[data-testid=round-panel]")


def stop(page: Page, checkpoint_id: int):
    return panel(page).locator(f"[data-testid=stops] > li[data-checkpoint='{checkpoint_id}']")


def scan_with_camera(page: Page) -> None:
    page.locator("[data-action=scan-camera]").click()
    # The scanner closes by itself once the camera's frames gave up a code.
    expect(page.locator("[data-testid=scanner]")).to_have_count(0, timeout=20_000)
    # Chromium on Linux has no BarcodeDetector: the bundled decoder read them.
    expect(page.locator("[data-testid=scan-actions]")).to_have_attribute("data-decoder", "jsqr")


# --- an offline round, scanned by camera, then synced ------------------------------------------


def test_an_offline_round_scanned_by_qr_is_complete_on_the_server_once_synced(
    playwright: Playwright, server: Server, api: Api, site: Site, tour: dict[str, Any], tmp_path
):
    profile = tmp_path / "phone"
    rnd = open_round(api, tour)
    zh = catalog("zh-CN")
    ids = [site.id(n) for n in ROUND_STOPS]

    # In the guard room, online: sign in and open the patrol screen once (the plan is kept).
    context = launch_phone(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        page.locator(".tile[data-tile='patrol']").click()
        expect(
            page.locator(f"[data-testid=rounds-now] li[data-round='{rnd['id']}']")
        ).to_be_visible()
        assert layout_problems(page) == []
        # The phone holds no printable code: only salted hashes of them.
        plan = page.evaluate(
            """async () => new Promise((ok) => {
              const req = indexedDB.open('anbao');
              req.onsuccess = () => {
                const get = req.result.transaction('plans').objectStore('plans').get(1);
                get.onsuccess = () => ok(JSON.stringify(get.result));
              };
            })"""
        )
        assert site.code(ROUND_STOPS[0]) not in plan and '"salt"' in plan
    finally:
        context.close()

    # In the basement: no network from the first moment, and the server out of reach even for
    # the service worker. Each checkpoint is filmed by the phone's camera in turn.
    server.stop()
    pushes: list[dict[str, Any]] = []
    try:
        for i, name in enumerate(ROUND_STOPS):
            camera = fake_camera_file(tmp_path / f"label-{i}.y4m", site.code(name))
            context = launch_phone(playwright, server, profile, camera=camera, offline=True)
            try:
                page = first_page(context)
                page.goto("/patrol")
                expect(page.locator(".net[data-net=offline]")).to_be_visible()
                expect(page.locator("[data-testid=plan-status]")).to_contain_text("离线")
                if i == 0:
                    # Started here and now, with no signal: queued like the scans.
                    card = page.locator(f"[data-testid=rounds-now] li[data-round='{rnd['id']}']")
                    card.locator("[data-action=start]").click()
                    expect(page.locator("[data-testid=patrol-status]")).to_have_text(
                        zh["patrol.started_offline"]
                    )
                # After each restart too: started on this phone, waiting to be sent.
                expect(panel(page)).to_have_attribute("data-round", str(rnd["id"]))
                expect(panel(page)).to_have_attribute("data-status", "in_progress")
                expect(panel(page).locator("[data-testid=start-pending]")).to_have_text(
                    zh["patrol.start_on_phone"]
                )
                expect(panel(page).locator("[data-action=end-round]")).to_be_enabled()
                scan_with_camera(page)
                if name == ROUND_STOPS[1]:
                    # This checkpoint has a checklist: answered at the scan.
                    checklist = page.locator("[data-testid=checklist]")
                    expect(checklist).to_contain_text("消防门关闭 Fire door closed")
                    checklist.locator("input[data-item=door][data-answer=yes]").check()
                    checklist.locator("textarea[data-item=remark]").fill("门把手松动 loose handle")
                    checklist.locator("[data-action=save-checklist]").click()
                result = page.locator("[data-testid=scan-result]")
                expect(result).to_contain_text(name)
                expect(result).to_contain_text("已保存在本机")
                # The phone's own tick, until the server says otherwise.
                expect(stop(page, ids[i])).to_have_attribute("data-state", "waiting")
                expect(panel(page)).to_have_attribute("data-ticked", str(i + 1))
                # The start and each scan so far.
                expect(status_bar(page)).to_have_attribute("data-waiting", str(i + 2))
                if i < 2:
                    expect(
                        panel(page).locator("[data-testid=next-checkpoints]")
                    ).not_to_contain_text(name)
                else:
                    expect(panel(page).locator("[data-testid=round-complete]")).to_be_visible()
                assert_no_raw_keys(page)
                if i == 2:
                    break  # this phone goes back online below
            finally:
                if i < 2:
                    context.close()

        # Back in signal: the outbox empties and the server's verdicts replace the ticks.
        page.on(
            "requestfinished",
            lambda r: pushes.append(r.post_data_json) if r.url.endswith("/api/sync/push") else None,
        )
        server.start()
        context.set_offline(False)
        expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=30_000)
        for cp in ids:
            expect(stop(page, cp)).to_have_attribute("data-state", "done", timeout=20_000)
        expect(panel(page)).to_have_attribute("data-ticked", "3")
        expect(panel(page).locator("[data-testid=start-pending]")).to_have_count(0)
        expect(panel(page)).to_have_attribute("data-status", "in_progress")
    finally:
        context.close()
        if server.proc is None:
            server.start()

    # On the server: the round was started by this guard and is complete, with three valid QR
    # scans by them.
    after = api.round(rnd["id"])
    assert after["status"] == "in_progress" and after["guard_id"] == api.user_id("guard")
    assert [s["status"] for s in after["stops"]] == ["done", "done", "done"]
    assert after["done"] == after["total"] == 3
    by_id = {s["id"]: s for s in api.scans()}
    scans = [by_id[s["scan_id"]] for s in after["stops"]]
    assert {(s["method"], s["verdict"]) for s in scans} == {("qr", "valid")}
    assert [s["checkpoint_id"] for s in scans] == ids
    # What the phone sent: each scan names the round, the checklist was answered, and the
    # position came along because the guard allowed it.
    sent = [m for body in pushes if body for m in body["mutations"]]
    assert [m["name"] for m in sent] == ["patrol.start_round"] + ["patrol.scan"] * 3
    start, scans = sent[0], sent[1:]
    assert start["args"] == {"round_id": rnd["id"], "site_id": SITE_ID}
    # Started in the basement: the phone's time, before any of the scans.
    assert start["client_time"] < min(m["client_time"] for m in scans)
    assert {m["args"]["round_id"] for m in scans} == {rnd["id"]}
    assert [m["args"]["code"] for m in scans] == [site.code(n) for n in ROUND_STOPS]
    assert scans[1]["args"]["answers"] == {"door": True, "remark": "门把手松动 loose handle"}
    assert all(m["args"]["position"]["latitude"] == pytest.approx(31.2304) for m in scans)


def test_a_round_started_and_ended_early_offline_reaches_the_server_with_its_reason(
    playwright: Playwright, server: Server, api: Api, site: Site, tmp_path
):
    profile = tmp_path / "phone"
    stairs = api.call(
        "POST",
        f"/api/sites/{SITE_ID}/tours",
        data={
            "name": "后楼梯 Back stairs",
            "order": "any",
            "days": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00",
            "end_time": "00:00",
            "every_minutes": 60,
            "window_minutes": 120,
            "stops": [site.id("屋顶 Roof"), site.id("B1 水泵房 Pump room")],
        },
    )
    rnd = open_round(api, stairs)
    en = catalog("en")
    context = launch_phone(playwright, server, profile, locale="en")
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard2")
        open_home(page, "guard")
        wait_for_service_worker(page)
        page.locator(".tile[data-tile='patrol']").click()
        expect(
            page.locator(f"[data-testid=rounds-now] li[data-round='{rnd['id']}']")
        ).to_be_visible()
    finally:
        context.close()

    server.stop()
    pushes: list[dict[str, Any]] = []
    try:
        context = launch_phone(playwright, server, profile, locale="en", offline=True)
        page = first_page(context)
        page.goto("/patrol")
        expect(page.locator(".net[data-net=offline]")).to_be_visible()
        card = page.locator(f"[data-testid=rounds-now] li[data-round='{rnd['id']}']")
        card.locator("[data-action=start]").click()
        expect(page.locator("[data-testid=patrol-status]")).to_have_text(
            en["patrol.started_offline"]
        )
        # Water on the stairs: the guard ends the round early, still without signal.
        panel(page).locator("[data-action=end-round]").click()
        dialog = page.locator("[data-testid=end-round]")
        dialog.locator("textarea").fill("楼梯间漏水 water leaking on the stairs")
        dialog.locator("[data-action=confirm]").click()
        expect(page.locator("[data-testid=patrol-status]")).to_have_text(en["patrol.ended_offline"])
        expect(panel(page)).to_have_count(0)
        ended = page.locator(f"[data-testid=rounds-earlier] li[data-round='{rnd['id']}']")
        expect(ended).to_have_attribute("data-status", "ended_early")
        expect(ended.locator("[data-testid=round-pending]")).to_be_visible()
        expect(status_bar(page)).to_have_attribute("data-waiting", "2")
        # The outbox names both, in the guard's words.
        page.goto("/outbox")
        outbox = page.locator("[data-testid=outbox]")
        expect(outbox).to_contain_text(en["mutation.patrol.start_round"])
        expect(outbox).to_contain_text(en["mutation.patrol.end_round"])
        page.goto("/patrol")

        page.on(
            "requestfinished",
            lambda r: pushes.append(r.post_data_json) if r.url.endswith("/api/sync/push") else None,
        )
        server.start()
        context.set_offline(False)
        expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=30_000)
        expect(ended.locator("[data-testid=round-pending]")).to_have_count(0)
        expect(ended).to_have_attribute("data-status", "ended_early")
    finally:
        context.close()
        if server.proc is None:
            server.start()

    after = api.round(rnd["id"])
    assert after["status"] == "ended_early" and after["guard_id"] == api.user_id("guard2")
    assert after["end_reason"] == "楼梯间漏水 water leaking on the stairs"
    sent = [m for body in pushes if body for m in body["mutations"]]
    assert [m["name"] for m in sent] == ["patrol.start_round", "patrol.end_round"]
    assert sent[0]["client_time"] <= sent[1]["client_time"]


# --- an NTAG 424 tap opens /n while signed out ---------------------------------------------------


def test_a_tag_tap_while_signed_out_is_kept_and_recorded_after_sign_in(
    new_context, api: Api, site: Site
):
    _, page, console = new_context(locale="en")
    en = catalog("en")
    page.goto(f"/n?e={SUN_E}&c={SUN_C}")
    # Not signed in: the app keeps the tap and asks for a sign-in first.
    expect(page.locator("#login-title")).to_be_visible()
    expect(page.locator(".notice-slot")).to_contain_text(en["tap.sign_in_first"])
    assert not [s for s in api.scans() if s["method"] == "nfc_sun"]
    page.reload()  # the same tap reloaded is still one tap
    sign_in(page, "guard2")
    expect(page).to_have_url(re.compile(r"/patrol$"))
    expect(page.locator(".notice-slot")).to_contain_text("recorded")
    recent = page.locator("[data-testid=recent-scans] li").first
    expect(recent).to_have_attribute("data-verdict", "valid", timeout=20_000)
    expect(recent).to_contain_text("南门岗亭 Gate booth")
    taps = [s for s in api.scans() if s["method"] == "nfc_sun"]
    assert len(taps) == 1
    assert taps[0]["verdict"] == "valid" and taps[0]["checkpoint_id"] == site.id(
        "南门岗亭 Gate booth"
    )
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# --- manual entry, the live board and its review queue -----------------------------------------


def test_a_manual_scan_reaches_the_live_board_and_is_accepted_in_review(
    new_context, api: Api, site
):
    _, board, board_console = new_context(locale="en", viewport=(1024, 768))
    open_live_board(board)
    assert layout_problems(board) == []

    _, phone, phone_console = new_context(locale="en")
    open_patrol(phone, "guard2")
    name = "B1 水泵房 Pump room"
    phone.locator("[data-action=scan-manual]").click()
    dialog = phone.locator("[data-testid=manual-entry]")
    expect(dialog).to_contain_text(catalog("en")["scan.manual_body"])
    dialog.locator("input[name=code]").fill(site.code(name).lower())
    dialog.locator("[data-action=confirm]").click()
    result = phone.locator("[data-testid=scan-result]")
    expect(result).to_contain_text(catalog("en")["scan.manual_marked"])
    expect(result.locator("[data-state]")).to_have_attribute(
        "data-state", "suspicious", timeout=20_000
    )

    # The board hears it: the guard's last scan and the review queue, with no reload.
    guard_card = board.locator("[data-testid=guards] li", has_text="Zhao")
    expect(guard_card).to_contain_text(name)
    item = board.locator("[data-testid=review-queue] li[data-scan]", has_text=name)
    expect(item).to_contain_text("Typed by hand")
    expect(item).to_contain_text("typed by hand")
    assert board.evaluate("window.__notReloaded") is True
    scan_id = item.get_attribute("data-scan")

    item.locator("input[name=note]").fill("checked the CCTV: he was there")
    item.locator("[data-action=accept]").click()
    expect(item).to_have_count(0)
    stored = next(s for s in api.scans() if s["id"] == scan_id)
    assert (stored["verdict"], stored["review"]) == ("suspicious", "accepted")
    # The guard's phone learns the decision with its next look at the plan.
    phone.goto("/patrol")
    mine = phone.locator(f"[data-testid=recent-scans] li[data-scan='{scan_id}']")
    expect(mine.locator("[data-verdict]")).to_have_attribute("data-review", "accepted")
    expect(mine).to_contain_text("Accepted")
    assert_no_raw_keys(board, board_console)
    assert_no_raw_keys(phone, phone_console)
    assert not board_console.page_errors and not phone_console.page_errors
    assert not board_console.csp_violations() and not phone_console.csp_violations()


def test_a_no_on_a_checklist_reaches_the_supervisors_board_live(new_context, site):
    en = catalog("en")
    _, board, board_console = new_context(locale="en", viewport=(1024, 768))
    open_live_board(board)

    _, phone, phone_console = new_context(locale="en")
    open_patrol(phone, "guard2")
    name = ROUND_STOPS[1]
    phone.locator("[data-action=scan-manual]").click()
    dialog = phone.locator("[data-testid=manual-entry]")
    dialog.locator("input[name=code]").fill(site.code(name))
    dialog.locator("[data-action=confirm]").click()
    checklist = phone.locator("[data-testid=checklist]")
    checklist.locator("input[data-item=door][data-answer=no]").check()
    note = f"门被楔子顶住 wedged open {uuid.uuid4().hex[:6]}"
    checklist.locator("textarea[data-item=remark]").fill(note)
    checklist.locator("[data-action=save-checklist]").click()
    expect(phone.locator("[data-testid=scan-result]")).to_contain_text(name)

    # The board hears the scan and shows what the guard found there, named by the checklist.
    card = board.locator("[data-testid=checklist-findings] li", has_text=note)
    expect(card).to_contain_text(name)
    expect(card).to_contain_text("Zhao")
    expect(card.locator("[data-testid=failed-items]")).to_have_text(
        en["board.failed_items"].format(names="消防门关闭 Fire door closed")
    )
    expect(card.locator("[data-testid=finding-note]")).to_have_text(
        en["board.note_line"].format(label="备注 Note", text=note)
    )
    assert board.evaluate("window.__notReloaded") is True
    assert layout_problems(board) == []
    assert_no_raw_keys(board, board_console)
    assert_no_raw_keys(phone, phone_console)
    assert not board_console.page_errors and not phone_console.page_errors


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_a_photo_of_a_failed_item_taken_offline_reaches_the_board(new_context, api: Api, site):
    en = catalog("en")
    name = "2 号楼配电间 Building 2 power room"
    site.checkpoint(
        name,
        "1-3 号楼 Buildings 1-3",
        [
            {"key": "door", "label": "配电间门关闭 Door closed", "kind": "check"},
            {"key": "shot", "label": "故障照片 Photo of the fault", "kind": "photo"},
        ],
    )
    _, board, board_console = new_context(locale="en", viewport=(1024, 768))
    open_live_board(board)
    phone_context, phone, phone_console = new_context(locale="en")
    open_patrol(phone, "guard2")  # the plan now has the power room and its checklist

    # In the basement, no signal: the scan and its photo wait on the phone.
    phone_context.set_offline(True)
    phone.locator("[data-action=scan-manual]").click()
    entry = phone.locator("[data-testid=manual-entry]")
    entry.locator("input[name=code]").fill(site.code(name))
    entry.locator("[data-action=confirm]").click()
    checklist = phone.locator("[data-testid=checklist]")
    photo_item = checklist.locator(".checklist-photo")
    hint = checklist.locator("[data-testid=photo-hint]")
    expect(photo_item).not_to_have_class(re.compile("checklist-photo-asked"))
    # A failed item asks for its photo.
    checklist.locator("input[data-item=door][data-answer=no]").check()
    expect(photo_item).to_have_class(re.compile("checklist-photo-asked"))
    expect(hint).to_have_text(en["checklist.photo_asked"])
    # Saving without it asks once more (a second tap would save without a photo).
    checklist.locator("[data-action=save-checklist]").click()
    expect(hint).to_have_text(en["checklist.photo_missing"])
    expect(checklist).to_be_visible()

    camera = checklist.locator("[data-testid=checklist-photo]")
    assert camera.get_attribute("accept") == "image/*"
    assert camera.get_attribute("capture") == "environment"
    camera.set_input_files(
        files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((200, 60, 40))}]
    )
    thumb = checklist.locator("[data-testid=checklist-thumb]")
    assert natural_size(thumb)[0] > 0
    first = thumb.get_attribute("data-sha256")
    # Retaken: the new photo replaces the first.
    camera.set_input_files(
        files=[{"name": "b.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((40, 90, 200))}]
    )
    expect(thumb).not_to_have_attribute("data-sha256", first or "")
    sha256 = thumb.get_attribute("data-sha256")
    assert sha256 and re.fullmatch(r"[0-9a-f]{64}", sha256)
    expect(photo_item).not_to_have_class(re.compile("checklist-photo-asked"))
    checklist.locator("[data-action=save-checklist]").click()
    expect(checklist).to_have_count(0)
    result = phone.locator("[data-testid=scan-result]")
    expect(result).to_contain_text(name)
    expect(result).to_contain_text(en["scan.photo_waiting"])
    phone.wait_for_timeout(500)
    assert [s for s in api.scans() if s["checkpoint_id"] == site.id(name)] == []

    # Back online: the photo goes up, then the scan; the board hears it and shows the photo.
    phone_context.set_offline(False)
    card = board.locator("[data-testid=checklist-findings] li", has_text=name)
    expect(card).to_be_visible(timeout=30_000)
    expect(card.locator("[data-testid=failed-items]")).to_have_text(
        en["board.failed_items"].format(names="配电间门关闭 Door closed")
    )
    shown = card.locator(f"[data-testid=finding-photos] li[data-sha256='{sha256}'] img")
    assert natural_size(shown, timeout_ms=20_000)[0] > 0
    (stored,) = [s for s in api.scans() if s["checkpoint_id"] == site.id(name)]
    assert stored["verdict"] != "rejected", stored
    # The thumbnail opens the photo at display size, in the incidents' viewer.
    card.locator("[data-testid=finding-photos] .photo-frame").first.click()
    display = board.locator("[data-testid=photo-dialog] [data-testid=photo-display]")
    assert natural_size(display)[0] > 0
    board.locator("[data-testid=photo-dialog] [data-action=close]").click()
    expect(result).not_to_contain_text(en["scan.photo_waiting"])
    assert board.evaluate("window.__notReloaded") is True
    assert layout_problems(board) == []
    assert_no_raw_keys(board, board_console)
    assert_no_raw_keys(phone, phone_console)
    assert not board_console.page_errors and not phone_console.page_errors


def test_a_supervisor_adds_a_hotspot_and_guards_see_its_rounds(new_context, api: Api, site):
    _, board, console = new_context(locale="zh-CN", viewport=(1024, 768))
    board.goto("/login")
    sign_in(board, "supervisor")
    open_home(board, "supervisor")
    board.locator(".tile[data-tile='live_board']").click()
    form = board.locator("form.hotspot-form")
    form.locator("select[name=zone_id]").select_option(label="南大门 South gate")
    form.locator("input[name=days]").fill("2")
    form.locator("select[name=every_minutes]").select_option("30")
    form.locator("input[name=note]").fill("业主投诉：夜间有人逗留")
    form.locator("[data-action=add-hotspot]").click()
    expect(board.locator("[data-testid=hotspot-status]")).to_contain_text("南大门 South gate")
    expect(board.locator("[data-testid=hotspots] li[data-zone]")).to_contain_text(
        "南大门 South gate"
    )
    hotspots = [t for t in api.call("GET", f"/api/sites/{SITE_ID}/tours") if t["hotspot_zone_id"]]
    assert len(hotspots) == 1 and hotspots[0]["every_minutes"] == 30

    _, phone, _ = new_context(locale="zh-CN")
    phone.goto("/login")
    sign_in(phone, "guard")
    open_home(phone, "guard")
    phone.locator(".tile[data-tile='patrol']").click()
    hot = phone.locator(".round-card", has_text=catalog("zh-CN")["patrol.hotspot"])
    expect(hot.first).to_be_visible()
    assert_no_raw_keys(board, console)


def test_a_photo_of_the_label_is_read_by_the_same_decoder(new_context, api: Api, site):
    _, page, console = new_context(locale="en")
    page.goto("/login")
    sign_in(page, "guard2")
    open_home(page, "guard")
    page.locator(".tile[data-tile='patrol']").click()
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("updated")
    name = "B1 电梯厅 Lift lobby"
    page.locator("[data-testid=scan-photo]").set_input_files(
        files=[{"name": "label.png", "mimeType": "image/png", "buffer": qr_photo(site.code(name))}]
    )
    result = page.locator("[data-testid=scan-result]")
    expect(result).to_contain_text(name)
    expect(result.locator("[data-state]")).to_have_attribute("data-state", "valid", timeout=20_000)
    stored = [s for s in api.scans() if s["checkpoint_id"] == site.id(name)]
    assert [(s["method"], s["verdict"]) for s in stored] == [("qr", "valid")]
    # A photo with no code in it says so and records nothing.
    blank = io.BytesIO()
    Image.new("L", (400, 300), 255).save(blank, format="PNG")
    page.locator("[data-testid=scan-photo]").set_input_files(
        files=[{"name": "blank.png", "mimeType": "image/png", "buffer": blank.getvalue()}]
    )
    expect(page.locator("[data-testid=patrol-status]")).to_have_text(
        catalog("en")["scan.no_code_in_photo"]
    )
    assert len(api.scans()) == len({s["id"] for s in api.scans()})
    assert not console.page_errors


def test_the_round_screen_without_a_camera_says_what_to_do(new_context, api: Api, site):
    _, page, console = new_context(locale="en")
    page.goto("/login")
    sign_in(page, "guard2")
    open_home(page, "guard")
    page.locator(".tile[data-tile='patrol']").click()
    page.locator("[data-action=scan-camera]").click()
    scanner = page.locator("[data-testid=scanner]")
    # No camera was granted to this context: the scanner explains, and nothing is recorded.
    en = catalog("en")
    expect(scanner.locator("[data-testid=scanner-status]")).to_have_text(
        re.compile(
            "|".join(
                re.escape(en[k])
                for k in ("scan.camera_denied", "scan.camera_missing", "scan.camera_failed")
            )
        )
    )
    scanner.locator("[data-action=close-scanner]").click()
    expect(scanner).to_have_count(0)
    expect(page.locator("[data-testid=scan-result]")).to_be_empty()
    assert not console.page_errors


def test_a_fixed_order_round_started_online_shows_order_spacing_and_ends_with_a_reason(
    new_context, api: Api, site: Site
):
    names = ["F1 东楼梯 East stairs", "F1 西楼梯 West stairs", "F1 北楼梯 North stairs"]
    for name in names:
        site.checkpoint(name, "1-3 号楼 Buildings 1-3")
    fixed = api.call(
        "POST",
        f"/api/sites/{SITE_ID}/tours",
        data={
            "name": "楼梯巡查 Stairs (in order)",
            "order": "fixed",
            "days": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00",
            "end_time": "00:00",
            "every_minutes": 60,
            "window_minutes": 120,
            "min_spacing_seconds": 300,
            "stops": [site.id(n) for n in names],
        },
    )
    rnd = open_round(api, fixed)
    en = catalog("en")
    _, page, console = new_context(locale="en")
    page.goto("/login")
    sign_in(page, "guard")
    open_home(page, "guard")
    page.locator(".tile[data-tile='patrol']").click()
    card = page.locator(f"[data-testid=rounds-now] li[data-round='{rnd['id']}']")
    card.locator("[data-action=start]").click()
    expect(page.locator("[data-testid=patrol-status]")).to_have_text(en["patrol.started"])
    expect(panel(page)).to_have_attribute("data-status", "in_progress")
    next_up = panel(page).locator("[data-testid=next-checkpoints] li")
    expect(next_up).to_have_count(1)  # in order: only the next one is named
    expect(next_up).to_contain_text(names[0])
    # Online, the start leaves the outbox at once.
    expect(panel(page).locator("[data-testid=start-pending]")).to_have_count(0)
    assert api.round(rnd["id"])["status"] == "in_progress"

    def photo(name: str) -> None:
        page.locator("[data-testid=scan-photo]").set_input_files(
            files=[{"name": "l.png", "mimeType": "image/png", "buffer": qr_photo(site.code(name))}]
        )
        expect(page.locator("[data-testid=scan-result] [data-state]")).not_to_have_attribute(
            "data-state", "waiting", timeout=20_000
        )

    # Out of order: the server keeps the scan but it does not count for the round.
    photo(names[2])
    expect(stop(page, site.id(names[2]))).to_have_attribute(
        "data-state", "not_counted", timeout=20_000
    )
    expect(stop(page, site.id(names[2]))).to_contain_text(en["stop.not_counted_fixed"])
    # In order: it counts, and the tour's spacing says when the next one may come.
    photo(names[0])
    expect(stop(page, site.id(names[0]))).to_have_attribute("data-state", "done")
    expect(panel(page).locator("[data-testid=not-before]")).to_be_visible()
    expect(next_up).to_contain_text(names[1])
    # Too soon: kept for a supervisor to decide.
    photo(names[1])
    expect(stop(page, site.id(names[1]))).to_have_attribute("data-state", "review")
    assert [s["status"] for s in api.round(rnd["id"])["stops"]] == ["done", "pending", "pending"]

    # Ending early needs a reason.
    panel(page).locator("[data-action=end-round]").click()
    dialog = page.locator("[data-testid=end-round]")
    dialog.locator("[data-action=confirm]").click()
    expect(dialog).to_contain_text(en["common.required"])
    dialog.locator("textarea").fill("电梯困人 person stuck in the lift")
    dialog.locator("[data-action=confirm]").click()
    expect(page.locator("[data-testid=patrol-status]")).to_have_text(en["patrol.ended"])
    expect(panel(page)).to_have_count(0)
    expect(status_bar(page)).to_have_attribute("data-waiting", "0")
    after = api.round(rnd["id"])
    assert after["status"] == "ended_early" and after["end_reason"].startswith("电梯困人")
    assert layout_problems(page) == []
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# Chromium on Linux has neither NFC hardware nor Web NFC. This stands in for the browser's
# NDEFReader with the same shape (scan(), 'reading' events with serialNumber and URL records),
# so the app's own handling of a tap is what runs.
WEB_NFC_STAND_IN = """
class NDEFReader extends EventTarget {
  async scan() { window.__nfcReader = this; }
}
window.NDEFReader = NDEFReader;
window.__tapTag = (serialNumber, url) => {
  const event = new Event('reading');
  event.serialNumber = serialNumber;
  const record = url ? { recordType: 'url', data: new TextEncoder().encode(url) } : null;
  event.message = { records: record ? [record] : [] };
  window.__nfcReader.dispatchEvent(event);
};
"""


def wait_for_reader(page: Page) -> None:
    """Until the app has asked the (stand-in) reader to scan."""
    page.evaluate(
        "() => new Promise((ok) => {"
        " const t = setInterval(() => { if (window.__nfcReader) { clearInterval(t); ok(); } }, 20);"
        " })"
    )


def test_web_nfc_taps_record_a_plain_uid_and_an_ntag424_link(new_context, api: Api, site: Site):
    name = "屋顶 Roof"
    api.call(
        "POST",
        f"/api/sites/{SITE_ID}/tags",
        data={"kind": "nfc_uid", "checkpoint_id": site.id(name), "identifier": "04A1B2C3D4E5F6"},
    )
    context, page, console = new_context(locale="en")
    context.add_init_script(WEB_NFC_STAND_IN)
    page.goto("/login")
    sign_in(page, "guard2")
    open_home(page, "guard")
    page.locator(".tile[data-tile='patrol']").click()
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("updated")
    en = catalog("en")
    button = page.locator("[data-action=scan-nfc]")
    result = page.locator("[data-testid=scan-result]")

    # A plain tag: its UID (as Web NFC writes it) is matched against the plan's hashes.
    button.click()
    expect(button).to_contain_text(en["scan.nfc_waiting"])
    wait_for_reader(page)
    page.evaluate("window.__tapTag('04:a1:b2:c3:d4:e5:f6')")
    expect(result).to_contain_text(name)
    expect(result.locator("[data-state]")).to_have_attribute("data-state", "valid", timeout=20_000)
    expect(button).to_contain_text(en["scan.nfc"])
    uid_scans = [s for s in api.scans() if s["method"] == "nfc"]
    assert [(s["checkpoint_id"], s["verdict"]) for s in uid_scans] == [(site.id(name), "valid")]

    # An NTAG 424 whose URL record is a SUN link: sent as such. It is AN12196's tap; once that
    # counter was accepted (the signed-out tap above), the server refuses it as a replay.
    before = {s["id"]: s for s in api.scans() if s["method"] == "nfc_sun"}
    replay = any(s["verdict"] == "valid" for s in before.values())
    page.evaluate("window.__nfcReader = null")
    button.click()
    wait_for_reader(page)
    page.evaluate(
        f"window.__tapTag('04:de:5f:1e:ac:c0:40', 'https://example.invalid/n?e={SUN_E}&c={SUN_C}')"
    )
    shown = result.locator("[data-state]")
    expect(shown).to_have_attribute("data-state", "rejected" if replay else "valid", timeout=20_000)
    (new,) = [s for s in api.scans() if s["method"] == "nfc_sun" and s["id"] not in before]
    assert new["checkpoint_id"] == site.id("南门岗亭 Gate booth")
    if replay:
        assert new["verdict"] == "rejected" and "replayed_counter" in new["reasons"]
        expect(result).to_contain_text(en["reason.replayed_counter"])
    else:
        assert new["verdict"] == "valid"
    assert not console.page_errors


def test_the_board_reconnects_after_the_server_restarts_and_links_the_labels(
    new_context, server: Server, api: Api, site: Site
):
    tablet, board, console = new_context(locale="en", viewport=(1024, 768))
    board.goto("/login")
    sign_in(board, "supervisor")
    open_home(board, "supervisor")
    labels = board.locator(".tile[data-tile='labels']")
    pdf = tablet.request.get(str(labels.get_attribute("href")))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    board.locator(".tile[data-tile='live_board']").click()
    live = board.locator("[data-testid=live]")
    expect(live).to_have_attribute("data-live", "live")
    expect(board.locator("[data-action=labels]")).to_have_attribute(
        "href", f"/api/sites/{SITE_ID}/labels.pdf"
    )

    server.stop()
    try:
        expect(live).to_have_attribute("data-live", "connecting", timeout=20_000)
    finally:
        server.start()
    expect(live).to_have_attribute("data-live", "live", timeout=40_000)
    # Live again: a scan made now shows up without a reload.
    name = "南门岗亭 Gate booth"
    scan = api.call(
        "POST",
        f"/api/sites/{SITE_ID}/scans",
        "guard",
        data={
            "id": str(uuid.uuid4()),
            "site_id": SITE_ID,
            "method": "qr",
            "code": site.code(name),
        },
    )
    expect(board.locator(f"[data-testid=guards] li[data-scan='{scan['id']}']")).to_contain_text(
        name
    )
    assert not console.page_errors
