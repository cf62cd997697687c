"""The gate house's sync mutations: each name, its args and the service function it runs (the
same one the plain API calls), for `services.sync.MUTATIONS`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from backend.errors import AnbaoError
from backend.http import ClientInfo
from backend.schemas.passes import GoodsExitMutationArgs, ScanMutationArgs
from backend.schemas.vehicles import (
    VehicleCheckFinishMutationArgs,
    VehicleCheckItemMutationArgs,
    VehicleCheckMutationArgs,
    VehicleEntryMutationArgs,
    VehicleExitMutationArgs,
)
from backend.schemas.visitors import (
    CheckOutMutationArgs,
    DecisionMutationArgs,
    VisitMutationArgs,
)
from backend.sealing import Sealer
from backend.services import passes, vehicles, visitors
from backend.services.permissions import Actor
from backend.settings import Settings


class Context(Protocol):
    """The part of the push's `MutationContext` these mutations use."""

    @property
    def info(self) -> ClientInfo: ...

    @property
    def sealer(self) -> Sealer: ...

    @property
    def settings(self) -> Settings: ...


Outcomes = Sequence[dict[str, Any] | AnbaoError]
Apply = Callable[[Actor, list[Any], Context], Awaitable[Outcomes]]


async def _register(actor: Actor, items: list[VisitMutationArgs], ctx: Context) -> Outcomes:
    return await visitors.register_visits(actor, items, ctx.info, ctx.sealer)


async def _check_out(actor: Actor, items: list[CheckOutMutationArgs], ctx: Context) -> Outcomes:
    return await visitors.check_out_many(actor, items, ctx.info)


async def _decide(actor: Actor, items: list[DecisionMutationArgs], ctx: Context) -> Outcomes:
    return await visitors.decide_many(actor, items, ctx.info)


async def _enter(actor: Actor, items: list[VehicleEntryMutationArgs], ctx: Context) -> Outcomes:
    return await vehicles.record_entries(actor, items)


async def _exit(actor: Actor, items: list[VehicleExitMutationArgs], ctx: Context) -> Outcomes:
    return await vehicles.record_exits(actor, items)


async def _check_start(
    actor: Actor, items: list[VehicleCheckMutationArgs], ctx: Context
) -> Outcomes:
    return await vehicles.start_checks(actor, items)


async def _check_item(
    actor: Actor, items: list[VehicleCheckItemMutationArgs], ctx: Context
) -> Outcomes:
    return await vehicles.note_vehicles(actor, items, ctx.settings)


async def _check_finish(
    actor: Actor, items: list[VehicleCheckFinishMutationArgs], ctx: Context
) -> Outcomes:
    return await vehicles.finish_checks(actor, items)


async def _contractor_scan(actor: Actor, items: list[ScanMutationArgs], ctx: Context) -> Outcomes:
    return await passes.scan_contractor_passes(actor, items, ctx.sealer)


async def _goods_exit(actor: Actor, items: list[GoodsExitMutationArgs], ctx: Context) -> Outcomes:
    return await passes.record_goods_exits(actor, items, ctx.sealer)


# name: (args, apply, live event published once the push has committed)
GATE_MUTATIONS: dict[str, tuple[type[BaseModel], Apply, str]] = {
    "visitors.register": (VisitMutationArgs, _register, "visit.registered"),
    "visitors.check_out": (CheckOutMutationArgs, _check_out, "visit.checked_out"),
    "visitors.decide": (DecisionMutationArgs, _decide, "visit.decided"),
    "vehicles.enter": (VehicleEntryMutationArgs, _enter, "vehicle.entered"),
    "vehicles.exit": (VehicleExitMutationArgs, _exit, "vehicle.exited"),
    "vehicles.check_start": (VehicleCheckMutationArgs, _check_start, ""),
    "vehicles.check_item": (VehicleCheckItemMutationArgs, _check_item, "vehicle.checked"),
    "vehicles.check_finish": (VehicleCheckFinishMutationArgs, _check_finish, ""),
    "passes.contractor_scan": (ScanMutationArgs, _contractor_scan, "contractor.entered"),
    "passes.goods_exit": (GoodsExitMutationArgs, _goods_exit, "goods_pass.exited"),
}
