"""BLE bridges at fixed spots: their health, the batches they delivered, what they saw, badges."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.devices import Device
from backend.models.organizations import Site
from backend.models.users import User


class BeaconKind(StrEnum):
    ibeacon = "ibeacon"  # uuid:major:minor
    eddystone_uid = "eddystone_uid"  # namespace + instance, 32 hex
    eddystone_eid = "eddystone_eid"  # rotating 8-byte id, resolved with the beacon's key
    address = "address"  # only the BLE address is stable


class EventType(StrEnum):
    present = "present"
    missing = "missing"
    low_battery = "low_battery"
    tamper = "tamper"
    motion = "motion"


class BridgeState(Model):
    # One row per bridge device, written by its heartbeats and deliveries.
    device: fields.OneToOneRelation[Device] = fields.OneToOneField(
        "models.Device", related_name="bridge_state", primary_key=True, on_delete=fields.CASCADE
    )
    # Checkpoint ids this bridge stands at: a badge seen here is a scan of each of them.
    covers: fields.Field[list[int]] = fields.JSONField(default=list)
    last_heartbeat_at = fields.DatetimeField(null=True)
    last_batch_at = fields.DatetimeField(null=True)
    version = fields.CharField(max_length=40, default="")
    adapter: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    spool_size = fields.IntField(default=0)
    dead_letters = fields.IntField(default=0)

    device_id: int

    class Meta:
        table = "bridge_states"


class BridgeBatch(Model):
    # The bridge's own batch id: a batch is applied once, a replay answers "duplicate".
    id = fields.UUIDField(primary_key=True)
    device_id = fields.IntField()
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="bridge_batches", on_delete=fields.CASCADE
    )
    received_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    sightings = fields.IntField(default=0)
    events = fields.IntField(default=0)

    site_id: int

    class Meta:
        table = "bridge_batches"


class Sighting(Model):
    id = fields.BigIntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="sightings", on_delete=fields.CASCADE
    )
    device_id = fields.IntField()
    batch_id = fields.UUIDField()
    kind = fields.CharEnumField(BeaconKind, max_length=16)
    ident = fields.CharField(max_length=64)
    address = fields.CharField(max_length=17)
    first_seen = fields.DatetimeField()
    last_seen = fields.DatetimeField()
    rssi_max = fields.SmallIntField()
    count = fields.IntField()
    battery_percent = fields.SmallIntField(null=True)
    battery_mv = fields.IntField(null=True)
    temperature_c = fields.FloatField(null=True)

    site_id: int

    class Meta:
        table = "bridge_sightings"
        indexes = (("site_id", "last_seen"), ("kind", "ident"), ("batch_id",))


class BeaconEvent(Model):
    # Made by the bridge, so a re-sent batch cannot record an event twice.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="beacon_events", on_delete=fields.CASCADE
    )
    device_id = fields.IntField()
    batch_id = fields.UUIDField()
    equipment_id = fields.IntField(null=True)
    badge_id = fields.IntField(null=True)
    type = fields.CharEnumField(EventType, max_length=16)
    kind = fields.CharEnumField(BeaconKind, max_length=16)
    ident = fields.CharField(max_length=64)
    address = fields.CharField(max_length=17, default="")
    at = fields.DatetimeField()
    received_at = fields.DatetimeField()
    detail: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)

    site_id: int

    class Meta:
        table = "beacon_events"
        indexes = (("site_id", "at"), ("equipment_id", "at"))


class Badge(Model):
    # A BLE badge a guard wears on rounds; seen near a bridge, it is a scan there.
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="badges", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="badges", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(BeaconKind, max_length=16)
    # The stable id (iBeacon, UID, address); for an EID badge a name made at pairing.
    identifier = fields.CharField(max_length=64)
    label = fields.CharField(max_length=120, default="")
    # The EID identity key sealed under the master key; never returned by the API.
    secret_sealed = fields.TextField(null=True)
    eid_rotation_exponent = fields.IntField(null=True)
    eid_clock_offset = fields.BigIntField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int
    user_id: int

    class Meta:
        table = "badges"
        unique_together = (("kind", "identifier"),)
