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
]
