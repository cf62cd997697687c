"""The CLI as real subprocesses against the fake BlueZ and a backend on a real port: `scan`
names known tags, `status` tells spool, dead letters and reachability, `pair` binds a tag by
flags, `battery` reads GATT; mistakes get a clear message and an exit code."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from ble_bridge.aggregate import Sighting
from ble_bridge.frames import TagKind
from ble_bridge.spool import Spool
from tests.bridge import adverts
from tests.bridge.conftest import FakeApi
from tests.bridge.fake_bluez import FakeBluez, FakeTag
from tests.bridge.procs import BridgeCli

IB_UUID = uuid.UUID("e2c56db5-dffb-48d2-b060-d0f5a71096e0")
IB_IDENT = f"{IB_UUID}:100:7"
NAMESPACE, INSTANCE = "a1b2c3d4e5f6a7b8c9d0", "0000000000aa"
EDDYSTONE = adverts.EDDYSTONE_UUID


def put_tags(bluez: FakeBluez) -> None:
    bluez.put_tag(
        FakeTag(
            "C0:00:00:00:00:01",
            {adverts.APPLE_COMPANY_ID: adverts.ibeacon(IB_UUID, 100, 7)},
            rssi=-45,
        )
    )
    bluez.put_tag(
        FakeTag(
            "C0:00:00:00:00:02",
            rssi=-80,
            cycle=[
                ({}, {EDDYSTONE: adverts.eddystone_uid(NAMESPACE, INSTANCE)}),
                ({}, {EDDYSTONE: adverts.eddystone_tlm(2900, 20.0, 1, 1)}),
            ],
        )
    )
    bluez.put_tag(
        FakeTag("5A:00:00:00:00:99", {adverts.APPLE_COMPANY_ID: bytes.fromhex("1005")}, rssi=-30)
    )


def known_badge() -> dict[str, object]:
    return {
        "kind": "ibeacon",
        "ident": IB_IDENT,
        "name": "王伟's badge",
        "bound_to": {"type": "badge", "id": 7, "name": "王伟"},
    }


def test_scan_lists_nearby_tags_and_names_the_known_ones(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    put_tags(bluez)
    fake_api.state.known.append(known_badge())
    result = cli.run("scan", "--seconds", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "KIND", "ID", "RSSI", "BATTERY", "LAST", "SEEN", "NAME"]
    badge = next(line for line in lines if line.startswith("C0:00:00:00:00:01"))
    assert IB_IDENT in badge and "王伟's badge (badge 王伟)" in badge
    uid = next(line for line in lines if line.startswith("C0:00:00:00:00:02"))
    assert "eddystone_uid" in uid and NAMESPACE + INSTANCE in uid and "90% (2900 mV)" in uid
    assert lines.index(badge) < lines.index(uid)  # strongest first
    assert "5A:00:00:00:00:99" not in result.stdout  # a phone is not a tag
    assert "scanning actively" in result.stdout

    everything = cli.run("scan", "--seconds", "1.5", "--all", "--json")
    rows = json.loads(everything.stdout)
    assert {r["address"] for r in rows} == {
        "C0:00:00:00:00:01",
        "C0:00:00:00:00:02",
        "5A:00:00:00:00:99",
    }
    named = next(r for r in rows if r["address"] == "C0:00:00:00:00:01")
    assert named["name"] == "王伟's badge" and named["bound_to"]["type"] == "badge"


def test_scan_without_backend_or_adapter_still_answers(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    fake_api.server.stop()
    result = cli.run("scan", "--seconds", "1.5")
    assert result.returncode == 0
    assert "(no tags heard)" in result.stdout
    assert "hci0 not found" in result.stdout
    assert "backend unreachable, tags are not named" in result.stdout


def test_status_reports_spool_dead_letters_and_backend(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    spool = Spool.open(cli.spool_path)
    at = datetime(2025, 5, 1, 9, tzinfo=UTC)
    s = Sighting("C0:00:00:00:00:01", TagKind.IBEACON, IB_IDENT, at, at, -60, 3, None, None, None)
    spool.add([s], [], at)
    (bad,) = spool.add([s, s], [], at)
    spool.dead_letter(bad, 422, '{"error": {"code": "validation_failed"}}', at)
    spool.close()

    result = cli.run("status")
    assert result.returncode == 0, result.stderr
    assert "spooled:        1 batch(es), 1 sighting(s), 0 event(s)" in result.stdout
    assert "dead letters:   1" in result.stdout and bad in result.stdout
    assert "validation_failed" in result.stdout
    assert "last delivery:  never" in result.stdout
    assert "reachable" in result.stdout and "'Gate house', site 1" in result.stdout
    assert cli.token not in result.stdout + result.stderr

    fake_api.state.revoked = True
    report = json.loads(cli.run("status", "--json").stdout)
    assert report["backend"]["state"] == "token refused"
    assert report["spool_batches"] == 1 and len(report["dead_letters"]) == 1
    fake_api.server.stop()
    report = json.loads(cli.run("status", "--json").stdout)
    assert report["backend"]["state"] == "unreachable"


def test_pair_binds_a_heard_tag_to_a_checkpoint(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    put_tags(bluez)
    result = cli.run(
        "pair", "--address", "c0:00:00:00:00:02", "--target", "checkpoint:12", "--label", "B1 柱 3"
    )
    assert result.returncode == 0, result.stderr
    (sent,) = fake_api.state.pairs
    assert sent == {
        "kind": "eddystone_uid",
        "ident": NAMESPACE + INSTANCE,
        "address": "C0:00:00:00:00:02",
        "target": {"type": "checkpoint", "id": 12},
        "identity_key": None,
        "rotation_exponent": None,
        "clock_offset": None,
        "label": "B1 柱 3",
    }
    assert (
        "bound eddystone_uid" in result.stdout and "checkpoint 12 B1 车库 car park" in result.stdout
    )

    again = cli.run("pair", "--address", "C0:00:00:00:00:02", "--target", "checkpoint:13")
    assert again.returncode == 1 and "already bound to checkpoint" in again.stderr


def test_pair_refuses_what_it_cannot_do(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    put_tags(bluez)
    unheard = cli.run(
        "pair", "--seconds", "1", "--address", "C0:00:00:00:00:77", "--target", "badge:7"
    )
    assert unheard.returncode == 1 and "C0:00:00:00:00:77 was not heard" in unheard.stderr
    wrong = cli.run("pair", "--address", "C0:00:00:00:00:01", "--target", "equipment:99")
    assert (
        wrong.returncode == 1
        and "no equipment 99" in wrong.stderr
        and "3F extinguisher 2" in wrong.stderr
    )
    bad = cli.run("pair", "--address", "C0:00:00:00:00:01", "--target", "wall:1")
    assert bad.returncode == 2 and "type:id" in bad.stderr
    no_terminal = cli.run("pair", "--seconds", "1")
    assert no_terminal.returncode == 2 and "give --address" in no_terminal.stderr
    assert fake_api.state.pairs == []


def test_pairing_an_eid_badge_needs_its_keys(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    bluez.put_tag(
        FakeTag("C0:00:00:00:00:05", {}, {EDDYSTONE: adverts.eddystone_eid("0011223344556677")})
    )
    missing = cli.run("pair", "--address", "C0:00:00:00:00:05", "--target", "guard:7")
    assert missing.returncode == 2 and "--identity-key" in missing.stderr
    key = "00112233445566778899AABBCCDDEEFF"
    ok = cli.run(
        "pair",
        "--address", "C0:00:00:00:00:05",
        "--target", "badge:7",
        "--identity-key", key,
        "--rotation-exponent", "10",
        "--clock-offset", "123456",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    (sent,) = fake_api.state.pairs
    assert (sent["kind"], sent["ident"]) == ("eddystone_eid", "0011223344556677")
    assert (sent["identity_key"], sent["rotation_exponent"], sent["clock_offset"]) == (
        key.lower(),
        10,
        123456,
    )
    assert sent["target"] == {"type": "badge", "id": 7}


def test_pair_with_a_revoked_token_says_so(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    fake_api.state.revoked = True
    result = cli.run("pair", "--address", "C0:00:00:00:00:01", "--target", "checkpoint:12")
    assert result.returncode == 3 and "refused this bridge's token" in result.stderr


def test_battery_command_reads_gatt(bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli) -> None:
    bluez.add_adapter()
    bluez.put_tag(
        FakeTag(
            "C0:00:00:00:00:09",
            {adverts.APPLE_COMPANY_ID: adverts.ibeacon(IB_UUID, 1, 1)},
            battery=88,
        )
    )
    result = cli.run("battery", "--address", "c0:00:00:00:00:09")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "C0:00:00:00:00:09 battery 88%"


def test_a_bad_config_file_is_named(cli: BridgeCli) -> None:
    path = cli.tmp / "broken.toml"
    path.write_text('adapter = "usb0"\n', encoding="utf-8")
    import subprocess
    import sys

    from tests.bridge.procs import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "ble_bridge.cli", "--config", str(path), "status"],
        cwd=ROOT, env=cli.env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"bad configuration in {path}: adapter: " in result.stderr
    unconfigured = subprocess.run(
        [sys.executable, "-m", "ble_bridge.cli", "run"],
        cwd=ROOT, env=cli.env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unconfigured.returncode == 2 and "not configured: backend_url" in unconfigured.stderr


def test_pair_asks_on_a_terminal_strongest_first(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    import os
    import pty
    import subprocess

    from tests.bridge.procs import ROOT

    bluez.add_adapter()
    put_tags(bluez)
    master, slave = pty.openpty()
    # the answers wait in the terminal until asked: tag 1, bind to "checkpoint", item 2
    os.write(master, b"1\n1\n2\n")
    proc = subprocess.run(
        cli.argv("pair", "--seconds", "2"),
        cwd=ROOT, env=cli.env(), stdin=slave, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    os.close(slave)
    os.close(master)
    assert proc.returncode == 0, proc.stderr
    listing = proc.stdout.splitlines()
    assert listing[0].split()[:2] == ["#", "ADDRESS"]
    assert listing[1].split()[:2] == ["1", "C0:00:00:00:00:01"]  # -45 dBm before -80 dBm
    assert listing[2].split()[:2] == ["2", "C0:00:00:00:00:02"]
    assert "1. checkpoint (2)" in proc.stdout and "2. Lobby" in proc.stdout
    (sent,) = fake_api.state.pairs
    assert (sent["kind"], sent["ident"]) == ("ibeacon", IB_IDENT)
    assert sent["target"] == {"type": "checkpoint", "id": 13}
