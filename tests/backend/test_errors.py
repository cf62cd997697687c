"""One error shape for every failure; body limit; request ids; security headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.errors import all_error_classes
from backend.i18n import catalog, negotiate
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World, str]]:
    settings = make_settings(tmp_path, sqlite_url, max_body_bytes=4096)
    world = run_in_db(settings, make_world)
    with running_app(settings, raise_server_exceptions=False) as client:
        token = login(client, "admin_a", PASSWORD)["token"]
        yield client, world, token


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"] and not body["error"]["message"].startswith("error.")
    assert "Traceback" not in response.text
    assert response.headers.get("x-request-id")
    details: dict[str, Any] = body["error"]["details"]
    return details


def test_many_failing_requests_share_one_shape(app: Any) -> None:
    client, world, token = app
    auth = bearer(token)
    site = world.a.site.id
    cases = [
        (client.get("/api/nowhere"), 404, "route_not_found"),
        (client.delete("/api/health"), 405, "method_not_allowed"),
        (client.get("/api/sites"), 401, "not_authenticated"),
        (client.get("/api/sites", headers=bearer("s_forged")), 401, "not_authenticated"),
        (client.get("/api/sites/999999", headers=auth), 404, "not_found"),
        (client.get("/api/sites/99999999999999999999", headers=auth), 404, "not_found"),
        (
            client.post(
                f"/api/sites/{site}/zones",
                content=b"{not json",
                headers={**auth, "content-type": "application/json"},
            ),
            400,
            "malformed_json",
        ),
        (
            client.post(
                f"/api/sites/{site}/zones",
                content=b"name=x",
                headers={**auth, "content-type": "application/x-www-form-urlencoded"},
            ),
            415,
            "unsupported_media_type",
        ),
        (client.post(f"/api/sites/{site}/zones", json={}, headers=auth), 422, "validation_failed"),
        (
            client.post(f"/api/sites/{site}/zones", json={"name": world.a.zone.name}, headers=auth),
            409,
            "duplicate_name",
        ),
        (client.get("/api/sites?limit=0", headers=auth), 422, "validation_failed"),
        (client.get("/api/sites?bogus=1", headers=auth), 422, "validation_failed"),
        (client.post("/api/organizations", json={"name": "X"}, headers=auth), 403, "forbidden"),
        (
            client.post("/api/auth/login", json={"username": "x", "password": "y"}),
            401,
            "invalid_credentials",
        ),
    ]
    for response, status, code in cases:
        assert_error(response, status, code)


def test_validation_names_each_bad_field_and_refuses_unknown_ones(app: Any) -> None:
    client, world, token = app
    before = client.get("/api/sites", headers=bearer(token)).json()["total"]
    response = client.post(
        "/api/sites",
        json={
            "organization_id": world.org.id,
            "name": "",
            "kind": "castle",
            "timezone": "Mars/Base",
            "after_hours_start": "25:00",
            "colour": "red",
        },
        headers={**bearer(token), "Accept-Language": "en"},
    )
    details = assert_error(response, 422, "validation_failed")
    by_field = {f["field"]: f for f in details["fields"]}
    assert set(by_field) == {"name", "kind", "timezone", "after_hours_start", "colour"}
    assert by_field["colour"]["code"] == "extra_forbidden"
    assert by_field["colour"]["message"] == "Unknown field."
    assert by_field["timezone"]["code"] == "timezone"
    assert by_field["after_hours_start"]["code"] == "time_format"
    # Nothing was created by the refused request.
    assert client.get("/api/sites", headers=bearer(token)).json()["total"] == before


def test_messages_follow_accept_language(app: Any) -> None:
    client, _, _ = app
    zh = client.get("/api/sites", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    en = client.get("/api/sites", headers={"Accept-Language": "en-GB,en;q=0.8"}).json()
    assert zh["error"]["message"] == "请先登录。"
    assert en["error"]["message"] == "Please sign in."


def test_oversized_body_is_refused_before_it_is_read(app: Any) -> None:
    client, world, token = app
    big = {"name": "x" * 10_000}
    response = client.post(f"/api/sites/{world.a.site.id}/zones", json=big, headers=bearer(token))
    details = assert_error(response, 413, "body_too_large")
    assert details["limit"] == 4096

    def chunks() -> Any:  # no Content-Length: the limit is enforced while streaming
        for _ in range(10):
            yield b" " * 1000

    streamed = client.post(
        f"/api/sites/{world.a.site.id}/zones",
        content=chunks(),
        headers={**bearer(token), "content-type": "application/json"},
    )
    assert_error(streamed, 413, "body_too_large")
    zones = client.get(f"/api/sites/{world.a.site.id}/zones", headers=bearer(token)).json()
    assert zones["total"] == 1


def test_a_bug_answers_500_in_the_same_shape_without_a_trace(app: Any, monkeypatch: Any) -> None:
    client, _, token = app
    from backend.services import organizations

    async def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret internals")

    # Stand-in for a bug: the one place in these tests where a service is replaced.
    monkeypatch.setattr(organizations, "list_sites", broken)
    response = client.get("/api/sites", headers=bearer(token))
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text


def test_security_headers_and_request_id(app: Any) -> None:
    client, _, _ = app
    response = client.get("/api/health")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert "strict-transport-security" not in response.headers  # plain http here
    assert len(response.headers["x-request-id"]) >= 8
    echoed = client.get("/api/health", headers={"X-Request-ID": "gate-house-0001"})
    assert echoed.headers["x-request-id"] == "gate-house-0001"
    bad = client.get("/api/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert bad.headers["x-request-id"] != "bad id\nwith newline"


def test_every_error_code_has_a_message_in_both_languages() -> None:
    for cls in all_error_classes():
        for language in ("zh-CN", "en"):
            assert f"error.{cls.code}" in catalog(language), (cls.code, language)
    assert set(catalog("en")) == set(catalog("zh-CN"))


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.4, zh-TW;q=0.8", "zh-CN"),
        ("de", "zh-CN"),
        ("en;q=bogus, zh", "zh-CN"),
    ],
)
def test_language_negotiation(header: str | None, language: str) -> None:
    assert negotiate(header) == language
