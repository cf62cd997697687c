"""Audit events as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints

from backend.schemas.common import ListQuery, Output


class AuditQuery(ListQuery):
    action: Annotated[str, StringConstraints(max_length=64)] = ""


class AuditEventOut(Output):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_device_id: int | None
    site_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
