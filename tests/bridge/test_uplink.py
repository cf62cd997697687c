"""Uplink against a real HTTP server that answers as scripted: oldest first, what stays
spooled (unreachable, 5xx, timeouts), what stops (401/403), what becomes a dead letter
(other 4xx), and the backoff that spaces the retries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ble_bridge.aggregate import Sighting
from ble_bridge.api import BackendClient, TokenRejected, Unreachable
from ble_bridge.backoff import Backoff
from ble_bridge.frames import TagKind
from ble_bridge.spool import Spool
from ble_bridge.uplink import Uplink
from tests.bridge.fake_backend import Server, free_port

AT = datetime(2025, 6, 1, 12, tzinfo=UTC)


class Script:
    """Answers batches with the next scripted reply; `accept` when the script runs out."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any, dict[str, str]]] = []
        self.received: list[dict[str, Any]] = []
        self.delay = 0.0

    def app(self) -> Starlette:
        async def batches(request: Request) -> Response:
            body = await request.json()
            self.received.append(body)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.replies:
                status, content, headers = self.replies.pop(0)
                if isinstance(content, str):
                    return PlainTextResponse(content, status_code=status, headers=headers)
                return JSONResponse(content, status_code=status, headers=headers)
            n = len(body["sightings"])
            return JSONResponse(
                {"batch_id": body["batch_id"], "status": "accepted", "sightings": n, "events": 0}
            )

        return Starlette(routes=[Route("/api/bridge/batches", batches, methods=["POST"])])


def error(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": code.replace("_", " "), "details": {}}}


@pytest.fixture
def script() -> Iterator[tuple[Script, Server]]:
    s = Script()
    server = Server(s.app()).start()
    try:
        yield s, server
    finally:
        server.stop()


def spool_with(tmp_path: Path, batches: int) -> tuple[Spool, list[str]]:
    spool = Spool.open(tmp_path / "spool.sqlite3")
    ids = []
    for i in range(batches):
        s = Sighting(
            "C0:00:00:00:00:01",
            TagKind.ADDRESS,
            "C0:00:00:00:00:01",
            AT,
            AT,
            -60,
            i + 1,
            None,
            None,
            None,
        )
        ids += spool.add([s], [], AT)
    return spool, ids


async def deliver(url: str, spool: Spool, http_timeout: float = 5.0) -> Uplink:
    async with BackendClient(url, SecretStr("t"), timeout=http_timeout) as client:
        uplink = Uplink(client, spool, clock=lambda: AT)
        await uplink.deliver()
    return uplink


async def test_batches_go_oldest_first_with_sent_at(
    tmp_path: Path, script: tuple[Script, Server]
) -> None:
    s, server = script
    spool, ids = spool_with(tmp_path, 3)
    await deliver(server.url, spool)
    assert [b["batch_id"] for b in s.received] == ids
    assert all(b["sent_at"] == AT.isoformat() for b in s.received)
    assert spool.size() == 0 and spool.stats().last_delivery_at == AT.isoformat()


async def test_server_errors_keep_the_batch_and_honour_retry_after(
    tmp_path: Path, script: tuple[Script, Server]
) -> None:
    s, server = script
    spool, ids = spool_with(tmp_path, 2)
    s.replies.append((503, error("database_unavailable"), {"Retry-After": "7"}))
    with pytest.raises(Unreachable) as info:
        await deliver(server.url, spool)
    assert info.value.status == 503 and info.value.retry_after == 7.0
    oldest = spool.oldest()
    assert oldest is not None and oldest.batch_id == ids[0] and oldest.attempts == 1
    assert "503 database_unavailable" in (spool.stats().last_error or "")
    await deliver(server.url, spool)  # the next try goes through, same id
    assert [b["batch_id"] for b in s.received] == [ids[0], ids[0], ids[1]]
    assert spool.size() == 0


async def test_refused_connections_and_timeouts_keep_the_batch(
    tmp_path: Path, script: tuple[Script, Server]
) -> None:
    s, server = script
    spool, _ = spool_with(tmp_path, 1)
    with pytest.raises(Unreachable, match="Cannot connect"):
        await deliver(f"http://127.0.0.1:{free_port()}", spool)
    s.delay = 1.0
    with pytest.raises(Unreachable, match=r"no answer in 0\.2 s"):
        await deliver(server.url, spool, http_timeout=0.2)
    assert spool.size() == 1


async def test_a_revoked_token_stops_delivery_and_keeps_the_batch(
    tmp_path: Path, script: tuple[Script, Server]
) -> None:
    s, server = script
    spool, _ = spool_with(tmp_path, 2)
    s.replies.append((401, error("session_revoked"), {}))
    with pytest.raises(TokenRejected, match="revoked"):
        await deliver(server.url, spool)
    assert spool.size() == 2 and spool.dead_letter_count() == 0
    s.replies.append((403, error("forbidden"), {}))
    with pytest.raises(TokenRejected):
        await deliver(server.url, spool)


async def test_validation_errors_become_dead_letters_and_the_rest_goes_on(
    tmp_path: Path, script: tuple[Script, Server]
) -> None:
    s, server = script
    spool, ids = spool_with(tmp_path, 3)
    s.replies.append((422, error("validation_failed"), {}))
    s.replies.append((413, error("batch_too_large"), {}))
    await deliver(server.url, spool)
    assert spool.size() == 0
    dead = spool.dead_letters()
    assert [(d.batch_id, d.status) for d in dead] == [(ids[0], 422), (ids[1], 413)]
    assert "validation_failed" in dead[0].error


async def test_a_backend_without_the_bridge_api_is_not_a_dead_letter(
    tmp_path: Path, script: tuple[Script, Server]
) -> None:
    s, server = script
    spool, _ = spool_with(tmp_path, 1)
    s.replies.append((404, error("route_not_found"), {}))
    with pytest.raises(Unreachable, match="is backend_url right"):
        await deliver(server.url, spool)
    s.replies.append((200, "<html>a captive portal</html>", {}))
    with pytest.raises(Unreachable, match="shape"):
        await deliver(server.url, spool)
    assert spool.size() == 1 and spool.dead_letter_count() == 0


def test_backoff_grows_caps_and_respects_retry_after() -> None:
    b = Backoff(initial=1.0, maximum=10.0, jitter=0.0)
    assert [b.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.next(floor=30.0) == 30.0
    b.reset()
    assert b.next() == 1.0
    jittery = Backoff(initial=4.0, jitter=0.25, rng=random.Random(1))
    for _ in range(20):
        jittery.reset()
        assert 3.0 <= jittery.next() <= 5.0
