"""The OpenAPI document is valid 3.1 and describes every declared route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from backend.app import all_endpoints
from tests.support import make_settings, running_app


@pytest.fixture
def client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with running_app(make_settings(tmp_path, sqlite_url)) as c:
        yield c


def test_openapi_is_valid_and_complete(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    declared = {(e.method, e.openapi_path) for e in all_endpoints()}
    assert described == declared
    login = doc["paths"]["/api/auth/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    login_schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(login_schema["required"]) == {"username", "password"}
    assert login_schema.get("additionalProperties") is False
    zones = doc["paths"]["/api/sites/{site_id}/zones"]["get"]
    names = {p["name"] for p in zones["parameters"]}
    assert {"site_id", "limit", "offset", "q", "include_inactive"} <= names


def test_health_reports_database_migrations_and_version(client: TestClient) -> None:
    from backend import __version__

    body = client.get("/api/health").json()
    assert body == {
        "status": "ok",
        "version": __version__,
        "database": "ok",
        "migrations": "current",
        "pending": [],
    }
