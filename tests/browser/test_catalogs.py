"""The PWA's message catalogs: both languages complete, and every key the code uses exists."""

from __future__ import annotations

import json
import re

from tests.browser.browser_support import REPO, catalog

SRC = REPO / "pwa" / "src"


def ui(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((SRC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def test_both_languages_have_the_same_keys():
    assert set(ui("en")) == set(ui("zh-CN"))
    for lang in ("en", "zh-CN"):
        assert all(isinstance(v, str) and v.strip() for v in ui(lang).values()), lang


def test_placeholders_match_between_languages():
    en, zh = ui("en"), ui("zh-CN")
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", zh[key])), key


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in SRC.rglob("*.js"):
        text = path.read_text("utf-8")
        keys.update(re.findall(r"\bt\(\s*'([a-z_]+\.[a-z_.]+)'", text))
        keys.update(re.findall(r"\b(?:titleKey|subtitleKey)?'((?:client|common)\.[a-z_]+)'", text))
    for path in (SRC / "page" / "homes").glob("*.js"):
        keys.update(f"tile.{tile}" for tile in re.findall(r"id: '(\w+)'", path.read_text("utf-8")))
    keys.update(f"role.{role}" for role in ("guard", "supervisor", "resident", "admin"))
    keys.update(f"site.kind.{kind}" for kind in ("community", "building"))
    keys.update(f"devices.kind.{kind}" for kind in ("phone", "bridge"))
    return keys


def test_every_key_the_code_uses_exists():
    assert len(used_keys()) > 50
    for lang in ("en", "zh-CN"):
        missing = sorted(used_keys() - set(catalog(lang)))
        assert not missing, (lang, missing)


def test_every_backend_error_code_has_a_text():
    # The client shows error.<code> for every code the backend catalogs know.
    for lang in ("en", "zh-CN"):
        texts = catalog(lang)
        assert "error.session_revoked" in texts and "error.login_throttled" in texts
        assert "{retry_after}" in texts["error.login_throttled"]
