"""People and their memberships."""

from __future__ import annotations

from backend.api import Call, Router
from backend.routes.organizations import page
from backend.schemas.common import Page
from backend.schemas.users import (
    MembershipIn,
    MembershipOut,
    MembershipPatch,
    MembershipQuery,
    UserIn,
    UserOut,
    UserPatch,
    UserQuery,
)
from backend.services import users as svc

router = Router("users")


@router.get(
    "/api/users", summary="People at the sites I manage", query=UserQuery, response=Page[UserOut]
)
async def list_users(call: Call) -> Page[UserOut]:
    rows, total = await svc.list_users(call.actor, call.query)
    return page(UserOut, rows, total, call.query)


@router.post(
    "/api/users",
    summary="Create an account (site admin; with a first membership)",
    body=UserIn,
    response=UserOut,
    status=201,
)
async def create_user(call: Call) -> UserOut:
    user = await svc.create_user(call.actor, call.body, call.info, call.settings)
    return UserOut.model_validate(user)


@router.get("/api/users/{user_id:int}", summary="One person", response=UserOut)
async def get_user(call: Call) -> UserOut:
    return UserOut.model_validate(await svc.get_user(call.actor, call.path["user_id"]))


@router.patch(
    "/api/users/{user_id:int}",
    summary="Update a person, reset a password, deactivate (signs them out)",
    body=UserPatch,
    response=UserOut,
)
async def update_user(call: Call) -> UserOut:
    user = await svc.update_user(
        call.actor, call.path["user_id"], call.body, call.info, call.settings
    )
    return UserOut.model_validate(user)


@router.get(
    "/api/sites/{site_id:int}/memberships",
    summary="Roles at a site",
    query=MembershipQuery,
    response=Page[MembershipOut],
)
async def list_memberships(call: Call) -> Page[MembershipOut]:
    rows, total = await svc.list_memberships(call.actor, call.path["site_id"], call.query)
    return page(MembershipOut, rows, total, call.query)


@router.post(
    "/api/sites/{site_id:int}/memberships",
    summary="Give a person a role at a site",
    body=MembershipIn,
    response=MembershipOut,
    status=201,
)
async def create_membership(call: Call) -> MembershipOut:
    m = await svc.create_membership(call.actor, call.path["site_id"], call.body, call.info)
    return MembershipOut.model_validate(m)


@router.patch(
    "/api/memberships/{membership_id:int}",
    summary="Change or deactivate a role at a site",
    body=MembershipPatch,
    response=MembershipOut,
)
async def update_membership(call: Call) -> MembershipOut:
    m = await svc.update_membership(call.actor, call.path["membership_id"], call.body, call.info)
    return MembershipOut.model_validate(m)
