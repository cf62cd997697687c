"""Configuration: a TOML file, the environment over it, clear errors, and a token that never
shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from ble_bridge.config import BridgeConfig, ConfigError, config_path, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_and_environment_over_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        'backend_url = "https://anbao.example.com/"\ntoken = "d_secret"\nadapter = "hci1"\n'
        "batch_seconds = 5\n",
    )
    config = load_config(path)
    assert config.backend_url == "https://anbao.example.com"
    assert (config.adapter, config.batch_seconds) == ("hci1", 5.0)
    monkeypatch.setenv("ANBAO_BRIDGE_ADAPTER", "hci2")
    monkeypatch.setenv("ANBAO_BRIDGE_SPOOL_PATH", str(tmp_path / "spool.sqlite3"))
    config = load_config(path)
    assert config.adapter == "hci2" and config.spool_path == tmp_path / "spool.sqlite3"
    assert config.token.get_secret_value() == "d_secret"


def test_the_token_never_prints(tmp_path: Path) -> None:
    config = BridgeConfig(token="d_very_secret")  # type: ignore[arg-type]
    assert "d_very_secret" not in repr(config) and "d_very_secret" not in str(config)
    assert config.describe()["token"] == "**********"


def test_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"adapter: .*hci0"):
        load_config(write(tmp_path, 'adapter = "bluetooth"\n'))
    with pytest.raises(ConfigError, match="tokn: unknown setting"):
        load_config(write(tmp_path, 'tokn = "x"\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "backend_url = \n"))
    with pytest.raises(ConfigError, match=r"backend_url: .*http"):
        load_config(write(tmp_path, 'backend_url = "ftp://x"\n'))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_commands_that_need_the_backend_say_what_is_missing() -> None:
    with pytest.raises(ConfigError, match=r"backend_url \(ANBAO_BRIDGE_BACKEND_URL\), token"):
        BridgeConfig().require_backend()
    BridgeConfig(backend_url="http://127.0.0.1:1", token="t").require_backend()  # type: ignore[arg-type]


def test_config_path_order(tmp_path: Path) -> None:
    explicit = tmp_path / "a.toml"
    assert config_path(explicit, {"ANBAO_BRIDGE_CONFIG": "/b.toml"}) == explicit
    assert config_path(None, {"ANBAO_BRIDGE_CONFIG": "/b.toml"}) == Path("/b.toml")


def test_every_setting_is_in_the_bridge_doc_with_its_default() -> None:
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "bridge.md").read_text(encoding="utf-8")
    rows = {
        key: (env, default)
        for key, env, default in re.findall(
            r"^\| `([a-z_]+)` \| `(ANBAO_BRIDGE_[A-Z_]+)` \| ([^|]+) \|", doc, flags=re.M
        )
    }
    assert set(rows) == set(BridgeConfig.model_fields)
    for name, field in BridgeConfig.model_fields.items():
        env, default = rows[name]
        assert env == f"ANBAO_BRIDGE_{name.upper()}"
        value = field.default
        shown = default.strip()
        if isinstance(value, str | int | float | Path) and str(value):
            assert shown == f"`{value}`", name
        else:
            assert shown == "(none)", name
