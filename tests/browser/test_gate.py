"""The gate house in a real Chromium: a visitor registered on a phone restarted offline reaches
the server once with the ID number sealed; a returning visitor in three taps; a resident's
invite scanned offline through the camera checks the guest in; an expired or forged pass is
refused with its reason; a blocklisted visitor waits until a supervisor approves on their
screen; an after-hours delivery confirmed by the control room and signed out by its escort
only, also once handed over; a goods-out pass requested, stamped and ticked at the exit; cars
in and out and the overnight check; a contractor's zones; the blocklist and the gate calendar;
the phone's ID and plate checks against the server's."""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, Playwright, expect
from reportlab.graphics.barcode import qrencoder

from backend.services.identity import (
    DocumentKind,
    IdentityError,
    mask_id,
    resident_id_check_character,
    validate_document,
)
from backend.services.plates import PlateError, validate_plate
from tests.browser.browser_support import (
    BearerApi,
    assert_no_raw_keys,
    catalog,
    first_page,
    layout_problems,
    open_home,
    sign_in,
    wait_for_service_worker,
    wait_until,
)
from tests.browser.browser_support import (
    demo_password as password,
)
from tests.browser.browser_support import (
    launch_phone as _launch,
)
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser


def launch_phone(
    playwright: Playwright, server: Server, profile: Path, camera: Path | None = None, **kw: Any
) -> BrowserContext:
    return _launch(playwright, server, profile, camera, permissions=["camera"], **kw)


SITE_ID = 1  # 翠湖小区 in the demo: guard, guard2, supervisor, admin, resident (unit 3-1-502)
BLOCKED_PHONE = "13900000000"  # on the demo's blocklist
RETURNING_PHONE = "13800138000"  # 张伟, registered by the demo with unit 3-1-502 and a plate
ZH = catalog("zh-CN")
GATE_URL = re.compile(r"/gate$")


def resident_id(body: str) -> str:
    """A valid 18-character resident ID from its 17-digit body."""
    return body + resident_id_check_character(body)


def mistyped(number: str) -> str:
    """The same number with a wrong check character: what a typo at the gate looks like."""
    wrong = next(c for c in "0123456789X" if c != number[-1])
    return number[:-1] + wrong


# --- the server and the test's own view of it ---------------------------------------------------


class Api(BearerApi):
    """Bearer-token calls to the server, no browser involved."""

    default_user = "supervisor"

    def visits(self, q: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/api/sites/{SITE_ID}/visits?q={q}&limit=200")["items"])

    def invite(self, guest: str, valid_for: timedelta, **fields: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {
            "guest_name": guest,
            "valid_from": (now - timedelta(minutes=5)).isoformat(),
            "valid_until": (now + valid_for).isoformat(),
            **fields,
        }
        return dict(self.call("POST", f"/api/sites/{SITE_ID}/invites", "resident", data=body))


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    api = Api(request)
    # Whatever hour the suite runs at, the gate is in its open hours: an arrival is let in at
    # once unless the blocklist holds it (after hours is the control room's, tested elsewhere).
    api.call(
        "PATCH",
        f"/api/sites/{SITE_ID}",
        "admin",
        data={"after_hours_start": "00:00", "after_hours_end": "00:00"},
    )
    yield api
    request.dispose()


# --- QR codes as the phone's camera films them (Chromium's fake capture device) ---------------


def qr_luma(text: str, width: int, height: int, module: int = 6) -> bytes:
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    n = code.getModuleCount()
    size = (n + 8) * module
    assert size <= min(width, height), "the code does not fit the frame"
    left, top = (width - size) // 2, (height - size) // 2
    rows = bytearray(b"\xeb" * (width * height))  # white (video range)
    for r in range(n):
        for c in range(n):
            if code.isDark(r, c):
                y0, x0 = top + (r + 4) * module, left + (c + 4) * module
                for y in range(y0, y0 + module):
                    rows[y * width + x0 : y * width + x0 + module] = b"\x10" * module
    return bytes(rows)


def fake_camera_file(path: Path, text: str, width: int = 720, height: int = 720) -> Path:
    """A Y4M video (4:2:0) of the guest's phone screen showing the pass."""
    luma = qr_luma(text, width, height)
    chroma = b"\x80" * ((width // 2) * (height // 2) * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + luma + chroma)
    return path


# --- the gate phone --------------------------------------------------------------------------


def sync_status(page: Page):
    return page.locator("[data-testid=sync-status]")


def on_site(page: Page):
    return page.locator("[data-testid=gate-on-site]")


def visit_card(page: Page, name: str):
    return on_site(page).locator("li.visit", has_text=name)


def open_gate(page: Page, tile: str = "visitors") -> None:
    """From the home screen just signed in to, through its tile (no reload: a cold start reads
    the session again and draws the page anew, which would drop what a test typed meanwhile)."""
    page.locator(f".tile[data-tile='{tile}']").click()
    expect(page).to_have_url(GATE_URL)


def photo_jpeg() -> bytes:
    """A camera photo, larger than the phone keeps (it is scaled down before the upload)."""
    image = Image.new("RGB", (2400, 1800), (200, 120, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def install_tap_counter(page: Page) -> None:
    page.evaluate(
        """() => {
          window.__taps = 0;
          document.addEventListener('click', (e) => { if (e.isTrusted) window.__taps += 1; }, true);
        }"""
    )


# --- a visitor registered offline ----------------------------------------------------------------


def test_a_visitor_registered_offline_reaches_the_server_once_with_the_id_sealed(
    playwright: Playwright, server: Server, api: Api, tmp_path: Path
):
    profile = tmp_path / "gate-phone"
    number = resident_id("31010419850612003")
    masked = mask_id(number)
    name = "离线登记 Offline Visitor"

    # At the start of the shift, online: sign in and open the gate screens once.
    context = launch_phone(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        page.locator(".tile[data-tile='visitors']").click()
        expect(page).to_have_url(GATE_URL)
        expect(on_site(page).locator("li.visit", has_text="张伟")).to_be_visible()
        assert layout_problems(page) == []
        page.locator("[data-tile=gate-register]").click()
        # The site's units are kept for the form (the next start has no network).
        wait_until(page, "document.querySelectorAll('#visit-units option').length >= 5")
    finally:
        context.close()

    # The phone restarts at the gate with no signal at all.
    context = launch_phone(playwright, server, profile, offline=True)
    try:
        page = first_page(context)
        page.goto("/gate/register")
        expect(page.locator(".net[data-net=offline]")).to_be_visible()
        # Offline, a returning visitor is still found by phone (from what the phone kept).
        page.locator("#visit-phone").fill(RETURNING_PHONE[:7])
        returning = page.locator("[data-testid=returning-visitors] [data-action=pick-visitor]")
        expect(returning.first).to_contain_text("张伟")
        page.locator("#visit-phone").fill("13512340001")
        expect(returning).to_have_count(0)
        page.locator("#visit-name").fill(name)
        id_input = page.locator("#visit-id-number")
        hint = page.locator("[data-testid=visit-id-hint]")
        # A typo is caught as it is typed, before anything is saved.
        id_input.fill(mistyped(number))
        expect(hint).to_have_text(ZH["field.id_bad_checksum"])
        expect(id_input).to_have_attribute("aria-invalid", "true")
        id_input.fill(number)
        expect(hint).to_have_text(ZH["gate.id_ok"])
        id_input.blur()
        # Once entered, the number is only shown masked.
        expect(page.locator("[data-testid=id-masked]")).to_contain_text(masked)
        expect(id_input).to_be_hidden()
        page.locator("#visit-unit").fill("3-1-502")
        page.locator("[data-action=save-visit]").click()

        expect(page).to_have_url(GATE_URL)
        card = visit_card(page, name)
        expect(card).to_have_attribute("data-status", "waiting")
        expect(card).to_contain_text(ZH["gate.state.waiting"])
        expect(card).to_contain_text(masked)
        expect(sync_status(page)).to_have_attribute("data-waiting", "1")
        assert number not in page.locator("body").inner_text()
        assert_no_raw_keys(page)
    finally:
        context.close()

    # Back in signal: the registration goes once and the card becomes the server's.
    pushes: list[dict[str, Any]] = []
    context = launch_phone(playwright, server, profile)
    try:
        page = first_page(context)
        page.on(
            "requestfinished",
            lambda r: pushes.append(r.post_data_json) if r.url.endswith("/api/sync/push") else None,
        )
        page.goto("/gate")
        expect(sync_status(page)).to_have_attribute("data-waiting", "0", timeout=30_000)
        expect(visit_card(page, name)).to_have_attribute("data-status", "on_site", timeout=20_000)
        assert number not in page.locator("body").inner_text()
    finally:
        context.close()

    sent = [m for body in pushes if body for m in body["mutations"]]
    assert [m["name"] for m in sent] == ["visitors.register"]
    visits = api.visits("离线登记")
    assert len(visits) == 1
    visit = visits[0]
    assert visit["status"] == "on_site"
    assert visit["id"] == sent[0]["args"]["id"]
    assert visit["id_masked"] == masked and visit["host_unit_label"] == "3-1-502"
    assert visit["registered_by_id"] == api.call("GET", "/api/auth/me", "guard")["user"]["id"]
    # The hour the visitor came is the phone's, not the hour it was sent.
    assert visit["arrived_at"] < visit["server_time"]
    # Sealed: no answer repeats the number, and the database holds it only encrypted.
    for path in (
        f"/api/sites/{SITE_ID}/visits?limit=200",
        f"/api/sites/{SITE_ID}/gate",
        f"/api/sites/{SITE_ID}/visitors?phone=13512340001",
        f"/api/sites/{SITE_ID}/visits.csv",
    ):
        assert number not in api.raw("GET", path).text(), path
    db = sqlite3.connect(server.data_dir / "anbao.sqlite3")
    try:
        rows = db.execute("SELECT * FROM visitors WHERE phone = '13512340001'").fetchall()
    finally:
        db.close()
    assert len(rows) == 1 and masked in rows[0]
    assert not any(number in str(v) for v in rows[0])


# --- a returning visitor -------------------------------------------------------------------------


def test_a_returning_visitor_is_registered_in_three_taps(new_context, api: Api):
    before = {v["id"] for v in api.visits("张伟")}
    _, page, console = new_context()
    sign_in(page, "guard")
    open_home(page, "guard")
    open_gate(page)
    install_tap_counter(page)

    page.locator("[data-tile=gate-register]").click()  # 1
    page.locator("#visit-phone").fill(RETURNING_PHONE)  # typed, not tapped
    pick = page.locator("[data-testid=returning-visitors] [data-action=pick-visitor]").first
    expect(pick).to_contain_text("张伟")
    pick.click()  # 2
    expect(page.locator("[data-testid=returning-picked]")).to_contain_text("3-1-502")
    page.locator("[data-action=confirm-returning]").click()  # 3

    expect(page).to_have_url(GATE_URL)
    assert page.evaluate("window.__taps") == 3
    wait_until(page, "document.querySelector('[data-testid=sync-status]').dataset.waiting === '0'")
    after = [v for v in api.visits("张伟") if v["id"] not in before]
    assert len(after) == 1
    visit = after[0]
    # Last time's details came along: unit, purpose, plate; the ID stays the one on file.
    assert visit["host_unit_label"] == "3-1-502"
    assert visit["plate"] == "沪AD12345"
    assert visit["id_masked"] == "110105********002X"
    expect(on_site(page).locator(f"li[data-visit='{visit['id']}']")).to_be_visible()
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# --- a resident's invite, scanned at the gate offline ------------------------------------------


def test_a_residents_invite_scanned_offline_checks_the_guest_in(
    playwright: Playwright, server: Server, api: Api, new_context, tmp_path: Path
):
    guest = "陈小姐 Invited Guest"

    # The resident invites the guest on their phone and gets the link to send.
    _, resident, console = new_context()
    sign_in(resident, "resident")
    open_home(resident, "resident")
    resident.locator(".tile[data-tile='invites']").click()
    resident.locator("#invite-guest").fill(guest)
    resident.locator("#invite-headcount").fill("2")
    resident.locator("[data-action=create-invite]").click()
    card = resident.locator("[data-testid=invites] li", has_text=guest)
    expect(card).to_have_attribute("data-state", "active")
    expect(card.locator("[data-testid=pass-qr]")).to_be_visible()
    link = card.locator("[data-testid=pass-link]").input_value()
    assert f"{server.url}/pass/p1." in link
    code = card.locator(".pass").get_attribute("data-code")
    assert code and link.endswith(code)
    assert_no_raw_keys(resident, console)

    # The guest opens the link on a phone that never saw the app: the pass is there to show.
    _, guest_page, _ = new_context()
    guest_page.goto(link)
    expect(guest_page.locator("[data-testid=guest-qr]")).to_be_visible()
    expect(guest_page.locator(".guest-pass")).to_have_attribute("data-state", "valid")

    # The gate phone read the gate screen once today (the invite is on it as expected)...
    profile = tmp_path / "gate-phone"
    context = launch_phone(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        page.goto("/gate")
        expect(page.locator("[data-testid=gate-expected]")).to_contain_text(guest)
        page.goto("/gate/scan")  # loads the scanner and its decoder
        expect(page.locator("[data-action=scan-camera]")).to_be_visible()
    finally:
        context.close()

    # ...then lost its signal; the guest holds their phone up to its camera.
    camera = fake_camera_file(tmp_path / "pass.y4m", code)
    context = launch_phone(playwright, server, profile, camera=camera, offline=True)
    try:
        page = first_page(context)
        page.goto("/gate/scan")
        expect(page.locator(".net[data-net=offline]")).to_be_visible()
        page.locator("[data-action=scan-camera]").click()
        expect(page.locator("[data-testid=scanner]")).to_have_count(0, timeout=20_000)
        # Chromium on Linux has no BarcodeDetector: the patrol scanner's bundled decoder read it.
        expect(page.locator("section.gate-scan")).to_have_attribute("data-decoder", "jsqr")
        result = page.locator("[data-testid=pass-result]")
        expect(result).to_have_attribute("data-kind", "invite")
        expect(result).to_have_attribute("data-ok", "true")
        expect(result.locator("[data-testid=checked-offline]")).to_be_visible()
        expect(result.locator("[data-row=guest]")).to_contain_text(guest)
        result.locator("[data-action=check-in]").click()
        expect(page).to_have_url(GATE_URL)
        card = visit_card(page, guest)
        expect(card).to_have_attribute("data-status", "waiting")
        expect(sync_status(page)).to_have_attribute("data-waiting", "1")
        assert_no_raw_keys(page)

        # Signal again: the check-in is sent, and the guest is on site.
        context.set_offline(False)
        expect(sync_status(page)).to_have_attribute("data-waiting", "0", timeout=30_000)
        expect(visit_card(page, guest)).to_have_attribute("data-status", "on_site", timeout=20_000)
    finally:
        context.close()

    visits = api.visits("陈小姐")
    assert len(visits) == 1
    assert visits[0]["status"] == "on_site" and visits[0]["headcount"] == 2
    assert visits[0]["host_unit_label"] == "3-1-502"
    invites = api.call("GET", f"/api/sites/{SITE_ID}/invites?q=陈小姐", "resident")["items"]
    assert [i["status"] for i in invites] == ["used"]
    assert visits[0]["invite_id"] == invites[0]["id"]


# --- refusals ----------------------------------------------------------------------------------


def scan_typed(page: Page, text: str) -> None:
    page.locator("[data-action=type-code]").click()
    page.locator("#text-dialog-input").fill(text)
    page.locator("[data-testid=code-dialog] [data-action=confirm]").click()


def test_an_expired_or_forged_pass_is_refused_with_its_reason(new_context, api: Api):
    invite = api.invite("过期访客 Late Guest", timedelta(seconds=2))
    _, page, console = new_context()
    sign_in(page, "guard")
    open_home(page, "guard")
    open_gate(page)
    page.locator("[data-tile=gate-scan]").click()
    expect(page).to_have_url(re.compile(r"/gate/scan$"))
    # The window closes while the guest is still on the way.
    closes = int(datetime.fromisoformat(invite["valid_until"]).timestamp() * 1000)
    wait_until(page, f"Date.now() > {closes + 500}")
    scan_typed(page, page.url.replace("/gate/scan", invite["link"]))
    result = page.locator("[data-testid=pass-result]")
    expect(result).to_have_attribute("data-ok", "false")
    refusal = result.locator("[data-testid=pass-refusal]")
    expect(refusal).to_have_attribute("data-code", "pass_expired")
    expect(refusal).to_have_text(ZH["error.pass_expired"])
    expect(result.locator("[data-row=guest]")).to_contain_text("过期访客")
    expect(result.locator("[data-action=check-in]")).to_have_count(0)

    # An altered code (someone edited the window in the payload) is refused as forged.
    good = api.invite("改码访客 Forger", timedelta(hours=2))
    head, payload, mac = good["code"].split(".")
    forged = f"{head}.{payload}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    scan_typed(page, forged)
    expect(result.locator("[data-testid=pass-refusal]")).to_have_attribute(
        "data-code", "pass_invalid"
    )
    expect(result.locator("[data-testid=pass-refusal]")).to_have_text(ZH["error.pass_invalid"])
    expect(result.locator("[data-action=check-in]")).to_have_count(0)
    # Not a pass at all.
    scan_typed(page, "https://example.invalid/hello")
    expect(page.locator("[data-testid=scan-status]")).to_have_text(ZH["gate.not_a_pass"])

    # Nothing was recorded, and the genuine invite is still good.
    assert api.visits("过期访客") == [] and api.visits("改码访客") == []
    states = {
        i["guest_name"]: i["status"]
        for i in api.call("GET", f"/api/sites/{SITE_ID}/invites?limit=200", "resident")["items"]
    }
    assert states["改码访客 Forger"] == "active"
    assert_no_raw_keys(page, console)
    assert not console.page_errors


# --- the blocklist ----------------------------------------------------------------------------


def test_a_blocklisted_visitor_waits_until_a_supervisor_approves_on_their_screen(
    new_context, api: Api
):
    name = "黑名单 Blocked Caller"
    # The control room's tablet shows the gate all along.
    _, desk, desk_console = new_context(viewport=(1024, 768))
    sign_in(desk, "supervisor")
    open_home(desk, "supervisor")
    open_gate(desk, "gate")
    expect(desk.locator("[data-testid=gate-pending]")).to_contain_text(ZH["gate.none_pending"])

    _, gate, gate_console = new_context()
    sign_in(gate, "guard")
    open_home(gate, "guard")
    open_gate(gate)
    gate.locator("[data-tile=gate-register]").click()
    gate.locator("#visit-phone").fill(BLOCKED_PHONE)
    gate.locator("#visit-name").fill(name)
    gate.locator("#visit-unit").fill("1-2-201")
    # A photo of the visitor: made small on the phone, uploaded by its hash before the visit.
    gate.locator("[data-testid=visitor-photo]").set_input_files(
        files=[{"name": "face.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}]
    )
    expect(gate.locator("[data-testid=visitor-photo-preview]")).to_be_visible()
    gate.locator("[data-action=save-visit]").click()
    expect(gate).to_have_url(GATE_URL)
    held = gate.locator("[data-testid=gate-pending] li.visit", has_text=name)
    expect(held).to_have_attribute("data-status", "pending_approval", timeout=20_000)
    expect(held).to_contain_text(ZH["gate.status.pending_approval"])
    # The guard cannot let them in: it says who decides.
    expect(held.locator("[data-testid=hold-waiting]")).to_have_text(ZH["gate.waits_supervisor"])
    expect(held.locator("[data-action=approve]")).to_have_count(0)
    expect(visit_card(gate, name)).to_have_count(0)

    # The hold appears there at once (live events), with the blocklist's reason; approved.
    hold = desk.locator("[data-testid=gate-pending] li.visit", has_text=name)
    expect(hold.locator("[data-testid=blocklist-reason]")).to_contain_text("尾随")
    hold.locator("[data-action=approve]").click()
    expect(hold).to_have_count(0, timeout=20_000)
    let_in = visit_card(desk, name)
    expect(let_in).to_have_attribute("data-status", "on_site")
    expect(let_in.locator("[data-testid=decided-by]")).to_contain_text("李主管")
    assert_no_raw_keys(desk, desk_console)

    # The gate sees it too (its screen reads the gate again).
    gate.reload()
    expect(visit_card(gate, name)).to_have_attribute("data-status", "on_site")
    expect(gate.locator("[data-testid=gate-pending] li.visit", has_text=name)).to_have_count(0)

    # The control room's export masks ID numbers and phones.
    href = desk.locator("[data-action=export]").get_attribute("href")
    assert href
    csv = desk.request.get(href).text()
    assert "110105********002X" in csv and "11010519491231002X" not in csv
    assert BLOCKED_PHONE not in csv and "139****0000" in csv

    visit = api.visits("黑名单")[0]
    supervisor_id = api.call("GET", "/api/auth/me", "supervisor")["user"]["id"]
    assert visit["status"] == "on_site" and visit["blocklisted"] is True
    assert visit["decided_by_id"] == supervisor_id and visit["decided_at"]
    assert visit["photo_sha256"]
    photo = api.raw("GET", f"/api/media/{visit['photo_sha256']}/thumb")
    assert photo.ok and photo.headers["content-type"].startswith("image/")
    assert not gate_console.page_errors and not desk_console.page_errors


# --- after hours, and the escort ---------------------------------------------------------------


def test_an_after_hours_delivery_is_confirmed_by_the_control_room_and_ended_by_its_escort(
    new_context, api: Api
):
    name = "夜间送水 Night Water"
    shanghai = timezone(timedelta(hours=8))
    now = datetime.now(shanghai)
    window = {
        "after_hours_start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "after_hours_end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    api.call("PATCH", f"/api/sites/{SITE_ID}", "admin", data=window)
    try:
        _, gate, gate_console = new_context()
        sign_in(gate, "guard")
        open_home(gate, "guard")
        open_gate(gate)
        expect(gate.locator("[data-testid=after-hours-now]")).to_be_visible()
        gate.locator("[data-tile=gate-register]").click()
        gate.locator("#visit-phone").fill("13700009999")
        gate.locator("#visit-name").fill(name)
        gate.locator("#visit-purpose").select_option("water")
        # Water is walked in and out by a guard: the one registering it, unless they name another.
        escort = gate.locator("#visit-escort")
        expect(escort).to_be_visible()
        expect(escort).to_have_value(str(api.call("GET", "/api/auth/me", "guard")["user"]["id"]))
        gate.locator("[data-action=save-visit]").click()
        held = gate.locator("[data-testid=gate-pending] li.visit", has_text=name)
        expect(held).to_have_attribute("data-status", "pending_confirmation", timeout=20_000)
        # The guard who let them in is not the control room.
        expect(held.locator("[data-testid=hold-waiting]")).to_have_text(
            ZH["gate.waits_control_room"]
        )

        # The other guard on duty confirms it from their phone.
        _, other, other_console = new_context()
        sign_in(other, "guard2")
        open_home(other, "guard")
        open_gate(other)
        hold = other.locator("[data-testid=gate-pending] li.visit", has_text=name)
        expect(hold.locator("[data-action=approve]")).to_have_text(ZH["gate.confirm_entry"])
        hold.locator("[data-action=approve]").click()
        card = visit_card(other, name)
        expect(card).to_have_attribute("data-status", "on_site", timeout=20_000)
        expect(card.locator("[data-testid=decided-by]")).to_contain_text("赵保安")
        # Not their escort: they cannot sign it out.
        expect(card.locator("[data-testid=escort-only]")).to_contain_text("王保安")
        expect(card.locator("[data-action=check-out]")).to_have_count(0)

        gate.reload()
        mine = visit_card(gate, name)
        expect(mine.locator("[data-badge=escort]")).to_contain_text("王保安")
        expect(mine.locator("[data-action=check-out]")).to_be_visible()

        # The escort's shift ends: the control room hands the crew to the other guard.
        _, desk, desk_console = new_context(viewport=(1024, 768))
        sign_in(desk, "supervisor")
        open_home(desk, "supervisor")
        open_gate(desk, "gate")
        visit_card(desk, name).locator("[data-action=hand-over]").click()
        guard2_id = api.call("GET", "/api/auth/me", "guard2")["user"]["id"]
        desk.locator("#choice-dialog-select").select_option(str(guard2_id))
        desk.locator("[data-testid=choice-dialog] [data-action=confirm]").click()
        expect(visit_card(desk, name).locator("[data-badge=escort]")).to_contain_text("赵保安")

        gate.reload()
        expect(visit_card(gate, name).locator("[data-testid=escort-only]")).to_contain_text(
            "赵保安"
        )
        expect(visit_card(gate, name).locator("[data-action=check-out]")).to_have_count(0)
        other.reload()
        visit_card(other, name).locator("[data-action=check-out]").click()
        expect(visit_card(other, name)).to_have_count(0, timeout=20_000)
        for c in (gate_console, other_console, desk_console):
            assert not c.page_errors
    finally:
        api.call(
            "PATCH",
            f"/api/sites/{SITE_ID}",
            "admin",
            data={"after_hours_start": "00:00", "after_hours_end": "00:00"},
        )
    visit = api.visits("夜间送水")[0]
    assert visit["status"] == "checked_out" and visit["after_hours"] is True
    assert visit["decided_by_id"] == api.call("GET", "/api/auth/me", "guard2")["user"]["id"]
    assert visit["escort_name"].startswith("赵保安")


# --- goods out ---------------------------------------------------------------------------------


def test_a_goods_out_pass_is_requested_stamped_and_ticked_at_the_exit(new_context, api: Api):
    tower = 2
    _, tenant, console = new_context()
    sign_in(tenant, "tenant", password("tenant"))
    open_home(tenant, "resident")
    tenant.locator(".tile[data-tile='goods_passes']").click()
    editor = tenant.locator("[data-testid=goods-editor]")
    editor.locator("[data-field=item-name]").first.fill("显示器 monitor")
    editor.locator("[data-field=item-quantity]").first.fill("2")
    tenant.locator("[data-action=add-item]").click()
    editor.locator("[data-field=item-name]").nth(1).fill("台灯 lamp")
    tenant.locator("#goods-carrier").fill("自提 self")
    tenant.locator("[data-action=request-pass]").click()
    card = tenant.locator("[data-testid=goods-passes] li.goods-pass", has_text="显示器")
    expect(card).to_have_attribute("data-status", "requested")
    # The tenant is the unit's authorised approver: they stamp it.
    card.locator("[data-action=stamp]").click()
    tenant.locator("dialog [data-action=confirm]").click()
    expect(card).to_have_attribute("data-status", "approved")
    expect(card.locator("[data-row=stamp]")).to_contain_text("吴经理")
    code = card.locator(".pass").get_attribute("data-code")
    assert code and code.startswith("p1.")
    assert_no_raw_keys(tenant, console)

    _, gate, gate_console = new_context()
    sign_in(gate, "tower-guard", password("tower-guard"))
    open_home(gate, "guard")
    open_gate(gate)
    gate.locator("[data-tile=gate-scan]").click()
    scan_typed(gate, code)
    result = gate.locator("[data-testid=pass-result]")
    expect(result).to_have_attribute("data-kind", "goods")
    expect(result).to_have_attribute("data-ok", "true")
    items = result.locator("[data-testid=goods-items] li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("显示器 monitor × 2")
    # Nothing ticked: nothing recorded.
    result.locator("[data-action=record-exit]").click()
    expect(result.locator(".form-error")).to_be_visible()
    result.locator("[data-item='0']").check()
    result.locator("[data-action=record-exit]").click()
    expect(gate.locator("[data-testid=scan-status]")).to_contain_text("2 件中 1 件")
    wait_until(gate, "document.querySelector('[data-testid=sync-status]').dataset.waiting === '0'")
    # The same pass again: already used.
    scan_typed(gate, code)
    refusal = result.locator("[data-testid=pass-refusal]")
    expect(refusal).to_have_attribute("data-code", "pass_used")
    expect(refusal).to_have_text(ZH["error.pass_used"])
    assert_no_raw_keys(gate, gate_console)

    passes = api.call("GET", f"/api/sites/{tower}/goods-passes?q=monitor", "tower-supervisor")
    (made,) = passes["items"]
    assert made["status"] == "exited" and made["items_out"] == [0]
    assert made["decided_by_name"].startswith("吴经理") and made["signature"]


# --- vehicles ----------------------------------------------------------------------------------


def test_cars_in_and_out_and_the_overnight_check(new_context, api: Api):
    _, page, console = new_context()
    sign_in(page, "guard")
    open_home(page, "guard")
    open_gate(page)
    page.locator("[data-tile=gate-vehicles]").click()
    plate = page.locator("#car-plate")
    hint = page.locator("[data-testid=car-plate-hint]")
    plate.fill("AB1234")
    expect(hint).to_have_text(ZH["field.plate_bad_province"])
    # A foreign plate goes in as typed, marked so.
    page.locator("[data-testid=car-plate-override]").check()
    expect(hint).to_contain_text("AB1234")
    page.locator("[data-testid=car-plate-override]").uncheck()
    # An 8-character new-energy plate, typed the way people do.
    plate.fill("粤b·12345d")
    expect(hint).to_have_text(ZH["gate.plate_ok"].replace("{plate}", "粤B12345D"))
    page.locator("[data-action=car-in]").click()
    car = page.locator("[data-testid=cars-inside] li[data-plate='粤B12345D']")
    expect(car).to_have_attribute("data-state", "inside", timeout=20_000)
    expect(car.locator("[data-badge=kind]")).to_have_text(ZH["gate.vehicle_kind.visitor"])
    car.locator("[data-action=vehicle-out]").click()
    expect(car).to_have_count(0, timeout=20_000)
    # Gone, with how long it stayed.
    expect(page.locator("[data-testid=cars-gone] li[data-plate='粤B12345D']")).to_be_visible()
    entries = api.call("GET", f"/api/sites/{SITE_ID}/vehicle-entries?q=粤B12345D", "guard")["items"]
    assert [e["plate"] for e in entries] == ["粤B12345D"]
    assert entries[0]["exited_at"] and entries[0]["duration_seconds"] is not None

    # A resident's car found by part of its plate.
    page.locator("#car-search").fill("b123")
    found = page.locator("[data-testid=registered-vehicles] li[data-plate='沪B12345']")
    expect(found).to_contain_text("B1-017")

    # The overnight check: every car on one list; one is fine, one has its window open.
    page.locator("[data-action=back]").click()
    page.locator("[data-tile=gate-vehicle_check]").click()
    page.locator("[data-action=start-check]").click()
    cars = page.locator("[data-testid=cars-to-check]")
    cars.locator("li[data-plate='苏EA8888'] [data-action=car-ok]").click()
    registered = cars.locator("li[data-plate='沪B12345']")
    registered.locator("[data-action=car-problem]").click()
    registered.locator("select[name=condition]").select_option("window_open")
    registered.locator("textarea[name=note]").fill("驾驶座车窗未关 driver's window open")
    registered.locator("[data-action=save-problem]").click()
    expect(registered).to_have_attribute("data-noted", "window_open")
    expect(cars.locator("li[data-plate='苏EA8888']")).to_have_attribute("data-noted", "ok")
    page.locator("[data-action=finish-check]").click()
    if page.locator("dialog[open]").count():
        page.locator("dialog [data-action=confirm]").click()
    expect(page.locator("[data-testid=check-status]")).to_contain_text("1 辆有问题")
    wait_until(page, "document.querySelector('[data-testid=sync-status]').dataset.waiting === '0'")
    # The control room sees the problem and whether its owner was told.
    page.locator("[data-action=back]").click()
    page.locator("[data-tile=gate-vehicle_check]").click()
    noted = page.locator("[data-testid=last-check] li[data-plate='沪B12345']")
    expect(noted).to_contain_text(ZH["gate.condition.window_open"])
    told = {ZH[f"gate.owner_notice.{k}"] for k in ("requested", "sent", "no_owner")}
    assert noted.locator("[data-badge=notice]").inner_text() in told
    assert_no_raw_keys(page, console)
    assert not console.page_errors

    check = api.call("GET", f"/api/sites/{SITE_ID}/vehicle-checks", "supervisor")["items"][0]
    assert check["finished_at"] and check["problems"] == 1
    conditions = {i["plate"]: i["condition"] for i in check["items"]}
    assert conditions["沪B12345"] == "window_open" and conditions["苏EA8888"] == "ok"
    problem = next(i for i in check["items"] if i["plate"] == "沪B12345")
    assert problem["vehicle_id"] is not None and problem["owner_notice"] != "none"


# --- contractors -------------------------------------------------------------------------------


def test_a_contractors_pass_lets_them_into_their_zone_only_until_it_is_revoked(new_context):
    number = resident_id("11010819791103001")
    _, desk, desk_console = new_context(viewport=(1024, 768))
    sign_in(desk, "supervisor")
    open_home(desk, "supervisor")
    open_gate(desk, "gate")
    desk.locator("[data-tile=gate-contractors]").click()
    desk.locator(".issue-pass summary").click()
    desk.locator("#contractor-company").fill("绿化公司 Green Co")
    desk.locator("#contractor-person").fill("园丁老周 Gardener Zhou")
    desk.locator("#contractor-id-number").fill(number)
    desk.locator("[data-testid=contractor-zones] label", has_text="中心花园").click()
    desk.locator("[data-action=issue-pass]").click()
    card = desk.locator("[data-testid=contractor-passes] li", has_text="园丁老周")
    expect(card).to_have_attribute("data-state", "active")
    expect(card).to_contain_text(mask_id(number))
    code = card.locator(".pass").get_attribute("data-code")
    assert code
    assert number not in desk.locator("body").inner_text()

    _, gate, gate_console = new_context()
    answers: list[dict[str, Any]] = []
    gate.on(
        "response",
        lambda r: answers.extend(r.json()["results"]) if r.url.endswith("/api/sync/push") else None,
    )
    sign_in(gate, "guard")
    open_home(gate, "guard")
    open_gate(gate)
    gate.locator("[data-tile=gate-scan]").click()
    scan_typed(gate, code)
    result = gate.locator("[data-testid=pass-result]")
    expect(result).to_have_attribute("data-kind", "contractor")
    expect(result.locator("[data-row=zones]")).to_contain_text("中心花园")
    # Heading for the car park: not on the pass.
    zone = result.locator("#contractor-zone")
    zone.select_option(label="地下车库 Car park B1")
    expect(result.locator("[data-testid=pass-refusal]")).to_have_text(ZH["error.zone_not_allowed"])
    expect(result.locator("[data-action=let-in]")).to_be_disabled()
    zone.select_option(label="中心花园 Garden")
    result.locator("[data-action=let-in]").click()
    expect(gate.locator("[data-testid=scan-status]")).to_contain_text("园丁老周")
    wait_until(gate, "document.querySelector('[data-testid=sync-status]').dataset.waiting === '0'")
    assert [a["status"] for a in answers] == ["applied"]

    # The job is over early: the supervisor revokes the pass; at the gate it is refused.
    card.locator("[data-action=revoke]").click()
    desk.locator("#text-dialog-input").fill("工程结束 job done")
    desk.locator("[data-testid=revoke-dialog] [data-action=confirm]").click()
    expect(card).to_have_attribute("data-state", "revoked")
    scan_typed(gate, code)
    refusal = result.locator("[data-testid=pass-refusal]")
    expect(refusal).to_have_attribute("data-code", "pass_revoked")
    expect(result.locator("[data-action=let-in]")).to_have_count(0)
    assert_no_raw_keys(gate, gate_console)
    assert_no_raw_keys(desk, desk_console)


# --- the phone's checks are the server's ---------------------------------------------------------

ID_CASES = [
    ("resident_id", resident_id("11010519491231002")),
    ("resident_id", mistyped(resident_id("11010519491231002"))),
    ("resident_id", "110105491231002"),  # a first-generation 15-digit number
    ("resident_id", "1101051949123100"),
    ("resident_id", resident_id("00010519491231002")),  # no such region
    ("resident_id", resident_id("11010519491331002")),  # month 13
    ("resident_id", resident_id("11010521990101002")),  # born in the future
    ("resident_id", "11010519491231002Y"),
    ("resident_id", resident_id("91110019800101001")),  # foreigner's permanent residence ID
    ("passport", "e 1234 5678"),
    ("passport", "E12"),
    ("passport", "E1234-567"),
    ("hk_macao_permit", "H12345678"),
    ("hk_macao_permit", "X12345678"),
    ("taiwan_permit", "1234567"),
]
PLATE_CASES = [
    "京A12345",
    "沪a·d12345",
    "粤B12345D",
    "苏E1234挂",
    "粤Z1234港",
    "京Z1234港",
    "京I12345",
    "A12345",
    "京A1234",
    "WJ12345",
    "京A1234使",
]


def expected_id_hint(kind: str, number: str) -> str:
    try:
        validate_document(DocumentKind(kind), number)
    except IdentityError as exc:
        return ZH[f"field.id_{exc.code}"]
    return ZH["gate.id_ok"]


def expected_plate_hint(text: str) -> str:
    try:
        plate = validate_plate(text)
    except PlateError as exc:
        return ZH[f"field.plate_{exc.code}"]
    return ZH["gate.plate_ok"].replace("{plate}", plate.number)


def test_the_phones_id_and_plate_checks_agree_with_the_server(new_context):
    _, page, console = new_context()
    sign_in(page, "guard")
    open_home(page, "guard")
    open_gate(page)
    page.locator("[data-tile=gate-register]").click()
    number = page.locator("#visit-id-number")
    hint = page.locator("[data-testid=visit-id-hint]")
    for kind, text in ID_CASES:
        page.locator("#visit-id-kind").select_option(kind)
        number.fill(text)
        number.dispatch_event("change")
        expect(hint, f"{kind} {text}").to_have_text(expected_id_hint(kind, text))
        if page.locator("[data-action=change-id]").is_visible():
            page.locator("[data-action=change-id]").click()
    plate = page.locator("#visit-plate")
    plate_hint = page.locator("[data-testid=visit-plate-hint]")
    for text in PLATE_CASES:
        plate.fill(text)
        plate.dispatch_event("change")
        expect(plate_hint, text).to_have_text(expected_plate_hint(text))
    assert not console.page_errors


# --- the control room's settings: the blocklist and the gate calendar ---------------------------


def test_a_supervisor_blocklists_a_plate_and_an_admin_marks_a_holiday(new_context, api: Api):
    _, desk, console = new_context(viewport=(1024, 768))
    sign_in(desk, "supervisor")
    open_home(desk, "supervisor")
    open_gate(desk, "gate")
    desk.locator("[data-tile=gate-blocklist]").click()
    desk.locator("#block-plate").fill("沪C·88888")
    desk.locator("#block-reason").fill("撞坏道闸 broke the barrier")
    desk.locator("[data-action=block]").click()
    entry = desk.locator("[data-testid=blocklist] li", has_text="沪C88888")
    expect(entry).to_have_attribute("data-active", "true")

    # A car with that plate brings a visitor: held for a supervisor.
    unit = api.call("GET", f"/api/sites/{SITE_ID}/units?q=2-1-301", "guard")["items"][0]
    held = api.call(
        "POST",
        f"/api/sites/{SITE_ID}/visits",
        "guard",
        data={
            "id": "6f2c1d3e-0000-4000-8000-00000000b10c",
            "name": "开车来的 Driver",
            "phone": "13600001234",
            "host_unit_id": unit["id"],
            "plate": "沪C88888",
        },
    )
    assert held["status"] == "pending_approval" and held["blocklisted"] is True

    entry.locator("[data-action=lift]").click()
    desk.locator("dialog [data-action=confirm]").click()
    expect(entry).to_have_count(0)
    desk.locator("[data-testid=show-lifted]").check()
    expect(desk.locator("[data-testid=blocklist] li", has_text="沪C88888")).to_have_attribute(
        "data-active", "false"
    )
    assert_no_raw_keys(desk, console)

    # The admin makes today a public holiday: the gate is after hours all day.
    today = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    _, admin, admin_console = new_context(viewport=(1024, 768))
    sign_in(admin, "admin")
    open_home(admin, "admin")
    open_gate(admin, "gate")
    admin.locator("[data-tile=gate-policy]").click()
    state = admin.locator("[data-testid=after-hours-state]")
    expect(state).to_have_text(ZH["gate.open_hours_now"])
    try:
        admin.locator("#policy-holidays").fill(today)
        admin.locator("[data-action=save-policy]").click()
        expect(admin.locator("[data-testid=policy-status]")).to_have_text(ZH["gate.policy_saved"])
        expect(state).to_have_text(ZH["gate.after_hours_now"])
        assert api.call("GET", f"/api/sites/{SITE_ID}/gate-policy")["holidays"] == [today]
        # A date typed wrong is refused on the phone.
        admin.locator("#policy-holidays").fill("10/01")
        admin.locator("[data-action=save-policy]").click()
        expect(admin.locator("[data-testid=policy-status]")).to_have_text(ZH["gate.dates_wrong"])
    finally:
        api.call("PATCH", f"/api/sites/{SITE_ID}/gate-policy", "admin", data={"holidays": []})
    assert_no_raw_keys(admin, admin_console)
    # A supervisor reads the calendar but does not change it.
    desk.locator("[data-action=back]").click()
    desk.locator("[data-tile=gate-policy]").click()
    expect(desk.locator("[data-action=save-policy]")).to_have_count(0)
    expect(desk.locator("#policy-holidays")).to_be_disabled()


# --- a resident's invites ------------------------------------------------------------------------


def test_a_resident_shares_and_revokes_an_invite_and_the_gate_then_refuses_it(new_context):
    _, resident, console = new_context(permissions=["clipboard-read", "clipboard-write"])
    sign_in(resident, "resident")
    open_home(resident, "resident")
    resident.locator(".tile[data-tile='invites']").click()
    resident.locator("#invite-guest").fill("撤销访客 Cancelled Guest")
    resident.locator("#invite-plate").fill("沪A·12345")
    resident.locator("[data-action=create-invite]").click()
    card = resident.locator("[data-testid=invites] li", has_text="撤销访客")
    expect(card).to_have_attribute("data-state", "active")
    link = card.locator("[data-testid=pass-link]").input_value()
    # No share sheet on this desktop Chromium: the link is copied instead.
    card.locator("[data-action=share]").click()
    expect(resident.locator("[data-testid=invites-status]")).to_have_text(ZH["invites.link_copied"])
    assert resident.evaluate("navigator.clipboard.readText()") == link

    card.locator("[data-action=revoke]").click()
    resident.locator("dialog [data-action=confirm]").click()
    expect(card).to_have_attribute("data-state", "revoked")
    expect(card.locator("[data-testid=pass-qr]")).to_have_count(0)
    assert_no_raw_keys(resident, console)

    _, gate, _ = new_context()
    sign_in(gate, "guard")
    open_home(gate, "guard")
    open_gate(gate)
    gate.locator("[data-tile=gate-scan]").click()
    scan_typed(gate, link)
    refusal = gate.locator("[data-testid=pass-refusal]")
    expect(refusal).to_have_attribute("data-code", "pass_revoked")
    expect(refusal).to_have_text(ZH["error.pass_revoked"])
