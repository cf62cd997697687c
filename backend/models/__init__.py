"""Tortoise models, one module per plural stem; no logic beyond field definitions."""

MODEL_MODULES = [
    "backend.models.organizations",
    "backend.models.users",
    "backend.models.devices",
    "backend.models.sessions",
    "backend.models.audit",
    "backend.models.sync",
    "backend.models.duty_log",
    "backend.models.patrol",
    "backend.models.bridge",
    "backend.models.equipment",
    "backend.models.visitors",
    "backend.models.vehicles",
    "backend.models.passes",
    "backend.models.notices",
    "backend.models.parcels",
    "backend.models.media",
    "backend.models.incidents",
]
