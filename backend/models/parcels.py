"""Parcels (快递) left at the guard room: intake, the pickup code, notice, pickup or return."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Unit
from backend.models.users import User


class ParcelStatus(StrEnum):
    received = "received"
    notified = "notified"  # a notice reached at least one of the recipient's devices
    picked_up = "picked_up"
    returned = "returned"  # sent back to the carrier


WAITING = (ParcelStatus.received, ParcelStatus.notified)


class PickupMethod(StrEnum):
    code = "code"  # the resident told or showed the 6-character code
    qr = "qr"  # the guard scanned the resident's pickup pass
    override = "override"  # a supervisor, with a reason (a lost phone, ID shown)


class ProofKind(StrEnum):
    photo = "photo"
    signature = "signature"


class Parcel(Model):
    # Made on the phone, so a parcel registered offline keeps one id from the first tap on.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="parcels", on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="parcels", on_delete=fields.RESTRICT
    )
    recipient: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="parcels", null=True, on_delete=fields.SET_NULL
    )
    recipient_name = fields.CharField(max_length=120, default="")  # as written on the label
    carrier = fields.CharField(max_length=40, default="")
    tracking_number = fields.CharField(max_length=64, default="", db_index=True)
    label_sha256 = fields.CharField(max_length=64, null=True)  # the label photo (media)
    shelf = fields.CharField(max_length=32, default="")
    perishable = fields.BooleanField(default=False)
    fragile = fields.BooleanField(default=False)
    oversized = fields.BooleanField(default=False)
    note = fields.CharField(max_length=500, default="")
    status = fields.CharEnumField(ParcelStatus, max_length=16, default=ParcelStatus.received)
    # The pickup code, kept for the record; `active_code` holds it only while the parcel waits,
    # which makes it unique among a site's waiting parcels (NULLs never collide).
    code = fields.CharField(max_length=6)
    active_code = fields.CharField(max_length=6, null=True)
    received_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="parcels_received", on_delete=fields.RESTRICT
    )
    device_id = fields.IntField(null=True)
    client_time = fields.DatetimeField()
    received_at = fields.DatetimeField()
    notified_at = fields.DatetimeField(null=True)
    last_reminded_at = fields.DatetimeField(null=True)
    reminders = fields.IntField(default=0)
    picked_up_at = fields.DatetimeField(null=True)
    handed_over_by_id = fields.IntField(null=True)  # the guard
    pickup_method = fields.CharEnumField(PickupMethod, max_length=16, null=True)
    collected_by_name = fields.CharField(max_length=120, default="")  # someone on their behalf
    collector_photo_sha256 = fields.CharField(max_length=64, null=True)
    proof_sha256 = fields.CharField(max_length=64, null=True)
    proof_kind = fields.CharEnumField(ProofKind, max_length=16, null=True)
    returned_at = fields.DatetimeField(null=True)
    returned_by_id = fields.IntField(null=True)
    return_reason = fields.CharField(max_length=255, default="")

    site_id: int
    unit_id: int
    recipient_id: int | None
    received_by_id: int

    class Meta:
        table = "parcels"
        unique_together = (("site", "active_code"),)
        indexes = (("site_id", "status", "received_at"), ("unit_id", "status"))
