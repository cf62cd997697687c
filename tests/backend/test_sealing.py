"""Sealing secrets under the master key: round trip, binding, tampering, rotation."""

from __future__ import annotations

import pytest

from backend.sealing import Sealer, SealError, new_master_key, parse_master_key


def sealer(key: str | None = None, *old: str) -> Sealer:
    return Sealer(
        parse_master_key(key or new_master_key()), tuple(parse_master_key(k) for k in old)
    )


def test_round_trip_and_no_plaintext_in_the_sealed_text() -> None:
    s = sealer()
    token = s.seal(b"\x00" * 16 + b"tag-key", "tag:1")
    assert token.startswith("s1.") and "tag-key" not in token
    assert s.open(token, "tag:1") == b"\x00" * 16 + b"tag-key"
    assert s.seal(b"same", "tag:1") != s.seal(b"same", "tag:1")  # fresh nonce every time


def test_a_value_sealed_for_one_record_does_not_open_for_another() -> None:
    s = sealer()
    token = s.seal(b"secret", "tag:1")
    with pytest.raises(SealError, match="another purpose"):
        s.open(token, "tag:2")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],
        lambda t: t.replace("s1.", "s2.", 1),
        lambda t: t.rsplit(".", 1)[0] + ".AAAA",
        lambda t: t.rsplit(".", 1)[0] + ".!!!!",
        lambda t: "plain text",
        lambda t: "",
    ],
)
def test_tampered_or_malformed_values_are_refused(mutate: object) -> None:
    s = sealer()
    token = s.seal(b"secret", "tag:1")
    with pytest.raises(SealError):
        s.open(mutate(token), "tag:1")  # type: ignore[operator]


def test_rotation_opens_old_values_and_flags_them_for_resealing() -> None:
    old_key, new_key = new_master_key(), new_master_key()
    before = sealer(old_key).seal(b"secret", "tag:1")
    after = sealer(new_key, old_key)
    assert after.open(before, "tag:1") == b"secret"
    assert after.needs_reseal(before)
    assert not after.needs_reseal(after.seal(b"secret", "tag:1"))
    with pytest.raises(SealError, match="does not have"):
        sealer(new_key).open(before, "tag:1")


def test_blind_index_is_stable_keyed_and_purpose_bound() -> None:
    key = new_master_key()
    a, b = sealer(key), sealer(key)
    assert a.blind_index("110101199003074518", "visitor_id") == b.blind_index(
        "110101199003074518", "visitor_id"
    )
    assert a.blind_index("110101199003074518", "visitor_id") != sealer().blind_index(
        "110101199003074518", "visitor_id"
    )
    assert a.blind_index("x", "visitor_id") != a.blind_index("x", "phone")


@pytest.mark.parametrize("text", ["", "short", "!!!", "A" * 80])
def test_bad_master_keys_are_refused(text: str) -> None:
    with pytest.raises(SealError):
        parse_master_key(text)


def test_settings_make_a_development_key_once_and_production_demands_one(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from backend.settings import load_settings

    root = Path(str(tmp_path))
    monkeypatch.chdir(root)  # no .env of the developer's is read
    first = load_settings(data_dir=root)
    second = load_settings(data_dir=root)
    assert first.master_key.get_secret_value() == second.master_key.get_secret_value()
    assert (root / "master_key").stat().st_mode & 0o777 == 0o600
    token = first.sealer().seal(b"k", "tag:1")
    assert second.sealer().open(token, "tag:1") == b"k"
    assert "master_key" not in repr(first) or "**" in repr(first)
    with pytest.raises(SystemExit, match="ANBAO_MASTER_KEY"):
        load_settings(data_dir=root, environment="production", secret_key="x" * 40)
    with pytest.raises(SystemExit, match="MASTER"):
        load_settings(data_dir=root, master_key="not-a-key")
