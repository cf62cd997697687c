"""The parcel room in a real Chromium: a parcel registered offline at the gate, synced, its notice
sent by the server's worker to the checking push service, decrypted there and handed to the
resident's real service worker (CDP), which shows it and tells the open page; the resident's code
opens the pickup; wrong and reused codes are refused; the notice opens the parcel. Also: the label
photo's barcode read by the bundled decoder, a courier's drop scanned by camera, the shelf check,
overdue and return, and the notification screen subscribing and unsubscribing this browser.

`PushManager.subscribe()` never settles without the browser vendor's push service (none here), so
the subscriptions are made by the test with its own P-256 keys (tests/push_service.py); the one
test of the "turn on" button hands the page such a subscription in place of the browser's.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import (
    BrowserContext,
    Page,
    Playwright,
    expect,
)
from reportlab.graphics.barcode.code128 import Code128

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
    launch_phone as _launch,
)
from tests.browser.conftest import Server, demo_server
from tests.push_service import PushService, Received, TestSubscription

pytestmark = pytest.mark.browser


def launch_phone(
    playwright: Playwright, server: Server, profile: Path, camera: Path | None = None, **kw: Any
) -> BrowserContext:
    return _launch(playwright, server, profile, camera, permissions=["camera"], **kw)


SITE_ID = 1  # 翠湖小区 in the demo: guard, guard2, supervisor and the resident (3-1-502)
ZH = catalog("zh-CN")


def text(key: str, **params: Any) -> str:
    """A catalog text with its placeholders filled, as the page shows it."""
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), ZH[key])


# --- the server, the push service and the test's view of the API ------------------------------


@pytest.fixture(scope="module")
def push() -> Iterator[PushService]:
    with PushService() as service:
        yield service


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pwa_dir: Path) -> Iterator[Server]:
    """The demo with a VAPID key; the push service of the tests is plain http on 127.0.0.1."""
    with demo_server(
        tmp_path_factory, pwa_dir, {"ANBAO_PUSH_ALLOW_HTTP": "true"}, commands=("vapid",)
    ) as server:
        yield server


class Api(BearerApi):
    """The test's own view of the server: bearer tokens, no browser involved."""

    default_user = "guard"

    def parcels(self, q: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/api/sites/{SITE_ID}/parcels?limit=200&q={q}")["items"])

    def receive(self, **body: Any) -> dict[str, Any]:
        body.setdefault("id", str(uuid.uuid4()))
        return dict(self.call("POST", f"/api/sites/{SITE_ID}/parcels", data=body))

    def resident_id(self) -> int:
        rows = self.call("GET", f"/api/sites/{SITE_ID}/parcel-recipients?q=502")
        return int(next(r["user_id"] for r in rows if r["user_id"] is not None))


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


@pytest.fixture(scope="module")
def vapid_key(api: Api) -> str:
    return str(api.call("GET", "/api/notices/vapid-key", "resident")["public_key"])


def subscribe_resident(api: Api, push: PushService, vapid_key: str) -> TestSubscription:
    """A subscription as a browser makes one (own P-256 keys), registered as the resident."""
    sub = push.subscribe(server_key=vapid_key)
    api.call(
        "POST",
        "/api/notices/subscriptions",
        "resident",
        data={**sub.json(), "application_server_key": vapid_key},
    )
    return sub


def wait_for_push(page: Page, push: PushService, sub: TestSubscription, count: int) -> Received:
    """The `count`-th message the push service accepted for `sub` (the server sends it)."""
    waited = 0
    while len([r for r in push.for_subscription(sub) if r.status == 201]) < count:
        assert waited < 30_000, f"no push for the subscription; refused: {push.refused}"
        page.wait_for_timeout(200)
        waited += 200
    return [r for r in push.for_subscription(sub) if r.status == 201][count - 1]


# --- the phones --------------------------------------------------------------------------------


def status_bar(page: Page):
    return page.locator("[data-testid=sync-status]")


def registration_id(context: BrowserContext, page: Page, origin: str) -> tuple[Any, str]:
    """A CDP session on `page` and the id of the app's service worker registration."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    waited = 0
    while not any(r["scopeURL"].startswith(origin) and not r["isDeleted"] for r in registrations):
        assert waited < 10_000, "no service worker registration"
        page.wait_for_timeout(100)
        waited += 100
    found = next(r for r in registrations if r["scopeURL"].startswith(origin))
    return cdp, str(found["registrationId"])


def deliver_push(context: BrowserContext, page: Page, origin: str, payload: bytes) -> None:
    """Hands a decrypted push message to the real service worker, as the browser would."""
    cdp, reg = registration_id(context, page, origin)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": reg, "data": payload.decode()},
    )
    cdp.detach()


def worker_notifications(context: BrowserContext) -> list[dict[str, Any]]:
    """What the service worker has on screen (`registration.getNotifications()`)."""
    worker = context.service_workers[0]
    return list(
        worker.evaluate(
            """() => self.registration.getNotifications().then((ns) =>
                 ns.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"""
        )
    )


def open_parcels(page: Page, action: str) -> None:
    """From the guard's home, through the tiles, to one of the parcel room's screens (once the
    app has asked the server who is signed in: that answer draws the screen again)."""
    page.wait_for_load_state("networkidle")
    page.locator(".tile[data-tile='parcels']").click()
    page.locator(f"[data-tile='parcels-{action}']").click()
    page.locator(f"section.parcels-{action}").wait_for()


def pick_recipient(page: Page, query: str, user_id: int | None) -> None:
    picker = page.locator("[data-testid=recipient-picker]").first
    picker.locator("input[name=recipient]").fill(query)
    user = "" if user_id is None else str(user_id)
    picker.locator(f"[data-action=pick-recipient][data-user='{user}']").first.click()
    expect(picker.locator("[data-testid=recipient-chosen]")).to_be_visible()


# --- labels as the camera and a photo see them -------------------------------------------------


def barcode_rows(value: str, module: int = 3, height: int = 120) -> Image.Image:
    """A Code 128 barcode (quiet zones included), black on white."""
    code = Code128(value)
    code.validate()
    code.encode()
    pattern = code.decompose()  # upper case: a bar of that many modules; lower case: a space
    widths = [(ch.isupper(), "abcd".index(ch.lower()) + 1) for ch in pattern]
    total = (sum(w for _, w in widths) + 20) * module
    image = Image.new("L", (total, height), 255)
    draw = ImageDraw.Draw(image)
    x = 10 * module
    for bar, w in widths:
        if bar:
            draw.rectangle([x, 0, x + w * module - 1, height - 1], fill=0)
        x += w * module
    return image


def label_photo(number: str) -> bytes:
    """A photo of a parcel label: some printed lines and the barcode of the tracking number."""
    page = Image.new("L", (1200, 900), 235)
    draw = ImageDraw.Draw(page)
    for y in (60, 110, 160, 620, 680):
        draw.rectangle([80, y, 900, y + 18], fill=90)
    bars = barcode_rows(number)
    page.paste(bars, ((1200 - bars.width) // 2, 300))
    out = io.BytesIO()
    page.convert("RGB").save(out, format="JPEG", quality=92)
    return out.getvalue()


def camera_of(path: Path, frames: list[Image.Image], width: int = 640, height: int = 480) -> Path:
    """A Y4M video for Chromium's fake camera: each image shown for a second, then again."""
    chroma = b"\x80" * ((width // 2) * (height // 2) * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1\n".encode())
        for image in frames:
            canvas = Image.new("L", (width, height), 235)
            fitted = image.copy()
            fitted.thumbnail((width - 40, height - 40))
            canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
            luma = bytes(16 + (v * 219) // 255 for v in canvas.tobytes())  # video range
            for _ in range(10):
                out.write(b"FRAME\n" + luma + chroma)
    return path


# --- the issue's flow: offline intake → sync → push → resident → pickup ------------------------


def test_a_parcel_registered_offline_reaches_the_resident_by_push_and_is_picked_up_with_its_code(
    playwright: Playwright,
    new_context,
    server: Server,
    api: Api,
    push: PushService,
    vapid_key: str,
    tmp_path: Path,
) -> None:
    number = "SF1402837777"
    resident_id = api.resident_id()
    sub = subscribe_resident(api, push, vapid_key)

    # The resident's phone, on the parcels page with notifications allowed.
    home, mine, console = new_context(permissions=["notifications"])
    mine.goto("/login")
    sign_in(mine, "resident")
    open_home(mine, "resident")
    wait_for_service_worker(mine)
    mine.locator(".tile[data-tile='my_parcels']").click()
    mine_row = mine.locator(f"[data-testid=my-parcels] > li[data-tracking='{number}']")
    expect(mine.locator("[data-testid=my-parcels] > li").first).to_be_visible()
    expect(mine_row).to_have_count(0)

    # The gate guard's phone, online once: signs in and looks the resident up (kept offline).
    profile = tmp_path / "gate-phone"
    guard = launch_phone(playwright, server, profile)
    try:
        page = first_page(guard)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        open_parcels(page, "intake")
        picker = page.locator("[data-testid=recipient-picker]")
        picker.locator("input[name=recipient]").fill("502")
        expect(picker.locator(f"[data-user='{resident_id}']")).to_be_visible()
    finally:
        guard.close()

    # At the gate with no signal: the parcel is saved on the phone only.
    server.stop()
    guard = launch_phone(playwright, server, profile, offline=True)
    try:
        page = first_page(guard)
        page.goto("/parcels/intake")
        expect(page.locator(".net[data-net=offline]")).to_be_visible()
        page.locator("input[name=tracking_number]").fill(number)
        page.locator("input[name=tracking_number]").press("Tab")
        # The number names its carrier.
        expect(page.locator("input[name=carrier]")).to_have_value("顺丰 SF Express")
        pick_recipient(page, "502", resident_id)
        page.locator("input[name=shelf]").fill("A3")
        page.locator("[data-flag=perishable]").check()
        page.locator("[data-action=save-parcel]").click()
        expect(page.locator("[data-testid=intake-status]")).to_have_text(
            ZH["parcels.saved_offline"]
        )
        recent = page.locator("[data-testid=intake-recent] > li")
        expect(recent).to_have_count(1)
        expect(recent.first).to_have_attribute("data-state", "waiting")
        expect(status_bar(page)).to_have_attribute("data-waiting", "1")
        assert_no_raw_keys(page)
        # The parcel room lists it among the waiting ones, as still on this phone.
        page.locator("[data-action=back]").click()
        row = page.locator(f"[data-testid=waiting-parcels] > li[data-tracking='{number}']")
        expect(row).to_have_attribute("data-status", "waiting")
        expect(page.locator("[data-testid=room-status]")).to_have_text(ZH["parcels.offline_list"])
        server.start()
        assert api.parcels(number) == []  # nothing reached the server while offline

        # Back in signal: the outbox sends it; the server queues the resident's notice.
        guard.set_offline(False)
        expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=30_000)
        expect(row).to_have_attribute("data-status", re.compile("received|notified"))
        (parcel,) = api.parcels(number)
        assert parcel["shelf"] == "A3" and parcel["perishable"] is True
        assert parcel["recipient_id"] == resident_id and parcel["unit_label"] == "3-1-502"

        # The server's worker sends the notice; the push service checks and decrypts it.
        received = wait_for_push(page, push, sub, 1)
        notice = received.json()
        code = notice["data"]["pickup_code"]
        assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", code)
        assert notice["kind"] == "parcel.arrived"
        assert notice["url"] == f"/parcels/{parcel['id']}"
        assert notice["data"]["parcel_id"] == parcel["id"]
        assert received.headers["urgency"] == "high"  # perishable
        assert int(received.headers["ttl"]) > 0
        wait_until(page, "true")  # let the worker record the delivery
        waited = 0
        while api.call("GET", f"/api/parcels/{parcel['id']}")["status"] != "notified":
            assert waited < 15_000, "the parcel never became notified"
            page.wait_for_timeout(200)
            waited += 200

        # The real service worker of the resident's phone gets the decrypted message.
        deliver_push(home, mine, server.url, received.payload)
        wait_until(
            mine,
            "document.querySelector('[data-testid=notice-banner]')?.dataset.code !== undefined",
        )
        shown = worker_notifications(home)
        assert len(shown) == 1, shown
        assert shown[0]["title"] == notice["title"]
        assert code in shown[0]["body"]
        assert shown[0]["tag"] == f"parcel-{parcel['id']}"
        assert shown[0]["data"]["url"].endswith(f"/parcels/{parcel['id']}")
        # The open page was told: it says so and shows the parcel with its code.
        banner = mine.locator("[data-testid=notice-banner]")
        expect(banner).to_have_attribute("data-code", code)
        expect(banner).to_contain_text(text("mine.arrived_code", code=code))
        expect(mine_row.locator("[data-testid=pickup-code]")).to_have_attribute("data-code", code)
        assert_no_raw_keys(mine, console)

        # Tapping the notice opens the parcel.
        home.service_workers[0].evaluate(
            """() => self.registration.getNotifications().then(([n]) => self.dispatchEvent(
                 new NotificationEvent('notificationclick', {notification: n})))"""
        )
        mine.wait_for_url(f"**/parcels/{parcel['id']}")
        detail = mine.locator("[data-testid=parcel-detail]")
        expect(detail.locator("[data-testid=pickup-code]")).to_have_attribute("data-code", code)
        assert worker_notifications(home) == []  # closed when tapped

        # At the gate: a wrong code is refused, with the tries left before the lock.
        page.locator("[data-tile='parcels-pickup']").click()
        wrong = next(c for c in ("ZZZZZZ", "YYYYYY") if c != code)
        page.locator("input[name=code]").fill(wrong)
        page.locator("[data-action=find-code]").click()
        message = page.locator("[data-testid=pickup-status]")
        expect(message).to_contain_text(ZH["error.wrong_pickup_code"])
        expect(message).to_contain_text(text("pickup.attempts_left", count=4))
        expect(page.locator("[data-testid=pickup-parcels]")).to_have_count(0)

        # The resident's code, typed as read aloud (lower case, a space), opens the parcel.
        page.locator("input[name=code]").fill(f"{code[:3].lower()} {code[3:]}")
        page.locator("[data-action=find-code]").click()
        found = page.locator("[data-testid=pickup-parcels] > li")
        expect(found).to_have_count(1)
        expect(found.first).to_have_attribute("data-tracking", number)
        # The resident signs on the phone; the signature goes up as the proof.
        page.locator("[data-proof=signature]").check()
        pad = page.locator("[data-testid=signature]")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 20, box["y"] + 40)
        page.mouse.down()
        for i in range(12):
            page.mouse.move(box["x"] + 30 + i * 20, box["y"] + 40 + (i % 3) * 30)
        page.mouse.up()
        page.locator("[data-action=hand-over]").click()
        expect(message).to_have_text(text("pickup.done", count=1), timeout=30_000)
        expect(found.first).to_have_attribute("data-status", "picked_up")
        problems = layout_problems(page)
        assert problems == [], problems

        after = api.call("GET", f"/api/parcels/{parcel['id']}")
        assert after["status"] == "picked_up" and after["pickup_method"] == "code"
        assert after["proof_kind"] == "signature" and after["proof_sha256"]
        assert (
            api.call("GET", f"/api/media/{after['proof_sha256']}")["sha256"]
            == after["proof_sha256"]
        )

        # The same code again: already picked up, said so.
        page.locator("input[name=code]").fill(code)
        page.locator("[data-action=find-code]").click()
        expect(message).to_contain_text(ZH["error.already_picked_up"])
    finally:
        guard.close()

    # The resident's list no longer shows it waiting; the history does, picked up.
    mine.goto("/my-parcels")
    expect(mine.locator("[data-testid=my-parcels] > li").first).to_be_visible()
    expect(mine_row).to_have_count(0)
    mine.locator("details.history summary").click()
    done = mine.locator(f"[data-testid=my-history] > li[data-tracking='{number}']")
    expect(done).to_have_attribute("data-status", "picked_up")
    assert not console.page_errors, console.page_errors


# --- the pickup QR, from the resident's screen to the guard's camera ---------------------------


def a_face() -> bytes:
    """A photo of the person collecting (any JPEG will do for the record)."""
    image = Image.new("RGB", (480, 640), (200, 170, 140))
    ImageDraw.Draw(image).ellipse([120, 120, 360, 420], fill=(230, 200, 170))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def test_the_residents_pickup_qr_scanned_at_the_gate_hands_over_to_someone_on_their_behalf(
    playwright: Playwright, new_context, server: Server, api: Api, tmp_path: Path
) -> None:
    resident_id = api.resident_id()
    numbers = ["QRPASS000001", "QRPASS000002"]
    made = [api.receive(recipient_id=resident_id, tracking_number=n, shelf="D1") for n in numbers]

    # The resident shows the pickup QR; the page draws it from the server's signed pass.
    _home, mine, console = new_context()
    mine.goto("/login")
    sign_in(mine, "resident")
    open_home(mine, "resident")
    mine.wait_for_load_state("networkidle")
    mine.locator(".tile[data-tile='my_parcels']").click()
    mine.locator("[data-action=show-pass]").click()
    qr = mine.locator("[data-testid=pass-qr]")
    expect(qr).to_have_attribute("data-token", re.compile(r"^pp1\.\d+\.\d+\.[\w-]+$"))
    expect(mine.locator("[data-testid=pass-info]")).not_to_be_empty()
    screen = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    assert_no_raw_keys(mine, console)

    # The guard's camera sees that screen; the same decoder as checkpoints reads it.
    camera = camera_of(tmp_path / "pass.y4m", [screen])
    guard = launch_phone(playwright, server, tmp_path / "gate", camera=camera)
    try:
        page = first_page(guard)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        open_parcels(page, "pickup")
        page.locator("[data-action=scan-pass]").click()
        found = page.locator("[data-testid=pickup-parcels] > li")
        expect(page.locator("[data-testid=pass-holder]")).to_contain_text("陈女士", timeout=30_000)
        expect(found.filter(has=page.locator("[data-pick]"))).not_to_have_count(0)
        # Only today's two go; the unit's other waiting parcels stay.
        for i in range(found.count()):
            row = found.nth(i)
            if row.get_attribute("data-tracking") not in numbers:
                row.locator("[data-pick]").uncheck()
        # The resident's neighbour collects: name and photo, or the server refuses.
        page.locator("[data-testid=behalf]").check()
        page.locator("input[name=collected_by_name]").fill("李四 Li Si")
        page.locator("[data-testid=collector-photo]").set_input_files(
            files=[{"name": "li.jpg", "mimeType": "image/jpeg", "buffer": a_face()}]
        )
        expect(page.locator("[data-testid=collector-photo-preview]")).to_be_visible()
        page.locator("[data-action=hand-over]").click()
        expect(page.locator("[data-testid=pickup-status]")).to_have_text(
            text("pickup.done", count=2), timeout=30_000
        )
        assert_no_raw_keys(page)
    finally:
        guard.close()
    for parcel in made:
        after = api.call("GET", f"/api/parcels/{parcel['id']}")
        assert after["status"] == "picked_up" and after["pickup_method"] == "qr"
        assert after["collected_by_name"] == "李四 Li Si" and after["collector_photo_sha256"]


def test_guessing_codes_locks_pickup_by_code_and_says_for_how_long(new_context, api: Api) -> None:
    _context, page, console = new_context()
    page.goto("/login")
    sign_in(page, "guard2")
    open_home(page, "guard")
    open_parcels(page, "pickup")
    message = page.locator("[data-testid=pickup-status]")
    for i, guess in enumerate(["Q2Q2Q2", "Q3Q3Q3", "Q4Q4Q4", "Q5Q5Q5"]):
        page.locator("input[name=code]").fill(guess)
        page.locator("[data-action=find-code]").click()
        expect(message).to_contain_text(text("pickup.attempts_left", count=4 - i))
    page.locator("input[name=code]").fill("Q6Q6Q6")
    page.locator("[data-action=find-code]").click()
    expect(message).to_contain_text(ZH["error.pickup_throttled"].split("{retry_after}")[0])
    expect(message).to_contain_text(text("error.pickup_throttled", retry_after=60))
    # A short code never reaches the server (nor counts).
    page.locator("input[name=code]").fill("AB12")
    page.locator("[data-action=find-code]").click()
    expect(message).to_have_text(text("pickup.code_length", length=6))
    assert_no_raw_keys(page, console)


# --- intake details ------------------------------------------------------------------------------


def test_a_label_photo_fills_the_number_and_a_known_recipient_takes_two_taps(
    new_context, api: Api
) -> None:
    resident_id = api.resident_id()
    context, page, console = new_context()
    page.goto("/login")
    sign_in(page, "guard2")
    open_home(page, "guard")
    open_parcels(page, "intake")

    # The first parcel for this resident: found by name.
    page.locator("input[name=tracking_number]").fill("JDX0000000001")
    pick_recipient(page, "陈", resident_id)
    page.locator("input[name=carrier]").fill("京东 JD")
    page.locator("input[name=shelf]").fill("B2")
    page.locator("[data-action=save-parcel]").click()
    expect(page.locator("[data-testid=intake-recent] > li").first).to_have_attribute(
        "data-state", "sent", timeout=20_000
    )

    # The next one: a photo of the label; the bundled decoder reads its Code 128 barcode.
    number = "YT8890213399"
    photo = label_photo(number)
    page.locator("[data-testid=label-photo]").set_input_files(
        files=[{"name": "label.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    expect(page.locator("input[name=tracking_number]")).to_have_value(number, timeout=20_000)
    expect(page.locator("[data-testid=label-preview]")).to_be_visible()
    expect(page.locator("input[name=carrier]")).to_have_value("圆通 YTO")
    expect(page.locator("input[name=shelf]")).to_have_value("B2")  # remembered
    # Two taps: the suggested recipient, then save.
    page.locator(f"[data-testid=recipient-options] [data-user='{resident_id}']").click()
    page.locator("[data-action=save-parcel]").click()
    recent = page.locator("[data-testid=intake-recent] > li")
    expect(recent).to_have_count(2)
    expect(recent.first).to_have_attribute("data-state", "sent", timeout=20_000)
    assert_no_raw_keys(page, console)
    assert layout_problems(page) == []

    (parcel,) = api.parcels(number)
    assert parcel["carrier"] == "圆通 YTO" and parcel["shelf"] == "B2"
    assert parcel["recipient_id"] == resident_id and parcel["label_sha256"]
    # The label photo reaches the server on its own.
    waited = 0
    while not api.request.fetch(
        f"/api/media/{parcel['label_sha256']}",
        method="HEAD",
        headers={"Authorization": f"Bearer {api.token('guard2')}"},
    ).ok:
        assert waited < 20_000, "the label photo never arrived"
        page.wait_for_timeout(200)
        waited += 200
    del context


def test_an_unknown_unit_typed_offline_is_refused_with_a_clear_reason(
    new_context, api: Api
) -> None:
    _context, page, console = new_context(locale="en")
    page.goto("/login")
    sign_in(page, "guard")
    open_home(page, "guard")
    open_parcels(page, "intake")
    page.locator("input[name=tracking_number]").fill("ZT9999999999")
    picker = page.locator("[data-testid=recipient-picker]")
    picker.locator("input[name=recipient]").fill("9-9-999")
    picker.locator(".pick-typed").click()
    page.locator("[data-action=save-parcel]").click()
    card = page.locator("[data-testid=intake-recent] > li").first
    expect(card).to_have_attribute("data-state", "rejected", timeout=20_000)
    en = catalog("en")
    expect(card.locator("[data-testid=reason]")).to_contain_text(en["field.unknown_unit"])
    assert api.parcels("ZT9999999999") == []
    assert_no_raw_keys(page, console)


# --- a courier's drop, scanned by camera ---------------------------------------------------------


def test_a_courier_drop_is_scanned_one_after_another_and_saved_as_a_batch(
    playwright: Playwright, server: Server, api: Api, tmp_path: Path
) -> None:
    numbers = ["ZT7361528101", "ZT7361528102", "ZT7361528103"]
    camera = camera_of(tmp_path / "drop.y4m", [barcode_rows(n, module=2) for n in numbers])
    context = launch_phone(playwright, server, tmp_path / "phone", camera=camera)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard2")
        open_home(page, "guard")
        open_parcels(page, "batch")
        page.locator("input[name=carrier]").fill("中通 ZTO")
        page.locator("input[name=shelf]").fill("C1")
        page.locator("[data-action=scan-batch]").click()
        dialog = page.locator("[data-testid=parcel-camera]")
        expect(dialog).to_have_attribute("data-decoder", "zxing")
        expect(dialog.locator("[data-testid=camera-codes] li")).to_have_count(3, timeout=30_000)
        dialog.locator("[data-action=close-camera]").click()
        rows = page.locator("[data-testid=batch-rows] > li")
        expect(rows).to_have_count(3)
        # A number typed by hand joins the drop; one typed twice does not.
        page.locator("#batch-number").fill("zt7361528104")
        page.locator("[data-action=add-number]").click()
        page.locator("#batch-number").fill(numbers[0])
        page.locator("[data-action=add-number]").click()
        expect(page.locator("[data-testid=batch-status]")).to_have_text(
            text("parcels.batch_duplicate", number=numbers[0])
        )
        expect(rows).to_have_count(4)
        # Saving without recipients names how many are missing.
        page.locator("[data-action=save-batch]").click()
        expect(page.locator("[data-testid=batch-status]")).to_have_text(
            text("parcels.batch_recipients_missing", count=4)
        )
        for unit in ("1-1-101", "1-2-201", "2-1-301", "3-2-601"):
            row = rows.filter(has=page.locator("input[name=recipient]:visible")).first
            row.locator("input[name=recipient]").fill(unit)
            row.locator(f"[data-action=pick-recipient][data-unit='{unit}'][data-user='']").click()
        page.locator("[data-action=save-batch]").click()
        expect(rows).to_have_count(0)
        expect(status_bar(page)).to_have_attribute("data-waiting", "0", timeout=30_000)
    finally:
        context.close()
    got = {p["tracking_number"]: p for p in api.parcels("ZT73615281")}
    assert set(got) == {*numbers, "ZT7361528104"}
    assert {p["shelf"] for p in got.values()} == {"C1"}
    assert {p["carrier"] for p in got.values()} == {"中通 ZTO"}


# --- the shelf check, overdue and return ---------------------------------------------------------


def test_the_shelf_check_lists_what_is_missing_extra_or_misplaced(new_context, api: Api) -> None:
    resident_id = api.resident_id()
    for number, shelf in (("SHLF00000001", "S9"), ("SHLF00000002", "S9"), ("SHLF00000003", "S8")):
        api.receive(recipient_id=resident_id, tracking_number=number, shelf=shelf)
    _context, page, console = new_context()
    page.goto("/login")
    sign_in(page, "guard")
    open_home(page, "guard")
    open_parcels(page, "shelf-check")
    shelf = page.locator("[data-testid=shelves] .shelf[data-shelf='S9']")
    expect(shelf).to_be_visible()
    shelf.locator("input[name=count]").fill("1")
    page.locator("[data-action=compare-shelves]").click()
    result = page.locator("[data-testid=shelf-result]")
    expect(result.locator("[data-testid=shelf-verdict]")).to_have_attribute("data-matches", "false")
    diff = result.locator(".shelf-diff[data-shelf='S9']")
    expect(diff).to_have_attribute("data-difference", "-1")
    expect(diff).to_contain_text(
        text("parcels.shelf_counts", expected=2, counted=1, difference="-1")
    )
    # Shelves not counted are named too.
    expect(result.locator("[data-not-counted='S8']")).to_be_visible()
    assert_no_raw_keys(page, console)


def test_an_overdue_parcel_is_returned_to_the_sender_with_a_reason(
    new_context, api: Api, server: Server
) -> None:
    resident_id = api.resident_id()
    parcel = api.receive(recipient_id=resident_id, tracking_number="OLD000000001", shelf="Z1")
    # Four days old (the reminder time is three): moved back in the server's own database.
    db = sqlite3.connect(server.data_dir / "anbao.sqlite3")
    with db:
        ((stored_id, received),) = db.execute(
            "SELECT id, received_at FROM parcels WHERE tracking_number = ?", ("OLD000000001",)
        ).fetchall()
        earlier = datetime.fromisoformat(received) - timedelta(days=4)
        db.execute(
            "UPDATE parcels SET received_at = ? WHERE id = ?",
            (earlier.isoformat(sep=" " if " " in received else "T"), stored_id),
        )
    db.close()
    _context, page, console = new_context()
    page.goto("/login")
    sign_in(page, "guard")
    open_home(page, "guard")
    open_parcels(page, "overdue")
    card = page.locator(f"[data-testid=overdue-parcels] > li[data-parcel='{parcel['id']}']")
    expect(card).to_contain_text(text("parcels.waited", days=4, reminders=0))
    card.locator("[data-action=return-parcel]").click()
    dialog = page.locator("[data-testid=return-dialog]")
    dialog.locator("input").fill("住户要求退回 Refused by the resident")
    dialog.locator("[data-action=confirm]").click()
    expect(page.locator(f"[data-parcel='{parcel['id']}']")).to_have_attribute(
        "data-status", "returned"
    )
    after = api.call("GET", f"/api/parcels/{parcel['id']}")
    assert after["status"] == "returned" and after["return_reason"].startswith("住户要求退回")
    assert_no_raw_keys(page, console)


# --- the notification screen -------------------------------------------------------------------


# The browser's PushManager.subscribe needs the vendor's push service (unreachable here): the
# page gets a subscription the test made, exactly as the browser would hand it over.
FAKE_SUBSCRIBE = """
(() => {
  const made = %s;
  const key = (s) =>
    Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
  let current = null;
  const sub = () => ({
    endpoint: made.endpoint,
    expirationTime: null,
    options: {applicationServerKey: null, userVisibleOnly: true},
    toJSON: () => ({endpoint: made.endpoint, expirationTime: null, keys: made.keys}),
    getKey: (name) => key(made.keys[name]),
    unsubscribe: async () => {
      current = null;
      window.__unsubscribed = (window.__unsubscribed || 0) + 1;
      return true;
    },
  });
  PushManager.prototype.subscribe = async function (options) {
    const bytes = new Uint8Array(options.applicationServerKey);
    window.__subscribedWith = btoa(String.fromCharCode(...bytes));
    current = sub();
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


def test_notices_are_explained_then_turned_on_and_off_on_this_device(
    new_context, api: Api, push: PushService, vapid_key: str
) -> None:
    sub = push.subscribe(server_key=vapid_key)
    context, page, console = new_context(permissions=["notifications"])
    context.add_init_script(FAKE_SUBSCRIBE % json.dumps(sub.json()))
    page.goto("/login")
    sign_in(page, "resident")
    open_home(page, "resident")
    wait_for_service_worker(page)
    before = {s["id"] for s in api.call("GET", "/api/notices/subscriptions", "resident")}
    page.locator(".tile[data-tile='notifications']").click()
    device = page.locator("[data-testid=this-device]")
    expect(device).to_have_attribute("data-state", "off")
    expect(device).to_contain_text(ZH["notices.explain_permission"])
    page.locator("[data-action=push-on]").click()
    expect(page.locator("[data-testid=notices-status]")).to_have_text(ZH["notices.subscribed"])
    expect(device).to_have_attribute("data-state", "on")
    # The page subscribed with the server's key and registered this browser.
    assert page.evaluate("window.__subscribedWith") is not None
    mine = {s["id"]: s for s in api.call("GET", "/api/notices/subscriptions", "resident")}
    (new_id,) = set(mine) - before
    assert mine[new_id]["application_server_key"] == vapid_key
    expect(
        page.locator(f"[data-testid=push-devices] [data-subscription='{new_id}']")
    ).to_have_attribute("data-here", "true")
    # Parcels notices off, and on again.
    box = page.locator("[data-kind=parcels]")
    box.uncheck()
    expect(page.locator("[data-testid=notices-status]")).to_contain_text(ZH["notices.kind.parcels"])
    assert api.call("GET", "/api/notices/settings", "resident")["parcels"] is False
    box.check()
    expect(box).to_be_checked()
    wait_until(page, "!document.querySelector('[data-kind=parcels]').disabled")
    assert api.call("GET", "/api/notices/settings", "resident")["parcels"] is True
    assert_no_raw_keys(page, console)
    assert layout_problems(page) == []
    # Off on this device: gone from the server and from the browser.
    page.locator("[data-action=push-off]").click()
    expect(device).to_have_attribute("data-state", "off")
    assert new_id not in {
        s["id"] for s in api.call("GET", "/api/notices/subscriptions", "resident")
    }
    assert page.evaluate("window.__unsubscribed") == 1
