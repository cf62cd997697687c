"""Anbao backend: the Starlette app, Tortoise models, services and the `anbao` CLI."""

__version__ = "0.1.0"
