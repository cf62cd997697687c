"""Duty log schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from backend.models.duty_log import DutyCategory
from backend.schemas.common import ClientUuid, Input, ListQuery, Output

EntryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class DutyEntryIn(Input):
    id: ClientUuid  # made by the phone, so a retried write is recognised
    text: EntryText
    category: DutyCategory = DutyCategory.routine
    zone_id: int | None = None
    client_time: datetime | None = None


class DutyEntryMutationArgs(DutyEntryIn):
    site_id: int


class DutyEntryOut(Output):
    id: uuid.UUID
    site_id: int
    zone_id: int | None
    author_id: int
    author_name: str
    category: DutyCategory
    text: str
    client_time: datetime
    server_time: datetime


class DutyLogQuery(ListQuery):
    category: DutyCategory | None = None
    zone_id: int | None = None
