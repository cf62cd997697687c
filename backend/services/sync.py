"""Push: apply a device's queued mutations exactly once, in order, each through the same service
function the plain API uses. Pull lives in `services.changes`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

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
from backend.models.sync import AppliedMutation, MutationStatus
from backend.schemas.duty_log import DutyEntryMutationArgs
from backend.schemas.patrol import ScanIn
from backend.schemas.sync import MutationIn, MutationResult, PushIn
from backend.sealing import Sealer
from backend.services import duty_log, scans
from backend.services.bulk import dump_json, existing_ids, insert_rows
from backend.services.permissions import Actor
from backend.settings import Settings


@dataclass(frozen=True, slots=True)
class MutationContext:
    """What a mutation may need beyond its args: who sent it and how, and the server's parts."""

    info: ClientInfo
    settings: Settings
    sealer: Sealer
    clock_skew_seconds: int


# Applies a run of consecutive mutations of one name; each outcome is JSON-ready data or an error.
ApplyMany = Callable[
    [Actor, list[Any], MutationContext], Awaitable[Sequence[dict[str, Any] | AnbaoError]]
]


@dataclass(frozen=True, slots=True)
class MutationSpec:
    args: type[BaseModel]
    apply_many: ApplyMany
    event: str = ""  # published for each applied mutation, once the push has committed


async def _duty_log_add(
    actor: Actor, items: list[DutyEntryMutationArgs], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await duty_log.add_entries(actor, [(a.site_id, a) for a in items], ctx.info)


async def _patrol_scan(
    actor: Actor, items: list[ScanIn], ctx: MutationContext
) -> Sequence[dict[str, Any] | AnbaoError]:
    return await scans.record_scans(
        actor, items, ctx.info, ctx.settings, ctx.sealer, ctx.clock_skew_seconds
    )


# Each name maps to the service function the plain API uses, with the same permission checks.
MUTATIONS: dict[str, MutationSpec] = {
    "duty_log.add": MutationSpec(DutyEntryMutationArgs, _duty_log_add, "duty_log.added"),
    "patrol.scan": MutationSpec(ScanIn, _patrol_scan, "scan.recorded"),
}


@dataclass(slots=True)
class PushResult:
    results: list[MutationResult]
    server_time: datetime
    clock_skew_seconds: int
    clock_skew_flagged: bool


async def push(
    actor: Actor,
    body: PushIn,
    info: ClientInfo,
    settings: Settings,
    sealer: Sealer,
    bus: EventBus | None = None,
) -> PushResult:
    if actor.device is None or actor.device.uid != body.device_id:
        raise DeviceMismatch("push for another device")
    if len(body.mutations) > settings.sync_max_batch:
        raise BatchTooLarge(limit=settings.sync_max_batch)
    now = datetime.now(UTC)
    skew = round((now - body.sent_at).total_seconds()) if body.sent_at else 0
    ctx = MutationContext(info, settings, sealer, skew)
    try:
        results = await _apply_batch(actor, body.mutations, ctx)
    except IntegrityError:
        # Another request recorded some of these ids at the same moment (two tabs, a retry
        # racing the original). Everything of this attempt rolled back; the replay now finds
        # the other request's results and answers them as duplicates.
        results = await _apply_batch(actor, body.mutations, ctx)
    if bus is not None:
        names = {m.id: m.name for m in body.mutations}
        for result in results:
            spec = MUTATIONS.get(names[result.id])
            if result.status == "applied" and spec and spec.event and result.data:
                bus.publish(Event(int(result.data["site_id"]), spec.event, result.data))
    return PushResult(results, now, skew, abs(skew) > settings.sync_max_clock_skew_seconds)


def _rejection(mutation_id: uuid.UUID, exc: AnbaoError, language: str) -> MutationResult:
    details = dict(exc.details)
    if isinstance(details.get("fields"), list):
        details["fields"] = [
            {**f, "message": f.get("message") or translate(language, f"field.{f['code']}")}
            for f in details["fields"]
        ]
    return MutationResult(
        id=mutation_id,
        status="rejected",
        code=exc.code,
        message=translate(language, f"error.{exc.code}", **details),
        details=details,
    )


def _stored(row: AppliedMutation, language: str) -> MutationResult:
    if row.status == MutationStatus.applied:
        return MutationResult(id=row.id, status="duplicate", data=row.result)
    details = (row.result or {}).get("details", {})
    return MutationResult(
        id=row.id,
        status="rejected",
        code=row.code,
        message=translate(language, f"error.{row.code}", **details),
        details=details,
    )


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
Run = tuple[MutationSpec, list[tuple[int, MutationIn, BaseModel]]]


async def _apply_batch(
    actor: Actor, mutations: list[MutationIn], ctx: MutationContext
) -> list[MutationResult]:
    assert actor.user is not None
    user_id = actor.user.id
    lang = ctx.info.language
    skew = ctx.clock_skew_seconds
    found = await existing_ids(AppliedMutation, (m.id for m in mutations))
    existing = (
        {row.id: row for row in await AppliedMutation.filter(id__in=list(found))} if found else {}
    )
    results: list[MutationResult | None] = [None] * len(mutations)
    first_seen: dict[uuid.UUID, int] = {}
    repeats: list[tuple[int, int]] = []
    records: list[tuple[Any, ...]] = []
    runs: list[Run] = []

    def record(m: MutationIn, status: MutationStatus, code: str, result: Any) -> None:
        records.append(
            (
                str(m.id),
                user_id,
                actor.device_id,
                m.name,
                status.value,
                code,
                dump_json(result),
                m.client_time,
                datetime.now(UTC),
                skew,
            )
        )

    for i, m in enumerate(mutations):
        if m.id in existing:
            row = existing[m.id]
            results[i] = (
                _stored(row, lang)
                if row.user_id == user_id
                else _rejection(m.id, MutationIdConflict(), lang)
            )
            continue
        if m.id in first_seen:
            repeats.append((i, first_seen[m.id]))
            continue
        first_seen[m.id] = i
        try:
            spec = MUTATIONS.get(m.name)
            if spec is None:
                raise UnknownMutation(m.name)
            try:
                args = spec.args.model_validate({"client_time": m.client_time, **m.args})
            except ValidationError as exc:
                raise ValidationFailed(str(exc), fields=field_errors(exc, lang)) from exc
        except AnbaoError as exc:
            results[i] = _rejection(m.id, exc, lang)
            record(m, MutationStatus.rejected, exc.code, {"details": exc.details})
            continue
        if runs and runs[-1][0] is spec:
            runs[-1][1].append((i, m, args))
        else:
            runs.append((spec, [(i, m, args)]))

    async with in_transaction():
        for spec, items in runs:
            outcomes = await spec.apply_many(actor, [args for _, _, args in items], ctx)
            for (i, m, _), outcome in zip(items, outcomes, strict=True):
                if isinstance(outcome, AnbaoError):
                    if outcome.status >= 500:
                        raise outcome
                    # Kept, so a replay answers the same; the guard sees it with its reason.
                    results[i] = _rejection(m.id, outcome, lang)
                    record(m, MutationStatus.rejected, outcome.code, {"details": outcome.details})
                else:
                    results[i] = MutationResult(id=m.id, status="applied", data=outcome)
                    record(m, MutationStatus.applied, "", outcome)
        await insert_rows(AppliedMutation, _RECORD_COLUMNS, records)

    for i, first in repeats:
        original = results[first]
        assert original is not None
        if original.status == "applied":
            original = MutationResult(id=original.id, status="duplicate", data=original.data)
        results[i] = original
    return [r for r in results if r is not None]
