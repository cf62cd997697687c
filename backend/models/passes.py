"""Passes checked at the gate: contractors' passes (one person, one pass) and goods-out passes
(物品出门证) stamped by the unit's authorised approver."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Unit, Zone
from backend.models.users import User


class ContractorPassStatus(StrEnum):
    active = "active"
    revoked = "revoked"


class GoodsPassStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    exited = "exited"


class ContractorPass(Model):
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="contractor_passes", on_delete=fields.RESTRICT
    )
    company = fields.CharField(max_length=120)
    person_name = fields.CharField(max_length=120)
    phone = fields.CharField(max_length=32, default="")
    # Sealed, indexed and masked as a visitor's (backend.sealing); one active pass per index.
    id_kind = fields.CharField(max_length=24, null=True)
    id_sealed = fields.TextField(null=True)
    id_index = fields.CharField(max_length=64, null=True)
    id_masked = fields.CharField(max_length=48, default="")
    photo_sha256 = fields.CharField(max_length=64, null=True)
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    zone_ids: fields.Field[list[int]] = fields.JSONField(default=list)  # empty: any zone
    status = fields.CharEnumField(
        ContractorPassStatus, max_length=16, default=ContractorPassStatus.active
    )
    issued_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="issued_contractor_passes", on_delete=fields.RESTRICT
    )
    revoked_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="revoked_contractor_passes",
        null=True,
        on_delete=fields.RESTRICT,
    )
    revoked_at = fields.DatetimeField(null=True)
    revoke_reason = fields.TextField(default="")
    created_at = fields.DatetimeField()
    purged_at = fields.DatetimeField(null=True)

    site_id: int
    issued_by_id: int
    revoked_by_id: int | None

    class Meta:
        table = "contractor_passes"
        indexes = (("site_id", "id_index"), ("valid_until",))


class ContractorEntry(Model):
    id = fields.UUIDField(primary_key=True)  # made on the phone
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="contractor_entries", on_delete=fields.RESTRICT
    )
    contractor_pass: fields.ForeignKeyRelation[ContractorPass] = fields.ForeignKeyField(
        "models.ContractorPass", related_name="entries", on_delete=fields.RESTRICT
    )
    zone: fields.ForeignKeyNullableRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="contractor_entries", null=True, on_delete=fields.RESTRICT
    )
    guard: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="contractor_entries", on_delete=fields.RESTRICT
    )
    device_id = fields.IntField(null=True)
    scanned_at = fields.DatetimeField()
    server_time = fields.DatetimeField()

    site_id: int
    contractor_pass_id: str
    zone_id: int | None
    guard_id: int

    class Meta:
        table = "contractor_entries"


# Who may stamp a unit's goods-out passes: a resident of the unit named by a site admin.
class UnitApprover(Model):
    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="approvers", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="approver_of", on_delete=fields.RESTRICT
    )
    added_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="approvers_added", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    unit_id: int
    user_id: int

    class Meta:
        table = "unit_approvers"
        unique_together = (("unit", "user"),)


class GoodsOutPass(Model):
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="goods_passes", on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="goods_passes", on_delete=fields.RESTRICT
    )
    requested_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="goods_passes", on_delete=fields.RESTRICT
    )
    carrier = fields.CharField(max_length=120, default="")  # who carries the goods out
    plate = fields.CharField(max_length=16, default="")
    reason = fields.TextField(default="")
    # [{"name": "办公椅", "quantity": 4}, ...]; the stamp signs them.
    items: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    items_text = fields.TextField(default="")  # the item names, for search
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    status = fields.CharEnumField(GoodsPassStatus, max_length=16, default=GoodsPassStatus.requested)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="decided_goods_passes", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    # HMAC over the canonical pass content at approval: the digital stamp.
    signature = fields.CharField(max_length=64, default="")
    exited_at = fields.DatetimeField(null=True)
    exited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="goods_exits", null=True, on_delete=fields.RESTRICT
    )
    items_out: fields.Field[list[int]] = fields.JSONField(default=list)  # indexes ticked at exit
    exit_note = fields.TextField(default="")
    created_at = fields.DatetimeField()

    site_id: int
    unit_id: int
    requested_by_id: int
    decided_by_id: int | None
    exited_by_id: int | None

    class Meta:
        table = "goods_out_passes"
        indexes = (("site_id", "status"), ("site_id", "created_at"))
