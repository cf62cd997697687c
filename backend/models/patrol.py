"""Patrol: checkpoints and the tags that prove a guard stood at one."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Zone

if TYPE_CHECKING:
    from backend.models.media import Media


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


class ScanMethod(StrEnum):
    qr = "qr"  # camera
    manual = "manual"  # a code typed by hand: the last resort, always looked at
    nfc = "nfc"  # a plain NFC tag id (Web NFC)
    nfc_sun = "nfc_sun"  # an NTAG 424 tap opening /n?e=…&c=…
    ble = "ble"  # a BLE beacon (static id or Eddystone-EID)
    gps = "gps"  # position only


class Verdict(StrEnum):
    valid = "valid"
    suspicious = "suspicious"  # counts only after a supervisor accepts it
    rejected = "rejected"  # never counts; kept for the record


class ReviewStatus(StrEnum):
    none = "none"
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class Scan(Model):
    # Made on the phone, so an offline scan keeps one id from the tap on.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="scans", on_delete=fields.RESTRICT
    )
    checkpoint: fields.ForeignKeyNullableRelation[Checkpoint] = fields.ForeignKeyField(
        "models.Checkpoint", related_name="scans", null=True, on_delete=fields.RESTRICT
    )
    tag: fields.ForeignKeyNullableRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="scans", null=True, on_delete=fields.RESTRICT
    )
    guard_id = fields.IntField(db_index=True)
    device_id = fields.IntField(null=True)
    # The round the guard was walking, when the phone says so.
    round_id = fields.IntField(null=True)
    method = fields.CharEnumField(ScanMethod, max_length=16)
    # What was read (code, uid, SUN parameters, EID), for the record; never a key.
    reading: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    accuracy_m = fields.FloatField(null=True)
    answers: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    client_time = fields.DatetimeField()
    server_time = fields.DatetimeField()
    clock_skew_seconds = fields.IntField(default=0)
    verdict = fields.CharEnumField(Verdict, max_length=16)
    reasons: fields.Field[list[str]] = fields.JSONField(default=list)
    review = fields.CharEnumField(ReviewStatus, max_length=16, default=ReviewStatus.none)
    reviewed_by_id = fields.IntField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    review_note = fields.CharField(max_length=500, default="")

    site_id: int
    checkpoint_id: int | None
    tag_id: int | None

    class Meta:
        table = "scans"
        indexes = (("guard_id", "client_time"), ("site_id", "review"))


class ScanPhoto(Model):
    # A photo a scan's checklist answers with (the photo on a failed item), once checked to be
    # one the guard uploaded: staff of the scan's site may see it, and it stays while the scan
    # does (scans are evidence and are never deleted).
    id = fields.IntField(primary_key=True)
    scan: fields.ForeignKeyRelation[Scan] = fields.ForeignKeyField(
        "models.Scan", related_name="photos", on_delete=fields.RESTRICT
    )
    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="scan_photos", on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=32)  # the checklist item answered with it

    scan_id: Any
    media_id: str

    class Meta:
        table = "scan_photos"
        unique_together = (("scan", "key"),)


class TourOrder(StrEnum):
    fixed = "fixed"
    any = "any"


class Tour(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="tours", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=120)
    order = fields.CharEnumField(TourOrder, max_length=8, default=TourOrder.any)
    # Schedule in the site's time zone: ISO weekdays (1 = Monday) on which a run of rounds
    # starts, from start_time to end_time (an end at or before the start means the next day),
    # a round every every_minutes, each open for window_minutes.
    days: fields.Field[list[int]] = fields.JSONField(default=list)
    start_time = fields.CharField(max_length=5)
    end_time = fields.CharField(max_length=5)
    every_minutes = fields.IntField()
    window_minutes = fields.IntField()
    # "Not before": the least time between two checkpoints of a round.
    min_spacing_seconds = fields.IntField(default=0)
    # Checkpoint ids in patrol order.
    stops: fields.Field[list[int]] = fields.JSONField(default=list)
    # A hotspot: extra rounds over one zone's checkpoints until a date (after a complaint).
    hotspot_zone_id = fields.IntField(null=True)
    expires_at = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int

    class Meta:
        table = "tours"
        unique_together = (("site", "name"),)


class RoundStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    ended_early = "ended_early"
    closed = "closed"


class Round(Model):
    id = fields.IntField(primary_key=True)
    tour: fields.ForeignKeyRelation[Tour] = fields.ForeignKeyField(
        "models.Tour", related_name="rounds", on_delete=fields.RESTRICT
    )
    site_id = fields.IntField()
    due_at = fields.DatetimeField()
    closes_at = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(RoundStatus, max_length=16, default=RoundStatus.scheduled)
    guard_id = fields.IntField(null=True)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    end_reason = fields.CharField(max_length=500, default="")
    # Per checkpoint, in tour order: {"checkpoint_id", "status": pending|done|late|missed,
    # "scan_id", "at"}
    stops: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)

    tour_id: int

    class Meta:
        table = "rounds"
        unique_together = (("tour", "due_at"),)
        indexes = (("site_id", "due_at"),)
