"""Fire equipment (消防器材) with the BLE beacon that watches it between monthly checks."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.bridge import BeaconKind
from backend.models.organizations import Site, Zone


class EquipmentType(StrEnum):
    extinguisher = "extinguisher"
    hydrant = "hydrant"
    hose_reel = "hose_reel"
    alarm_panel = "alarm_panel"
    emergency_light = "emergency_light"
    other = "other"


class FireEquipment(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="fire_equipment", on_delete=fields.RESTRICT
    )
    zone: fields.ForeignKeyNullableRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="fire_equipment", null=True, on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=120)
    type = fields.CharEnumField(EquipmentType, max_length=24)
    location = fields.CharField(max_length=200, default="")
    # A static beacon id (a rotating EID needs no pairing to watch presence; not used here).
    beacon_kind = fields.CharEnumField(BeaconKind, max_length=16, null=True)
    beacon_ident = fields.CharField(max_length=64, null=True)
    # The beacon's state, kept by what bridges report.
    last_seen_at = fields.DatetimeField(null=True)
    last_bridge_id = fields.IntField(null=True)
    last_rssi = fields.SmallIntField(null=True)
    battery_percent = fields.SmallIntField(null=True)
    battery_low = fields.BooleanField(default=False)
    missing = fields.BooleanField(default=False)
    missing_since = fields.DatetimeField(null=True)
    tamper_at = fields.DatetimeField(null=True)
    moved_at = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int
    zone_id: int | None

    class Meta:
        table = "fire_equipment"
        unique_together = (("site", "name"), ("beacon_kind", "beacon_ident"))
