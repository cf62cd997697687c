"""`anbao-bridge`: scan, pair, run, status (and battery) from the command line.

Exit codes: 0 done, 1 failed (the message says why), 2 bad configuration or arguments,
3 the backend refused the token, 4 another bridge process holds the spool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from ble_bridge import __version__
from ble_bridge.aggregate import Aggregator, TagView, Thresholds
from ble_bridge.api import (
    BackendClient,
    BackendError,
    KnownTag,
    Refused,
    RemoteConfig,
    Targets,
    TokenRejected,
)
from ble_bridge.battery import BatteryError, read_battery
from ble_bridge.config import BridgeConfig, ConfigError, config_path, load_config
from ble_bridge.daemon import EXIT_LOCKED, Daemon, SpoolLocked
from ble_bridge.frames import TagKind
from ble_bridge.scanner import Advertisement, Scanner, ScannerState, utc_now
from ble_bridge.spool import Spool

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TOKEN = 3

TARGET_TYPES = ("checkpoint", "badge", "equipment")


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anbao-bridge", description="Anbao BLE bridge: patrol tags and extinguisher beacons"
    )
    parser.add_argument("--version", action="version", version=f"anbao-bridge {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML file (default: $ANBAO_BRIDGE_CONFIG, /etc/anbao-bridge.toml)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="a live table of nearby tags")
    scan.add_argument("--seconds", type=float, default=0, help="stop after this long (0: Ctrl-C)")
    scan.add_argument("--all", action="store_true", help="also list devices that are not tags")
    scan.add_argument("--json", action="store_true", help="print the final table as JSON")

    pair = sub.add_parser("pair", help="bind an unknown nearby tag to a checkpoint, badge or item")
    pair.add_argument("--seconds", type=float, default=8.0, help="how long to listen first")
    pair.add_argument("--address", help="the tag's BLE address (skips the question)")
    pair.add_argument("--target", help="type:id, e.g. checkpoint:12, badge:7, equipment:3")
    pair.add_argument("--label", default="", help="a label for the tag")
    pair.add_argument("--all", action="store_true", help="also offer devices that are not tags")
    pair.add_argument("--identity-key", help="EID tags: the 16-byte identity key, 32 hex digits")
    pair.add_argument(
        "--rotation-exponent", type=int, help="EID tags: K, the id rotates every 2^K s"
    )
    pair.add_argument("--clock-offset", type=int, help="EID tags: the beacon clock at pairing, s")

    sub.add_parser("run", help="the daemon: scan, aggregate, spool, deliver, heartbeat")

    status = sub.add_parser("status", help="spool, dead letters, last delivery, backend")
    status.add_argument("--json", action="store_true")

    battery = sub.add_parser("battery", help="read a tag's battery level over GATT")
    battery.add_argument("--address", required=True)
    battery.add_argument("--attempts", type=int, default=4)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(config_path(args.config))
    except ConfigError as exc:
        print(f"anbao-bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    level = config.log_level
    if args.command != "run" and level == "INFO":
        level = "WARNING"  # the interactive commands print what matters themselves
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    commands: dict[str, Callable[[BridgeConfig, argparse.Namespace], int]] = {
        "scan": cmd_scan,
        "pair": cmd_pair,
        "run": cmd_run,
        "status": cmd_status,
        "battery": cmd_battery,
    }
    try:
        return commands[args.command](config, args)
    except CommandError as exc:
        print(f"anbao-bridge: {exc.message}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"anbao-bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TokenRejected as exc:
        print(f"anbao-bridge: {exc.message}", file=sys.stderr)
        return EXIT_TOKEN
    except KeyboardInterrupt:
        return 130


# --- scan ---------------------------------------------------------------------------------


async def listen(
    config: BridgeConfig,
    seconds: float,
    *,
    until: Callable[[Aggregator], bool] | None = None,
    redraw: Callable[[Aggregator, ScannerState | None], None] | None = None,
) -> tuple[list[TagView], ScannerState | None]:
    """Scan for `seconds` (0: until SIGINT/SIGTERM) or until `until(aggregator)` holds."""
    aggregator = Aggregator(Thresholds(present_after=1))
    stop = asyncio.Event()
    states: list[ScannerState] = []

    def seen(ad: Advertisement) -> None:
        aggregator.observe(ad.address, ad.rssi, ad.manufacturer_data, ad.service_data, ad.at)

    scanner = Scanner(
        config.adapter,
        seen,
        mode=config.scan_mode,
        poll_seconds=min(config.adapter_poll_seconds, 1.0),
        retry_max_seconds=min(config.retry_max_seconds, 5.0),
        on_state=states.append,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(scanner.run(stop))
    started = loop.time()
    try:
        while not stop.is_set():
            if seconds and loop.time() - started >= seconds:
                break
            if until is not None and until(aggregator):
                break
            if redraw is not None:
                redraw(aggregator, scanner.state)
            await asyncio.sleep(0.25 if redraw is None else 1.0)
    finally:
        stop.set()
        await task
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return aggregator.tags(), (states[-1] if states else None)


async def fetch_remote(config: BridgeConfig) -> tuple[RemoteConfig | None, str | None]:
    """The backend's known tags for naming, or why there are none."""
    if not config.backend_url or not config.token.get_secret_value():
        return None, "backend not configured: tags are not named"
    try:
        async with BackendClient(
            config.backend_url, config.token, timeout=min(config.http_timeout_seconds, 5.0)
        ) as client:
            return await client.config(), None
    except TokenRejected as exc:
        return None, exc.message
    except BackendError as exc:
        return None, f"backend unreachable, tags are not named ({exc.message})"


def cmd_scan(config: BridgeConfig, args: argparse.Namespace) -> int:
    out = sys.stdout
    live = out.isatty() and not args.json

    async def go() -> tuple[list[TagView], ScannerState | None, RemoteConfig | None, str | None]:
        remote, note = await fetch_remote(config)
        names = remote.names() if remote else {}

        def redraw(agg: Aggregator, state: ScannerState | None) -> None:
            out.write("\x1b[H\x1b[2J")
            rows = [t for t in agg.tags() if args.all or t.recognized or _named(t, names)]
            out.write(render_table(rows, names, utc_now()))
            out.write(_state_line(state, note))
            out.flush()

        tags, state = await listen(config, args.seconds, redraw=redraw if live else None)
        return tags, state, remote, note

    tags, state, remote, note = asyncio.run(go())
    names = remote.names() if remote else {}
    rows = [t for t in tags if args.all or t.recognized or _named(t, names)]
    if args.json:
        json.dump([_tag_json(t, names) for t in rows], out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        if live:
            out.write("\x1b[H\x1b[2J")
        out.write(render_table(rows, names, utc_now()))
        out.write(_state_line(state, note))
    return 0


def render_table(
    tags: Sequence[TagView],
    names: dict[tuple[str, str], KnownTag],
    now: datetime,
    *,
    numbered: bool = False,
) -> str:
    header: tuple[str, ...] = ("ADDRESS", "KIND", "ID", "RSSI", "BATTERY", "LAST SEEN", "NAME")
    if numbered:
        header = ("#", *header)
    rows = [header]
    for i, t in enumerate(tags, 1):
        known = names.get((t.kind.value, t.ident))
        rows.append(
            (
                *((str(i),) if numbered else ()),
                t.address,
                t.kind.value,
                t.ident,
                str(t.rssi),
                _battery(t),
                _ago(now - t.last_seen),
                f"{known.name} ({known.bound_to.type} {known.bound_to.name})" if known else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if not tags:
        lines.append("(no tags heard)")
    return "\n".join(lines) + "\n"


def _named(tag: TagView, names: dict[tuple[str, str], KnownTag]) -> bool:
    return (tag.kind.value, tag.ident) in names


def _battery(t: TagView) -> str:
    if t.battery_percent is not None and t.battery_mv is not None:
        return f"{t.battery_percent}% ({t.battery_mv} mV)"
    if t.battery_percent is not None:
        return f"{t.battery_percent}%"
    return "-"


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds}s ago" if seconds < 120 else f"{seconds // 60}m ago"


def _state_line(state: ScannerState | None, note: str | None) -> str:
    parts = []
    if state is not None and state.message:
        parts.append(state.message)
    elif state is not None and state.scanning:
        parts.append(
            "scanning passively (only tag frames are heard)"
            if state.passive
            else "scanning actively"
        )
    if note:
        parts.append(note)
    return "".join(f"-- {p}\n" for p in parts)


def _tag_json(t: TagView, names: dict[tuple[str, str], KnownTag]) -> dict[str, Any]:
    known = names.get((t.kind.value, t.ident))
    return {
        "address": t.address,
        "kind": t.kind.value,
        "ident": t.ident,
        "rssi": t.rssi,
        "battery_percent": t.battery_percent,
        "battery_mv": t.battery_mv,
        "temperature_c": t.temperature_c,
        "last_seen": t.last_seen.isoformat(),
        "name": known.name if known else None,
        "bound_to": known.bound_to.model_dump() if known else None,
    }


# --- pair ---------------------------------------------------------------------------------


def cmd_pair(config: BridgeConfig, args: argparse.Namespace) -> int:
    config.require_backend()
    wanted = args.address.upper() if args.address else None
    target = parse_target(args.target) if args.target else None
    if (wanted is None or target is None) and not sys.stdin.isatty():
        # Say so before listening for seconds: there is nobody to ask.
        missing = "--address" if wanted is None else "--target"
        raise CommandError(f"give {missing} (no terminal to ask)", EXIT_USAGE)

    async def prepare() -> tuple[RemoteConfig, Targets, list[TagView]]:
        async with BackendClient(
            config.backend_url, config.token, timeout=config.http_timeout_seconds
        ) as client:
            try:
                remote = await client.config()
                targets = await client.targets()
            except TokenRejected:
                raise
            except BackendError as exc:
                raise CommandError(f"cannot pair while the backend is unreachable: {exc}") from exc

        def found(agg: Aggregator) -> bool:
            # With --address, stop as soon as that tag has shown its identity.
            return wanted is not None and any(
                t.address == wanted and t.recognized and t.kind != TagKind.ADDRESS
                for t in agg.tags()
            )

        tags, state = await listen(config, args.seconds, until=found)
        if state is not None and state.message and not tags:
            raise CommandError(state.message)
        return remote, targets, tags

    remote, targets, tags = asyncio.run(prepare())
    known = remote.names()
    candidates = [
        t for t in tags if (args.all or t.recognized) and (t.kind.value, t.ident) not in known
    ]
    if wanted is not None:
        match = [t for t in tags if t.address == wanted]
        if not match:
            raise CommandError(f"tag {wanted} was not heard in {args.seconds:g} s")
        tag = match[0]
        if (tag.kind.value, tag.ident) in known:
            bound = known[(tag.kind.value, tag.ident)]
            raise CommandError(
                f"tag {wanted} is already bound to {bound.bound_to.type} {bound.bound_to.name}"
            )
    else:
        if not candidates:
            raise CommandError(f"no unknown tags heard in {args.seconds:g} s")
        print(render_table(candidates, {}, utc_now(), numbered=True), end="")
        tag = candidates[_choose("tag number (strongest first)", len(candidates))]

    if target is None:
        target = _ask_target(targets)
    else:
        _check_target(target, targets)

    body: dict[str, Any] = {
        "kind": tag.kind.value,
        "ident": tag.ident,
        "address": tag.address,
        "target": {"type": target[0], "id": target[1]},
        "identity_key": None,
        "rotation_exponent": None,
        "clock_offset": None,
    }
    if args.label:
        body["label"] = args.label
    if tag.kind == TagKind.EDDYSTONE_EID:
        body.update(_eid_keys(args))
    elif args.identity_key or args.rotation_exponent is not None or args.clock_offset is not None:
        raise CommandError(
            "--identity-key, --rotation-exponent and --clock-offset are for EID tags"
        )

    async def bind() -> KnownTag:
        async with BackendClient(
            config.backend_url, config.token, timeout=config.http_timeout_seconds
        ) as client:
            try:
                return await client.pair(body)
            except Refused as exc:
                raise CommandError(f"the backend refused the pairing: {exc.message}") from exc
            except TokenRejected:
                raise
            except BackendError as exc:
                raise CommandError(f"backend unreachable: {exc.message}") from exc

    entry = asyncio.run(bind())
    print(
        f"bound {entry.kind} {entry.ident} ({tag.address}) to {entry.bound_to.type} "
        f"{entry.bound_to.id} {entry.bound_to.name}"
    )
    return 0


def parse_target(value: str) -> tuple[str, int]:
    kind, _, ident = value.partition(":")
    if kind == "guard":
        kind = "badge"
    if kind not in TARGET_TYPES or not ident.isdigit():
        raise CommandError(
            f"--target {value!r}: use type:id with type one of {', '.join(TARGET_TYPES)}",
            EXIT_USAGE,
        )
    return kind, int(ident)


def _target_lists(targets: Targets) -> dict[str, list[Any]]:
    return {
        "checkpoint": targets.checkpoints,
        "badge": targets.guards,
        "equipment": targets.equipment,
    }


def _check_target(target: tuple[str, int], targets: Targets) -> None:
    options = _target_lists(targets)[target[0]]
    if not any(t.id == target[1] for t in options):
        listed = ", ".join(f"{t.id} {t.name}" for t in options) or "none"
        raise CommandError(
            f"no {target[0]} {target[1]} at this bridge's site (there are: {listed})"
        )


def _ask_target(targets: Targets) -> tuple[str, int]:
    lists = _target_lists(targets)
    kinds = [k for k in TARGET_TYPES if lists[k]]
    if not kinds:
        raise CommandError("this site has no checkpoints, guards or equipment to bind to")
    for i, k in enumerate(kinds, 1):
        print(f"{i}. {k} ({len(lists[k])})")
    kind = kinds[_choose("bind to", len(kinds))]
    for i, t in enumerate(lists[kind], 1):
        extra = f" [{t.type}]" if t.type else ""
        print(f"{i}. {t.name}{extra}")
    return kind, lists[kind][_choose(kind, len(lists[kind]))].id


def _choose(prompt: str, count: int) -> int:
    while True:
        answer = input(f"{prompt} [1-{count}]: ").strip()
        if answer.isdigit() and 1 <= int(answer) <= count:
            return int(answer) - 1
        print(f"type a number from 1 to {count}")


def _eid_keys(args: argparse.Namespace) -> dict[str, Any]:
    key, exponent, offset = args.identity_key, args.rotation_exponent, args.clock_offset
    if key is None or exponent is None or offset is None:
        raise CommandError(
            "an EID tag needs --identity-key, --rotation-exponent and --clock-offset "
            "(from the tag's provisioning)",
            EXIT_USAGE,
        )
    return {"identity_key": key.lower(), "rotation_exponent": exponent, "clock_offset": offset}


# --- run, status, battery -----------------------------------------------------------------


def cmd_run(config: BridgeConfig, args: argparse.Namespace) -> int:
    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await Daemon(config).run(stop)

    try:
        return asyncio.run(go())
    except SpoolLocked as exc:
        raise CommandError(str(exc), EXIT_LOCKED) from exc


def cmd_status(config: BridgeConfig, args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout
    report: dict[str, Any] = {"spool_path": str(config.spool_path), "adapter": config.adapter}
    if config.spool_path.exists():
        spool = Spool.open(config.spool_path)
        try:
            stats = spool.stats()
            dead = spool.dead_letters()
        finally:
            spool.close()
        report.update(
            spool_batches=stats.batches,
            spool_sightings=stats.sightings,
            spool_events=stats.events,
            oldest_spooled=stats.oldest,
            last_delivery_at=stats.last_delivery_at,
            last_error=stats.last_error,
            dead_letters=[
                {
                    "batch_id": d.batch_id,
                    "failed_at": d.failed_at,
                    "status": d.status,
                    "error": d.error,
                    "sightings": d.sightings,
                    "events": d.events,
                }
                for d in dead
            ],
        )
    else:
        report.update(
            spool_batches=0,
            spool_sightings=0,
            spool_events=0,
            oldest_spooled=None,
            last_delivery_at=None,
            last_error=None,
            dead_letters=[],
        )
    report["backend"] = asyncio.run(_backend_status(config))
    if args.json:
        json.dump(report, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    b = report["backend"]
    lines = [
        f"spool:          {report['spool_path']}",
        f"spooled:        {report['spool_batches']} batch(es), {report['spool_sightings']} "
        f"sighting(s), {report['spool_events']} event(s)",
        f"oldest spooled: {report['oldest_spooled'] or '-'}",
        f"last delivery:  {report['last_delivery_at'] or 'never'}",
        f"last error:     {report['last_error'] or '-'}",
        f"dead letters:   {len(report['dead_letters'])}",
    ]
    for d in report["dead_letters"]:
        lines.append(f"  {d['batch_id']} {d['status']} at {d['failed_at']}: {d['error']}")
    lines.append(f"backend:        {b['url'] or '-'}: {b['state']}")
    if b.get("detail"):
        lines.append(f"                {b['detail']}")
    out.write("\n".join(lines) + "\n")
    return 0


async def _backend_status(config: BridgeConfig) -> dict[str, Any]:
    if not config.backend_url or not config.token.get_secret_value():
        return {"url": config.backend_url, "state": "not configured", "detail": None}
    try:
        async with BackendClient(
            config.backend_url, config.token, timeout=min(config.http_timeout_seconds, 5.0)
        ) as client:
            remote = await client.config()
    except TokenRejected as exc:
        return {"url": config.backend_url, "state": "token refused", "detail": exc.message}
    except BackendError as exc:
        return {"url": config.backend_url, "state": "unreachable", "detail": exc.message}
    return {
        "url": config.backend_url,
        "state": "reachable",
        "detail": f"bridge {remote.bridge.name!r}, site {remote.bridge.site_id}, "
        f"{len(remote.known)} known tag(s)",
    }


def cmd_battery(config: BridgeConfig, args: argparse.Namespace) -> int:
    try:
        percent = asyncio.run(
            read_battery(args.address.upper(), adapter=config.adapter, attempts=args.attempts)
        )
    except BatteryError as exc:
        raise CommandError(f"battery not read: {exc}") from exc
    print(f"{args.address.upper()} battery {percent}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
