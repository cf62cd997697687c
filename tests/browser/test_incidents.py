"""Incident reports in a real browser: an offline report with three photos survives a killed
browser and reaches the server once, photos downscaled on the phone; a draft survives closing
the app; the supervisor's list, filters, detail, timeline and workflow; the live alert panel."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.browser.browser_support import (
    BearerApi,
    assert_no_raw_keys,
    catalog,
    first_page,
    kill_browser,
    launch_phone,
    layout_problems,
    natural_size,
    open_home,
    sign_in,
    wait_for_service_worker,
)

pytestmark = pytest.mark.browser


def launch(playwright: Playwright, server: Any, profile: Path, **kw: Any) -> BrowserContext:
    return launch_phone(playwright, server, profile, timeout_ms=10_000, **kw)


SITE_ID = 1  # 翠湖小区, where guard, guard2 and supervisor work
GARAGE = "地下车库 Car park B1"
GARDEN = "中心花园 Garden"


# --- the server, seen through its API ----------------------------------------------------------


class Api(BearerApi):
    """The test's own view of the server: bearer tokens, no browser involved."""

    default_user = "supervisor"

    def incidents(self, marker: str) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/api/incidents?site_id={SITE_ID}&limit=200&q={marker}")
        return list(answer["items"])

    def upload(self, body: bytes, username: str = "guard") -> str:
        sha = hashlib.sha256(body).hexdigest()
        self.call(
            "PUT", f"/api/media/{sha}", username, data=body, headers={"Content-Type": "image/jpeg"}
        )
        return sha

    def report(self, username: str = "guard", **fields: Any) -> dict[str, Any]:
        body = {"id": str(uuid.uuid4()), "type": "damage", "severity": "medium", **fields}
        return dict(self.call("POST", f"/api/sites/{SITE_ID}/incidents", username, data=body))


@pytest.fixture(scope="module")
def api(playwright: Playwright, server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


@pytest.fixture(scope="module")
def zones(api: Api) -> dict[str, int]:
    answer = api.call("GET", f"/api/sites/{SITE_ID}/zones?limit=200")
    return {z["name"]: z["id"] for z in answer["items"]}


@pytest.fixture(scope="module")
def ramp(api: Api, zones: dict[str, int]) -> dict[str, Any]:
    """A checkpoint in the car park (the report form offers it from the phone's copy)."""
    return dict(
        api.call(
            "POST",
            f"/api/sites/{SITE_ID}/checkpoints",
            "admin",
            data={"name": "B1 坡道 Ramp", "zone_id": zones[GARAGE], "checklist": []},
        )
    )


def new_marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


def wait_until(page: Page, check, timeout_ms: int = 20_000, step_ms: int = 200) -> None:
    """Polls `check()` (a test-side condition, e.g. the server's answer) from a browser wait."""
    waited = 0
    while not check():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(step_ms)
        waited += step_ms


# --- photos made for the tests -----------------------------------------------------------------


def photo(size: tuple[int, int], seed: int, orientation: int | None = None) -> bytes:
    """A JPEG with enough detail to be a real photo's size: a gradient, shapes, noise. With
    `orientation`, the pixels are stored sideways and the EXIF tag says how to turn them."""
    w, h = size
    base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    noise = Image.effect_noise((w, h), 40 + seed).convert("RGB")
    img = Image.blend(base, noise, 0.35)
    draw = ImageDraw.Draw(img)
    for i in range(12):
        x, y = (i * 397 + seed * 131) % w, (i * 211 + seed * 71) % h
        draw.rectangle((x, y, x + w // 8, y + h // 10), fill=(30 * i % 255, 90, 200 - 10 * i))
    out = io.BytesIO()
    if orientation is None:
        img.save(out, "JPEG", quality=88)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def stored(server, sha: str) -> Path:
    return Path(server.data_dir) / "media" / "originals" / sha[:2] / sha


def upright_size(body: bytes) -> tuple[int, int, int]:
    """(width, height, EXIF orientation) of the bytes as uploaded."""
    with Image.open(io.BytesIO(body)) as img:
        return img.width, img.height, int(img.getexif().get(0x0112, 1))


# --- the phone -------------------------------------------------------------------------------


def fill_report(
    page: Page,
    text: str,
    kind: str = "theft",
    severity: str = "high",
    zone: str | None = None,
    checkpoint: str | None = None,
) -> None:
    form = page.locator("form.incident-form")
    expect(page.locator("[data-testid=incident-report]")).not_to_have_attribute(
        "data-draft", "loading"
    )
    form.locator(f".choice-type-{kind}").click()
    form.locator(f".choice-severity-{severity}").click()
    if zone is not None:
        form.locator("select[name=zone_id]").select_option(label=zone)
    if checkpoint is not None:
        form.locator("select[name=checkpoint_id]").select_option(label=checkpoint)
    form.locator("textarea[name=description]").fill(text)


def add_photos(page: Page, files: list[Path], total: int) -> None:
    page.locator("form [data-testid=photo-gallery]").set_input_files([str(f) for f in files])
    expect(page.locator("form [data-testid=photos] > li")).to_have_count(total, timeout=20_000)


def local_card(page: Page, incident_id: str):
    return page.locator(f"[data-testid=incidents-local] > li[data-incident='{incident_id}']")


# --- the acceptance: offline, three photos, a killed browser, sent once ----------------------


@pytest.fixture(scope="module")
def offline_report(
    playwright: Playwright, server, api: Api, ramp: dict[str, Any], tmp_path_factory
) -> dict[str, Any]:
    """A guard reports a theft offline with three photos (a big landscape one, a big one stored
    sideways with an EXIF orientation, a small one), the browser is SIGKILLed, the phone restarts
    offline, then comes online. Returns what was seen on the way."""
    work = tmp_path_factory.mktemp("incident")
    profile = work / "profile"
    marker = new_marker()
    files = {
        "wide": (work / "wide.jpg", photo((3200, 2400), 1)),
        "sideways": (work / "sideways.jpg", photo((2400, 1800), 2, orientation=6)),
        "small": (work / "small.jpg", photo((800, 600), 3)),
    }
    for path, body in files.values():
        path.write_bytes(body)
    seen: dict[str, Any] = {"marker": marker, "files": {k: b for k, (_, b) in files.items()}}

    # Online once: sign in, the service worker installs, the incident screens are opened (the
    # phone keeps the site's zones and checkpoints for the form).
    context = launch(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard")
        open_home(page, "guard")
        wait_for_service_worker(page)
        page.locator(".tile[data-tile='incidents']").click()
        expect(page.locator("[data-testid=incidents-page]")).to_be_visible()
        page.locator("[data-action=new-incident]").click()
        checkpoint_select = page.locator("select[name=checkpoint_id]")
        expect(checkpoint_select.locator(f"option[value='{ramp['id']}']")).to_have_count(1)
        page.wait_for_timeout(500)  # the answers are kept for offline use
    finally:
        context.close()

    # In the basement: no network from the first moment (and the server out of reach of the
    # service worker, which Playwright's offline emulation does not cover).
    server.stop()
    context = launch(playwright, server, profile, offline=True)
    page = first_page(context)
    page.goto("/incidents/new")
    expect(page.locator(".net[data-net=offline]")).to_be_visible()
    fill_report(page, f"{marker} 车库有人撬车 someone breaking into a car", checkpoint=ramp["name"])
    # The checkpoint names its zone.
    expect(page.locator("select[name=zone_id]")).to_have_value(str(ramp["zone_id"]))
    add_photos(page, [path for path, _ in files.values()], 3)
    shown = page.locator("form [data-testid=photos] > li")
    seen["phone_hashes"] = [shown.nth(i).get_attribute("data-sha256") for i in range(3)]
    seen["form_problems"] = layout_problems(page)
    page.locator("[data-action=save-report]").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    cards = page.locator("[data-testid=incidents-local] > li")
    expect(cards).to_have_count(1)
    seen["incident_id"] = cards.first.get_attribute("data-incident")
    card = local_card(page, seen["incident_id"])
    expect(card).to_have_attribute("data-state", "photos")
    seen["badge_before_kill"] = card.locator("[data-badge=photos]").inner_text()
    # Held for its photos, the report already counts as waiting in the status bar.
    expect(page.locator("[data-testid=sync-status]")).to_have_attribute("data-waiting", "1")
    kill_browser(context, profile)

    # Restarted, still offline: the report and its photos are still there, waiting.
    context = launch(playwright, server, profile, offline=True)
    try:
        page = first_page(context)
        page.goto("/incidents")
        card = local_card(page, seen["incident_id"])
        expect(card).to_have_attribute("data-state", "photos")
        seen["badge_after_restart"] = card.locator("[data-badge=photos]").inner_text()
        expect(page.locator("[data-testid=sync-status]")).to_have_attribute("data-waiting", "1")
        seen["photos_after_restart"] = card.locator("[data-testid=photos] > li").count()
        # The site's list as read online the day before, marked as such.
        expect(page.locator("[data-testid=incidents-copy]")).to_be_visible()
        server.start()
        seen["server_while_offline"] = api.incidents(marker)

        # Back online: the photos go up, then the report, once.
        context.set_offline(False)
        wait_until(page, lambda: len(api.incidents(marker)) == 1, timeout_ms=30_000)
        expect(page.locator("[data-testid=incidents-local] > li")).to_have_count(0, timeout=20_000)
        server_card = page.locator(
            f"[data-testid=incidents] > li[data-incident='{seen['incident_id']}']"
        )
        expect(server_card).to_be_visible(timeout=20_000)
        page.wait_for_timeout(1_000)  # anything sent twice would arrive now
        seen["incidents"] = api.incidents(marker)
        seen["outbox_left"] = page.evaluate(
            """() => new Promise((resolve) => {
              const open = indexedDB.open('anbao');
              open.onsuccess = () => {
                const req = open.result.transaction('outbox').objectStore('outbox').count();
                req.onsuccess = () => { open.result.close(); resolve(req.result); };
              };
            })"""
        )

        # The detail on the phone: the three photos with the SHA-256 of each original.
        server_card.locator("[data-action=open]").click()
        expect(page.locator("[data-testid=incident-detail]")).to_have_attribute(
            "data-state", "server"
        )
        seen["detail_hashes"] = page.locator(
            "[data-testid=photos] [data-testid=sha256] code"
        ).all_inner_texts()
    finally:
        context.close()
    seen["log"] = (Path(server.data_dir) / "server.log").read_text(errors="replace")
    return seen


def test_an_offline_report_with_three_photos_reaches_the_server_once(offline_report, api, ramp):
    seen = offline_report
    texts = catalog("zh-CN")
    waiting = texts["incidents.photos_to_upload"].replace("{count}", "3")
    assert seen["badge_before_kill"] == waiting
    assert seen["badge_after_restart"] == waiting
    assert seen["photos_after_restart"] == 3
    assert seen["server_while_offline"] == []
    assert seen["form_problems"] == []

    # Exactly one incident, as the guard wrote it, with the three photos, none twice.
    (incident,) = seen["incidents"]
    assert incident["id"] == seen["incident_id"]
    assert incident["type"] == "theft" and incident["severity"] == "high"
    assert incident["checkpoint_id"] == ramp["id"] and incident["zone_id"] == ramp["zone_id"]
    assert incident["reporter_name"] == "王保安 Wang (guard)"
    hashes = [p["sha256"] for p in incident["photos"]]
    assert hashes == seen["phone_hashes"]
    assert len(set(hashes)) == 3
    assert sorted(seen["detail_hashes"]) == sorted(hashes)
    assert seen["outbox_left"] == 0


def test_the_photos_were_downscaled_on_the_phone_and_stored_once(offline_report, server):
    seen = offline_report
    wide, sideways, small = seen["phone_hashes"]
    bodies = {sha: stored(server, sha).read_bytes() for sha in (wide, sideways, small)}
    for sha, body in bodies.items():
        assert hashlib.sha256(body).hexdigest() == sha  # what was hashed is what arrived
    # The big ones: long side 1600 px, upright (the EXIF turn applied on the phone).
    assert upright_size(bodies[wide]) == (1600, 1200, 1)
    assert upright_size(bodies[sideways]) == (1200, 1600, 1)
    assert len(bodies[wide]) < len(seen["files"]["wide"]) / 2
    # The small JPEG is sent as taken: its hash is the file's own.
    assert small == hashlib.sha256(seen["files"]["small"]).hexdigest()
    # Each photo was uploaded once (HEAD asks before a PUT), the report pushed once.
    for sha in (wide, sideways, small):
        puts = re.findall(rf'"PUT /api/media/{sha} HTTP/1.1" 20\d', seen["log"])
        assert len(puts) == 1, puts


# --- a draft survives closing the app ------------------------------------------------------


def test_a_draft_survives_the_app_being_killed(playwright, server, tmp_path):
    profile = tmp_path / "profile"
    picture = tmp_path / "door.jpg"
    picture.write_bytes(photo((1200, 900), 4))
    marker = new_marker()
    context = launch(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/login")
        sign_in(page, "guard2")
        open_home(page, "guard")
    finally:
        context.close()  # the sign-in is on disk, as on a phone used before

    context = launch(playwright, server, profile)
    page = first_page(context)
    page.goto("/incidents/new")
    fill_report(page, f"{marker} 2号楼门禁坏了", kind="facility_fault", severity="low", zone=GARDEN)
    page.locator("input[name=place]").fill("2号楼 大堂")
    add_photos(page, [picture], 1)
    expect(page.locator("[data-testid=incident-report]")).to_have_attribute("data-draft", "saved")
    kill_browser(context, profile)

    context = launch(playwright, server, profile)
    try:
        page = first_page(context)
        page.goto("/incidents/new")
        view = page.locator("[data-testid=incident-report]")
        expect(view).to_have_attribute("data-draft", "ready")
        expect(page.locator("[data-testid=report-status]")).to_contain_text(
            catalog("zh-CN")["incidents.draft_restored"]
        )
        expect(page.locator("textarea[name=description]")).to_have_value(f"{marker} 2号楼门禁坏了")
        expect(page.locator("input[name=place]")).to_have_value("2号楼 大堂")
        expect(page.locator(".choice-type-facility_fault input")).to_be_checked()
        expect(page.locator(".choice-severity-low input")).to_be_checked()
        expect(page.locator("select[name=zone_id] option:checked")).to_have_text(GARDEN)
        thumbs = page.locator("form [data-testid=photos] > li")
        expect(thumbs).to_have_count(1)
        expect(thumbs.first).to_have_attribute(
            "data-sha256", hashlib.sha256(picture.read_bytes()).hexdigest()
        )
        assert natural_size(thumbs.first.locator("img"))[0] > 0

        # Discarding asks first, then empties the form for good.
        page.locator("[data-action=discard-draft]").click()
        page.locator("dialog [data-action=confirm]").click()
        expect(page.locator("textarea[name=description]")).to_have_value("")
        expect(thumbs).to_have_count(0)
        page.reload()
        expect(view).to_have_attribute("data-draft", "ready")
        expect(page.locator("textarea[name=description]")).to_have_value("")
    finally:
        context.close()


# --- the supervisor: list, filters, detail, timeline, workflow, PDF ---------------------------


def test_the_supervisor_filters_reads_and_works_an_incident(new_context, api, zones):
    marker = new_marker()
    picture = photo((2000, 1500), 5)
    sha = api.upload(picture)
    incident = api.report(
        type="fire_hazard",
        severity="high",
        description=f"{marker} 消防通道堆放杂物 boxes in the fire lane",
        zone_id=zones[GARAGE],
        photos=[sha],
    )
    other = api.report(
        "guard2", type="noise_complaint", severity="low", description=f"{marker} noise"
    )
    texts = catalog("en")
    _, page, console = new_context(locale="en", viewport=(1280, 800))
    sign_in(page, "supervisor")
    open_home(page, "supervisor")
    page.locator(".tile[data-tile='incidents']").click()
    cards = page.locator("[data-testid=incidents] > li")
    mine = cards.filter(has_text=marker)
    expect(mine).to_have_count(2)

    # Filters: severity, type, zone, status, dates at the site.
    filters = page.locator("[data-testid=incident-filters]")
    filters.locator("select[name=severity]").select_option("high,critical")
    expect(mine).to_have_count(1)
    expect(mine.first).to_have_attribute("data-incident", incident["id"])
    filters.locator("select[name=severity]").select_option("")
    filters.locator("select[name=type]").select_option("noise_complaint")
    expect(mine).to_have_count(1)
    expect(mine.first).to_have_attribute("data-incident", other["id"])
    filters.locator("select[name=type]").select_option("")
    filters.locator("select[name=zone_id]").select_option(str(zones[GARAGE]))
    expect(mine).to_have_count(1)
    filters.locator("select[name=zone_id]").select_option("")
    filters.locator("select[name=status]").select_option("closed")
    expect(mine).to_have_count(0)
    filters.locator("select[name=status]").select_option("")
    filters.locator("input[name=until]").fill("2020-01-01")
    expect(mine).to_have_count(0)
    filters.locator("input[name=until]").fill("")
    filters.locator("input[name=since]").fill("2020-01-01")
    expect(mine).to_have_count(2)
    assert layout_problems(page) == []

    # The detail: the photo, its SHA-256, the display image.
    page.locator(
        f"[data-testid=incidents] > li[data-incident='{incident['id']}'] [data-action=open]"
    ).click()
    detail = page.locator("[data-testid=incident-detail]")
    expect(detail).to_have_attribute("data-status", "open")
    expect(detail.locator("[data-testid=incident-place]")).to_contain_text(GARAGE)
    photos = detail.locator("[data-testid=photos] > li")
    expect(photos).to_have_count(1)
    expect(photos.first.locator("[data-testid=sha256] code")).to_have_text(sha)
    assert natural_size(photos.first.locator("img"))[0] == 320
    photos.first.locator(".photo-frame").click()
    shown = page.locator("[data-testid=photo-dialog] [data-testid=photo-display]")
    assert natural_size(shown) == [1600, 1200]
    expect(page.locator("[data-testid=photo-dialog] [data-action=original]")).to_have_attribute(
        "href", f"/api/media/{sha}/original"
    )
    page.locator("[data-testid=photo-dialog] [data-action=close]").click()

    # A comment (through the outbox), then the workflow.
    detail.locator("textarea[name=comment]").fill("已通知物业清理 property notified")
    detail.locator("[data-action=comment]").click()
    timeline = detail.locator("[data-testid=timeline] > li")
    expect(timeline.filter(has_text="property notified")).to_have_attribute(
        "data-kind", "comment", timeout=15_000
    )

    detail.locator("[data-action=assign]").click()
    dialog = page.locator("[data-testid=step-dialog]")
    dialog.locator("select[name=assignee_id]").select_option(label="赵保安 Zhao (guard)")
    dialog.locator("textarea[name=note]").fill("please check tonight")
    dialog.locator("[data-action=confirm]").click()
    expect(detail).to_have_attribute("data-status", "assigned")
    expect(detail.locator("[data-testid=assignee]")).to_have_text("赵保安 Zhao (guard)")
    expect(timeline.last).to_contain_text(
        texts["incident.timeline.assigned"].replace("{name}", "赵保安 Zhao (guard)")
    )
    expect(detail.locator("[data-action=close]")).to_have_count(0)  # not from 'assigned'

    detail.locator("[data-action=resolve]").click()
    page.locator("[data-testid=step-dialog] [data-action=confirm]").click()
    expect(detail).to_have_attribute("data-status", "resolved")
    detail.locator("[data-action=close]").click()
    page.locator("[data-testid=step-dialog] [data-action=confirm]").click()
    expect(detail).to_have_attribute("data-status", "closed")
    expect(detail.locator("[data-action=add-photos]")).to_have_count(0)

    # Reopening needs a reason: an empty one is refused on the form.
    detail.locator("[data-action=reopen]").click()
    dialog.locator("[data-action=confirm]").click()
    expect(dialog.locator(".form-error")).to_be_visible()
    dialog.locator("textarea[name=note]").fill("boxes are back")
    dialog.locator("[data-action=confirm]").click()
    expect(detail).to_have_attribute("data-status", "open")
    kinds = [timeline.nth(i).get_attribute("data-kind") for i in range(timeline.count())]
    assert kinds == ["reported", "comment", "assigned", "resolved", "closed", "reopened"]
    expect(timeline.last).to_contain_text("boxes are back")

    # The PDF export.
    pdf = detail.locator("[data-action=pdf]")
    expect(pdf).to_have_attribute("href", f"/api/incidents/{incident['id']}.pdf")
    answer = page.request.get(f"/api/incidents/{incident['id']}.pdf")
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF")

    server_side = api.call("GET", f"/api/incidents/{incident['id']}")
    assert server_side["status"] == "open" and server_side["assignee_id"] is None
    assert [e["kind"] for e in server_side["timeline"]] == kinds
    assert layout_problems(page) == []
    assert_no_raw_keys(page, console)
    assert not console.page_errors
    assert not console.csp_violations()


def test_a_high_severity_report_appears_live_on_the_supervisor_screen(new_context, api):
    marker = new_marker()
    _, page, console = new_context(locale="zh-CN", viewport=(1280, 800))
    sign_in(page, "supervisor")
    open_home(page, "supervisor")
    page.goto("/incidents")
    panel = page.locator("[data-testid=incident-alerts]")
    expect(page.locator("[data-testid=incident-panel]")).to_have_attribute(
        "data-count", re.compile(r"\d+")
    )
    page.wait_for_timeout(500)  # the live stream is open

    low = api.report(type="other", severity="low", description=f"{marker} 路灯不亮")
    high = api.report(type="medical", severity="critical", description=f"{marker} 老人摔倒")
    alert = panel.locator(f"li[data-incident='{high['id']}']")
    expect(alert).to_be_visible(timeout=10_000)
    expect(alert).to_contain_text(catalog("zh-CN")["incident.severity.critical"])
    expect(panel.locator(f"li[data-incident='{low['id']}']")).to_have_count(0)

    # Resolved elsewhere: it leaves the panel.
    api.call("POST", f"/api/incidents/{high['id']}/resolve", data={"note": ""})
    expect(alert).to_have_count(0, timeout=10_000)
    assert_no_raw_keys(page, console)
    assert not console.page_errors


def test_a_guard_sees_their_own_reports_not_the_others(new_context, api, tmp_path):
    marker = new_marker()
    own = api.report("guard", description=f"{marker} mine")
    theirs = api.report("guard2", description=f"{marker} theirs")
    _, page, console = new_context(locale="en")
    sign_in(page, "guard")
    open_home(page, "guard")
    page.locator(".tile[data-tile='incidents']").click()
    expect(
        page.locator(f"[data-testid=incidents] > li[data-incident='{own['id']}']")
    ).to_be_visible()
    expect(
        page.locator(f"[data-testid=incidents] > li[data-incident='{theirs['id']}']")
    ).to_have_count(0)
    expect(page.locator("[data-testid=incident-filters]")).to_have_count(0)
    expect(page.locator("[data-testid=incident-panel]")).to_have_count(0)
    page.locator(
        f"[data-testid=incidents] > li[data-incident='{own['id']}'] [data-action=open]"
    ).click()
    detail = page.locator("[data-testid=incident-detail]")
    expect(detail).to_have_attribute("data-status", "open")
    # Guards comment and add photos, but the workflow and the PDF are the supervisor's.
    expect(detail.locator("[data-action=comment]")).to_be_visible()
    expect(detail.locator("[data-testid=incident-actions]")).to_have_count(0)
    assert layout_problems(page) == []

    # A photo added later: uploaded first, then attached; the timeline says so.
    picture = tmp_path / "later.jpg"
    picture.write_bytes(photo((1000, 750), 6))
    detail.locator(".add-photos [data-testid=photo-gallery]").set_input_files(str(picture))
    expect(detail.locator(".add-photos [data-testid=photos] > li")).to_have_count(1)
    detail.locator("[data-action=add-photos]").click()
    attached = detail.locator("[data-testid=photos] > li[data-state=server]")
    expect(attached).to_have_count(1, timeout=15_000)
    sha = hashlib.sha256(picture.read_bytes()).hexdigest()
    expect(attached.first).to_have_attribute("data-sha256", sha)
    timeline = detail.locator("[data-testid=timeline] > li")
    expect(timeline.last).to_have_attribute("data-kind", "photos_added")
    assert [p["sha256"] for p in api.call("GET", f"/api/incidents/{own['id']}")["photos"]] == [sha]
    assert_no_raw_keys(page, console)
    assert not console.page_errors


def dispatch_sync_event(context: BrowserContext, page: Page, origin: str, tag: str) -> None:
    """Fires a Background Sync event now, as the browser would (CDP)."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    wait_until(page, lambda: any(r["scopeURL"].startswith(origin) for r in registrations))
    registration = next(r for r in registrations if r["scopeURL"].startswith(origin))
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": origin,
            "registrationId": registration["registrationId"],
            "tag": tag,
            "lastChance": False,
        },
    )
    cdp.detach()


def test_background_sync_sends_the_photos_then_the_report_with_no_page_open(
    new_context, api, server, tmp_path
):
    marker = new_marker()
    picture = tmp_path / "gate.jpg"
    picture.write_bytes(photo((2000, 1500), 8))
    context, page, _ = new_context(locale="zh-CN")
    sign_in(page, "guard")
    open_home(page, "guard")
    wait_for_service_worker(page)
    page.goto("/incidents/new")

    # The server is out of reach: the report and its photo wait on the phone; the app is closed.
    server.stop()
    fill_report(page, f"{marker} 北门栏杆被撞", kind="damage", severity="medium")
    add_photos(page, [picture], 1)
    page.locator("[data-action=save-report]").click()
    expect(page.locator("[data-testid=incidents-local] > li")).to_have_attribute(
        "data-state", "photos"
    )
    tags = page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())")
    assert "anbao-media" in tags
    page.close()

    # The server is back; with no page of ours open, nothing is sent until a sync event comes.
    server.start()
    blank = context.new_page()  # about:blank: only for waiting and for CDP
    blank.wait_for_timeout(1_000)
    assert api.incidents(marker) == [], "sent without a sync event"
    dispatch_sync_event(context, blank, server.url, "anbao-media")
    wait_until(blank, lambda: len(api.incidents(marker)) == 1)
    (incident,) = api.incidents(marker)
    assert [p["sha256"] for p in incident["photos"]] == [
        hashlib.sha256(stored(server, incident["photos"][0]["sha256"]).read_bytes()).hexdigest()
    ]
    assert upright_size(stored(server, incident["photos"][0]["sha256"]).read_bytes())[:2] == (
        1600,
        1200,
    )

    # The page opened later finds nothing waiting.
    page = context.new_page()
    page.goto("/incidents")
    expect(
        page.locator(f"[data-testid=incidents] > li[data-incident='{incident['id']}']")
    ).to_be_visible()
    expect(page.locator("[data-testid=incidents-local] > li")).to_have_count(0)
