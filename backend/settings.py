"""The one frozen settings object, read from `ANBAO_*` environment variables and an optional `.env`.

Built by the entry point (CLI or a test) and passed to `create_app(settings)`; nothing here runs
at import time. Every field is documented in the README's settings table (a test checks it).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.sealing import Sealer, SealError, new_master_key, parse_master_key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ANBAO_", env_file=".env", frozen=True, extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: SecretStr = SecretStr("")
    master_key: SecretStr = SecretStr("")
    master_keys_old: SecretStr = SecretStr("")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    pwa_dir: Path = Path("pwa/dist")
    default_timezone: str = "Asia/Shanghai"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    session_ttl_days: int = Field(default=30, ge=1, le=365)
    password_min_length: int = Field(default=10, ge=8, le=128)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    db_pool_max: int = Field(default=10, ge=1, le=200)
    sync_max_batch: int = Field(default=500, ge=1, le=5000)
    sync_page_size: int = Field(default=200, ge=10, le=5000)
    sync_max_clock_skew_seconds: int = Field(default=300, ge=1)
    sync_tombstone_retention_days: int = Field(default=30, ge=1)
    visitor_retention_days: int = Field(default=90, ge=1, le=3650)
    jobs_enabled: bool = True
    cjk_font: str = ""
    media_dir: str = ""  # empty: <data_dir>/media; shared storage when several processes run
    media_max_bytes: int = Field(default=15_728_640, ge=65_536, le=1_073_741_824)
    media_workers: int = Field(default=2, ge=1, le=64)
    patrol_max_speed_mps: float = Field(default=4.0, gt=0)
    patrol_duplicate_seconds: int = Field(default=120, ge=1)
    patrol_burst_count: int = Field(default=4, ge=2)
    patrol_burst_seconds: int = Field(default=60, ge=1)
    push_contact: str = "mailto:admin@localhost"
    push_allow_http: bool = False
    push_ttl_seconds: int = Field(default=86_400, ge=0, le=2_419_200)
    push_max_attempts: int = Field(default=6, ge=1, le=50)
    push_retry_seconds: int = Field(default=30, ge=1)
    push_batch_size: int = Field(default=100, ge=1, le=1000)
    parcel_reminder_days: int = Field(default=3, ge=1, le=60)
    parcel_pass_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    pickup_max_failures_per_guard: int = Field(default=5, ge=1)
    pickup_max_failures_per_site: int = Field(default=30, ge=1)
    bridge_heartbeat_seconds: int = Field(default=60, ge=5, le=3600)
    bridge_missing_after_seconds: int = Field(default=600, ge=30)
    bridge_low_battery_percent: int = Field(default=20, ge=1, le=99)
    bridge_sighting_retention_days: int = Field(default=30, ge=1)

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}")
        return value

    @field_validator("push_contact")
    @classmethod
    def _push_contact(cls, value: str) -> str:
        from backend.webpush import check_contact

        return check_contact(value)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{self.data_dir / 'anbao.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        """The SQLite database file (for a sqlite:// URL)."""
        return Path(self.resolved_database_url.removeprefix("sqlite://"))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    def with_secret(self) -> Settings:
        """The same settings with their keys: the configured ones, else ones kept in data_dir.

        Development gets keys that survive restarts without anyone having to make them;
        production must set them (checked in `load_settings`).
        """
        updates: dict[str, SecretStr] = {}
        if not self.secret_key.get_secret_value():
            updates["secret_key"] = SecretStr(
                self._kept_key("secret_key", secrets.token_urlsafe(48))
            )
        if not self.master_key.get_secret_value():
            updates["master_key"] = SecretStr(self._kept_key("master_key", new_master_key()))
        return self.model_copy(update=updates) if updates else self

    def _kept_key(self, name: str, fresh: str) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / name
        if not key_file.exists():
            key_file.write_text(fresh, encoding="utf-8")
            key_file.chmod(0o600)
        return key_file.read_text(encoding="utf-8").strip()

    def sealer(self) -> Sealer:
        old = [k for k in self.master_keys_old.get_secret_value().split(",") if k.strip()]
        return Sealer(
            parse_master_key(self.master_key.get_secret_value()),
            tuple(parse_master_key(k) for k in old),
        )


def load_settings(**overrides: object) -> Settings:
    """Settings for an entry point: environment, `.env`, then explicit overrides."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.environment == "production":
        for name in ("secret_key", "master_key"):
            if not getattr(settings, name).get_secret_value():
                raise SystemExit(
                    f"ANBAO_{name.upper()} must be set when ANBAO_ENVIRONMENT=production"
                )
    settings = settings.with_secret()
    try:
        settings.sealer()
    except SealError as exc:
        raise SystemExit(f"ANBAO_MASTER_KEY / ANBAO_MASTER_KEYS_OLD: {exc}") from exc
    return settings
