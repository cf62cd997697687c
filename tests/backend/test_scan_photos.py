"""The photo on a failed checklist item, on SQLite and PostgreSQL: a photo answer must name a
photo the guard uploaded (else the scan is kept, rejected with `bad_checklist`); the board shows
it; the site's staff may see it, other sites' may not; sync replays and retention keep it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.jobs import JOBS, run_once
from backend.models.media import Media
from backend.models.patrol import Scan, ScanPhoto
from backend.settings import Settings
from tests.backend.test_images import photo_bytes
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, qr_checkpoint, run_in_db, running_app

CHECKLIST = [
    {"key": "door", "label": "Fire door closed"},
    {"key": "remark", "label": "Remark", "kind": "note"},
    {"key": "shot", "label": "Photo of the fault", "kind": "photo"},
]


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Settings
    code: str  # the QR code of a checkpoint with CHECKLIST
    checkpoint_id: int
    scanned: int = 0

    @property
    def site(self) -> int:
        return self.world.a.site.id

    def token(self, username: str) -> dict[str, str]:
        return bearer(login(self.client, username, PASSWORD)["token"])

    def upload(self, who: dict[str, str], width: int = 640, height: int = 480) -> str:
        data = photo_bytes(width, height)
        sha256 = hashlib.sha256(data).hexdigest()
        answer = self.client.put(f"/api/media/{sha256}", content=data, headers=who)
        assert answer.status_code == 201, answer.text
        return sha256

    def args(self, answers: dict[str, Any]) -> dict[str, Any]:
        # Scans ten minutes apart: none is a duplicate or a burst of the one before.
        self.scanned += 1
        when = datetime.now(UTC) - timedelta(hours=3) + timedelta(minutes=10 * self.scanned)
        return {
            "id": str(uuid.uuid4()),
            "site_id": self.site,
            "method": "qr",
            "code": self.code,
            "answers": answers,
            "client_time": when.isoformat(),
        }

    def scan(self, who: dict[str, str], answers: dict[str, Any]) -> Any:
        answer = self.client.post(
            f"/api/sites/{self.site}/scans", headers=who, json=self.args(answers)
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def status(self, who: dict[str, str], sha256: str, variant: str = "thumb") -> int:
        return int(self.client.get(f"/api/media/{sha256}/{variant}", headers=who).status_code)

    def findings(self, who: dict[str, str]) -> list[Any]:
        board = self.client.get(f"/api/sites/{self.site}/board", headers=who)
        assert board.status_code == 200, board.text
        return list(board.json()["checklist_findings"])

    def kept_photos(self, scan_id: str) -> list[tuple[str, str]]:
        rows = run_in_db(
            self.settings,
            lambda: ScanPhoto.filter(scan_id=scan_id).values_list("key", "media_id"),
        )
        return sorted((str(k), str(m)) for k, m in rows)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path, database_url, jobs_enabled=False, media_dir=str(tmp_path / "media")
    )
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        admin = bearer(login(client, "admin_a", PASSWORD)["token"])
        cp, code = qr_checkpoint(
            client, admin, world.a.site.id, "Stairwell B2", checklist=CHECKLIST
        )
        yield Env(client, world, settings, code, cp)


def test_a_photo_of_a_failed_item_is_kept_and_shown_on_the_board(env: Env) -> None:
    guard, sup = env.token("guard_a"), env.token("supervisor_a")
    photo = env.upload(guard, 640, 480)
    scan = env.scan(guard, {"door": False, "shot": photo})
    assert (scan["verdict"], scan["reasons"]) == ("valid", [])
    assert env.kept_photos(scan["id"]) == [("shot", photo)]
    (finding,) = env.findings(sup)
    assert finding["scan"]["id"] == scan["id"]
    assert finding["failed"] == ["Fire door closed"]
    # The hash is the photo, not a note to print.
    assert finding["notes"] == []
    (shown,) = finding["photos"]
    assert shown == {
        "label": "Photo of the fault",
        "sha256": photo,
        "kind": "jpeg",
        "width": 640,
        "height": 480,
        "thumb_url": f"/api/media/{photo}/thumb",
        "display_url": f"/api/media/{photo}/display",
        "original_url": f"/api/media/{photo}/original",
    }
    # What the board links to opens for the supervisor.
    thumb = env.client.get(shown["thumb_url"], headers=sup)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


def test_a_scan_whose_only_finding_is_a_photo_is_a_finding(env: Env) -> None:
    guard, sup = env.token("guard_a"), env.token("supervisor_a")
    env.scan(guard, {"door": True})  # all well: nothing to tell
    photo = env.upload(guard)
    scan = env.scan(guard, {"door": True, "shot": photo})
    (finding,) = env.findings(sup)
    assert finding["scan"]["id"] == scan["id"]
    assert (finding["failed"], finding["notes"]) == ([], [])
    assert [p["sha256"] for p in finding["photos"]] == [photo]


def test_a_photo_answer_not_the_guards_own_keeps_the_scan_as_bad_checklist(env: Env) -> None:
    guard, other, sup = env.token("guard_a"), env.token("guard2_a"), env.token("supervisor_a")
    theirs = env.upload(other)
    never_sent = hashlib.sha256(b"a photo nobody uploaded").hexdigest()
    mine = env.upload(guard, 320, 240)
    for answer in (
        never_sent,  # a well-formed hash of nothing on the server
        theirs,  # another guard's photo: knowing its hash is not holding it
        "not-a-hash",
        mine.upper(),  # the phone sends lower-case hex; anything else is not its hash
        mine[:-1],
        "",
    ):
        scan = env.scan(guard, {"door": False, "shot": answer})
        assert (scan["verdict"], scan["reasons"]) == ("rejected", ["bad_checklist"]), answer
        stored = run_in_db(env.settings, lambda s=scan: Scan.get(id=s["id"]))
        assert stored.answers == {"door": False, "shot": answer}  # kept as evidence
        assert env.kept_photos(scan["id"]) == []
    # Nothing was credited as coverage, and no finding shows someone else's photo.
    assert all(p["sha256"] != theirs for f in env.findings(sup) for p in f["photos"])
    assert env.status(guard, theirs) == 404
    # The same guard's own photo, answered to a check item, is refused too (wrong kind).
    wrong = env.scan(guard, {"door": mine})
    assert wrong["reasons"] == ["bad_checklist"]


def test_the_sites_staff_see_the_photo_and_other_sites_do_not(env: Env) -> None:
    guard = env.token("guard_a")
    photo = env.upload(guard)
    others = {
        "guard2_a": 404,  # not referred to by anything yet: only its uploader knows it
        "supervisor_a": 404,
        "resident_a": 404,
        "guard_b": 404,
        "supervisor_b": 404,
    }
    assert {u: env.status(env.token(u), photo) for u in others} == others
    env.scan(guard, {"door": False, "shot": photo})
    thumbs = {u: env.status(env.token(u), photo) for u in others}
    assert thumbs == {
        "guard2_a": 200,  # the next shift's guard
        "supervisor_a": 200,
        "resident_a": 403,  # a resident of the site is no staff
        "guard_b": 404,  # another site's staff do not learn it exists
        "supervisor_b": 404,
    }
    # The original keeps its metadata (GPS): supervisors of the site only.
    originals = {u: env.status(env.token(u), photo, "original") for u in others}
    assert originals == {
        "guard2_a": 403,
        "supervisor_a": 200,
        "resident_a": 403,
        "guard_b": 404,
        "supervisor_b": 404,
    }


def test_a_replayed_scan_with_a_photo_is_applied_once(env: Env) -> None:
    uid = str(uuid.uuid4())
    token = login(env.client, "guard_a", PASSWORD, device={"uid": uid, "name": "p"})["token"]
    photo = env.upload(bearer(token))
    mutation = {
        "id": str(uuid.uuid4()),
        "name": "patrol.scan",
        "client_time": datetime.now(UTC).isoformat(),
        "args": env.args({"door": False, "shot": photo}),
    }

    def push() -> Any:
        answer = env.client.post(
            "/api/sync/push",
            headers=bearer(token),
            json={"device_id": uid, "mutations": [mutation]},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]

    first, again = push(), push()
    assert (first["status"], first["data"]["verdict"]) == ("applied", "valid")
    assert again["status"] == "duplicate" and again["data"] == first["data"]
    scan_id = mutation["args"]["id"]
    assert env.kept_photos(scan_id) == [("shot", photo)]
    assert run_in_db(env.settings, lambda: Scan.filter(id=scan_id).count()) == 1
    (finding,) = env.findings(env.token("supervisor_a"))
    assert [p["sha256"] for p in finding["photos"]] == [photo]


def test_retention_keeps_a_photo_a_scan_names(env: Env) -> None:
    guard = env.token("guard_a")
    photo = env.upload(guard)
    scan = env.scan(guard, {"door": False, "shot": photo})
    long_ago = datetime.now(UTC) - timedelta(days=env.settings.visitor_retention_days + 30)

    async def age() -> None:
        await Scan.filter(id=scan["id"]).update(client_time=long_ago, server_time=long_ago)
        await Media.filter(sha256=photo).update(uploaded_at=long_ago)

    run_in_db(env.settings, age)
    (job,) = [j for j in JOBS if j.name == "purge_visitors"]
    run_in_db(env.settings, lambda: run_once(job, env.settings))
    assert run_in_db(env.settings, lambda: Media.exists(sha256=photo))
    assert env.kept_photos(scan["id"]) == [("shot", photo)]
    original = Path(env.settings.media_dir) / "originals" / photo[:2] / photo
    assert original.is_file()
    assert env.status(env.token("guard2_a"), photo, "display") == 200
