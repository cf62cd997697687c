"""Fixtures shared by every test: per-test databases on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Templates, database, postgres_available

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    t = Templates(tmp_path_factory.mktemp("templates"))
    yield t
    if t.created:
        t.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over both databases; PostgreSQL is skipped, never passed, if absent."""
    name: str = request.param
    if name == "postgres" and not postgres_available():
        pytest.skip("PostgreSQL is not reachable (set ANBAO_TEST_POSTGRES_URL)")
    return name


@pytest.fixture
def database_url(templates: Templates, backend: str, tmp_path: Path) -> Iterator[str]:
    with database(templates, backend, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(templates: Templates, tmp_path: Path) -> Iterator[str]:
    with database(templates, "sqlite", tmp_path) as url:
        yield url
