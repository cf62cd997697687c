"""Printable checkpoint labels: a real PDF with the codes, the names in Chinese, A4 pages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from starlette.testclient import TestClient

from backend.services.labels import Label, render_labels
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, qr_checkpoint, run_in_db, running_app


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World]]:
    settings = make_settings(tmp_path, sqlite_url, jobs_enabled=False)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield client, world


def text_of(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_labels_carry_codes_and_bilingual_names(app: Any) -> None:
    client, world = app
    site = world.a.site.id
    admin = bearer(login(client, "admin_a", PASSWORD)["token"])
    codes = []
    for name in ("B1 消防通道 Fire exit", "南大门 South gate", "屋顶 Roof"):
        codes.append(qr_checkpoint(client, admin, site, name, zone_id=world.a.zone.id)[1])
    response = client.get(f"/api/sites/{site}/labels.pdf", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    pages, text = text_of(response.content)
    assert pages == 1
    for expected in (*codes, "消防通道", "South gate", "巡更点", "Scan to check in", "Site A"):
        assert expected in text, expected
    one = client.get(
        f"/api/sites/{site}/labels.pdf", headers=admin, params={"checkpoint_ids": "999"}
    )
    assert codes[0] not in text_of(one.content)[1]
    bad = client.get(
        f"/api/sites/{site}/labels.pdf", headers=admin, params={"checkpoint_ids": "1;drop"}
    )
    assert bad.status_code == 422


def test_nine_labels_take_two_pages() -> None:
    labels = [Label(f"巡更点 {i}", "一号楼", f"AB{i:014d}") for i in range(9)]
    pages, text = text_of(render_labels("翠湖小区", labels))
    assert pages == 2 and "AB00000000000008" in text


def test_the_chinese_font_is_embedded_when_one_is_installed() -> None:
    from backend.services.labels import CJK_FONTS

    if not any(Path(f).is_file() for f in CJK_FONTS):
        pytest.skip("no CJK font installed (make test installs fonts-wqy-zenhei)")
    pdf = render_labels("翠湖小区", [Label("消防通道", "", "ABCDEF")])
    assert b"FontFile2" in pdf or b"AnbaoCJK" in pdf
