"""A small real HTTP server implementing the backend's bridge API contract (uvicorn on a real
127.0.0.1 port, in a thread), with switches a test flips: down, revoked, refuse, hold."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "d_test_bridge_token"
Kind = Literal["ibeacon", "eddystone_uid", "eddystone_eid", "address"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SightingIn(_Strict):
    address: str = Field(pattern=r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
    kind: Kind
    ident: str = Field(min_length=1, max_length=64)
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    rssi_max: int = Field(ge=-127, le=20)
    count: int = Field(ge=1)
    battery_percent: int | None = Field(ge=0, le=100)
    battery_mv: int | None
    temperature_c: float | None


class EventIn(_Strict):
    id: uuid.UUID
    type: Literal["present", "missing", "low_battery", "tamper", "motion"]
    kind: Kind
    ident: str
    address: str
    at: AwareDatetime
    detail: dict[str, Any]


class BatchIn(_Strict):
    batch_id: uuid.UUID
    sent_at: AwareDatetime
    sightings: list[SightingIn] = Field(max_length=500)
    events: list[EventIn] = Field(max_length=500)


class AdapterIn(_Strict):
    present: bool
    powered: bool
    address: str | None
    passive: bool


class HeartbeatIn(_Strict):
    sent_at: AwareDatetime
    version: str
    adapter: AdapterIn
    spool_size: int = Field(ge=0)
    dead_letters: int = Field(ge=0)


class PairIn(_Strict):
    kind: Kind
    ident: str
    address: str
    target: dict[str, Any]
    identity_key: str | None
    rotation_exponent: int | None
    clock_offset: int | None
    label: str = ""


@dataclass
class Backend:
    """What the fake backend knows and received; tests read and flip these."""

    known: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": 12, "name": "B1 车库 car park"},
            {"id": 13, "name": "Lobby"},
        ]
    )
    guards: list[dict[str, Any]] = field(default_factory=lambda: [{"id": 7, "name": "王伟"}])
    equipment: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": 3, "name": "3F extinguisher 2", "type": "extinguisher"}]
    )
    settings: dict[str, int] = field(
        default_factory=lambda: {
            "heartbeat_seconds": 1,
            "missing_after_seconds": 600,
            "low_battery_percent": 20,
        }
    )
    revoked: bool = False
    refuse_next: int = 0  # answer this many batches with 422
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # batch id -> body
    duplicates: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # batch ids recorded but not yet answered
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.release.set()  # not holding

    def hold(self) -> None:
        """Record batches but keep their answers back until `let_go()` (a slow link)."""
        self.release.clear()

    def let_go(self) -> None:
        self.release.set()

    def sightings(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s for body in self.accepted.values() for s in body["sightings"]]

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for body in self.accepted.values() for e in body["events"]]


def _error(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details, "request_id": "t"}}
    return JSONResponse(body, status_code=status)


def make_app(state: Backend) -> Starlette:
    def authorized(request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "not_authenticated", "sign in first")
        if state.revoked:
            return _error(401, "session_revoked", "this device was signed out")
        return None

    async def parse(request: Request, model: type[BaseModel]) -> BaseModel | Response:
        try:
            return model.model_validate(await request.json())
        except ValidationError as exc:
            fields = [
                {"field": ".".join(map(str, e["loc"])), "code": e["type"]} for e in exc.errors()
            ]
            return _error(422, "validation_failed", "check the fields", fields=fields)

    async def config(request: Request) -> Response:
        if (denied := authorized(request)) is not None:
            return denied
        return JSONResponse(
            {
                "bridge": {
                    "id": 5,
                    "uid": str(uuid.UUID(int=5)),
                    "name": "Gate house",
                    "site_id": 1,
                },
                "known": state.known,
                "settings": state.settings,
            }
        )

    async def targets(request: Request) -> Response:
        if (denied := authorized(request)) is not None:
            return denied
        return JSONResponse(
            {"checkpoints": state.checkpoints, "guards": state.guards, "equipment": state.equipment}
        )

    async def batches(request: Request) -> Response:
        if (denied := authorized(request)) is not None:
            return denied
        raw = await request.json()
        batch = await parse(request, BatchIn)
        if isinstance(batch, Response):
            return batch
        assert isinstance(batch, BatchIn)
        batch_id = str(batch.batch_id)
        with state.lock:
            if state.refuse_next > 0:
                state.refuse_next -= 1
                state.refused.append(batch_id)
                return _error(422, "validation_failed", "refused by the test", fields=[])
            if batch_id in state.accepted:
                state.duplicates.append(batch_id)
                status = "duplicate"
            else:
                state.accepted[batch_id] = raw  # committed before answering, like the backend
                status = "accepted"
                if not state.release.is_set():
                    state.held.append(batch_id)
        await asyncio.to_thread(state.release.wait)
        return JSONResponse(
            {
                "batch_id": batch_id,
                "status": status,
                "sightings": len(batch.sightings),
                "events": len(batch.events),
            }
        )

    async def heartbeat(request: Request) -> Response:
        if (denied := authorized(request)) is not None:
            return denied
        beat = await parse(request, HeartbeatIn)
        if isinstance(beat, Response):
            return beat
        with state.lock:
            state.heartbeats.append(await request.json())
        return Response(status_code=204)

    async def pair(request: Request) -> Response:
        if (denied := authorized(request)) is not None:
            return denied
        body = await parse(request, PairIn)
        if isinstance(body, Response):
            return body
        assert isinstance(body, PairIn)
        lists = {
            "checkpoint": state.checkpoints,
            "badge": state.guards,
            "equipment": state.equipment,
        }
        target = next(
            (
                t
                for t in lists.get(body.target.get("type", ""), [])
                if t["id"] == body.target.get("id")
            ),
            None,
        )
        if target is None:
            return _error(404, "not_found", "no such target")
        entry = {
            "kind": body.kind,
            "ident": body.ident,
            "name": body.label or target["name"],
            "bound_to": {"type": body.target["type"], "id": target["id"], "name": target["name"]},
        }
        with state.lock:
            state.pairs.append(await request.json())
            state.known.append(entry)
        return JSONResponse(entry, status_code=201)

    return Starlette(
        routes=[
            Route("/api/bridge/config", config),
            Route("/api/bridge/targets", targets),
            Route("/api/bridge/batches", batches, methods=["POST"]),
            Route("/api/bridge/heartbeat", heartbeat, methods=["POST"]),
            Route("/api/bridge/pair", pair, methods=["POST"]),
        ]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """uvicorn serving an ASGI app on 127.0.0.1:`port` in a thread; start and stop at will."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="auto"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        self._server = self._thread = None


@dataclass
class Link:
    """A reverse proxy standing for the network between a bridge and the real backend; it can
    lose the backend's answers to batches (after the backend has acted on them)."""

    upstream: str
    answers: list[tuple[str, int, str]] = field(default_factory=list)  # batch id, status, body
    held: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.release.set()

    def hold(self) -> None:
        self.release.clear()

    def let_go(self) -> None:
        self.release.set()

    def app(self) -> Starlette:
        import aiohttp

        async def forward(request: Request) -> Response:
            body = await request.body()
            headers = {
                k: v
                for k, v in request.headers.items()
                if k.lower() in ("authorization", "content-type")
            }
            url = self.upstream + request.url.path
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.request(request.method, url, data=body, headers=headers) as resp,
                ):
                    status, text = resp.status, await resp.text()
                    kind = resp.headers.get("content-type", "application/json")
            except aiohttp.ClientError:
                return _error(502, "bad_gateway", "the backend is down")
            if request.url.path == "/api/bridge/batches" and request.method == "POST":
                batch_id = str(json.loads(body)["batch_id"])
                self.answers.append((batch_id, status, text))
                if not self.release.is_set():
                    self.held.append(batch_id)
                    await asyncio.to_thread(self.release.wait)
            return Response(text, status_code=status, media_type=kind.split(";")[0])

        return Starlette(
            routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "PATCH"])]
        )
