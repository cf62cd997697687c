"""The backend's bridge API over HTTP (aiohttp), with failures sorted by what to do about them.

BackendError
├── Unreachable      connection refused, DNS, timeout, 408/429/5xx, no bridge API: retry later
├── TokenRejected    401/403: the device token is wrong or an admin revoked it: stop
└── Refused          any other 4xx: this request is wrong; retrying it cannot help
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from ble_bridge import __version__


class BackendError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Unreachable(BackendError):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float = 0.0
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class TokenRejected(BackendError):
    pass


class Refused(BackendError):
    def __init__(self, message: str, *, status: int, code: str, body: Any) -> None:
        super().__init__(message, status=status)
        self.code = code
        self.body = body


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


M = TypeVar("M", bound=_Wire)


class BoundTo(_Wire):
    type: Literal["checkpoint", "badge", "equipment"]
    id: int
    name: str


class KnownTag(_Wire):
    kind: str
    ident: str
    name: str
    bound_to: BoundTo


class BridgeInfo(_Wire):
    id: int
    uid: str
    name: str
    site_id: int


class RemoteSettings(_Wire):
    heartbeat_seconds: int = 60
    missing_after_seconds: int = 600
    low_battery_percent: int = 20


class RemoteConfig(_Wire):
    bridge: BridgeInfo
    known: list[KnownTag]
    settings: RemoteSettings

    def names(self) -> dict[tuple[str, str], KnownTag]:
        return {(k.kind, k.ident): k for k in self.known}


class Target(_Wire):
    id: int
    name: str
    type: str = ""


class Targets(_Wire):
    checkpoints: list[Target]
    guards: list[Target]
    equipment: list[Target]


class BatchAck(_Wire):
    batch_id: str
    status: Literal["accepted", "duplicate"]
    sightings: int
    events: int


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any


class BackendClient:
    """One aiohttp session; `async with BackendClient(...) as client:`."""

    def __init__(self, base_url: str, token: SecretStr, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BackendClient:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout,
            headers={
                "Authorization": f"Bearer {self._token.get_secret_value()}",
                "User-Agent": f"anbao-bridge/{__version__}",
            },
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def config(self) -> RemoteConfig:
        return _parse(RemoteConfig, await self._call("GET", "/api/bridge/config"))

    async def targets(self) -> Targets:
        return _parse(Targets, await self._call("GET", "/api/bridge/targets"))

    async def pair(self, body: dict[str, Any]) -> KnownTag:
        return _parse(KnownTag, await self._call("POST", "/api/bridge/pair", body))

    async def post_batch(self, body: dict[str, Any]) -> BatchAck:
        return _parse(BatchAck, await self._call("POST", "/api/bridge/batches", body))

    async def heartbeat(self, body: dict[str, Any]) -> None:
        await self._call("POST", "/api/bridge/heartbeat", body)

    async def _call(self, method: str, path: str, body: Any = None) -> Response:
        if self._session is None:
            raise RuntimeError("use `async with BackendClient(...)`")
        url = self.base_url + path
        try:
            async with self._session.request(method, url, json=body) as resp:
                text = await resp.text()
                status = resp.status
                retry_after = resp.headers.get("Retry-After", "")
        except TimeoutError as exc:
            raise Unreachable(f"{url}: no answer in {self._timeout.total:g} s") from exc
        except aiohttp.ClientError as exc:
            raise Unreachable(f"{url}: {exc}") from exc
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        if status < 300:
            return Response(status, data)
        code, message = _error_of(data, text)
        if status in (401, 403):
            raise TokenRejected(
                f"the backend refused this bridge's token ({status} {code}): "
                "it is wrong or was revoked; ask an admin for a new one",
                status=status,
            )
        if status in (408, 425, 429) or status >= 500:
            raise Unreachable(
                f"{url}: {status} {code} {message}".rstrip(),
                status=status,
                retry_after=_seconds(retry_after),
            )
        if status == 404 and code in ("route_not_found", ""):
            # Not about this request: the backend has no bridge API there (wrong URL or too old).
            raise Unreachable(f"{url}: no bridge API here (404); is backend_url right?", status=404)
        raise Refused(f"{status} {code}: {message}", status=status, code=code, body=data)


def _error_of(data: Any, text: str) -> tuple[str, str]:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        return str(err.get("code", "")), str(err.get("message", ""))
    return "", text[:200]


def _seconds(value: str) -> float:
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def _parse(model: type[M], response: Response) -> M:
    try:
        return model.model_validate(response.body)
    except ValidationError as exc:
        raise Unreachable(
            f"the backend answered in a shape this bridge does not know: {exc}"
        ) from exc
