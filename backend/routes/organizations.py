"""Organizations, sites, zones and units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from backend.api import Call, Router
from backend.schemas.common import ListQuery, Page
from backend.schemas.organizations import (
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    SiteIn,
    SiteOut,
    SitePatch,
    UnitIn,
    UnitOut,
    UnitPatch,
    UnitQuery,
    ZoneIn,
    ZoneOut,
    ZonePatch,
)
from backend.services import organizations as svc

router = Router("organizations")


T = TypeVar("T", bound=BaseModel)


def page(model: type[T], rows: Sequence[object], total: int, listing: ListQuery) -> Page[T]:
    """A page of `model`s built from ORM rows."""
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(r) for r in rows],
        total=total,
        limit=listing.limit,
        offset=listing.offset,
    )


@router.get(
    "/api/organizations",
    summary="List organizations",
    query=ListQuery,
    response=Page[OrganizationOut],
)
async def list_organizations(call: Call) -> Page[OrganizationOut]:
    rows, total = await svc.list_organizations(call.actor, call.query)
    return page(OrganizationOut, rows, total, call.query)


@router.post(
    "/api/organizations",
    summary="Create an organization (superuser)",
    body=OrganizationIn,
    response=OrganizationOut,
    status=201,
)
async def create_organization(call: Call) -> OrganizationOut:
    org = await svc.create_organization(call.actor, call.body, call.info)
    return OrganizationOut.model_validate(org)


@router.get(
    "/api/organizations/{organization_id:int}", summary="One organization", response=OrganizationOut
)
async def get_organization(call: Call) -> OrganizationOut:
    org = await svc.get_organization(call.actor, call.path["organization_id"])
    return OrganizationOut.model_validate(org)


@router.patch(
    "/api/organizations/{organization_id:int}",
    summary="Rename, deactivate or reactivate an organization",
    body=OrganizationPatch,
    response=OrganizationOut,
)
async def update_organization(call: Call) -> OrganizationOut:
    org = await svc.update_organization(
        call.actor, call.path["organization_id"], call.body, call.info
    )
    return OrganizationOut.model_validate(org)


@router.get("/api/sites", summary="Sites I belong to", query=ListQuery, response=Page[SiteOut])
async def list_sites(call: Call) -> Page[SiteOut]:
    rows, total = await svc.list_sites(call.actor, call.query)
    return page(SiteOut, rows, total, call.query)


@router.post(
    "/api/sites",
    summary="Create a site (organization admin)",
    body=SiteIn,
    response=SiteOut,
    status=201,
)
async def create_site(call: Call) -> SiteOut:
    site = await svc.create_site(call.actor, call.body, call.info, call.settings)
    return SiteOut.model_validate(site)


@router.get("/api/sites/{site_id:int}", summary="One site", response=SiteOut)
async def get_site(call: Call) -> SiteOut:
    return SiteOut.model_validate(await svc.get_site(call.actor, call.path["site_id"]))


@router.patch(
    "/api/sites/{site_id:int}",
    summary="Update or deactivate a site (site admin)",
    body=SitePatch,
    response=SiteOut,
)
async def update_site(call: Call) -> SiteOut:
    site = await svc.update_site(call.actor, call.path["site_id"], call.body, call.info)
    return SiteOut.model_validate(site)


@router.get(
    "/api/sites/{site_id:int}/zones",
    summary="Zones of a site (staff)",
    query=ListQuery,
    response=Page[ZoneOut],
)
async def list_zones(call: Call) -> Page[ZoneOut]:
    rows, total = await svc.list_zones(call.actor, call.path["site_id"], call.query)
    return page(ZoneOut, rows, total, call.query)


@router.post(
    "/api/sites/{site_id:int}/zones",
    summary="Create a zone (site admin)",
    body=ZoneIn,
    response=ZoneOut,
    status=201,
)
async def create_zone(call: Call) -> ZoneOut:
    zone = await svc.create_zone(call.actor, call.path["site_id"], call.body, call.info)
    return ZoneOut.model_validate(zone)


@router.patch(
    "/api/zones/{zone_id:int}",
    summary="Update or deactivate a zone (site admin)",
    body=ZonePatch,
    response=ZoneOut,
)
async def update_zone(call: Call) -> ZoneOut:
    zone = await svc.update_zone(call.actor, call.path["zone_id"], call.body, call.info)
    return ZoneOut.model_validate(zone)


@router.get(
    "/api/sites/{site_id:int}/units",
    summary="Units of a site (staff: all; a resident: their own), optionally of one zone",
    query=UnitQuery,
    response=Page[UnitOut],
)
async def list_units(call: Call) -> Page[UnitOut]:
    rows, total = await svc.list_units(call.actor, call.path["site_id"], call.query)
    return page(UnitOut, rows, total, call.query)


@router.post(
    "/api/sites/{site_id:int}/units",
    summary="Create a unit (site admin)",
    body=UnitIn,
    response=UnitOut,
    status=201,
)
async def create_unit(call: Call) -> UnitOut:
    unit = await svc.create_unit(call.actor, call.path["site_id"], call.body, call.info)
    return UnitOut.model_validate(unit)


@router.patch(
    "/api/units/{unit_id:int}",
    summary="Update or deactivate a unit (site admin)",
    body=UnitPatch,
    response=UnitOut,
)
async def update_unit(call: Call) -> UnitOut:
    unit = await svc.update_unit(call.actor, call.path["unit_id"], call.body, call.info)
    return UnitOut.model_validate(unit)
