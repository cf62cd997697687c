"""Push on its fast path, on SQLite and PostgreSQL: what the batch parsing, the one-pass args
check, the bulk rows and the one-statement sequence numbers must keep exactly as before."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient
from tortoise.transactions import in_transaction

from backend.models.duty_log import DutyLogEntry
from backend.models.sync import AppliedMutation, Change, ChangeOp
from backend.schemas.sync import PUSH_MESSAGE, PushIn
from backend.services import sync
from backend.services.bulk import existing_ids, fetch_by_ids
from backend.services.changes import record_changes
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


class Env:
    def __init__(self, client: TestClient, world: World, settings: Any) -> None:
        self.client, self.world, self.settings = client, world, settings
        uid = str(uuid.uuid4())
        data = login(client, "guard_a", PASSWORD, device={"uid": uid, "name": "phone"})
        self.uid, self.headers = uid, {**bearer(data["token"]), "Accept-Language": "en"}

    def push(self, mutations: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        response = self.client.post(
            "/api/sync/push",
            json={"device_id": self.uid, "mutations": mutations, **extra},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["results"])

    def db(self, fn: Any) -> Any:
        return run_in_db(self.settings, fn)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path, database_url, sync_max_batch=100)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield Env(client, world, settings)


def entry(site_id: int, text: str, client_time: str | None = None, **args: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": "duty_log.add",
        "args": {"id": str(uuid.uuid4()), "site_id": site_id, "text": text, **args},
        "client_time": client_time or datetime.now(UTC).isoformat(),
    }


def test_a_bad_mutation_in_a_long_run_rejects_only_itself(env: Env) -> None:
    site = env.world.a.site.id
    batch = [entry(site, f"#{i}") for i in range(60)]
    batch[17]["args"]["category"] = "party"  # not a category
    batch[41]["args"]["surprise"] = True  # unknown field
    results = env.push(batch)
    assert [r["id"] for r in results] == [m["id"] for m in batch]
    rejected = {i: r for i, r in enumerate(results) if r["status"] == "rejected"}
    assert set(rejected) == {17, 41}
    assert [f["field"] for f in rejected[17]["details"]["fields"]] == ["category"]
    assert [f["field"] for f in rejected[41]["details"]["fields"]] == ["surprise"]
    assert all(r["code"] == "validation_failed" for r in rejected.values())
    texts = [c["data"]["text"] for c in pull_all(env)]
    assert texts == [f"#{i}" for i in range(60) if i not in (17, 41)]  # in the device's order


def test_names_interleaved_keep_the_devices_order(env: Env) -> None:
    site = env.world.a.site.id
    batch = [
        entry(site, "one"),
        {**entry(site, "x"), "name": "duty_log.nope"},
        entry(site, "two"),
        {**entry(site, "y"), "name": "patrol.scan", "args": {"id": str(uuid.uuid4())}},
        entry(site, "three"),
    ]
    results = env.push(batch)
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "unknown_mutation"),
        ("applied", ""),
        ("rejected", "validation_failed"),
        ("applied", ""),
    ]
    assert [c["data"]["text"] for c in pull_all(env)] == ["one", "two", "three"]


def test_the_args_own_time_wins_and_times_read_back_the_same(env: Env) -> None:
    site = env.world.a.site.id
    shanghai = timezone(timedelta(hours=8))
    written = datetime(2026, 11, 24, 1, 58, tzinfo=shanghai)
    own = datetime(2026, 11, 23, 23, 0, tzinfo=shanghai)
    plain = entry(site, "the mutation's time", client_time=written.isoformat())
    carried = entry(site, "its own time", client_time=written.isoformat())
    carried["args"]["client_time"] = own.isoformat()
    results = env.push([plain, carried])
    assert [datetime.fromisoformat(r["data"]["client_time"]) for r in results] == [written, own]
    # What the bulk insert wrote reads back through the ORM as the same instants.
    rows = env.db(lambda: DutyLogEntry.all().order_by("client_time"))
    assert [r.client_time for r in rows] == [own, written]
    assert all(r.server_time.tzinfo is not None for r in rows)
    listed = env.client.get(f"/api/sites/{site}/duty-log", headers=env.headers).json()["items"]
    assert {datetime.fromisoformat(e["client_time"]) for e in listed} == {own, written}
    stored = env.db(lambda: AppliedMutation.all().order_by("client_time"))
    assert [m.client_time for m in stored] == [written, written]


def test_an_id_twice_in_one_batch_is_applied_once(env: Env) -> None:
    m = entry(env.world.a.site.id, "twice")
    results = env.push([m, m])
    assert [r["status"] for r in results] == ["applied", "duplicate"]
    assert results[0]["data"] == results[1]["data"]
    assert env.db(lambda: DutyLogEntry.all().count()) == 1
    replay = env.push([m])[0]
    assert (replay["status"], replay["data"]) == ("duplicate", results[0]["data"])


def test_a_replay_mixed_with_new_work_answers_each_from_what_was_stored(env: Env) -> None:
    # The args of a batch are checked while the server looks up which ids it has seen: what
    # was stored must still win over that check, in every position of the batch.
    site = env.world.a.site.id
    kept = entry(site, "kept")
    unknown = {**entry(site, "x"), "name": "duty_log.teleport"}
    refused = entry(site, "")
    first = env.push([kept, unknown, refused])
    assert [(r["status"], r["code"]) for r in first] == [
        ("applied", ""),
        ("rejected", "unknown_mutation"),
        ("rejected", "validation_failed"),
    ]
    fresh = entry(site, "fresh")
    again = env.push([refused, kept, fresh, kept, unknown, fresh])
    assert [(r["status"], r["code"]) for r in again] == [
        ("rejected", "validation_failed"),
        ("duplicate", ""),
        ("applied", ""),
        ("duplicate", ""),
        ("rejected", "unknown_mutation"),
        ("duplicate", ""),
    ]
    assert again[1]["data"] == again[3]["data"] == first[0]["data"]
    assert again[5]["data"] == again[2]["data"]
    assert env.db(lambda: DutyLogEntry.all().count()) == 2
    assert env.db(lambda: AppliedMutation.all().count()) == 4


def test_an_entry_id_already_in_use_refuses_only_its_mutation(env: Env) -> None:
    # Entry ids are checked against the table while the batch's entries are built: one in use
    # (from an earlier push, or earlier in the same batch) is refused, leaves no row and no
    # change, and the rest of the batch is written with gapless sequence numbers.
    site = env.world.a.site.id
    (old,) = env.push([entry(site, "first")])
    reused = entry(site, "overwrite?")
    reused["args"]["id"] = old["data"]["id"]
    before, after = entry(site, "before"), entry(site, "after")
    twin = entry(site, "same entry id as before")
    twin["args"]["id"] = before["args"]["id"]
    results = env.push([before, reused, twin, after])
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "mutation_id_conflict"),
        ("rejected", "mutation_id_conflict"),
        ("applied", ""),
    ]

    async def written() -> tuple[list[str], list[tuple[int, str]]]:
        entries = await DutyLogEntry.all().order_by("server_time").values_list("text", flat=True)
        changes = await Change.filter(site_id=site).order_by("seq").values_list("seq", "entity_id")
        return list(entries), [(int(s), str(e)) for s, e in changes]

    texts, changes = env.db(written)
    assert sorted(texts) == sorted(["first", "before", "after"])
    assert changes == [
        (1, old["data"]["id"]),
        (2, before["args"]["id"]),
        (3, after["args"]["id"]),
    ]


def test_new_entries_are_written_without_looking_their_ids_up_first(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # An id in use is almost never seen, so the first try inserts without asking; only when the
    # database refuses does the push roll back and try again, looking first.
    site = env.world.a.site.id
    looked_up = 'FROM "duty_log_entries" WHERE "id"'
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        (old,) = env.push([entry(site, "first"), entry(site, "second")])[:1]
        fresh = [r.getMessage() for r in caplog.records]
        caplog.clear()
        reused = entry(site, "again")
        reused["args"]["id"] = old["data"]["id"]
        results = env.push([entry(site, "third"), reused])
        retried = [r.getMessage() for r in caplog.records]
    assert any("INSERT INTO" in m and "duty_log_entries" in m for m in fresh), fresh
    assert not [m for m in fresh if looked_up in m]
    assert [r["code"] for r in results] == ["", "mutation_id_conflict"]
    assert [m for m in retried if looked_up in m]  # the second try looked
    assert env.db(lambda: DutyLogEntry.all().count()) == 3


def test_a_rejected_mutation_replays_its_reason_in_the_callers_language(env: Env) -> None:
    m = entry(env.world.a.site.id, "")
    first = env.push([m])[0]
    assert first["message"] == "Some fields are missing or invalid."
    response = env.client.post(
        "/api/sync/push",
        json={"device_id": env.uid, "mutations": [m]},
        headers={**env.headers, "Accept-Language": "zh-CN"},
    )
    again = response.json()["results"][0]
    assert (again["status"], again["code"]) == ("rejected", "validation_failed")
    assert again["message"] and again["message"] != first["message"]
    assert again["details"]["fields"][0]["field"] == "text"


def test_bodies_that_are_not_a_push_change_nothing(env: Env) -> None:
    site = env.world.a.site.id
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"content": b'{"device_id": ', "headers": {"Content-Type": "application/json"}}, 400, ""),
        ({"content": b"device_id=1", "headers": {"Content-Type": "text/plain"}}, 415, ""),
        ({"json": {"device_id": env.uid, "mutations": [entry(site, "x")], "extra": 1}}, 422, ""),
        ({"json": {"device_id": env.uid, "mutations": [{**entry(site, "x"), "n": 1}]}}, 422, ""),
        (
            {"json": {"device_id": env.uid, "mutations": [{**entry(site, "x"), "name": ""}]}},
            422,
            "",
        ),
    ]
    for kwargs, status, _ in cases:
        headers = {**env.headers, **kwargs.pop("headers", {})}
        response = env.client.post("/api/sync/push", headers=headers, **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    assert env.db(lambda: AppliedMutation.all().count()) == 0
    assert env.db(lambda: DutyLogEntry.all().count()) == 0


def test_the_parsing_schema_matches_the_documented_one() -> None:
    def shape(schema: dict[str, Any]) -> Any:
        # Names, titles and defaults aside (an absent `sent_at` is None either way), the two
        # must accept the same documents.
        if isinstance(schema, dict):
            return {
                k: shape(v)
                for k, v in schema.items()
                if k not in ("title", "$defs", "$ref", "default")
            }
        if isinstance(schema, list):
            return [shape(v) for v in schema]
        return schema

    documented = PushIn.model_json_schema()
    parsed = PUSH_MESSAGE.json_schema()
    assert shape(documented) == shape(parsed)
    assert shape(documented["$defs"]["MutationIn"]) == shape(parsed["$defs"]["MutationMessage"])


def test_sequence_numbers_stay_unique_and_gapless_under_concurrent_writers(env: Env) -> None:
    site = env.world.a.site.id
    writers, each = 8, 25

    async def write(n: int) -> None:
        async with in_transaction():
            await record_changes(
                site,
                "duty_log",
                [(f"w{n}-{i}", ChangeOp.upsert, {"n": n, "i": i}) for i in range(each)],
            )

    async def all_writers() -> list[tuple[int, str]]:
        await asyncio.gather(*(write(n) for n in range(writers)))
        return list(
            await Change.filter(site_id=site).order_by("seq").values_list("seq", "entity_id")
        )

    rows = env.db(all_writers)
    assert [seq for seq, _ in rows] == list(range(1, writers * each + 1))
    # Each writer's changes got one unbroken range, in its own order.
    by_writer: dict[str, list[int]] = {}
    for seq, entity_id in rows:
        by_writer.setdefault(entity_id.split("-")[0], []).append(seq)
    for seqs in by_writer.values():
        assert seqs == list(range(seqs[0], seqs[0] + each))


def test_bulk_lookups_find_rows_by_any_kind_of_key(env: Env) -> None:
    site = env.world.a.site.id
    applied = env.push([entry(site, "a"), entry(site, "b")])
    entry_ids = [r["data"]["id"] for r in applied]

    async def lookups() -> tuple[set[str], set[str], list[dict[str, Any]], set[str]]:
        change_ids = [c.id for c in await Change.all()]
        return (
            await existing_ids(DutyLogEntry, [*entry_ids, str(uuid.uuid4())]),
            await existing_ids(AppliedMutation, [uuid.UUID(r["id"]) for r in applied]),
            await fetch_by_ids(Change, ("id", "seq", "entity_id"), [*change_ids, 10**9]),
            await existing_ids(DutyLogEntry, []),
        )

    entries, mutations, changes, nothing = env.db(lookups)
    assert entries == set(entry_ids)
    assert mutations == {r["id"] for r in applied}
    assert sorted(c["entity_id"] for c in changes) == sorted(entry_ids)
    assert {c["seq"] for c in changes} == {1, 2}
    assert nothing == set()


def pull_all(env: Env) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = env.client.get(
            "/api/sync/pull", params={"cursor": cursor}, headers=env.headers
        ).json()
        out += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return out


def test_ids_in_any_case_are_kept_in_lower_case_and_other_forms_refused(env: Env) -> None:
    site = env.world.a.site.id
    shouting = entry(site, "upper case ids")
    shouting["id"] = shouting["id"].upper()
    shouting["args"]["id"] = shouting["args"]["id"].upper()
    (result,) = env.push([shouting])
    assert result["status"] == "applied"
    assert result["data"]["id"] == shouting["args"]["id"].lower()
    assert env.db(lambda: DutyLogEntry.filter(id=shouting["args"]["id"].lower()).count()) == 1
    # The same mutation sent again in lower case is the same mutation.
    again = {**shouting, "id": shouting["id"].lower()}
    assert env.push([again])[0]["status"] == "duplicate"

    # A mutation id in another form refuses the push whole, saying which and why.
    hexed = entry(site, "hex id")
    hexed["id"] = uuid.UUID(hexed["id"]).hex
    response = env.client.post(
        "/api/sync/push", json={"device_id": env.uid, "mutations": [hexed]}, headers=env.headers
    )
    assert response.status_code == 422
    (field,) = response.json()["error"]["details"]["fields"]
    assert field == {
        "field": "mutations.0.id",
        "code": "uuid_parsing",
        "message": "Must be a UUID.",
    }

    # An entity id in another form refuses that mutation only, kept with its reason.
    braced = entry(site, "braced id")
    braced["args"]["id"] = "{" + braced["args"]["id"] + "}"
    fine = entry(site, "fine")
    results = env.push([braced, fine])
    assert [(r["status"], r["code"]) for r in results] == [
        ("rejected", "validation_failed"),
        ("applied", ""),
    ]
    assert [(f["field"], f["code"]) for f in results[0]["details"]["fields"]] == [
        ("id", "uuid_parsing")
    ]
    assert env.db(lambda: DutyLogEntry.all().count()) == 2


def test_the_answer_the_change_and_the_stored_result_say_the_same(env: Env) -> None:
    site = env.world.a.site.id
    pushed = [entry(site, f"同一份 #{i}") for i in range(3)]
    results = env.push(pushed)

    async def stored() -> tuple[dict[str, Any], dict[str, Any]]:
        ids = [m["args"]["id"] for m in pushed]
        changes = {c.entity_id: c.data for c in await Change.filter(entity_id__in=ids)}
        records = {
            str(r.id): r.result
            for r in await AppliedMutation.filter(id__in=[m["id"] for m in pushed])
        }
        return changes, records

    changes, records = env.db(stored)
    for m, result in zip(pushed, results, strict=True):
        assert result["status"] == "applied"
        assert changes[m["args"]["id"]] == result["data"] == records[m["id"]]
        assert result["data"]["text"] == m["args"]["text"]
    replayed = env.push(pushed)
    assert [r["data"] for r in replayed] == [r["data"] for r in results]


def test_texts_are_made_once_per_object_inside_a_push_and_anew_outside() -> None:
    from backend.services.bulk import _iso_and_sqlite_text, json_text, written_once

    first, twin = {"text": "巡查"}, {"text": "巡查"}
    when = datetime(2026, 11, 24, 6, 0, 0, 123000, tzinfo=UTC)
    with written_once():
        text = json_text(first)
        assert json_text(first) is text  # the same object: not written again
        assert json_text(twin) == text and json_text(twin) is not text  # another: anew
        times = _iso_and_sqlite_text(when)
        assert times == ("2026-11-24T06:00:00.123000+00:00", "2026-11-24 06:00:00.123000+00:00")
        assert _iso_and_sqlite_text(when) is times
    # Outside, every call writes: a changed object is never answered with its old text.
    first["text"] = "changed"
    assert json_text(first) == '{"text":"changed"}'
    assert _iso_and_sqlite_text(when) == times and _iso_and_sqlite_text(when) is not times


def test_the_one_pass_reader_gives_the_args_the_usual_way_gives() -> None:
    """`read_push` checks a whole body with its args at once; a body it takes must come out as
    the usual way (the message, then each run's args) makes it, the mutation's time included,
    and anything it refuses is left to the usual way to explain."""
    written = datetime(2026, 11, 24, 2, 0, tzinfo=timezone(timedelta(hours=8)))
    plain = entry(7, "  the mutation's time  ", client_time=written.isoformat())
    carried = entry(7, "its own time", client_time=written.isoformat(), category="patrol")
    carried["args"]["client_time"] = "2026-11-24T01:00:00+00:00"
    nulled = entry(7, "no time at all", client_time=written.isoformat())
    nulled["args"]["client_time"] = None
    body = {"device_id": str(uuid.uuid4()), "mutations": [plain, carried, nulled]}
    raw = orjson.dumps(body)
    spec = sync.MUTATIONS["duty_log.add"]

    def args_of(message: Any) -> list[Any]:
        times = [m["client_time"].astimezone(UTC) for m in message["mutations"]]
        return sync._validate_args(spec, list(zip(message["mutations"], times, strict=True)), "en")

    fast = args_of(sync.read_push(raw))
    usual = args_of(PUSH_MESSAGE.validate_python(orjson.loads(raw)))
    assert fast == usual
    assert [a.model_fields_set for a in fast] == [a.model_fields_set for a in usual]
    assert fast[0].text == "the mutation's time"
    assert [a.client_time for a in fast] == [
        written,
        datetime(2026, 11, 24, 1, tzinfo=UTC),
        None,
    ]
    unknown = {**body, "mutations": [plain, {**carried, "name": "duty_log.nope"}]}
    bad_args = {**body, "mutations": [plain, {**carried, "args": {"text": "no site"}}]}
    for refused in (unknown, bad_args, {**body, "extra": 1}):
        with pytest.raises(ValidationError):
            sync.read_push(orjson.dumps(refused))
