"""Photos the phone or the server cannot take: a file that is no photo is refused on the form; a
photo the server refuses (4xx) is shown with its reason on the form and on the waiting report,
never dropped silently, and the report goes once the guard takes that photo out."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Playwright, expect

from tests.browser.browser_support import catalog, open_home, sign_in
from tests.browser.conftest import Server, demo_server
from tests.browser.test_incidents import Api, add_photos, fill_report, photo, wait_until

pytestmark = pytest.mark.browser

LIMIT = 65_536  # the smallest ANBAO_MEDIA_MAX_BYTES the server accepts


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pwa_dir: Path) -> Iterator[Server]:
    """The demo on a server that takes photos of at most 64 KB."""
    with demo_server(tmp_path_factory, pwa_dir, {"ANBAO_MEDIA_MAX_BYTES": str(LIMIT)}) as server:
        yield server


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: Server) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server.url)
    yield Api(request)
    request.dispose()


def plain_jpeg(size: tuple[int, int]) -> bytes:
    """A smooth picture: a few kilobytes as a JPEG."""
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def test_a_photo_the_server_refuses_is_shown_with_its_reason(new_context, api, tmp_path):
    marker = f"m{uuid.uuid4().hex[:10]}"
    big = tmp_path / "busy.jpg"
    big.write_bytes(photo((2400, 1800), 7))  # still far over 64 KB at 1600 px
    small = tmp_path / "plain.jpg"
    small.write_bytes(plain_jpeg((640, 480)))
    assert len(small.read_bytes()) < LIMIT
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("shift notes, not a picture")
    texts = catalog("en")
    too_large = texts["error.body_too_large"].replace("{limit}", str(LIMIT))

    _, page, console = new_context(locale="en")
    sign_in(page, "guard")
    open_home(page, "guard")
    page.goto("/incidents/new")
    fill_report(page, f"{marker} broken window", kind="damage", severity="medium")

    # A file that is no photo never joins the report; the form says why.
    page.locator("form [data-testid=photo-gallery]").set_input_files(str(not_a_photo))
    expect(page.locator("[data-testid=report-status]")).to_contain_text(
        texts["media.photo_unreadable"].replace("{name}", "notes.jpg")
    )
    expect(page.locator("form [data-testid=photos] > li")).to_have_count(0)

    # Online, photos go up while the guard writes: the big one is refused, with the reason.
    add_photos(page, [big, small], 2)
    grid = page.locator("form [data-testid=photos] > li")
    refused = grid.filter(has=page.locator("[data-state=refused]"))
    expect(grid.nth(0)).to_have_attribute("data-state", "refused", timeout=20_000)
    expect(grid.nth(0).locator("[data-testid=photo-reason]")).to_contain_text(too_large)
    expect(grid.nth(1)).to_have_attribute("data-state", "uploaded", timeout=20_000)
    assert refused.count() == 1
    big_sha = grid.nth(0).get_attribute("data-sha256")
    small_sha = grid.nth(1).get_attribute("data-sha256")
    assert small_sha == hashlib.sha256(small.read_bytes()).hexdigest()

    # Saved anyway: the report waits on the phone, the refused photo shown with its reason.
    page.locator("[data-action=save-report]").click()
    card = page.locator("[data-testid=incidents-local] > li")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-state", "photos")
    expect(card.locator("[data-badge=photos]")).to_have_text(
        texts["incidents.photos_to_upload"].replace("{count}", "1")
    )
    refused_photo = card.locator(f"[data-testid=photos] > li[data-sha256='{big_sha}']")
    expect(refused_photo.locator("[data-testid=photo-reason]")).to_contain_text(too_large)
    page.wait_for_timeout(1_000)
    assert api.incidents(marker) == []

    # Trying again is refused again; the report still waits.
    refused_photo.locator("[data-action=retry-photo]").click()
    expect(refused_photo).to_have_attribute("data-state", "refused", timeout=10_000)
    assert api.incidents(marker) == []

    # The guard takes the refused photo out: the report goes, with the other photo.
    refused_photo.locator("[data-action=remove-photo]").click()
    page.locator("dialog [data-action=confirm]").click()
    wait_until(page, lambda: len(api.incidents(marker)) == 1)
    (incident,) = api.incidents(marker)
    assert [p["sha256"] for p in incident["photos"]] == [small_sha]
    expect(page.locator("[data-testid=incidents-local] > li")).to_have_count(0, timeout=15_000)
    assert not console.page_errors
