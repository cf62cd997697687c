"""Push: apply a device's queued mutations exactly once, in order, each through the same service
function the plain API uses. Pull lives in `services.changes`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired, Union

import orjson
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction
from typing_extensions import TypedDict

from backend.errors import (
    AnbaoError,
    BatchTooLarge,
    DeviceMismatch,
    MutationIdConflict,
    UnknownMutation,
    ValidationFailed,
)
from backend.events import Event, EventBus
from backend.http import ClientInfo, field_errors
from backend.i18n import translate
from backend.inline_sqlite import inline as inline_sqlite
from backend.models.sync import AppliedMutation, MutationStatus
from backend.schemas.common import ClientUuid
from backend.schemas.duty_log import DutyEntryMutationArgs
from backend.schemas.incidents import (
    CommentMutationArgs,
    IncidentMutationArgs,
    PhotosMutationArgs,
)
from backend.schemas.parcels import ParcelMutationArgs
from backend.schemas.patrol import EndRoundMutationArgs, ScanIn, StartRoundMutationArgs
from backend.schemas.sync import MESSAGE_CONFIG, MutationMessage, PushMessage
from backend.sealing import Sealer
from backend.services import duty_log, incidents, parcels, rounds, scans
from backend.services.bulk import (
    db_datetime_texts,
    db_datetimes,
    dump_json,
    fetch_by_ids,
    insert_rows,
    json_text,
    written_once,
)
from backend.services.gate_sync import GATE_MUTATIONS
from backend.services.permissions import Actor
from backend.settings import Settings

log = logging.getLogger("anbao.sync")


@dataclass(frozen=True, slots=True)
class MutationContext:
    """What a mutation may need beyond its args: who sent it and how, and the server's parts."""

    info: ClientInfo
    settings: Settings
    sealer: Sealer
    clock_skew_seconds: int
    # First try: a service may insert rows with client-given ids without asking first whether
    # an id is taken (almost never); if one is, the database refuses, the whole attempt rolls
    # back, and the push tries again with this off, looking first.
    optimistic: bool = True


# Applies a run of consecutive mutations of one name; each outcome is JSON-ready data or an error.
ApplyMany = Callable[
    [Actor, list[Any], MutationContext], Awaitable[Sequence[dict[str, Any] | AnbaoError]]
]


@dataclass(frozen=True, slots=True)
class MutationSpec:
    args: type[BaseModel]
    apply_many: ApplyMany
    event: str = ""  # published for each applied mutation, once the push has committed
    # Further live events an applied mutation's data calls for (published with `event`).
    more_events: Callable[[dict[str, Any]], list[Event]] | None = None


async def _duty_log_add(
    actor: Actor, items: list[DutyEntryMutationArgs], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await duty_log.add_entries(
        actor, [(a.site_id, a) for a in items], ctx.info, look_first=not ctx.optimistic
    )


async def _patrol_scan(
    actor: Actor, items: list[ScanIn], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await scans.record_scans(
        actor, items, ctx.info, ctx.settings, ctx.sealer, ctx.clock_skew_seconds
    )


async def _parcel_receive(
    actor: Actor, items: list[ParcelMutationArgs], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await parcels.receive_parcels(
        actor, [(a.site_id, a) for a in items], ctx.info, ctx.settings
    )


async def _incident_report(
    actor: Actor, items: list[IncidentMutationArgs], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await incidents.report_incidents(
        actor, [(a.site_id, a) for a in items], ctx.info, ctx.settings
    )


async def _incident_comment(
    actor: Actor, items: list[CommentMutationArgs], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await incidents.comment_many(actor, items, ctx.info)


async def _incident_add_photos(
    actor: Actor, items: list[PhotosMutationArgs], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await incidents.add_photos_many(actor, items, ctx.info)


# Each name maps to the service function the plain API uses, with the same permission checks.
MUTATIONS: dict[str, MutationSpec] = {
    "duty_log.add": MutationSpec(DutyEntryMutationArgs, _duty_log_add, "duty_log.added"),
    "patrol.scan": MutationSpec(ScanIn, _patrol_scan, "scan.recorded", scans.round_events),
    "patrol.start_round": MutationSpec(
        StartRoundMutationArgs, rounds.start_rounds, "round.started"
    ),
    "patrol.end_round": MutationSpec(EndRoundMutationArgs, rounds.end_rounds, "round.ended_early"),
    "incident.report": MutationSpec(IncidentMutationArgs, _incident_report, "incident.reported"),
    "incident.comment": MutationSpec(CommentMutationArgs, _incident_comment),
    "incident.add_photos": MutationSpec(
        PhotosMutationArgs, _incident_add_photos, "incident.updated"
    ),
    # The gate house: visitors, vehicles, passes (backend/services/gate_sync.py).
    **{name: MutationSpec(*spec) for name, spec in GATE_MUTATIONS.items()},
    "parcel.receive": MutationSpec(ParcelMutationArgs, _parcel_receive, "parcel.received"),
}


def _typed_push() -> TypeAdapter[PushMessage]:
    """A push message whose mutations' args are checked as their names' args models in the same
    pass, straight from the JSON. Anything it refuses (an unknown name, bad args, a bad message)
    goes the usual way, `PUSH_MESSAGE` and then each run's args on their own, which tells which
    mutation is wrong and refuses only that one."""
    # Made at run time from MUTATIONS, so through a name type checkers take as a plain call.
    typed_dict: Any = TypedDict
    members = []
    for name, spec in MUTATIONS.items():
        fields = {
            "id": ClientUuid,
            "name": Literal[name],
            "args": spec.args,
            "client_time": AwareDatetime,
        }
        member = typed_dict("TypedMutation", fields)
        member.__pydantic_config__ = MESSAGE_CONFIG
        members.append(member)
    mutation: Any = Annotated[Union[tuple(members)], Field(discriminator="name")]  # noqa: UP007
    fields = {
        "device_id": uuid.UUID,
        "sent_at": NotRequired[AwareDatetime | None],
        "mutations": list[mutation],
    }
    message = typed_dict("TypedPushMessage", fields)
    message.__pydantic_config__ = MESSAGE_CONFIG
    return TypeAdapter(message)


_TYPED_PUSH = _typed_push()


def read_push(raw: bytes) -> PushMessage:
    """A push body checked whole in one pass (the route tries this first); raises
    ValidationError on anything it does not take, and the body then goes the usual way."""
    return _TYPED_PUSH.validate_json(raw)


@dataclass(slots=True)
class PushResult:
    # One JSON-ready result per mutation, in order (see docs/sync.md); `data` of a duplicate is
    # the stored JSON text, passed through as an `orjson.Fragment` rather than parsed again.
    results: list[dict[str, Any]]
    server_time: datetime
    clock_skew_seconds: int
    clock_skew_flagged: bool

    def render(self) -> bytes:
        return orjson.dumps(
            {
                "results": self.results,
                "server_time": self.server_time,
                "clock_skew_seconds": self.clock_skew_seconds,
                "clock_skew_flagged": self.clock_skew_flagged,
            }
        )


async def push(
    actor: Actor,
    body: PushMessage,
    info: ClientInfo,
    settings: Settings,
    sealer: Sealer,
    bus: EventBus | None = None,
) -> PushResult:
    if actor.device is None or actor.device.uid != body["device_id"]:
        raise DeviceMismatch("push for another device")
    mutations = body["mutations"]
    if len(mutations) > settings.sync_max_batch:
        raise BatchTooLarge(limit=settings.sync_max_batch)
    now = datetime.now(UTC)
    sent_at = body.get("sent_at")
    skew = round((now - sent_at).total_seconds()) if sent_at else 0
    ctx = MutationContext(info, settings, sealer, skew)
    # A batch is a dozen short statements, bounded by `sync_max_batch`: on SQLite they run on
    # this thread instead of a hop to the database's thread each (backend/inline_sqlite.py).
    with inline_sqlite():
        try:
            batch = await _apply_batch(actor, mutations, ctx, now)
        except IntegrityError:
            # An id was taken: an entry's id used before (a retried plain-API write, a guessed
            # id), or another request recorded some of these mutations at the same moment
            # (two tabs, a retry racing the original). Everything of this attempt rolled back;
            # the second looks first, refuses what is taken and answers the other request's
            # mutations as duplicates.
            ctx = replace(ctx, optimistic=False)
            batch = await _apply_batch(actor, mutations, ctx, now)
        except Exception:
            # A fault in one mutation's service must not hold the phone's whole queue for
            # ever. Everything of this attempt rolled back; each mutation is now tried on its
            # own.
            log.exception("a push failed; applying its mutations one at a time")
            batch = await _one_by_one(actor, mutations, replace(ctx, optimistic=False), now)
    if bus is not None and not bus.quiet:
        for spec, data in batch.applied:
            if spec.event:
                bus.publish(Event(int(data["site_id"]), spec.event, data, now))
            for event in spec.more_events(data) if spec.more_events else ():
                bus.publish(event)
    return PushResult(batch.results, now, skew, abs(skew) > settings.sync_max_clock_skew_seconds)


async def _one_by_one(
    actor: Actor, mutations: list[MutationMessage], ctx: MutationContext, now: datetime
) -> _Batch:
    """Each mutation in its own transaction; one that fails again is refused with
    `internal_error` and not recorded, so the phone shows it and may send it again later."""
    results: list[dict[str, Any]] = []
    applied: list[tuple[MutationSpec, dict[str, Any]]] = []
    for m in mutations:
        try:
            try:
                one = await _apply_batch(actor, [m], ctx, now)
            except IntegrityError:
                one = await _apply_batch(actor, [m], ctx, now)
        except Exception as exc:
            log.exception("mutation %s (%s) failed", m["id"], m["name"])
            error = exc if isinstance(exc, AnbaoError) else AnbaoError(str(exc))
            results.append(_rejection(m["id"], error, ctx.info.language))
            continue
        results += one.results
        applied += one.applied
    return _Batch(results, applied)


def _result(
    mutation_id: object, status: str, data: Any = None, code: str = "", message: str = ""
) -> dict[str, Any]:
    return {
        "id": mutation_id,
        "status": status,
        "code": code,
        "message": message,
        "details": {},
        "data": data,
    }


def _rejection(mutation_id: object, exc: AnbaoError, language: str) -> dict[str, Any]:
    details = dict(exc.details)
    if isinstance(details.get("fields"), list):
        details["fields"] = [
            {**f, "message": f.get("message") or translate(language, f"field.{f['code']}")}
            for f in details["fields"]
        ]
    result = _result(
        mutation_id,
        "rejected",
        code=exc.code,
        message=translate(language, f"error.{exc.code}", **details),
    )
    result["details"] = details
    return result


def _stored(mutation_id: object, row: dict[str, Any], language: str) -> dict[str, Any]:
    text = row["result"]
    if row["status"] == _APPLIED:
        return _result(mutation_id, "duplicate", None if text is None else orjson.Fragment(text))
    details = (orjson.loads(text) if text else {}).get("details", {})
    result = _result(
        mutation_id,
        "rejected",
        code=row["code"],
        message=translate(language, f"error.{row['code']}", **details),
    )
    result["details"] = details
    return result


_ARGS_ADAPTERS: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def _validate_args(
    spec: MutationSpec, messages: list[tuple[MutationMessage, datetime]], language: str
) -> list[Any]:
    """Each message's args as `spec.args`, or the ValidationFailed that refuses it; each given
    with the mutation's time in UTC, which the args get unless they carry their own.

    Args that `read_push` already checked only get the time. Otherwise a run is checked in one
    call; only a run with a bad mutation in it is checked again one by one, to tell which.
    """
    if messages and isinstance(messages[0][0]["args"], spec.args):
        # Checked with the body: the whole body or none of it was (see `read_push`).
        checked = [m["args"] for m, _ in messages]
        if "client_time" in spec.args.model_fields:
            for a, (_, client_time) in zip(checked, messages, strict=True):
                given = a.__pydantic_fields_set__
                if "client_time" not in given:
                    # As if the args had carried it (set, so a patch's dump keeps it), straight
                    # into the model's values: pydantic's own `__setattr__` would cost more
                    # than checking the args did, and checks nothing here.
                    a.__dict__["client_time"] = client_time
                    given.add("client_time")
        return checked
    args = []
    for m, client_time in messages:
        a = m["args"]
        if "client_time" not in a:
            a["client_time"] = client_time
        args.append(a)
    adapter = _ARGS_ADAPTERS.get(spec.args)
    if adapter is None:
        adapter = _ARGS_ADAPTERS[spec.args] = TypeAdapter(list[spec.args])  # type: ignore[name-defined]
    try:
        return adapter.validate_python(args)
    except ValidationError:
        pass
    out: list[Any] = []
    for a in args:
        try:
            out.append(spec.args.model_validate(a))
        except ValidationError as exc:
            out.append(ValidationFailed(str(exc), fields=field_errors(exc, language)))
    return out


_RECORD_COLUMNS = (
    "id",
    "user_id",
    "device_id",
    "name",
    "status",
    "code",
    "result",
    "client_time",
    "server_time",
    "clock_skew_seconds",
)
_STORED_COLUMNS = ("id", "user_id", "status", "code", "result")
_APPLIED, _REJECTED = MutationStatus.applied.value, MutationStatus.rejected.value


@dataclass(slots=True)
class _Batch:
    results: list[dict[str, Any]]
    applied: list[tuple[MutationSpec, dict[str, Any]]]  # for the events, once committed


async def _apply_batch(
    actor: Actor, mutations: list[MutationMessage], ctx: MutationContext, now: datetime
) -> _Batch:
    # A result the service also recorded as a change is written as JSON once, for both; a
    # client time stored in the entity and in the mutation's record is formatted once.
    with written_once():
        return await _apply(actor, mutations, ctx, now)


async def _apply(
    actor: Actor, mutations: list[MutationMessage], ctx: MutationContext, now: datetime
) -> _Batch:
    assert actor.user is not None
    user_id, device_id = actor.user.id, actor.device_id
    lang = ctx.info.language
    skew = ctx.clock_skew_seconds
    ids = [m["id"] for m in mutations]
    # Which ids were seen before is asked of the database first; the args are checked while it
    # looks (the lookup runs on the database's own thread).
    lookup = asyncio.ensure_future(fetch_by_ids(AppliedMutation, _STORED_COLUMNS, ids))
    results: list[dict[str, Any]] = [{}] * len(mutations)
    applied: list[tuple[MutationSpec, dict[str, Any]]] = []
    first_seen: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    records: list[tuple[Any, ...]] = []
    unknown: list[int] = []
    # Consecutive mutations of one name, applied together: [(spec, [index, ...])].
    runs: list[tuple[MutationSpec, list[int]]] = []
    server_time = db_datetimes(AppliedMutation)(now)
    texts = db_datetime_texts(AppliedMutation)
    # Each mutation's time in UTC, one object each: the args get it (unless they carry their
    # own) and the record stores it, formatted once for both.
    client_times = [m["client_time"].astimezone(UTC) for m in mutations]

    def record(i: int, status: str, code: str, result: str | None) -> None:
        records.append(
            (
                ids[i],
                user_id,
                device_id,
                mutations[i]["name"],
                status,
                code,
                result,
                texts(client_times[i])[1],
                server_time,
                skew,
            )
        )

    def reject(i: int, exc: AnbaoError) -> None:
        # Kept, so a replay answers the same; the guard sees it with its reason.
        results[i] = _rejection(mutations[i]["id"], exc, lang)
        record(i, _REJECTED, exc.code, dump_json({"details": exc.details}))

    try:
        for i, m in enumerate(mutations):
            mutation_id = ids[i]
            if mutation_id in first_seen:
                repeats.append((i, first_seen[mutation_id]))
                continue
            first_seen[mutation_id] = i
            spec = MUTATIONS.get(m["name"])
            if spec is None:
                unknown.append(i)
            elif runs and runs[-1][0] is spec:
                runs[-1][1].append(i)
            else:
                runs.append((spec, [i]))
        checked_runs = [
            (
                spec,
                indexes,
                _validate_args(spec, [(mutations[i], client_times[i]) for i in indexes], lang),
            )
            for spec, indexes in runs
        ]
    except BaseException:
        lookup.cancel()
        raise
    existing = {row["id"]: row for row in await lookup}

    def seen_before(i: int) -> bool:
        """A replay answers what was stored (only to the user who sent it)."""
        row = existing.get(ids[i])
        if row is None:
            return False
        results[i] = (
            _stored(ids[i], row, lang)
            if row["user_id"] == user_id
            else _rejection(ids[i], MutationIdConflict(), lang)
        )
        return True

    for i in unknown:
        if not seen_before(i):
            reject(i, UnknownMutation(mutations[i]["name"]))
    valid_runs: list[tuple[MutationSpec, list[int], list[Any]]] = []
    for spec, indexes, checked in checked_runs:
        keep = []
        for i, args in zip(indexes, checked, strict=True):
            if existing and seen_before(i):
                continue
            if isinstance(args, AnbaoError):
                reject(i, args)
            else:
                keep.append((i, args))
        if keep:
            valid_runs.append((spec, [i for i, _ in keep], [a for _, a in keep]))

    async with in_transaction():
        for spec, indexes, args in valid_runs:
            outcomes = await spec.apply_many(actor, args, ctx)
            for i, outcome in zip(indexes, outcomes, strict=True):
                if isinstance(outcome, AnbaoError):
                    if outcome.status >= 500:
                        raise outcome
                    reject(i, outcome)
                else:
                    text = json_text(outcome)
                    results[i] = _result(ids[i], "applied", orjson.Fragment(text))
                    record(i, _APPLIED, "", text)
                    applied.append((spec, outcome))
        await insert_rows(AppliedMutation, _RECORD_COLUMNS, records)

    for i, first in repeats:
        original = results[first]
        if original["status"] == "applied":
            original = {**original, "status": "duplicate"}
        results[i] = original
    return _Batch(results, applied)
