"""Devices: phones (registered at sign-in) and bridges (issued by an admin)."""

from __future__ import annotations

import uuid
from datetime import datetime

from backend.models.devices import DeviceKind
from backend.schemas.common import Input, Name, Output


class BridgeIn(Input):
    name: Name


class DevicePatch(Input):
    name: Name


class DeviceOwner(Output):
    id: int
    username: str
    display_name: str


class DeviceOut(Output):
    id: int
    uid: uuid.UUID
    kind: DeviceKind
    name: str
    user_id: int | None
    user: DeviceOwner | None = None  # a phone's last signed-in person
    site_id: int | None
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    revoked_by_id: int | None


class BridgeCreated(DeviceOut):
    token: str  # shown once; the server keeps only its hash
