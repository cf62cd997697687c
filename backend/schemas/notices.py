"""Push subscription, VAPID key and notice-settings schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from backend.schemas.common import Input, Output

KeyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SubscriptionKeys(Input):
    p256dh: KeyText  # checked in the service: a P-256 point, base64url
    auth: KeyText


class SubscriptionIn(Input):
    """What `PushSubscription.toJSON()` gives, sent as is (plus the key it was made with)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    keys: SubscriptionKeys
    expiration_time: int | None = Field(default=None, alias="expirationTime")
    # The applicationServerKey the browser subscribed with; the current key if left out.
    application_server_key: KeyText | None = None


class SubscriptionOut(Output):
    id: int
    service: str  # the push service's host, not the secret endpoint path
    created_at: datetime
    last_success_at: datetime | None
    application_server_key: str


class VapidKeyOut(Output):
    public_key: str  # base64url, for `pushManager.subscribe({applicationServerKey})`


class NoticeSettingsOut(Output):
    parcels: bool
    alerts: bool


class NoticeSettingsPatch(Input):
    parcels: bool | None = None
    alerts: bool | None = None
