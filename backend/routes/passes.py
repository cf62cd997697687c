"""Contractor passes, goods-out passes (物品出门证), unit approvers, and scanning any pass code."""

from __future__ import annotations

from backend.api import Call, Router
from backend.schemas.common import Page
from backend.schemas.passes import (
    ApproverIn,
    ApproverOut,
    ContractorEntryOut,
    ContractorPassIn,
    ContractorPassOut,
    ContractorPassQuery,
    GoodsDecisionIn,
    GoodsExitIn,
    GoodsPassIn,
    GoodsPassOut,
    GoodsPassQuery,
    PassCheckIn,
    PassCheckOut,
    RevokeIn,
    ScanIn,
)
from backend.services import passes as svc

router = Router("passes")


@router.post(
    "/api/sites/{site_id:int}/passes/check",
    summary="What a scanned pass code is, and whether the gate may accept it now",
    body=PassCheckIn,
    response=PassCheckOut,
)
async def check_code(call: Call) -> PassCheckOut:
    """Invites, contractor passes and goods-out passes alike; changes nothing. A forged or
    altered code answers `422 pass_invalid`, another site's `409 pass_wrong_site`."""
    return await svc.check_code(
        call.actor, call.path["site_id"], call.body.code, call.info, call.request.app.state.sealer
    )


@router.get(
    "/api/sites/{site_id:int}/contractor-passes",
    summary="Contractor passes of a site",
    query=ContractorPassQuery,
    response=Page[ContractorPassOut],
)
async def list_contractor_passes(call: Call) -> Page[ContractorPassOut]:
    q: ContractorPassQuery = call.query
    rows, total = await svc.list_contractor_passes(
        call.actor, call.path["site_id"], q, call.request.app.state.sealer
    )
    return Page[ContractorPassOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/contractor-passes",
    summary="Issue a contractor's pass (supervisor); one active pass per person",
    body=ContractorPassIn,
    response=ContractorPassOut,
    status=201,
)
async def issue_contractor_pass(call: Call) -> ContractorPassOut:
    return await svc.issue_contractor_pass(
        call.actor, call.path["site_id"], call.body, call.info, call.request.app.state.sealer
    )


@router.post(
    "/api/contractor-passes/{pass_id:uuid}/revoke",
    summary="Revoke a contractor's pass (supervisor)",
    body=RevokeIn,
    response=ContractorPassOut,
)
async def revoke_contractor_pass(call: Call) -> ContractorPassOut:
    return await svc.revoke_contractor_pass(
        call.actor, call.path["pass_id"], call.body, call.info, call.request.app.state.sealer
    )


@router.post(
    "/api/sites/{site_id:int}/contractor-passes/scan",
    summary="Let a contractor in on their pass (the entry is recorded)",
    body=ScanIn,
    response=ContractorEntryOut,
    status=201,
)
async def scan_contractor_pass(call: Call) -> ContractorEntryOut:
    return await svc.scan_contractor_pass(
        call.actor, call.path["site_id"], call.body, call.request.app.state.sealer
    )


@router.get(
    "/api/sites/{site_id:int}/goods-passes",
    summary="Goods-out passes, the archive (a resident: their unit's); search by item",
    query=GoodsPassQuery,
    response=Page[GoodsPassOut],
)
async def list_goods_passes(call: Call) -> Page[GoodsPassOut]:
    q: GoodsPassQuery = call.query
    rows, total = await svc.list_goods_passes(
        call.actor, call.path["site_id"], q, call.request.app.state.sealer
    )
    return Page[GoodsPassOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/goods-passes",
    summary="Request a goods-out pass for your unit (resident or tenant)",
    body=GoodsPassIn,
    response=GoodsPassOut,
    status=201,
)
async def request_goods_pass(call: Call) -> GoodsPassOut:
    return await svc.request_goods_pass(
        call.actor, call.path["site_id"], call.body, call.info, call.request.app.state.sealer
    )


@router.get(
    "/api/goods-passes/{pass_id:uuid}",
    summary="One goods-out pass",
    response=GoodsPassOut,
)
async def get_goods_pass(call: Call) -> GoodsPassOut:
    return await svc.get_goods_pass(call.actor, call.path["pass_id"], call.request.app.state.sealer)


@router.post(
    "/api/goods-passes/{pass_id:uuid}/decision",
    summary="Approve (stamp) or reject a goods-out pass (the unit's authorised approver)",
    body=GoodsDecisionIn,
    response=GoodsPassOut,
)
async def decide_goods_pass(call: Call) -> GoodsPassOut:
    return await svc.decide_goods_pass(
        call.actor, call.path["pass_id"], call.body, call.info, call.request.app.state.sealer
    )


@router.post(
    "/api/sites/{site_id:int}/goods-passes/exit",
    summary="Check a goods-out pass at the exit: scan it, tick the items, record the exit",
    body=GoodsExitIn,
    response=GoodsPassOut,
)
async def record_goods_exit(call: Call) -> GoodsPassOut:
    return await svc.record_goods_exit(
        call.actor, call.path["site_id"], call.body, call.request.app.state.sealer
    )


@router.get(
    "/api/units/{unit_id:int}/approvers",
    summary="Who may stamp the unit's goods-out passes (supervisor)",
    response=list[ApproverOut],
)
async def list_approvers(call: Call) -> list[ApproverOut]:
    return await svc.list_approvers(call.actor, call.path["unit_id"])


@router.post(
    "/api/units/{unit_id:int}/approvers",
    summary="Name a resident of the unit its goods-out approver (admin)",
    body=ApproverIn,
    response=ApproverOut,
    status=201,
)
async def add_approver(call: Call) -> ApproverOut:
    return await svc.add_approver(call.actor, call.path["unit_id"], call.body, call.info)


@router.delete(
    "/api/units/{unit_id:int}/approvers/{user_id:int}",
    summary="Remove a unit's goods-out approver (admin)",
)
async def remove_approver(call: Call) -> None:
    await svc.remove_approver(call.actor, call.path["unit_id"], call.path["user_id"], call.info)
