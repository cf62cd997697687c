"""BLE bridges: what a bridge asks and delivers (with its own token), and their admin."""

from __future__ import annotations

from backend.api import Call, Router
from backend.events import Event
from backend.schemas.bridge import (
    BadgeIn,
    BadgeOut,
    BadgePatch,
    BatchIn,
    BatchOut,
    BridgeConfig,
    BridgeHealth,
    CoverageIn,
    HeartbeatIn,
    KnownTag,
    PairIn,
    Targets,
)
from backend.services import bridge as svc

router = Router("bridge")


@router.get(
    "/api/bridge/config",
    summary="The calling bridge: its site, the tags it should know by name, its intervals",
    auth="any",
    response=BridgeConfig,
)
async def config(call: Call) -> BridgeConfig:
    return await svc.config(call.actor, call.settings)


@router.post(
    "/api/bridge/batches",
    summary="Deliver a batch of sightings and beacon events (once per batch id)",
    auth="any",
    body=BatchIn,
    response=BatchOut,
)
async def deliver(call: Call) -> BatchOut:
    """A replayed batch id answers `duplicate` and changes nothing."""
    done = await svc.ingest(call.actor, call.body, call.settings, call.request.app.state.sealer)
    bus = call.request.app.state.bus
    for event in done.events:
        bus.publish(event)
    if done.out.status == "accepted" and call.actor.device and call.actor.device.site_id:
        bus.publish(
            Event(
                call.actor.device.site_id,
                "bridge.batch",
                {"device_id": call.actor.device.id, "sightings": done.out.sightings},
            )
        )
    return done.out


@router.post(
    "/api/bridge/heartbeat",
    summary="A bridge's health: adapter state and spool size",
    auth="any",
    body=HeartbeatIn,
)
async def heartbeat(call: Call) -> None:
    await svc.heartbeat(call.actor, call.body)


@router.get(
    "/api/bridge/targets",
    summary="What a tag can be paired with at the bridge's site",
    auth="any",
    response=Targets,
)
async def targets(call: Call) -> Targets:
    return await svc.targets(call.actor)


@router.post(
    "/api/bridge/pair",
    summary="Bind a tag the bridge sees to a checkpoint, a guard's badge or fire equipment",
    auth="any",
    body=PairIn,
    response=KnownTag,
    status=201,
)
async def pair(call: Call) -> KnownTag:
    return await svc.pair(call.actor, call.body, call.info, call.request.app.state.sealer)


@router.get(
    "/api/sites/{site_id:int}/bridges",
    summary="The site's bridges and their health",
    response=list[BridgeHealth],
)
async def list_bridges(call: Call) -> list[BridgeHealth]:
    return await svc.list_bridges(call.actor, call.path["site_id"], call.settings)


@router.route(
    "PUT",
    "/api/bridges/{device_id:int}/coverage",
    summary="The checkpoints a bridge stands at (a badge seen there is a scan of each)",
    body=CoverageIn,
    response=BridgeHealth,
)
async def set_coverage(call: Call) -> BridgeHealth:
    return await svc.set_coverage(
        call.actor, call.path["device_id"], call.body, call.info, call.settings
    )


@router.get(
    "/api/sites/{site_id:int}/badges",
    summary="Guards' BLE badges at a site",
    response=list[BadgeOut],
)
async def list_badges(call: Call) -> list[BadgeOut]:
    rows = await svc.list_badges(call.actor, call.path["site_id"])
    return [BadgeOut.model_validate(b) for b in rows]


@router.post(
    "/api/sites/{site_id:int}/badges",
    summary="Give a guard a BLE badge",
    body=BadgeIn,
    response=BadgeOut,
    status=201,
)
async def create_badge(call: Call) -> BadgeOut:
    badge = await svc.create_badge(
        call.actor, call.path["site_id"], call.body, call.info, call.request.app.state.sealer
    )
    return BadgeOut.model_validate(badge)


@router.patch(
    "/api/badges/{badge_id:int}",
    summary="Rename or deactivate a badge",
    body=BadgePatch,
    response=BadgeOut,
)
async def update_badge(call: Call) -> BadgeOut:
    badge = await svc.update_badge(call.actor, call.path["badge_id"], call.body, call.info)
    return BadgeOut.model_validate(badge)
