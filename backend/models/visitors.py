"""The gate house's people: visitors, their visits, residents' invites, the blocklist and each
site's gate calendar."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Unit
from backend.models.users import User


class VisitPurpose(StrEnum):
    visit = "visit"  # a guest of a resident or tenant
    delivery = "delivery"
    moving = "moving"
    water = "water"  # bottled-water delivery (送水)
    maintenance = "maintenance"
    business = "business"
    interview = "interview"
    other = "other"


class VisitStatus(StrEnum):
    pending_approval = "pending_approval"  # matched the blocklist: a supervisor decides
    pending_confirmation = "pending_confirmation"  # after hours: the control room confirms
    on_site = "on_site"
    checked_out = "checked_out"
    refused = "refused"


class InviteStatus(StrEnum):
    active = "active"
    used = "used"
    revoked = "revoked"


# One row per site, made on first use: when the gate counts as after hours besides the nightly
# window kept on the site itself (after_hours_start / after_hours_end).
class GatePolicy(Model):
    id = fields.IntField(primary_key=True)
    site: fields.OneToOneRelation[Site] = fields.OneToOneField(
        "models.Site", related_name="gate_policy", on_delete=fields.RESTRICT
    )
    weekends_after_hours = fields.BooleanField(default=False)
    # Local dates ("2025-10-01"): public holidays count as after hours all day; workdays are
    # weekend days worked in lieu (调休) that do not.
    holidays: fields.Field[list[str]] = fields.JSONField(default=list)
    workdays: fields.Field[list[str]] = fields.JSONField(default=list)
    # How long a walk-in visit may last before it shows as an overstay.
    visit_hours = fields.IntField(default=4)
    updated_at = fields.DatetimeField(auto_now=True)

    site_id: int

    class Meta:
        table = "gate_policies"


# A person who came to the gate. Personal data (PIPL): the ID number is sealed under the master
# key, found by a keyed hash, shown masked; everything personal is wiped after the retention.
class Visitor(Model):
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="visitors", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=120)
    phone = fields.CharField(max_length=32)
    id_kind = fields.CharField(max_length=24, null=True)
    id_sealed = fields.TextField(null=True)
    id_index = fields.CharField(max_length=64, null=True)
    id_masked = fields.CharField(max_length=48, default="")
    photo_sha256 = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    last_visit_at = fields.DatetimeField()
    purged_at = fields.DatetimeField(null=True)

    site_id: int

    class Meta:
        table = "visitors"
        indexes = (("site_id", "phone"), ("site_id", "id_index"), ("last_visit_at",))


class Invite(Model):
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="invites", on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="invites", on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invites", on_delete=fields.RESTRICT
    )
    guest_name = fields.CharField(max_length=120)
    guest_phone = fields.CharField(max_length=32, default="")
    purpose = fields.CharEnumField(VisitPurpose, max_length=16, default=VisitPurpose.visit)
    headcount = fields.IntField(default=1)
    plate = fields.CharField(max_length=16, null=True)
    note = fields.TextField(default="")
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    status = fields.CharEnumField(InviteStatus, max_length=16, default=InviteStatus.active)
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="revoked_invites", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()
    purged_at = fields.DatetimeField(null=True)

    site_id: int
    unit_id: int
    created_by_id: int
    revoked_by_id: int | None

    class Meta:
        table = "invites"
        indexes = (("site_id", "valid_from"), ("valid_until",))


class BlocklistEntry(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="blocklist", on_delete=fields.RESTRICT
    )
    # A visitor matches on the ID number (by its keyed hash), the phone or the plate; a name
    # alone matches only an entry that has nothing else (a described person).
    name = fields.CharField(max_length=120, default="")
    phone = fields.CharField(max_length=32, default="")
    plate = fields.CharField(max_length=16, default="")
    id_kind = fields.CharField(max_length=24, null=True)
    id_index = fields.CharField(max_length=64, null=True)
    id_masked = fields.CharField(max_length=48, default="")
    reason = fields.TextField()
    added_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="blocklist_entries", on_delete=fields.RESTRICT
    )
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    site_id: int
    added_by_id: int

    class Meta:
        table = "blocklist_entries"


class Visit(Model):
    # Made on the phone, so a visit registered offline keeps one id from the first tap on.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="visits", on_delete=fields.RESTRICT
    )
    visitor: fields.ForeignKeyRelation[Visitor] = fields.ForeignKeyField(
        "models.Visitor", related_name="visits", on_delete=fields.RESTRICT
    )
    host_unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    invite: fields.ForeignKeyNullableRelation[Invite] = fields.ForeignKeyField(
        "models.Invite", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    purpose = fields.CharEnumField(VisitPurpose, max_length=16)
    headcount = fields.IntField(default=1)
    plate = fields.CharField(max_length=16, null=True)
    plate_override = fields.BooleanField(default=False)
    photo_sha256 = fields.CharField(max_length=64, null=True)
    note = fields.TextField(default="")
    status = fields.CharEnumField(VisitStatus, max_length=24)
    after_hours = fields.BooleanField(default=False)
    blocklist_entry: fields.ForeignKeyNullableRelation[BlocklistEntry] = fields.ForeignKeyField(
        "models.BlocklistEntry", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    escort_required = fields.BooleanField(default=False)
    escort: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="escorted_visits", null=True, on_delete=fields.RESTRICT
    )
    arrived_at = fields.DatetimeField()
    checked_in_at = fields.DatetimeField(null=True)
    expected_until = fields.DatetimeField(null=True)
    checked_out_at = fields.DatetimeField(null=True)
    registered_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="registered_visits", on_delete=fields.RESTRICT
    )
    checked_out_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="checked_out_visits", null=True, on_delete=fields.RESTRICT
    )
    # Who approved or refused a blocklisted visitor, or confirmed an after-hours one.
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="decided_visits", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    device_id = fields.IntField(null=True)
    client_time = fields.DatetimeField()
    server_time = fields.DatetimeField()
    purged_at = fields.DatetimeField(null=True)

    site_id: int
    visitor_id: str
    host_unit_id: int | None
    invite_id: str | None
    blocklist_entry_id: int | None
    escort_id: int | None
    registered_by_id: int
    checked_out_by_id: int | None
    decided_by_id: int | None

    class Meta:
        table = "visits"
        indexes = (("site_id", "status"), ("site_id", "server_time"))
