"""Vehicles: residents' registered cars, entries and exits at the gate, the overnight check."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Unit
from backend.models.users import User
from backend.models.visitors import Visit


class VehicleCondition(StrEnum):
    ok = "ok"
    window_open = "window_open"
    lights_on = "lights_on"
    door_unlocked = "door_unlocked"
    damage = "damage"
    leak = "leak"
    flat_tyre = "flat_tyre"
    blocking = "blocking"  # parked across a lane, a fire exit or another's spot
    unregistered = "unregistered"  # overnight without a registration or an open entry
    other = "other"


class OwnerNotice(StrEnum):
    none = "none"  # nothing wrong
    requested = "requested"  # a notice to the owner is waiting to be sent
    sent = "sent"
    no_owner = "no_owner"  # nobody to tell: the control room follows up


class Vehicle(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="vehicles", on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="vehicles", null=True, on_delete=fields.RESTRICT
    )
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="vehicles", null=True, on_delete=fields.RESTRICT
    )
    plate = fields.CharField(max_length=16)
    plate_override = fields.BooleanField(default=False)
    parking_spot = fields.CharField(max_length=32, default="")
    description = fields.CharField(max_length=120, default="")  # make, colour
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int
    unit_id: int | None
    owner_id: int | None

    class Meta:
        table = "vehicles"
        unique_together = (("site", "plate"),)


class VehicleEntry(Model):
    # Made on the phone, like a visit.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="vehicle_entries", on_delete=fields.RESTRICT
    )
    plate = fields.CharField(max_length=16)
    plate_override = fields.BooleanField(default=False)
    vehicle: fields.ForeignKeyNullableRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    visit: fields.ForeignKeyNullableRelation[Visit] = fields.ForeignKeyField(
        "models.Visit", related_name="vehicle_entries", null=True, on_delete=fields.RESTRICT
    )
    note = fields.TextField(default="")
    entered_at = fields.DatetimeField()
    exited_at = fields.DatetimeField(null=True)
    entered_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="vehicle_entries", on_delete=fields.RESTRICT
    )
    exited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="vehicle_exits", null=True, on_delete=fields.RESTRICT
    )
    device_id = fields.IntField(null=True)
    server_time = fields.DatetimeField()
    purged_at = fields.DatetimeField(null=True)

    site_id: int
    vehicle_id: int | None
    visit_id: str | None
    entered_by_id: int
    exited_by_id: int | None

    class Meta:
        table = "vehicle_entries"
        indexes = (("site_id", "plate"), ("site_id", "exited_at"), ("entered_at",))


# The overnight vehicle check (夜间车辆巡查): a round of the car park, one item per car looked at.
class VehicleCheck(Model):
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="vehicle_checks", on_delete=fields.RESTRICT
    )
    guard: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="vehicle_checks", on_delete=fields.RESTRICT
    )
    note = fields.TextField(default="")
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    server_time = fields.DatetimeField()

    site_id: int
    guard_id: int

    class Meta:
        table = "vehicle_checks"
        indexes = (("site_id", "started_at"),)


class VehicleCheckItem(Model):
    id = fields.UUIDField(primary_key=True)
    check: fields.ForeignKeyRelation[VehicleCheck] = fields.ForeignKeyField(
        "models.VehicleCheck", related_name="items", on_delete=fields.RESTRICT
    )
    site_id = fields.IntField()
    plate = fields.CharField(max_length=16)
    plate_override = fields.BooleanField(default=False)
    vehicle: fields.ForeignKeyNullableRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="check_items", null=True, on_delete=fields.RESTRICT
    )
    parking_spot = fields.CharField(max_length=32, default="")
    condition = fields.CharEnumField(VehicleCondition, max_length=16)
    note = fields.TextField(default="")
    photos: fields.Field[list[str]] = fields.JSONField(default=list)  # media SHA-256s
    owner_notice = fields.CharEnumField(OwnerNotice, max_length=16, default=OwnerNotice.none)
    noted_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="vehicle_check_items", on_delete=fields.RESTRICT
    )
    noted_at = fields.DatetimeField()
    server_time = fields.DatetimeField()

    check_id: str
    vehicle_id: int | None
    noted_by_id: int

    class Meta:
        table = "vehicle_check_items"
