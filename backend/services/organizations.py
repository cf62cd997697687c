"""Organizations, sites, zones and units: who may see and change them, and how."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import DuplicateName, Inactive, NotFound, ValidationFailed
from backend.http import ClientInfo
from backend.models.organizations import Organization, Site, Unit, Zone
from backend.models.users import Membership, Role
from backend.schemas.common import ListQuery
from backend.schemas.organizations import (
    OrganizationIn,
    OrganizationPatch,
    SiteIn,
    SitePatch,
    UnitIn,
    UnitPatch,
    UnitQuery,
    ZoneIn,
    ZonePatch,
)
from backend.services import audit
from backend.services.listing import apply_patch, paginate, snapshot
from backend.services.permissions import (
    STAFF,
    Actor,
    require_organization_admin,
    require_site,
    require_superuser,
)
from backend.settings import Settings

_SITE_FIELDS = ("name", "kind", "timezone", "address", "after_hours_start", "after_hours_end")

# --- organizations ---------------------------------------------------------------------------


async def list_organizations(actor: Actor, listing: ListQuery) -> tuple[list[Organization], int]:
    query = Organization.all()
    if not actor.is_superuser:
        query = query.filter(id__in=actor.organization_ids())
    return await paginate(query, listing, ("name",))


async def get_organization(actor: Actor, organization_id: int) -> Organization:
    if not actor.is_superuser and organization_id not in actor.organization_ids():
        raise NotFound("organization")
    org = await Organization.get_or_none(id=organization_id)
    if org is None:
        raise NotFound("organization")
    return org


async def create_organization(actor: Actor, data: OrganizationIn, info: ClientInfo) -> Organization:
    require_superuser(actor)
    async with in_transaction():
        if await Organization.exists(name=data.name):
            raise DuplicateName(name=data.name)
        org = await Organization.create(name=data.name)
        await audit.record(
            actor,
            info,
            "organization.created",
            "organization",
            org.id,
            organization_id=org.id,
            after={"name": org.name},
        )
    return org


async def update_organization(
    actor: Actor, organization_id: int, patch: OrganizationPatch, info: ClientInfo
) -> Organization:
    org = await get_organization(actor, organization_id)
    if patch.is_active is not None:
        require_superuser(actor)
    require_organization_admin(actor, org.id)
    async with in_transaction():
        before, after = apply_patch(org, patch)
        await _save_unique(org)
        await audit.record(
            actor,
            info,
            "organization.updated",
            "organization",
            org.id,
            organization_id=org.id,
            before=before,
            after=after,
        )
    return org


# --- sites -----------------------------------------------------------------------------------


async def list_sites(actor: Actor, listing: ListQuery) -> tuple[list[Site], int]:
    query = Site.all()
    if not actor.is_superuser:
        query = query.filter(id__in=actor.site_ids())
    return await paginate(query, listing, ("name", "address"))


async def get_site(actor: Actor, site_id: int) -> Site:
    require_site(actor, site_id, tuple(Role))
    site = await Site.get_or_none(id=site_id)
    if site is None:
        raise NotFound("site")
    return site


async def create_site(actor: Actor, data: SiteIn, info: ClientInfo, settings: Settings) -> Site:
    require_organization_admin(actor, data.organization_id)
    org = await Organization.get_or_none(id=data.organization_id)
    if org is None:
        raise NotFound("organization")
    if not org.is_active:
        raise Inactive("organization")
    values = data.model_dump(exclude={"organization_id"})
    values["timezone"] = data.timezone or settings.default_timezone
    async with in_transaction():
        if await Site.exists(organization_id=org.id, name=data.name):
            raise DuplicateName(name=data.name)
        site = await Site.create(organization=org, **values)
        await audit.record(
            actor,
            info,
            "site.created",
            "site",
            site.id,
            site_id=site.id,
            organization_id=org.id,
            after=snapshot(site, _SITE_FIELDS),
        )
        if actor.user is not None and not actor.is_superuser:
            # The admin who made the site manages it: without a role there it would vanish
            # from their own list at once, with its zones and people out of their reach.
            membership = await Membership.create(user=actor.user, site=site, role=Role.admin)
            await audit.record(
                actor,
                info,
                "membership.created",
                "membership",
                membership.id,
                site_id=site.id,
                after={"user_id": actor.user.id, "role": Role.admin, "unit_id": None},
            )
    return site


async def update_site(actor: Actor, site_id: int, patch: SitePatch, info: ClientInfo) -> Site:
    site = await Site.get_or_none(id=site_id)
    if site is None:
        raise NotFound("site")
    require_site(actor, site_id, (Role.admin,))
    async with in_transaction():
        before, after = apply_patch(site, patch)
        await _save_unique(site)
        await audit.record(
            actor,
            info,
            "site.updated",
            "site",
            site.id,
            site_id=site.id,
            organization_id=site.organization_id,
            before=before,
            after=after,
        )
    return site


# --- zones -----------------------------------------------------------------------------------


async def list_zones(actor: Actor, site_id: int, listing: ListQuery) -> tuple[list[Zone], int]:
    require_site(actor, site_id, STAFF)
    return await paginate(Zone.filter(site_id=site_id), listing, ("name",), order="name")


async def create_zone(actor: Actor, site_id: int, data: ZoneIn, info: ClientInfo) -> Zone:
    require_site(actor, site_id, (Role.admin,))
    site = await active_site(site_id)
    async with in_transaction():
        if await Zone.exists(site_id=site.id, name=data.name):
            raise DuplicateName(name=data.name)
        zone = await Zone.create(site=site, name=data.name, kind=data.kind)
        await audit.record(
            actor,
            info,
            "zone.created",
            "zone",
            zone.id,
            site_id=site.id,
            organization_id=site.organization_id,
            after=snapshot(zone, ("name", "kind")),
        )
    return zone


async def update_zone(actor: Actor, zone_id: int, patch: ZonePatch, info: ClientInfo) -> Zone:
    zone = await Zone.get_or_none(id=zone_id)
    if zone is None:
        raise NotFound("zone")
    require_site(actor, zone.site_id, (Role.admin,))
    async with in_transaction():
        before, after = apply_patch(zone, patch)
        await _save_unique(zone)
        await audit.record(
            actor,
            info,
            "zone.updated",
            "zone",
            zone.id,
            site_id=zone.site_id,
            before=before,
            after=after,
        )
    return zone


# --- units -----------------------------------------------------------------------------------


async def list_units(actor: Actor, site_id: int, listing: UnitQuery) -> tuple[list[Unit], int]:
    require_site(actor, site_id, tuple(Role))
    query = Unit.filter(site_id=site_id)
    if listing.zone_id is not None:
        # A deactivated zone may be asked about too: its units are still there.
        if not await Zone.exists(id=listing.zone_id, site_id=site_id):
            raise ValidationFailed.field("zone_id", "not_found")
        query = query.filter(zone_id=listing.zone_id)
    if not actor.is_superuser and not actor.roles_at(site_id).intersection(STAFF):
        query = query.filter(id__in=actor.unit_ids(site_id))  # a resident sees only their own
    return await paginate(query, listing, ("label",), order="label")


async def create_unit(actor: Actor, site_id: int, data: UnitIn, info: ClientInfo) -> Unit:
    require_site(actor, site_id, (Role.admin,))
    site = await active_site(site_id)
    await check_zone(site.id, data.zone_id)
    async with in_transaction():
        if await Unit.exists(site_id=site.id, label=data.label):
            raise DuplicateName(name=data.label)
        unit = await Unit.create(site=site, label=data.label, zone_id=data.zone_id)
        await audit.record(
            actor,
            info,
            "unit.created",
            "unit",
            unit.id,
            site_id=site.id,
            organization_id=site.organization_id,
            after=snapshot(unit, ("label", "zone_id")),
        )
    return unit


async def update_unit(actor: Actor, unit_id: int, patch: UnitPatch, info: ClientInfo) -> Unit:
    unit = await Unit.get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("unit")
    require_site(actor, unit.site_id, (Role.admin,))
    if "zone_id" in patch.model_fields_set:
        await check_zone(unit.site_id, patch.zone_id, current=unit.zone_id)
    async with in_transaction():
        before, after = apply_patch(unit, patch)
        await _save_unique(unit)
        await audit.record(
            actor,
            info,
            "unit.updated",
            "unit",
            unit.id,
            site_id=unit.site_id,
            before=before,
            after=after,
        )
    return unit


# --- helpers ---------------------------------------------------------------------------------


async def active_site(site_id: int) -> Site:
    site = await Site.get_or_none(id=site_id)
    if site is None:
        raise NotFound("site")
    if not site.is_active:
        raise Inactive("site")
    return site


async def check_zone(site_id: int, zone_id: int | None, current: int | None = None) -> None:
    """A unit, checkpoint or piece of equipment goes into an active zone of its own site. One
    already in a zone that was since deactivated may stay there: an edit passes the zone it is
    in as `current`, and keeping that zone is not checked."""
    if zone_id is None or zone_id == current:
        return
    if not await Zone.exists(id=zone_id, site_id=site_id, is_active=True):
        raise ValidationFailed.field("zone_id", "not_found")


async def _save_unique(obj: Organization | Site | Zone | Unit) -> None:
    try:
        await obj.save()
    except IntegrityError as exc:
        raise DuplicateName(str(exc)) from exc
