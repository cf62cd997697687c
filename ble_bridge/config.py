"""The bridge's settings: a TOML file, overridden by `ANBAO_BRIDGE_*` environment variables.

Heartbeat interval, "missing after" and the low-battery threshold are not here: the backend
sends them (`GET /api/bridge/config`) so one admin setting reaches every bridge. The token is
a secret: it prints as `**********`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_PATH = Path("/etc/anbao-bridge.toml")
CONFIG_ENV = "ANBAO_BRIDGE_CONFIG"

ScanMode = Literal["auto", "active", "passive"]


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


class BridgeConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANBAO_BRIDGE_", frozen=True, extra="forbid")

    backend_url: str = ""
    token: SecretStr = SecretStr("")
    adapter: str = "hci0"
    scan_mode: ScanMode = "auto"
    spool_path: Path = Path("/var/lib/anbao-bridge/spool.sqlite3")
    batch_seconds: float = Field(default=10.0, gt=0, le=3600)
    present_after: int = Field(default=2, ge=1, le=1000)
    battery_hysteresis: int = Field(default=5, ge=0, le=50)
    battery_empty_mv: int = Field(default=2000, ge=0, le=20_000)
    battery_full_mv: int = Field(default=3000, ge=1, le=20_000)
    adapter_poll_seconds: float = Field(default=2.0, gt=0, le=600)
    config_refresh_seconds: float = Field(default=300.0, gt=0)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    gatt_battery_hours: float = Field(default=0.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment wins over the file.
        return (env_settings, init_settings)

    @field_validator("backend_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str) -> str:
        if not re.fullmatch(r"hci\d{1,3}", value):
            raise ValueError("an adapter name looks like hci0")
        return value

    def require_backend(self) -> None:
        """Commands that talk to the backend need its address and a token."""
        missing = [
            name
            for name, ok in (
                ("backend_url", self.backend_url),
                ("token", self.token.get_secret_value()),
            )
            if not ok
        ]
        if missing:
            names = ", ".join(f"{n} (ANBAO_BRIDGE_{n.upper()})" for n in missing)
            raise ConfigError(f"not configured: {names}")

    def describe(self) -> dict[str, Any]:
        """The settings as shown to a person: the token is masked."""
        data = self.model_dump(mode="json")
        data["token"] = "**********" if self.token.get_secret_value() else ""
        return data


def config_path(explicit: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def load_config(path: Path | None) -> BridgeConfig:
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return BridgeConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {_reason(err)}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        where = f" in {path}" if path is not None else ""
        raise ConfigError(f"bad configuration{where}: {problems}") from exc


def _reason(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown setting"
    return str(err["msg"])
