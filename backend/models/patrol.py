"""Patrol: checkpoints and the tags that prove a guard stood at one."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Zone


class TagKind(StrEnum):
    qr = "qr"  # printed label with a random code: copyable, weak
    nfc_uid = "nfc_uid"  # plain NFC tag id: copyable, weak
    nfc_sun = "nfc_sun"  # NTAG 424 DNA: fresh AES-CMAC per tap over UID and counter, strong
    ble_static = "ble_static"  # a fixed beacon id: copyable, weak
    ble_eid = "ble_eid"  # Eddystone-EID: the id rotates from a shared key, strong
    gps = "gps"  # position within the checkpoint's radius: supporting evidence


class Checkpoint(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="checkpoints", on_delete=fields.RESTRICT
    )
    zone: fields.ForeignKeyNullableRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="checkpoints", null=True, on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=120)
    # Items answered at the scan: [{"key": "door", "label": "消防门关闭", "kind": "check"}, ...]
    checklist: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    radius_m = fields.IntField(default=50)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int
    zone_id: int | None

    class Meta:
        table = "checkpoints"
        unique_together = (("site", "name"),)


class Tag(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="tags", on_delete=fields.RESTRICT
    )
    checkpoint: fields.ForeignKeyNullableRelation[Checkpoint] = fields.ForeignKeyField(
        "models.Checkpoint", related_name="tags", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(TagKind, max_length=16)
    # Unique across all sites per kind, so a tag carried to another site is recognised as such.
    identifier = fields.CharField(max_length=128)
    label = fields.CharField(max_length=120, default="")
    # Keys sealed under the master key (backend.sealing); never returned by the API.
    secret_sealed = fields.TextField(null=True)
    eid_rotation_exponent = fields.IntField(null=True)
    # The EID beacon's clock: its time counter = now (Unix seconds) - this offset.
    eid_clock_offset = fields.BigIntField(null=True)
    # The highest NTAG 424 read counter accepted so far; a tap must go above it.
    sun_counter = fields.IntField(default=-1)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int
    checkpoint_id: int | None

    class Meta:
        table = "tags"
        unique_together = (("kind", "identifier"),)
