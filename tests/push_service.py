"""A push service for the tests: a real HTTP server on 127.0.0.1 that checks what a sender posts
the way a browser vendor's service does, decrypts it with the subscription's private key, and
answers whatever a test asks for.

Checks (a failure answers 400/401/403/413 and is kept in `refused`):

- `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292): an ES256 JWT whose signature verifies
  with `k`; `k` is the applicationServerKey the subscription was made with, when one was given;
  `aud` is this endpoint's origin; `exp` is in the future and within 24 h; `sub` is a mailto: or
  https: address;
- `Content-Encoding: aes128gcm`, a `TTL` header, `Urgency` (if sent) one of RFC 8030's, a body of
  at most 4096 bytes that decrypts (RFC 8291, with `http_ece`) under the subscription's keys.

Tests make subscriptions (`subscribe()`: a P-256 key pair and a 16-byte auth secret, as a
browser would) and register them through the API. Each subscription answers 201 unless told
otherwise with `answer(sub, 410)` or a sequence (`answer(sub, 429, 201, retry_after=2)`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = {"very-low", "low", "normal", "high"}
MAX_BODY = 4096


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TestSubscription:
    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    server_key: str | None  # the applicationServerKey it was made with, if any
    answers: list[tuple[int, str | None]] = field(default_factory=list)

    __test__ = False  # not a pytest class

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def json(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives a page."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True)
class Received:
    token: str
    status: int  # what the service answered
    headers: dict[str, str]  # names in lower case
    claims: dict[str, Any]
    payload: bytes  # decrypted
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


class PushService:
    """Start with `with PushService() as service:`; the server runs in its own thread and loop,
    so tests that are plain functions and tests on an event loop can both use it."""

    def __init__(self, *, verify: bool = True) -> None:
        self.verify = verify  # False: accept without checking (benchmarks measure senders)
        self.subscriptions: dict[str, TestSubscription] = {}
        self.received: list[Received] = []
        self.refused: list[tuple[str, int, str]] = []
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()

    # --- for tests ---

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.base_url

    def subscribe(self, server_key: str | None = None) -> TestSubscription:
        token = secrets.token_urlsafe(16)
        sub = TestSubscription(
            token=token,
            endpoint=f"{self.base_url}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            server_key=server_key,
        )
        with self._lock:
            self.subscriptions[token] = sub
        return sub

    def answer(self, sub: TestSubscription, *statuses: int, retry_after: str | None = None) -> None:
        """The next answers for this subscription, in order; the last one then stays."""
        with self._lock:
            sub.answers = [(s, retry_after) for s in statuses]

    def for_subscription(self, sub: TestSubscription) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token == sub.token]

    def delivered(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.status == 201]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Wait until `count` messages were accepted (201); the timeout only stops a hang."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"only {len(self.delivered())} of {count} pushes arrived")

    # --- lifecycle ---

    def __enter__(self) -> PushService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="push-service", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test push service did not start")

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._startup())
        self._ready.set()
        self._loop.run_forever()

    async def _startup(self) -> None:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/push/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the service ---

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.read()
        with self._lock:
            sub = self.subscriptions.get(token)
        if sub is None:
            return self._refuse(token, 404, "no such subscription")
        claims: dict[str, Any] = {}
        payload = b""
        if self.verify:
            try:
                claims = self._check_vapid(request, sub)
                payload = self._check_message(request, body, sub)
            except _Refused as exc:
                return self._refuse(token, exc.status, exc.reason)
        with self._lock:
            status, retry_after = sub.answers[0] if sub.answers else (201, None)
            if len(sub.answers) > 1:
                sub.answers.pop(0)
            self.received.append(
                Received(
                    token,
                    status,
                    {k.lower(): v for k, v in request.headers.items()},
                    claims,
                    payload,
                    time.time(),
                )
            )
        headers = {"Location": f"{self.base_url}/message/{secrets.token_hex(8)}"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return web.Response(status=status, headers=headers)

    def _refuse(self, token: str, status: int, reason: str) -> web.Response:
        with self._lock:
            self.refused.append((token, status, reason))
        return web.Response(status=status, text=reason)

    def _check_vapid(self, request: web.Request, sub: TestSubscription) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        match = re.fullmatch(r"vapid\s+(.*)", header, flags=re.I)
        if not match:
            raise _Refused(401, "no vapid authorization")
        params = dict(
            part.strip().split("=", 1) for part in match.group(1).split(",") if "=" in part
        )
        token, key = params.get("t", ""), params.get("k", "")
        if sub.server_key is not None and key != sub.server_key:
            raise _Refused(403, "the key is not the subscription's applicationServerKey")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
            head_b64, claims_b64, sig_b64 = token.split(".")
            head = json.loads(unb64url(head_b64))
            claims: dict[str, Any] = json.loads(unb64url(claims_b64))
            sig = unb64url(sig_b64)
        except (ValueError, TypeError):
            raise _Refused(401, "malformed vapid token") from None
        if head.get("alg") != "ES256" or len(sig) != 64:
            raise _Refused(401, "not ES256")
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise _Refused(401, "bad vapid signature") from None
        if claims.get("aud") != self.origin:
            raise _Refused(403, f"aud {claims.get('aud')!r} is not {self.origin!r}")
        exp = claims.get("exp")
        now = time.time()
        if not isinstance(exp, int) or not now < exp <= now + 24 * 3600:
            raise _Refused(403, "exp not within 24 h")
        sub_claim = str(claims.get("sub", ""))
        if not sub_claim.startswith(("mailto:", "https:")):
            raise _Refused(403, "sub is not mailto: or https:")
        return claims

    def _check_message(self, request: web.Request, body: bytes, sub: TestSubscription) -> bytes:
        if request.headers.get("Content-Encoding") != "aes128gcm":
            raise _Refused(400, "Content-Encoding is not aes128gcm")
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            raise _Refused(400, "no TTL")
        urgency = request.headers.get("Urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise _Refused(400, "bad Urgency")
        if len(body) > MAX_BODY:
            raise _Refused(413, "payload too large")
        try:
            return bytes(
                http_ece.decrypt(
                    body,
                    private_key=sub.private_key,
                    auth_secret=sub.auth_secret,
                    version="aes128gcm",
                )
            )
        except Exception as exc:
            raise _Refused(400, f"does not decrypt: {exc}") from None


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def running() -> Iterator[PushService]:
    """For fixtures: `yield from running()`."""
    with PushService() as service:
        yield service


def main(argv: list[str] | None = None) -> None:
    """Serve in a process of its own (benchmarks: the sender measured does not share its
    interpreter with the service). Prints the origin and the subscriptions as one JSON line,
    serves until stdin closes, then prints what it accepted and refused."""
    parser = argparse.ArgumentParser(prog="python -m tests.push_service")
    parser.add_argument("--subscriptions", type=int, default=10)
    args = parser.parse_args(argv)
    with PushService() as service:
        subs = [service.subscribe() for _ in range(args.subscriptions)]
        hello = {"origin": service.origin, "subscriptions": [s.json() for s in subs]}
        print(json.dumps(hello), flush=True)
        sys.stdin.read()
        summary = {"accepted": len(service.delivered()), "refused": service.refused[:5]}
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
