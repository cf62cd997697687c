"""The docs stay true: every setting, error code and module is documented."""

from __future__ import annotations

import re
from pathlib import Path

from backend.errors import all_error_classes
from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `(ANBAO_[A-Z_]+)` \|", README, flags=re.M))
    expected = {f"ANBAO_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from the README table"
    assert documented - expected == set(), "README documents settings that do not exist"


def test_readme_defaults_match_the_code() -> None:
    rows = dict(re.findall(r"^\| `(ANBAO_[A-Z_]+)` \| `([^`]*)` \|", README, flags=re.M))
    derived = {
        "ANBAO_DATABASE_URL",
        "ANBAO_SECRET_KEY",
        "ANBAO_MASTER_KEY",
        "ANBAO_MASTER_KEYS_OLD",
    }  # defaults computed from data_dir
    for name, field in Settings.model_fields.items():
        key = f"ANBAO_{name.upper()}"
        if key in derived:
            continue
        if (
            key in rows
            and isinstance(field.default, int | str)
            and not isinstance(field.default, bool)
        ):
            assert rows[key] == str(field.default), key
        if isinstance(field.default, bool):
            assert rows[key] == str(field.default).lower(), key


def test_every_error_code_is_in_the_api_doc() -> None:
    documented = set(re.findall(r"^\| (\d{3}) \| ([a-z_]+) \|", API_DOC, flags=re.M))
    expected = {(str(cls.status), cls.code) for cls in all_error_classes()}
    assert expected == documented


def test_every_module_is_in_the_module_map() -> None:
    mapped = set(re.findall(r"^\| `([^`]+)` \|", README, flags=re.M))
    modules = [*(ROOT / "backend").rglob("*.py"), *(ROOT / "ble_bridge").rglob("*.py")]
    for path in sorted(modules):
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" or "/migrations/" in rel:
            continue
        assert rel in mapped, f"{rel} is missing from the README module map"
    for folder in ("pwa/", "tests/", "bench/", "docs/"):
        assert folder in mapped


def test_quick_start_is_two_commands() -> None:
    assert "make run" in README and "make test" in README


def test_every_sync_mutation_is_in_the_sync_doc() -> None:
    from backend.services.sync import MUTATIONS

    doc = (ROOT / "docs" / "sync.md").read_text(encoding="utf-8")
    missing = [name for name in MUTATIONS if f"`{name}`" not in doc]
    assert missing == [], f"mutations missing from docs/sync.md: {missing}"
