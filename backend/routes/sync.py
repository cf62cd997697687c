"""The sync protocol: push queued mutations, pull changes (see docs/sync.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from backend.api import Call, Router
from backend.schemas.sync import PUSH_MESSAGE, ChangeOut, PullOut, PullQuery, PushIn, PushOut
from backend.services import changes, sync

router = Router("sync")


@router.post(
    "/api/sync/push",
    summary="Apply a device's queued mutations, once each, in order",
    body=PushIn,
    validate_body=PUSH_MESSAGE.validate_python,
    read_body=sync.read_push,
    response=PushOut,
)
async def push(call: Call) -> Response:
    sealer = call.request.app.state.sealer
    result = await sync.push(
        call.actor, call.body, call.info, call.settings, sealer, call.request.app.state.bus
    )
    # Rendered by hand: up to a few hundred results, the stored ones passed through as they are.
    return Response(result.render(), media_type="application/json")


@router.get(
    "/api/sync/pull",
    summary="Changes after a cursor that the caller may see",
    query=PullQuery,
    response=PullOut,
)
async def pull(call: Call) -> PullOut:
    q: PullQuery = call.query
    limit = min(q.limit or call.settings.sync_page_size, call.settings.sync_page_size)
    page = await changes.pull(call.actor, q.cursor or None, limit)
    return PullOut(
        changes=[
            ChangeOut(
                site_id=c.site_id,
                seq=c.seq,
                entity=c.entity,
                id=c.entity_id,
                op=c.op,
                data=c.data,
                at=c.at,
            )
            for c in page.changes
        ],
        cursor=page.cursor,
        more=page.more,
        reset_sites=page.reset_sites,
        server_time=datetime.now(UTC),
    )
