"""Checkpoints and their tags: who may see and change them, and how tag keys are kept."""

from __future__ import annotations

import hashlib
import re
import secrets

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import DuplicateName, NotFound, ValidationFailed
from backend.http import ClientInfo
from backend.models.organizations import Zone
from backend.models.patrol import Checkpoint, Tag, TagKind, Tour
from backend.models.users import Role
from backend.schemas.common import ListQuery
from backend.schemas.patrol import CheckpointIn, CheckpointPatch, TagIn, TagPatch
from backend.sealing import Sealer
from backend.services import audit
from backend.services.listing import apply_patch, paginate, snapshot
from backend.services.organizations import active_site, check_zone
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site

_CHECKPOINT_FIELDS = ("name", "zone_id", "latitude", "longitude", "radius_m")
_UID = re.compile(r"^[0-9A-F]{14}$")
# Unambiguous characters for printed codes (no 0/O, 1/I/L).
_QR_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def code_hash(salt: str, kind: TagKind, identifier: str) -> str:
    """What the phone's offline plan holds for a QR code or NFC UID instead of the code itself:
    it can match what it reads without carrying anything worth printing."""
    return hashlib.sha256(f"{salt}:{kind.value}:{identifier}".encode()).hexdigest()


def tag_purpose(kind: TagKind, identifier: str) -> str:
    """What a tag's sealed keys are bound to: they cannot be moved onto another tag."""
    return f"tag:{kind.value}:{identifier}"


# --- checkpoints -----------------------------------------------------------------------------


async def list_checkpoints(
    actor: Actor, site_id: int, listing: ListQuery
) -> tuple[list[Checkpoint], int]:
    require_site(actor, site_id, STAFF)
    return await paginate(Checkpoint.filter(site_id=site_id), listing, ("name",), order="name")


async def create_checkpoint(
    actor: Actor, site_id: int, data: CheckpointIn, info: ClientInfo
) -> Checkpoint:
    require_site(actor, site_id, (Role.admin,))
    site = await active_site(site_id)
    await check_zone(site.id, data.zone_id)
    async with in_transaction():
        if await Checkpoint.exists(site_id=site.id, name=data.name):
            raise DuplicateName(name=data.name)
        checkpoint = await Checkpoint.create(
            site=site,
            **data.model_dump(exclude={"checklist"}),
            checklist=[item.model_dump() for item in data.checklist],
        )
        await audit.record(
            actor,
            info,
            "checkpoint.created",
            "checkpoint",
            checkpoint.id,
            site_id=site.id,
            after=snapshot(checkpoint, _CHECKPOINT_FIELDS),
        )
    return checkpoint


async def update_checkpoint(
    actor: Actor, checkpoint_id: int, patch: CheckpointPatch, info: ClientInfo
) -> Checkpoint:
    checkpoint = await Checkpoint.get_or_none(id=checkpoint_id)
    if checkpoint is None:
        raise NotFound("checkpoint")
    require_site(actor, checkpoint.site_id, (Role.admin,))
    if "zone_id" in patch.model_fields_set:
        await check_zone(checkpoint.site_id, patch.zone_id, current=checkpoint.zone_id)
    checklist = patch.checklist
    plain = patch.model_copy(update={"checklist": None})
    plain.model_fields_set.discard("checklist")
    async with in_transaction():
        before, after = apply_patch(checkpoint, plain)
        if checklist is not None:
            before["checklist"] = len(checkpoint.checklist)
            checkpoint.checklist = [item.model_dump() for item in checklist]
            after["checklist"] = len(checklist)
        try:
            await checkpoint.save()
        except IntegrityError as exc:
            raise DuplicateName(name=checkpoint.name) from exc
        await audit.record(
            actor,
            info,
            "checkpoint.updated",
            "checkpoint",
            checkpoint.id,
            site_id=checkpoint.site_id,
            before=before,
            after=after,
        )
    return checkpoint


# --- tags ------------------------------------------------------------------------------------


async def list_tags(actor: Actor, site_id: int, listing: ListQuery) -> tuple[list[Tag], int]:
    # Guards do not list tags: the list holds every QR code, which is how copies get printed.
    require_site(actor, site_id, MANAGERS)
    return await paginate(Tag.filter(site_id=site_id), listing, ("identifier", "label"))


def _identifier(data: TagIn, checkpoint: Checkpoint | None) -> str:
    kind = data.kind
    if kind == TagKind.qr:
        return data.identifier or "AB" + "".join(secrets.choice(_QR_ALPHABET) for _ in range(14))
    if kind == TagKind.gps:
        if checkpoint is None:
            raise ValidationFailed.field("checkpoint_id", "required_for_kind")
        if checkpoint.latitude is None or checkpoint.longitude is None:
            raise ValidationFailed.field("checkpoint_id", "needs_position")
        return f"gps-{checkpoint.id}"
    if not data.identifier:
        raise ValidationFailed.field("identifier", "required_for_kind")
    if kind in (TagKind.nfc_uid, TagKind.nfc_sun):
        uid = data.identifier.replace(":", "").upper()
        if not _UID.match(uid):
            raise ValidationFailed.field("identifier", "bad_uid")
        return uid
    return data.identifier


def _secret(data: TagIn) -> bytes | None:
    """The keys to seal for this kind; refuses keys a kind does not use or lacks."""
    wanted = {
        TagKind.nfc_sun: ("sdm_meta_read_key", "sdm_file_read_key"),
        TagKind.ble_eid: ("identity_key", "rotation_exponent", "clock_offset"),
    }.get(data.kind, ())
    for name in (
        "sdm_meta_read_key",
        "sdm_file_read_key",
        "identity_key",
        "rotation_exponent",
        "clock_offset",
    ):
        given = getattr(data, name) is not None
        if name in wanted and not given:
            raise ValidationFailed.field(name, "required_for_kind")
        if name not in wanted and given:
            raise ValidationFailed.field(name, "not_for_kind")
    if data.kind == TagKind.nfc_sun:
        assert data.sdm_meta_read_key and data.sdm_file_read_key
        return bytes.fromhex(data.sdm_meta_read_key) + bytes.fromhex(data.sdm_file_read_key)
    if data.kind == TagKind.ble_eid:
        assert data.identity_key
        return bytes.fromhex(data.identity_key)
    return None


async def create_tag(
    actor: Actor, site_id: int, data: TagIn, info: ClientInfo, sealer: Sealer
) -> Tag:
    require_site(actor, site_id, (Role.admin,))
    site = await active_site(site_id)
    checkpoint = None
    if data.checkpoint_id is not None:
        checkpoint = await Checkpoint.get_or_none(id=data.checkpoint_id, site_id=site.id)
        if checkpoint is None:
            raise ValidationFailed.field("checkpoint_id", "not_found")
    identifier = _identifier(data, checkpoint)
    secret = _secret(data)
    sealed = sealer.seal(secret, tag_purpose(data.kind, identifier)) if secret else None
    async with in_transaction():
        if await Tag.exists(kind=data.kind, identifier=identifier):
            raise ValidationFailed.field("identifier", "identifier_taken")
        tag = await Tag.create(
            site=site,
            checkpoint=checkpoint,
            kind=data.kind,
            identifier=identifier,
            label=data.label,
            secret_sealed=sealed,
            eid_rotation_exponent=data.rotation_exponent,
            eid_clock_offset=data.clock_offset,
        )
        await audit.record(
            actor,
            info,
            "tag.created",
            "tag",
            tag.id,
            site_id=site.id,
            after={"kind": tag.kind, "identifier": identifier, "checkpoint_id": tag.checkpoint_id},
        )
    return tag


async def update_tag(actor: Actor, tag_id: int, patch: TagPatch, info: ClientInfo) -> Tag:
    tag = await Tag.get_or_none(id=tag_id)
    if tag is None:
        raise NotFound("tag")
    require_site(actor, tag.site_id, (Role.admin,))
    if patch.checkpoint_id is not None and not await Checkpoint.exists(
        id=patch.checkpoint_id, site_id=tag.site_id
    ):
        raise ValidationFailed.field("checkpoint_id", "not_found")
    async with in_transaction():
        before, after = apply_patch(tag, patch)
        await tag.save()
        await audit.record(
            actor,
            info,
            "tag.updated",
            "tag",
            tag.id,
            site_id=tag.site_id,
            before=before,
            after=after,
        )
    return tag


async def coverage(actor: Actor, site_id: int) -> tuple[list[int], list[int], list[int]]:
    """Zones with no active checkpoint, active checkpoints with no active tag, and active
    checkpoints that no active (non-hotspot) tour includes."""
    require_site(actor, site_id, MANAGERS)
    covered = await Checkpoint.filter(site_id=site_id, is_active=True).values_list(
        "zone_id", flat=True
    )
    zones = (
        await Zone.filter(site_id=site_id, is_active=True)
        .exclude(id__in=[z for z in covered if z is not None])
        .order_by("id")
        .values_list("id", flat=True)
    )
    tagged = await Tag.filter(site_id=site_id, is_active=True).values_list(
        "checkpoint_id", flat=True
    )
    bare = (
        await Checkpoint.filter(site_id=site_id, is_active=True)
        .exclude(id__in=[c for c in tagged if c is not None])
        .order_by("id")
        .values_list("id", flat=True)
    )
    toured: set[int] = set()
    for stops in await Tour.filter(
        site_id=site_id, is_active=True, hotspot_zone_id=None
    ).values_list("stops", flat=True):
        toured.update(stops)
    active = (
        await Checkpoint.filter(site_id=site_id, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    untoured = [int(c) for c in active if c not in toured]  # type: ignore[call-overload,comparison-overlap]
    return (
        [int(z) for z in zones],  # type: ignore[call-overload]
        [int(c) for c in bare],  # type: ignore[call-overload]
        untoured,
    )
