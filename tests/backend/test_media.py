"""Photo uploads and downloads against the real app on SQLite and PostgreSQL: idempotent by
content, every bad file refused with nothing kept, who sees which photo; and against a real
server on a local port, uploads streamed with memory bounded (traced) and refused mid-stream."""

from __future__ import annotations

import hashlib
import io
import os
import select
import socket
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image
from starlette.testclient import TestClient

from backend.app import create_app
from backend.models.media import Media, MediaUpload
from backend.settings import Settings
from tests.backend.test_images import a_zip, photo_bytes, png_bomb
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Settings

    def token(self, username: str) -> dict[str, str]:
        return bearer(login(self.client, username, PASSWORD)["token"])

    def put(self, who: dict[str, str], data: bytes, name: str | None = None, **headers: str) -> Any:
        return self.client.put(
            f"/api/media/{name or sha(data)}",
            content=data,
            headers={**who, "Accept-Language": "en", **headers},
        )

    @property
    def media_dir(self) -> Path:
        return Path(self.settings.media_dir)

    def kept(self) -> dict[str, int]:
        """What the store holds: files per area, and rows."""
        files = {
            area: sum(1 for p in (self.media_dir / area).rglob("*") if p.is_file())
            for area in ("originals", "derived", "tmp")
        }
        rows = run_in_db(self.settings, lambda: Media.all().count())
        return {**files, "rows": int(rows)}

    def report(self, who: dict[str, str], site_id: int, photos: list[str]) -> Any:
        return self.client.post(
            f"/api/sites/{site_id}/incidents",
            json={
                "id": str(uuid.uuid4()),
                "type": "damage",
                "severity": "low",
                "description": "破损的消防门 / broken fire door",
                "photos": photos,
            },
            headers=who,
        )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path, database_url, jobs_enabled=False, media_dir=str(tmp_path / "shared-media")
    )
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield Env(client, world, settings)


NOTHING = {"originals": 0, "derived": 0, "tmp": 0, "rows": 0}


def test_an_upload_is_kept_once_and_answered_again_without_rewriting(env: Env) -> None:
    guard = env.token("guard_a")
    data = photo_bytes(1800, 2400, orientation=6)  # a portrait photo, stored turned
    name = sha(data)
    assert env.client.head(f"/api/media/{name}", headers=guard).status_code == 404
    first = env.put(guard, data, **{"Content-Type": "image/jpeg"})
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["sha256"] == name and record["size"] == len(data)
    assert (record["width"], record["height"]) == (1800, 2400)
    assert record["display"]["width"] == 1200 and record["display"]["height"] == 1600
    assert record["thumb"]["url"] == f"/api/media/{name}/thumb"
    original = env.media_dir / "originals" / name[:2] / name
    assert original.read_bytes() == data  # the evidence, untouched
    stamp = original.stat()
    assert env.kept() == {"originals": 1, "derived": 2, "tmp": 0, "rows": 1}

    again = env.put(guard, data)
    assert again.status_code == 200 and again.json() == record
    assert (
        original.stat().st_mtime_ns == stamp.st_mtime_ns and original.stat().st_ino == stamp.st_ino
    )
    assert env.client.head(f"/api/media/{name}", headers=guard).status_code == 200
    assert env.client.get(f"/api/media/{name}", headers=guard).json() == record

    display = env.client.get(f"/api/media/{name}/display", headers=guard)
    assert display.status_code == 200 and display.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(display.content)).size == (1200, 1600)
    assert "immutable" in display.headers["cache-control"]
    thumb = env.client.get(f"/api/media/{name}/thumb", headers=guard)
    assert Image.open(io.BytesIO(thumb.content)).size == (240, 320)
    evidence = env.client.get(f"/api/media/{name}/original", headers=guard)
    assert evidence.status_code == 200 and evidence.content == data
    assert evidence.headers["content-type"] == "image/jpeg"
    assert evidence.headers["content-disposition"].startswith("attachment")


def test_someone_else_with_the_same_bytes_sends_them_and_nothing_is_rewritten(env: Env) -> None:
    data = photo_bytes(640, 480)
    name = sha(data)
    assert env.put(env.token("guard_a"), data).status_code == 201
    original = env.media_dir / "originals" / name[:2] / name
    inode = original.stat().st_ino
    other = env.token("guard_b")
    # Knowing the hash is not enough to see it, nor to claim it without the bytes.
    assert env.client.head(f"/api/media/{name}", headers=other).status_code == 404
    assert env.put(other, b"\xff\xd8\xff" + bytes(100), name=name).json()["error"]["code"] == (
        "hash_mismatch"
    )
    assert env.put(other, data).status_code == 200
    assert env.client.head(f"/api/media/{name}", headers=other).status_code == 200
    assert original.stat().st_ino == inode
    holders = run_in_db(env.settings, lambda: MediaUpload.filter(media_id=name).count())
    assert holders == 2 and env.kept()["rows"] == 1


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("hash_mismatch", 422, "hash_mismatch"),
        ("truncated_jpeg", 422, "image_unreadable"),
        ("png_bomb", 422, "image_too_large"),
        ("zip_jpeg_polyglot", 422, "image_polyglot"),
        ("declared_png_is_jpeg", 415, "content_type_mismatch"),
        ("declared_html", 415, "content_type_mismatch"),
        ("not_an_image", 415, "unsupported_image"),
        ("empty", 415, "unsupported_image"),
        ("bad_name", 422, "validation_failed"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(
    env: Env, case: str, status: int, code: str
) -> None:
    guard = env.token("guard_a")
    jpeg = photo_bytes(1200, 900)
    name: str | None = None
    headers: dict[str, str] = {}
    if case == "hash_mismatch":
        data, name = jpeg, sha(jpeg[:-1])
    elif case == "truncated_jpeg":
        data = jpeg[: len(jpeg) // 2]
    elif case == "png_bomb":
        data = png_bomb(10_000, 10_000)
    elif case == "zip_jpeg_polyglot":
        data = jpeg + a_zip()
    elif case == "declared_png_is_jpeg":
        data, headers = jpeg, {"Content-Type": "image/png"}
    elif case == "declared_html":
        data, headers = jpeg, {"Content-Type": "text/html"}
    elif case == "not_an_image":
        data = a_zip()
    elif case == "empty":
        data = b""
    else:
        data, name = jpeg, "not-a-hash"
    response = env.put(guard, data, name, **headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and "error." not in error["message"]
    assert env.kept() == NOTHING


def test_a_declared_fifty_megabytes_is_refused_before_reading(env: Env) -> None:
    response = env.client.put(
        f"/api/media/{'a' * 64}",
        content=b"\xff\xd8\xff",
        headers={**env.token("guard_a"), "Content-Length": str(50 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit": env.settings.media_max_bytes}
    assert env.kept() == NOTHING


def test_who_may_upload(env: Env) -> None:
    data = photo_bytes(100, 80)
    assert env.client.put(f"/api/media/{sha(data)}", content=data).status_code == 401
    assert env.put(env.token("resident_a"), data).status_code == 403
    assert env.put({"Authorization": f"Bearer {env.world.a.bridge_token}"}, data).status_code == 403
    assert env.kept() == NOTHING
    assert env.put(env.token("supervisor_b"), data).status_code == 201


def test_a_photo_is_seen_by_its_uploader_then_by_the_staff_of_the_incident_site(env: Env) -> None:
    guard, other_guard = env.token("guard_a"), env.token("guard2_a")
    sup, resident, foreign = (
        env.token("supervisor_a"),
        env.token("resident_a"),
        env.token("guard_b"),
    )
    data = photo_bytes(800, 600)
    name = sha(data)
    env.put(guard, data)

    def status(who: dict[str, str], variant: str) -> int:
        return int(env.client.get(f"/api/media/{name}/{variant}", headers=who).status_code)

    # Not yet part of any report: nobody but the uploader knows it exists.
    assert [status(w, "thumb") for w in (guard, other_guard, sup, resident, foreign)] == [
        200,
        404,
        404,
        404,
        404,
    ]
    # A guard cannot borrow a photo they never sent, even knowing its hash.
    refused = env.report(other_guard, env.world.a.site.id, [name])
    assert refused.status_code == 422 and refused.json()["error"]["details"]["missing"] == [name]
    assert env.report(guard, env.world.a.site.id, [name]).status_code == 201
    assert [status(w, "display") for w in (guard, other_guard, sup, resident, foreign)] == [
        200,
        200,
        200,
        403,
        404,
    ]
    # The original carries EXIF and GPS: the uploader, supervisors and admins only.
    assert [status(w, "original") for w in (guard, other_guard, sup, resident, foreign)] == [
        200,
        403,
        200,
        403,
        404,
    ]


def test_a_parcel_label_photo_is_seen_by_the_sites_staff_not_by_others(env: Env) -> None:
    guard, other_guard = env.token("guard_a"), env.token("guard2_a")
    resident, foreign = env.token("resident_a"), env.token("guard_b")
    data = photo_bytes(640, 480)
    name = sha(data)
    assert env.put(guard, data).status_code == 201

    def status(who: dict[str, str]) -> int:
        return int(env.client.get(f"/api/media/{name}/thumb", headers=who).status_code)

    assert status(other_guard) == 404
    r = env.client.post(
        f"/api/sites/{env.world.a.site.id}/parcels",
        headers=guard,
        json={"id": str(uuid.uuid4()), "unit_id": env.world.a.unit.id, "label_sha256": name},
    )
    assert r.status_code == 201, r.text
    # The guard on the next shift hands the parcel out and needs to see its label.
    assert [status(w) for w in (guard, other_guard, resident, foreign)] == [200, 200, 403, 404]


# --- a real server on a local port: streaming, memory, interruptions ---------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(settings: Settings) -> Iterator[int]:
    """The app under uvicorn in a thread of this process, so tracemalloc sees the server too."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(300):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def chunks_of(data: bytes, size: int = 65_536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def zeros_after(head: bytes, total: int, size: int = 65_536) -> Iterator[bytes]:
    """A body that starts like a JPEG and goes on for `total` bytes, made as it is sent."""
    yield head
    sent = len(head)
    block = bytes(size)
    while sent < total:
        part = block[: min(size, total - sent)]
        sent += len(part)
        yield part


def raw_put(
    port: int,
    path: str,
    token: str,
    body: Iterator[bytes],
    *,
    length: int | None = None,
    stop_after: int | None = None,
) -> tuple[int | None, int]:
    """PUT over a plain socket, sending the body chunk by chunk (chunked unless `length` is
    given) and stopping as soon as the server answers; or hanging up after `stop_after` bytes.
    Returns (status or None if no answer, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    head += (
        f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    )
    sent = 0
    try:
        sock.sendall((head + "\r\n").encode())
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered: stop sending
            if stop_after is not None and sent >= stop_after:
                return None, sent
            frame = (
                chunk if length is not None else f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            )
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            if length is None:
                sock.sendall(b"0\r\n\r\n")
        answer = b""
        while b"\r\n" not in answer:
            part = sock.recv(4096)
            if not part:
                break
            answer += part
        return (int(answer.split()[1]) if answer else None), sent
    finally:
        sock.close()


@pytest.fixture
def served(env: Env) -> Iterator[tuple[Env, int, str]]:
    token = login(env.client, "guard_a", PASSWORD)["token"]
    with live_server(env.settings) as port:
        yield env, port, token


def test_fifty_megabytes_streamed_are_refused_at_the_limit_with_memory_bounded(
    served: tuple[Env, int, str],
) -> None:
    env, port, token = served
    head = photo_bytes(64, 48)[:64]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        status, sent = raw_put(
            port, f"/api/media/{'b' * 64}", token, zeros_after(head, 50 * 1024 * 1024)
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"50 MB upload refused after {sent / 2**20:.1f} MiB sent; "
        f"traced peak {peak / 2**20:.2f} MiB"
    )
    assert status == 413
    # Refused at the 15 MB limit; what the client had sent beyond it sat in socket buffers.
    assert sent < 32 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, peak
    assert env.kept() == NOTHING


def test_a_big_photo_streams_through_with_memory_bounded(served: tuple[Env, int, str]) -> None:
    env, port, token = served
    noise = Image.frombytes("RGB", (2000, 2000), os.urandom(2000 * 2000 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)
    data = out.getvalue()
    assert 11 * 1024 * 1024 < len(data) < env.settings.media_max_bytes
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        status, _ = raw_put(port, f"/api/media/{sha(data)}", token, chunks_of(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"{len(data) / 2**20:.1f} MiB photo stored; traced peak {peak / 2**20:.2f} MiB")
    assert status == 201
    assert peak < 8 * 1024 * 1024, peak  # the body is never held whole
    kept = env.media_dir / "originals" / sha(data)[:2] / sha(data)
    assert kept.read_bytes() == data


def test_an_interrupted_upload_leaves_nothing_and_is_simply_sent_again(
    served: tuple[Env, int, str], caplog: pytest.LogCaptureFixture
) -> None:
    env, port, token = served
    data = photo_bytes(3000, 2000, quality=95)
    path = f"/api/media/{sha(data)}"
    status, sent = raw_put(
        port, path, token, chunks_of(data, 16_384), length=len(data), stop_after=len(data) // 2
    )
    assert status is None and 0 < sent < len(data)
    for _ in range(100):  # the server notices the hang-up and cleans its temporary file
        if env.kept()["tmp"] == 0:
            break
        time.sleep(0.05)
    assert env.kept() == NOTHING
    # A dropped connection is routine on a patrol, not a server error in the log.
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert raw_put(port, path, token, chunks_of(data), length=len(data))[0] == 201
    assert raw_put(port, path, token, chunks_of(data), length=len(data))[0] == 200
    assert env.kept() == {"originals": 1, "derived": 2, "tmp": 0, "rows": 1}


def test_the_same_photo_sent_twice_at_once_is_kept_once(served: tuple[Env, int, str]) -> None:
    env, port, token = served
    data = photo_bytes(2000, 1500)
    path = f"/api/media/{sha(data)}"
    results: list[int | None] = []

    def send() -> None:
        results.append(raw_put(port, path, token, chunks_of(data, 8192), length=len(data))[0])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r or 0 for r in results) == [200, 201]
    assert env.kept() == {"originals": 1, "derived": 2, "tmp": 0, "rows": 1}
