"""Incident reports (事件上报): what a guard found, its photos, and its append-only timeline."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.media import Media
from backend.models.organizations import Site, Zone
from backend.models.patrol import Checkpoint
from backend.models.users import User


class IncidentType(StrEnum):
    suspicious_person = "suspicious_person"
    theft = "theft"
    damage = "damage"
    fire_hazard = "fire_hazard"
    facility_fault = "facility_fault"
    noise_complaint = "noise_complaint"
    medical = "medical"
    other = "other"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class IncidentStatus(StrEnum):
    open = "open"
    assigned = "assigned"
    resolved = "resolved"
    closed = "closed"


class TimelineKind(StrEnum):
    reported = "reported"
    comment = "comment"
    assigned = "assigned"
    photos_added = "photos_added"
    resolved = "resolved"
    closed = "closed"
    reopened = "reopened"


class Incident(Model):
    # Made on the phone, so a report written offline keeps one id from the first tap on.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="incidents", on_delete=fields.RESTRICT
    )
    zone: fields.ForeignKeyNullableRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    checkpoint: fields.ForeignKeyNullableRelation[Checkpoint] = fields.ForeignKeyField(
        "models.Checkpoint", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    place = fields.CharField(max_length=200, default="")  # in words: "3号楼2单元 楼梯间"
    type = fields.CharEnumField(IncidentType, max_length=24)
    severity = fields.CharEnumField(Severity, max_length=8)
    status = fields.CharEnumField(IncidentStatus, max_length=10, default=IncidentStatus.open)
    description = fields.TextField()
    reporter: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reported_incidents", on_delete=fields.RESTRICT
    )
    device_id = fields.IntField(null=True)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="assigned_incidents", null=True, on_delete=fields.RESTRICT
    )
    reported_at = fields.DatetimeField()  # the phone's clock when the guard made the report
    received_at = fields.DatetimeField()  # the server's, when it arrived
    updated_at = fields.DatetimeField()

    site_id: int
    zone_id: int | None
    checkpoint_id: int | None
    reporter_id: int
    assignee_id: int | None

    class Meta:
        table = "incidents"
        indexes = (("site_id", "reported_at"), ("site_id", "status", "severity"))


class IncidentPhoto(Model):
    id = fields.IntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="photos", on_delete=fields.RESTRICT
    )
    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="incident_photos", on_delete=fields.RESTRICT
    )
    position = fields.IntField()  # 1-based, in the order they were attached
    added_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="incident_photos", on_delete=fields.RESTRICT
    )
    added_at = fields.DatetimeField()

    incident_id: Any
    media_id: str
    added_by_id: int

    class Meta:
        table = "incident_photos"
        unique_together = (("incident", "media"),)


class TimelineEntry(Model):
    # Append-only: who did what to an incident, and when (both clocks when it came from a phone).
    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="timeline", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(TimelineKind, max_length=16)
    actor: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="incident_timeline", on_delete=fields.RESTRICT
    )
    device_id = fields.IntField(null=True)
    text = fields.TextField(default="")
    # What changed: {"from": "open", "to": "assigned", "assignee_id": 7}, {"photos": [sha, ...]}
    data: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    client_time = fields.DatetimeField(null=True)
    at = fields.DatetimeField()

    incident_id: Any
    actor_id: int

    class Meta:
        table = "incident_timeline"
        indexes = (("incident_id", "id"),)

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._saved_in_db:
            await super().save(*args, **kwargs)
            return
        raise PermissionError("the incident timeline is append-only")

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise PermissionError("the incident timeline is append-only")
