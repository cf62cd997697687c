"""Serving the built web app: caching rules and the app-shell fallback for client routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support import make_settings, running_app


@pytest.fixture
def client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>shell</title>", encoding="utf-8")
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {});", encoding="utf-8")
    (dist / "assets" / "app-3f2a1b.js").write_text("console.log(1)", encoding="utf-8")
    (dist / "manifest.webmanifest").write_text("{}", encoding="utf-8")
    with running_app(make_settings(tmp_path, sqlite_url, pwa_dir=dist)) as c:
        yield c


def test_hashed_assets_are_immutable_and_the_shell_is_revalidated(client: TestClient) -> None:
    asset = client.get("/assets/app-3f2a1b.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    for path in ("/", "/sw.js", "/manifest.webmanifest"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-cache", path
    assert client.get("/sw.js").headers["service-worker-allowed"] == "/"


def test_client_routes_fall_back_to_the_shell(client: TestClient) -> None:
    for path in ("/home", "/duty-log/today", "/n?e=00&c=11"):
        response = client.get(path)
        assert response.status_code == 200 and "shell" in response.text, path
        assert "script-src 'self'" in response.headers["content-security-policy"]


def test_missing_files_and_api_paths_are_not_the_shell(client: TestClient) -> None:
    assert client.get("/assets/missing-123.js").status_code == 404
    api = client.get("/api/unknown")
    assert api.status_code == 404 and api.json()["error"]["code"] == "route_not_found"
    traversal = client.get("/..%2f..%2fetc/passwd")
    assert "root:" not in traversal.text
