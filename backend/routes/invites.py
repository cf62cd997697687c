"""Residents' invites and their signed passes."""

from __future__ import annotations

from backend.api import Call, Router
from backend.schemas.common import Page
from backend.schemas.invites import InviteIn, InviteOut, InviteQuery
from backend.services import invites as svc

router = Router("invites")


@router.get(
    "/api/sites/{site_id:int}/invites",
    summary="Invites of a site (a resident: their unit's)",
    query=InviteQuery,
    response=Page[InviteOut],
)
async def list_invites(call: Call) -> Page[InviteOut]:
    q: InviteQuery = call.query
    rows, total = await svc.list_invites(
        call.actor, call.path["site_id"], q, call.request.app.state.sealer
    )
    return Page[InviteOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/invites",
    summary="Invite a guest (a resident for their unit, or a supervisor)",
    body=InviteIn,
    response=InviteOut,
    status=201,
)
async def create_invite(call: Call) -> InviteOut:
    """The answer carries `code` (show it as a QR code) and `link` (send it to the guest)."""
    return await svc.create_invite(
        call.actor, call.path["site_id"], call.body, call.info, call.request.app.state.sealer
    )


@router.post(
    "/api/invites/{invite_id:uuid}/revoke",
    summary="Revoke an invite (its unit's residents or a supervisor)",
    response=InviteOut,
)
async def revoke_invite(call: Call) -> InviteOut:
    return await svc.revoke_invite(
        call.actor, call.path["invite_id"], call.info, call.request.app.state.sealer
    )
