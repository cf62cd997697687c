"""Push benchmark (budget in DESIGN.md), a ratio measured in one run on this machine:

1,000 notices to a local push service (tests/push_service.py in a process of its own: it checks
every VAPID token and decrypts every message, like a vendor's) through our sender, vs raw
aiohttp posts to the same service of bodies encrypted and signed before the clock starts, with
the same connection pool and the same number in flight (budget: ratio <= 2). The sender is the
whole worker on a SQLite file: claim from the queue, encrypt, sign, post, record the outcome.
`webpush.send` alone is measured too, to show what the queue adds.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import http_ece
import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from backend.db import apply_migrations, bound, open_database
from backend.settings import Settings
from backend.webpush import Subscription, Urgency, generate_vapid_keys, send

NOTICES = 1000
ROUNDS = 3
IN_FLIGHT = 32
DEVICES = 10
CONTACT = "mailto:bench@example.com"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Remote:
    origin: str
    subscriptions: list[Subscription]


@contextmanager
def push_service() -> Iterator[Remote]:
    """The test push service in a child process; refuses nothing, or the run fails."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.push_service", "--subscriptions", str(DEVICES)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            hello = json.loads(child.stdout.readline())
            subs = [
                Subscription(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"])
                for s in hello["subscriptions"]
            ]
            yield Remote(hello["origin"], subs)
            child.stdin.close()
            summary = json.loads(child.stdout.readline())
            assert summary["refused"] == [], summary["refused"]
        finally:
            if child.poll() is None:
                child.kill()


def _settings(root: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=root,
        secret_key="bench",
        pwa_dir=root / "none",
        database_url=f"sqlite://{root / 'anbao.sqlite3'}",
        jobs_enabled=False,
        push_allow_http=True,
        push_batch_size=200,
        push_contact=CONTACT,
    ).with_secret()


def _text(i: int) -> str:
    return f"取件码：7K3M{i % 100:02d} · 货架 A{i % 9} · 顺丰"


def _payload(i: int) -> bytes:
    return orjson.dumps(
        {
            "id": i,
            "kind": "parcel.arrived",
            "title": "快递到了",
            "body": _text(i),
            "url": f"/parcels/{i}",
            "tag": f"parcel-{i}",
            "data": {"pickup_code": f"7K3M{i % 100:02d}"},
        }
    )


async def _bounded(jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run the jobs IN_FLIGHT at a time, as the sender's posters do: that many tasks, each
    taking the next job when its last is done."""
    results: list[Any] = [None] * len(jobs)
    pending = iter(enumerate(jobs))

    async def poster() -> None:
        for i, job in pending:
            results[i] = await job()

    await asyncio.gather(*(poster() for _ in range(IN_FLIGHT)))
    return results


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Clock:
    """Wall time, and this process's CPU time (the push service runs in another process)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


async def raw_posts(remote: Remote, count: int) -> tuple[float, float]:
    """The baseline: bodies encrypted and VAPID headers signed before the clock starts."""
    signer = generate_vapid_keys().signer()
    auth = signer.sign({"sub": CONTACT, "aud": remote.origin})["Authorization"]
    headers = {
        "Authorization": auth,
        "TTL": "86400",
        "Urgency": "normal",
        "Content-Encoding": "aes128gcm",
    }
    subs = remote.subscriptions
    bodies = [
        http_ece.encrypt(
            _payload(i),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=_unb64(subs[i % len(subs)].p256dh),
            auth_secret=_unb64(subs[i % len(subs)].auth),
            version="aes128gcm",
        )
        for i in range(count)
    ]
    async with _session() as session:

        def post(i: int) -> Callable[[], Awaitable[int]]:
            async def go() -> int:
                endpoint = subs[i % len(subs)].endpoint
                async with session.post(endpoint, data=bodies[i], headers=headers) as response:
                    await response.read()
                    return response.status

            return go

        clock = _Clock()
        statuses = await _bounded([post(i) for i in range(count)])
        elapsed = clock.stop()
    assert statuses == [201] * count, set(statuses)
    return elapsed


async def bare_sender(remote: Remote, count: int) -> tuple[float, float]:
    """`webpush.send` alone: encrypt, sign and post each message."""
    signer = generate_vapid_keys().signer()
    subs = remote.subscriptions
    payloads = [_payload(i) for i in range(count)]
    async with _session() as session:

        def one(i: int) -> Callable[[], Awaitable[Any]]:
            return lambda: send(
                session,
                subs[i % len(subs)],
                payloads[i],
                signer,
                contact=CONTACT,
                ttl=86400,
                urgency=Urgency.normal,
            )

        clock = _Clock()
        results = await _bounded([one(i) for i in range(count)])
        elapsed = clock.stop()
    assert all(r.status == 201 for r in results), {r.status for r in results}
    return elapsed


async def worker(root: Path, remote: Remote, count: int) -> tuple[float, float]:
    """The whole way after the request committed: queued deliveries claimed, sent, recorded
    (SQLite file, one process)."""
    from backend.models.notices import PushSubscription
    from backend.services import notices
    from tests.factories import make_world

    settings = _settings(root)
    ctx = await open_database(settings)
    try:
        await apply_migrations(ctx)
        with bound(ctx):
            world = await make_world()
            key, _ = await notices.create_vapid_key(settings.sealer())
            resident = world.a.users["resident"]
            for sub in remote.subscriptions:
                await PushSubscription.create(
                    user_id=resident.id,
                    endpoint=sub.endpoint,
                    p256dh=sub.p256dh,
                    auth=sub.auth,
                    vapid_key_id=key.id,
                    created_at=datetime.now(UTC),
                )
            for i in range(count // len(remote.subscriptions)):
                message = notices.Message(
                    kind="parcel.arrived",
                    title="快递到了",
                    body=_text(i),
                    url=f"/parcels/{i}",
                    data={"pickup_code": f"7K3M{i % 100:02d}"},
                )
                await notices.notify(
                    [resident], lambda _u, m=message: m, site_id=world.a.site.id, ttl_seconds=86400
                )
            async with _session() as session:
                sender = notices.Sender(settings, settings.sealer(), session=session)
                clock = _Clock()
                report = await sender.run()
                elapsed = clock.stop()
        assert report.delivered == count, report
        return elapsed
    finally:
        await ctx.close_connections()


def measure(root: Path, count: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each way over ROUNDS rounds, the ways taking turns."""
    runs: dict[str, list[tuple[float, float]]] = {"raw": [], "send": [], "worker": []}
    with push_service() as remote:

        async def run() -> None:
            # Warm-up (connections, the crypto backend), then the timed rounds.
            await raw_posts(remote, 50)
            await bare_sender(remote, 50)
            for i in range(ROUNDS):
                runs["raw"].append(await raw_posts(remote, count))
                runs["send"].append(await bare_sender(remote, count))
                (root / str(i)).mkdir()
                runs["worker"].append(await worker(root / str(i), remote, count))

        asyncio.run(run())
    return {
        name: (statistics.median(w for w, _ in times), statistics.median(c for _, c in times))
        for name, times in runs.items()
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = measure(Path(tmp), NOTICES)
    (raw, raw_cpu), (send_, send_cpu), (work, work_cpu) = t["raw"], t["send"], t["worker"]
    print(
        f"push: {NOTICES} notices to a local push service, {IN_FLIGHT} in flight, median of "
        f"{ROUNDS} rounds: raw aiohttp posts of pre-encrypted bodies {raw:.2f} s "
        f"({NOTICES / raw:,.0f}/s, {raw_cpu * 1e6 / NOTICES:.0f} us CPU each); webpush.send "
        f"alone {send_:.2f} s ({send_cpu * 1e6 / NOTICES:.0f} us); the sender with its queue "
        f"on SQLite {work:.2f} s ({NOTICES / work:,.0f}/s, {work_cpu * 1e6 / NOTICES:.0f} us); "
        f"ratio {work / raw:.2f} (budget <= 2); CPU ratio {work_cpu / raw_cpu:.2f}"
    )


if __name__ == "__main__":
    main()
