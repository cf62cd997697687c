"""Push notices: VAPID keys, browsers' push subscriptions, people's notice settings, and the
outbox of notices with one delivery per subscription."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.users import User


class VapidKey(Model):
    id = fields.IntField(primary_key=True)
    # base64url of the 65-byte public point: what browsers get as applicationServerKey
    public_key = fields.CharField(max_length=100, unique=True)
    # The 32-byte private scalar, sealed under the master key (purpose bound to the public key).
    private_key_sealed = fields.TextField()
    # New subscriptions use the current key; older ones keep the key they were made with.
    is_current = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "vapid_keys"


class PushSubscription(Model):
    # One browser on one device; a person may have several.
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="push_subscriptions", on_delete=fields.CASCADE
    )
    endpoint = fields.CharField(max_length=1024, unique=True)
    p256dh = fields.CharField(max_length=100)
    auth = fields.CharField(max_length=32)
    vapid_key: fields.ForeignKeyRelation[VapidKey] = fields.ForeignKeyField(
        "models.VapidKey", related_name="subscriptions", on_delete=fields.RESTRICT
    )
    user_agent = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField()
    last_success_at = fields.DatetimeField(null=True)

    user_id: int
    vapid_key_id: int

    class Meta:
        table = "push_subscriptions"


class NoticePreference(Model):
    # A person without a row gets every kind of notice.
    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="notice_preference", on_delete=fields.CASCADE
    )
    parcels = fields.BooleanField(default=True)
    alerts = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField()

    user_id: int

    class Meta:
        table = "notice_preferences"


class NoticeUrgency(StrEnum):
    very_low = "very-low"
    low = "low"
    normal = "normal"
    high = "high"


class Notice(Model):
    # One message to one person, queued in the transaction that caused it; sent by the worker.
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notices", on_delete=fields.CASCADE
    )
    site_id = fields.IntField(null=True)
    kind = fields.CharField(max_length=48)  # "parcel.arrived", "alert.missed_checkpoints", ...
    ref = fields.CharField(max_length=80, default="")  # what it is about: "parcel:<id>"
    # Exactly what the service worker gets (the notice id is added when it is sent).
    payload: fields.Field[dict[str, Any]] = fields.JSONField()
    urgency = fields.CharEnumField(NoticeUrgency, max_length=16, default=NoticeUrgency.normal)
    ttl_seconds = fields.IntField()
    topic = fields.CharField(max_length=32, default="")
    created_at = fields.DatetimeField()

    user_id: int

    class Meta:
        table = "notices"
        indexes = (("user_id", "created_at"), ("ref",))


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    gone = "gone"  # the push service said the subscription no longer exists
    failed = "failed"  # refused, or retried until the limit
    expired = "expired"  # its TTL passed before it could be sent


class NoticeDelivery(Model):
    # A notice to one subscription; the worker claims due rows (FOR UPDATE SKIP LOCKED).
    id = fields.BigIntField(primary_key=True)
    notice: fields.ForeignKeyRelation[Notice] = fields.ForeignKeyField(
        "models.Notice", related_name="deliveries", on_delete=fields.CASCADE
    )
    subscription: fields.ForeignKeyNullableRelation[PushSubscription] = fields.ForeignKeyField(
        "models.PushSubscription",
        related_name="deliveries",
        null=True,
        on_delete=fields.SET_NULL,
    )
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.pending)
    attempts = fields.IntField(default=0)
    # When it may be tried next; a claim moves it forward by a lease, so a worker that dies
    # mid-send leaves it to be picked up again.
    next_attempt_at = fields.DatetimeField()
    last_status = fields.IntField(null=True)  # the push service's HTTP status, last attempt
    last_error = fields.CharField(max_length=255, default="")
    sent_by = fields.CharField(max_length=40, default="")  # the worker that made the last attempt
    delivered_at = fields.DatetimeField(null=True)

    notice_id: int
    subscription_id: int | None

    class Meta:
        table = "notice_deliveries"
        indexes = (("status", "next_attempt_at"),)
