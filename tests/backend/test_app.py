"""App start-up and logging: refusing an unmigrated database, request ids in JSON logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from backend.errors import NotMigrated
from backend.http import JsonFormatter, RequestIdFilter
from tests.support import make_settings, running_app


def test_the_app_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite://{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(NotMigrated, match="anbao migrate"), running_app(settings):
        pass


def test_a_failing_requests_json_log_line_carries_its_request_id(
    sqlite_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("anbao")
    logger.addHandler(handler)
    try:
        from backend.routes import health

        async def broken(*_a: object, **_k: object) -> None:
            raise RuntimeError("boom")

        # Stand-in for a bug, so that the server logs an error inside a request.
        monkeypatch.setattr(health, "ping", broken)
        with running_app(make_settings(tmp_path, sqlite_url), raise_server_exceptions=False) as c:
            response = c.get("/api/health", headers={"X-Request-ID": "req-12345678"})
            assert response.status_code == 500
        logger.error("outside any request")
    finally:
        logger.removeHandler(handler)
    parsed = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "request_id", "message"} <= set(p) for p in parsed)
    failure = next(p for p in parsed if p["message"].startswith("unhandled error"))
    assert failure["request_id"] == "req-12345678" and "RuntimeError" in failure["exception"]
    assert parsed[-1]["request_id"] == "-"


def test_concurrent_requests_and_jobs_share_the_database_safely(
    sqlite_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """Tortoise's own `with ctx:` keeps one reset token per context object, so concurrent
    tasks broke each other (500s under load); backend.db.bound keeps it per task."""
    import asyncio
    from datetime import timedelta

    import httpx2

    from backend import app as app_module
    from backend.jobs import Job
    from backend.models.sync import Change

    async def tick(_settings: object, _bus: object) -> int:
        await Change.all().count()
        return 0

    monkeypatch.setattr(app_module, "JOBS", [Job("tick", timedelta(milliseconds=5), tick)])
    with running_app(make_settings(tmp_path, sqlite_url)) as client:

        async def many() -> list[int]:
            transport = httpx2.ASGITransport(app=client.app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
                answers = await asyncio.gather(*(c.get("/api/health") for _ in range(60)))
            return [a.status_code for a in answers]

        codes = client.portal.call(many)  # type: ignore[union-attr]
    assert codes == [200] * 60
