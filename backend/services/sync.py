"""Push: apply a device's queued mutations exactly once, in order, each through the same service
function the plain API uses. Pull lives in `services.changes`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
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
from backend.http import ClientInfo, field_errors
from backend.i18n import translate
from backend.models.sync import AppliedMutation, MutationStatus
from backend.schemas.duty_log import DutyEntryMutationArgs
from backend.schemas.sync import MutationIn, MutationResult, PushIn
from backend.services import duty_log
from backend.services.permissions import Actor
from backend.settings import Settings

Apply = Callable[[Actor, Any, ClientInfo], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class MutationSpec:
    args: type[BaseModel]
    apply: Apply


async def _duty_log_add(actor: Actor, args: DutyEntryMutationArgs, info: ClientInfo) -> BaseModel:
    return await duty_log.add_entry(actor, args.site_id, args, info)


# Each name maps to the service function the plain API uses, with the same permission checks.
MUTATIONS: dict[str, MutationSpec] = {
    "duty_log.add": MutationSpec(DutyEntryMutationArgs, _duty_log_add),
}


@dataclass(slots=True)
class PushResult:
    results: list[MutationResult]
    server_time: datetime
    clock_skew_seconds: int
    clock_skew_flagged: bool


async def push(actor: Actor, body: PushIn, info: ClientInfo, settings: Settings) -> PushResult:
    if actor.device is None or actor.device.uid != body.device_id:
        raise DeviceMismatch("push for another device")
    if len(body.mutations) > settings.sync_max_batch:
        raise BatchTooLarge(limit=settings.sync_max_batch)
    now = datetime.now(UTC)
    skew = round((now - body.sent_at).total_seconds()) if body.sent_at else 0
    results = [await _apply_one(actor, m, info, skew) for m in body.mutations]
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


async def _apply_one(actor: Actor, m: MutationIn, info: ClientInfo, skew: int) -> MutationResult:
    assert actor.user is not None
    existing = await AppliedMutation.get_or_none(id=m.id)
    if existing is not None:
        if existing.user_id != actor.user.id:
            return _rejection(m.id, MutationIdConflict(), info.language)
        return _stored(existing, info.language)

    record: dict[str, Any] = {
        "id": m.id,
        "user_id": actor.user.id,
        "device_id": actor.device_id,
        "name": m.name,
        "client_time": m.client_time,
        "clock_skew_seconds": skew,
    }
    try:
        spec = MUTATIONS.get(m.name)
        if spec is None:
            raise UnknownMutation(m.name)
        try:
            args = spec.args.model_validate({"client_time": m.client_time, **m.args})
        except ValidationError as exc:
            raise ValidationFailed(str(exc), fields=field_errors(exc, info.language)) from exc
        async with in_transaction():
            data = await spec.apply(actor, args, info)
            await AppliedMutation.create(
                **record,
                status=MutationStatus.applied,
                result=data.model_dump(mode="json"),
                server_time=datetime.now(UTC),
            )
        return MutationResult(id=m.id, status="applied", data=data.model_dump(mode="json"))
    except IntegrityError:
        # The same id arrived twice at once (two tabs, a retried request): the other won.
        winner = await AppliedMutation.get_or_none(id=m.id)
        if winner is None:
            raise
        return _stored(winner, info.language)
    except AnbaoError as exc:
        if exc.status >= 500:
            raise
        # Kept, so the same rejection answers a replay; the guard sees it with its reason.
        try:
            await AppliedMutation.create(
                **record,
                status=MutationStatus.rejected,
                code=exc.code,
                result={"details": exc.details},
                server_time=datetime.now(UTC),
            )
        except IntegrityError:
            winner = await AppliedMutation.get(id=m.id)
            return _stored(winner, info.language)
        return _rejection(m.id, exc, info.language)
