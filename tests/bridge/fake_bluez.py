"""A private dbus-daemon and a fake `org.bluez` served on it with dbus-fast, so unmodified
bleak (BlueZ backend) scans, connects and reads GATT as on a real Linux box.

What the fake does like BlueZ (bleak relies on each): `GetManagedObjects` at `/`; Adapter1 with
`Roles` and `Powered`; discovery sessions per client (`StartDiscovery`/`StopDiscovery`, dropped
when the client leaves the bus); while a session or a matching advertisement monitor is active,
`InterfacesAdded` for a new device and then `PropertiesChanged` (RSSI, ManufacturerData,
ServiceData) every `interval`; `AdvertisementMonitorManager1.RegisterMonitor` reading the or
patterns back from the client; Device1 `Connect`/`Disconnect` with `ServicesResolved`; GATT
objects named `…/serviceXXXX/charYYYY`; `ReadValue`; adapters that vanish and come back.

The fake runs in its own thread and event loop; tests drive it through `FakeBluez` methods,
which are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

T = TypeVar("T")

BLUEZ = "org.bluez"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
MONITOR_MANAGER = "org.bluez.AdvertisementMonitorManager1"
MONITOR = "org.bluez.AdvertisementMonitor1"
GATT_SERVICE = "org.bluez.GattService1"
GATT_CHAR = "org.bluez.GattCharacteristic1"
PROPERTIES = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def dbus_daemon_path() -> str | None:
    return shutil.which("dbus-daemon")


class DbusDaemon:
    """`dbus-daemon` with its own config on a socket in a fresh temporary directory."""

    def __init__(self) -> None:
        binary = dbus_daemon_path()
        if binary is None:
            raise RuntimeError("dbus-daemon is not installed (Debian package 'dbus')")
        # A short path: unix socket names are limited to 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="anbao-dbus-"))
        socket = self.dir / "bus"
        config = self.dir / "bus.conf"
        config.write_text(DBUS_CONFIG.format(socket=socket), encoding="utf-8")
        self.address = f"unix:path={socket}"
        self.proc = subprocess.Popen(
            [binary, f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()  # printed once it listens
        if not line:
            self.stop()
            raise RuntimeError("dbus-daemon did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class FakeTag:
    """A BLE device in range: what it advertises and, if connectable, its GATT battery."""

    address: str
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    rssi: int = -60
    name: str | None = None
    battery: int | None = None  # a Battery Service with this level, or none
    connect_failures: int = 0  # the first N Connect calls fail like a busy radio
    # Beacons that interleave frames (Eddystone UID, then TLM, ...): one entry per advertisement.
    cycle: list[tuple[dict[int, bytes], dict[str, bytes]]] = field(default_factory=list)
    sent: int = 0

    def next_frames(self) -> tuple[dict[int, bytes], dict[str, bytes]]:
        if self.cycle:
            self.manufacturer_data, self.service_data = self.cycle[self.sent % len(self.cycle)]
        self.sent += 1
        return self.manufacturer_data, self.service_data

    def ad_structures(self) -> list[tuple[int, bytes]]:
        """The AD structures on air (type, content), as BlueZ matches monitor patterns."""
        out = [(0xFF, cid.to_bytes(2, "little") + d) for cid, d in self.manufacturer_data.items()]
        for uuid, data in self.service_data.items():
            if uuid.endswith("-0000-1000-8000-00805f9b34fb") and uuid.startswith("0000"):
                out.append((0x16, int(uuid[4:8], 16).to_bytes(2, "little") + data))
        return out


@dataclass
class _Adapter:
    name: str
    address: str
    powered: bool
    passive: bool
    sessions: set[str] = field(default_factory=set)  # clients with discovery on
    monitors: dict[tuple[str, str], list[tuple[int, int, bytes]]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/org/bluez/{self.name}"


def device_path(adapter: str, address: str) -> str:
    return f"/org/bluez/{adapter}/dev_{address.upper().replace(':', '_')}"


class _Error(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name
        self.text = text


class _Server:
    """Lives on the fake's own event loop."""

    def __init__(self, address: str, interval: float) -> None:
        self.bus_address = address
        self.interval = interval
        self.bus: MessageBus | None = None
        self.adapters: dict[str, _Adapter] = {}
        self.tags: dict[str, FakeTag] = {}
        self.objects: dict[str, dict[str, dict[str, Variant]]] = {}
        self.calls: list[tuple[str, str, Any]] = []  # (member, path, detail)
        self.reads: int = 0
        self._ticker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._rng = random.Random(7)

    async def start(self) -> None:
        bus = MessageBus(bus_address=self.bus_address)
        await bus.connect()
        bus.add_message_handler(self._handle)
        await bus.request_name(BLUEZ)
        await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=["type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'"],
            )
        )
        self.bus = bus
        self._ticker = asyncio.create_task(self._advertise())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for task in list(self._tasks):
            task.cancel()
        if self.bus is not None:
            self.bus.disconnect()
            with contextlib.suppress(Exception):
                await self.bus.wait_for_disconnect()

    # --- test controls --------------------------------------------------------------------

    def add_adapter(self, name: str, address: str, powered: bool, passive: bool) -> None:
        adapter = _Adapter(name, address, powered, passive)
        self.adapters[name] = adapter
        interfaces: dict[str, dict[str, Variant]] = {
            ADAPTER: {
                "Address": Variant("s", address),
                "AddressType": Variant("s", "public"),
                "Name": Variant("s", f"anbao-{name}"),
                "Alias": Variant("s", f"anbao-{name}"),
                "Class": Variant("u", 0),
                "Powered": Variant("b", powered),
                "Discoverable": Variant("b", False),
                "Pairable": Variant("b", False),
                "Discovering": Variant("b", False),
                "UUIDs": Variant("as", []),
                "Modalias": Variant("s", "usb:v1D6Bp0246d0548"),
                "Roles": Variant("as", ["central", "peripheral"]),
            }
        }
        if passive:
            interfaces[MONITOR_MANAGER] = {
                "SupportedMonitorTypes": Variant("as", ["or_patterns"]),
                "SupportedFeatures": Variant("as", []),
            }
        self._add(adapter.path, interfaces)

    def remove_adapter(self, name: str) -> None:
        adapter = self.adapters.pop(name)
        for path in sorted(self.objects, reverse=True):  # children first
            if path.startswith(adapter.path + "/"):
                self._remove(path)
        self._remove(adapter.path)

    def set_powered(self, name: str, powered: bool) -> None:
        adapter = self.adapters[name]
        adapter.powered = powered
        changed = {"Powered": Variant("b", powered)}
        if not powered:
            adapter.sessions.clear()
            changed["Discovering"] = Variant("b", False)
        self._changed(adapter.path, ADAPTER, changed)

    def put_tag(self, tag: FakeTag) -> None:
        self.tags[tag.address.upper()] = tag

    def remove_tag(self, address: str) -> None:
        self.tags.pop(address.upper(), None)

    # --- advertising ----------------------------------------------------------------------

    async def _advertise(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for adapter in list(self.adapters.values()):
                if not adapter.powered:
                    continue
                for tag in list(self.tags.values()):
                    frames = tag.next_frames()
                    if adapter.sessions or self._monitored(adapter, tag):
                        self._advertise_tag(adapter, tag, frames)

    def _monitored(self, adapter: _Adapter, tag: FakeTag) -> bool:
        structures = tag.ad_structures()
        for patterns in adapter.monitors.values():
            for start, ad_type, content in patterns:
                for kind, data in structures:
                    if kind == ad_type and data[start : start + len(content)] == content:
                        return True
        return False

    def _advertise_tag(
        self, adapter: _Adapter, tag: FakeTag, frames: tuple[dict[int, bytes], dict[str, bytes]]
    ) -> None:
        path = device_path(adapter.name, tag.address)
        rssi = tag.rssi + self._rng.randint(-3, 3)
        manufacturer, service = frames
        ad = {
            "RSSI": Variant("n", rssi),
            "ManufacturerData": Variant(
                "a{qv}", {cid: Variant("ay", data) for cid, data in manufacturer.items()}
            ),
            "ServiceData": Variant(
                "a{sv}", {u: Variant("ay", data) for u, data in service.items()}
            ),
        }
        if path not in self.objects:
            props = {
                "Address": Variant("s", tag.address.upper()),
                "AddressType": Variant("s", "random"),
                "Alias": Variant("s", tag.name or tag.address.upper().replace(":", "-")),
                "Paired": Variant("b", False),
                "Bonded": Variant("b", False),
                "Trusted": Variant("b", False),
                "Blocked": Variant("b", False),
                "LegacyPairing": Variant("b", False),
                "Connected": Variant("b", False),
                "ServicesResolved": Variant("b", False),
                "UUIDs": Variant("as", [BATTERY_SERVICE] if tag.battery is not None else []),
                "Adapter": Variant("o", adapter.path),
                **ad,
            }
            if tag.name:
                props["Name"] = Variant("s", tag.name)
            self._add(path, {DEVICE: props})
        else:
            self._changed(path, DEVICE, ad)

    # --- D-Bus plumbing -------------------------------------------------------------------

    def _signal(
        self, path: str, interface: str, member: str, signature: str, body: list[Any]
    ) -> None:
        assert self.bus is not None
        self.bus.send(
            Message.new_signal(path, interface, member, signature, body)  # type: ignore[arg-type]
        )

    def _add(self, path: str, interfaces: dict[str, dict[str, Variant]]) -> None:
        existing = self.objects.setdefault(path, {})
        existing.update(interfaces)
        self._signal("/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [path, interfaces])

    def _remove(self, path: str) -> None:
        interfaces = self.objects.pop(path, None)
        if interfaces:
            self._signal("/", OBJECT_MANAGER, "InterfacesRemoved", "oas", [path, list(interfaces)])

    def _changed(
        self,
        path: str,
        interface: str,
        changed: dict[str, Variant],
        invalidated: list[str] | None = None,
    ) -> None:
        props = self.objects.get(path, {}).get(interface)
        if props is None:
            return
        props.update(changed)
        for name in invalidated or []:
            props.pop(name, None)
        self._signal(
            path,
            PROPERTIES,
            "PropertiesChanged",
            "sa{sv}as",
            [interface, changed, invalidated or []],
        )

    def _handle(self, msg: Message) -> Message | bool | None:
        if msg.message_type == MessageType.SIGNAL:
            if msg.member == "NameOwnerChanged" and msg.body[0].startswith(":") and not msg.body[2]:
                self._client_left(msg.body[0])
            return None
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        if msg.path != "/" and not (msg.path or "").startswith("/org/bluez"):
            return None
        try:
            return self._dispatch(msg)
        except _Error as exc:
            return Message.new_error(msg, exc.name, exc.text)

    def _dispatch(self, msg: Message) -> Message | bool:
        path, iface, member = msg.path or "", msg.interface, msg.member
        if iface == OBJECT_MANAGER and member == "GetManagedObjects" and path == "/":
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [self.objects])
        if path not in self.objects:
            raise _Error("org.freedesktop.DBus.Error.UnknownObject", f"no object {path}")
        if iface == PROPERTIES:
            return self._properties(msg, path)
        interfaces = self.objects[path]
        if iface not in interfaces:
            # what bluetoothd (GDBus) answers, and what bleak looks for to explain passive mode
            raise _Error("org.freedesktop.DBus.Error.UnknownMethod", f"no {iface} at {path}")
        self.calls.append((member or "", path, list(msg.body)))
        handler = getattr(self, f"_{(iface or '').rsplit('.', 1)[-1]}_{member}", None)
        if handler is None:
            raise _Error("org.freedesktop.DBus.Error.UnknownMethod", f"{iface}.{member}")
        result: Message | bool = handler(msg, path)
        return result

    def _properties(self, msg: Message, path: str) -> Message:
        if msg.member == "GetAll":
            return Message.new_method_return(
                msg, "a{sv}", [self.objects[path].get(msg.body[0], {})]
            )
        if msg.member == "Get":
            iface, name = msg.body
            value = self.objects[path].get(iface, {}).get(name)
            if value is None:
                raise _Error("org.freedesktop.DBus.Error.InvalidArgs", f"no property {name}")
            return Message.new_method_return(msg, "v", [value])
        if msg.member == "Set":
            iface, name, value = msg.body
            if iface == ADAPTER and name == "Powered":
                self.set_powered(path.rsplit("/", 1)[-1], bool(value.value))
                return Message.new_method_return(msg)
            raise _Error("org.bluez.Error.NotSupported", f"cannot set {name}")
        raise _Error("org.freedesktop.DBus.Error.UnknownMethod", str(msg.member))

    def _adapter_of(self, path: str) -> _Adapter:
        return self.adapters[path.split("/")[3]]

    # Adapter1

    def _Adapter1_SetDiscoveryFilter(self, msg: Message, path: str) -> Message:
        return Message.new_method_return(msg)

    def _Adapter1_StartDiscovery(self, msg: Message, path: str) -> Message:
        adapter = self._adapter_of(path)
        if not adapter.powered:
            raise _Error("org.bluez.Error.NotReady", "Resource Not Ready")
        if (msg.sender or "") in adapter.sessions:
            # BlueZ: one discovery per client (adapter.c start_discovery: btd_error_busy)
            raise _Error("org.bluez.Error.InProgress", "Operation already in progress")
        adapter.sessions.add(msg.sender or "")
        self._changed(path, ADAPTER, {"Discovering": Variant("b", True)})
        return Message.new_method_return(msg)

    def _Adapter1_StopDiscovery(self, msg: Message, path: str) -> Message:
        adapter = self._adapter_of(path)
        if not adapter.powered:
            raise _Error("org.bluez.Error.NotReady", "Resource Not Ready")
        if (msg.sender or "") not in adapter.sessions:
            raise _Error("org.bluez.Error.Failed", "No discovery started")
        adapter.sessions.discard(msg.sender or "")
        if not adapter.sessions:
            self._discovery_over(adapter)
        return Message.new_method_return(msg)

    def _discovery_over(self, adapter: _Adapter) -> None:
        self._changed(adapter.path, ADAPTER, {"Discovering": Variant("b", False)})
        for path in list(self.objects):
            if path.startswith(adapter.path + "/dev_") and DEVICE in self.objects[path]:
                self._changed(path, DEVICE, {}, ["RSSI"])

    # AdvertisementMonitorManager1

    def _AdvertisementMonitorManager1_RegisterMonitor(self, msg: Message, path: str) -> bool:
        adapter = self._adapter_of(path)
        key = (msg.sender or "", msg.body[0])
        assert self.bus is not None
        self.bus.send(Message.new_method_return(msg))
        self._spawn(self._activate_monitor(adapter, key))
        return True

    def _AdvertisementMonitorManager1_UnregisterMonitor(self, msg: Message, path: str) -> Message:
        adapter = self._adapter_of(path)
        if adapter.monitors.pop((msg.sender or "", msg.body[0]), None) is None:
            raise _Error("org.bluez.Error.DoesNotExist", "Does Not Exist")
        return Message.new_method_return(msg)

    async def _activate_monitor(self, adapter: _Adapter, key: tuple[str, str]) -> None:
        # Like BlueZ: read the monitor's patterns from the client, then tell it it is active.
        assert self.bus is not None
        sender, monitor_path = key
        for _ in range(100):
            reply = await self.bus.call(
                Message(
                    destination=sender,
                    path=monitor_path,
                    interface=PROPERTIES,
                    member="GetAll",
                    signature="s",
                    body=[MONITOR],
                )
            )
            if reply is not None and reply.message_type == MessageType.METHOD_RETURN:
                props = reply.body[0]
                if "Patterns" in props:
                    patterns = [(int(a), int(b), bytes(c)) for a, b, c in props["Patterns"].value]
                    adapter.monitors[key] = patterns
                    self.calls.append(("MonitorActive", monitor_path, patterns))
                    await self.bus.call(
                        Message(
                            destination=sender,
                            path=monitor_path,
                            interface=MONITOR,
                            member="Activate",
                        )
                    )
                    return
            await asyncio.sleep(0.02)

    # Device1

    def _Device1_Connect(self, msg: Message, path: str) -> Message:
        adapter = self._adapter_of(path)
        tag = self._tag_at(path)
        if not adapter.powered:
            raise _Error("org.bluez.Error.NotReady", "Resource Not Ready")
        if tag is None:
            raise _Error("org.bluez.Error.Failed", "Host is down")
        if tag.connect_failures > 0:
            tag.connect_failures -= 1
            raise _Error("org.bluez.Error.Failed", "Software caused connection abort")
        self._changed(path, DEVICE, {"Connected": Variant("b", True)})
        if tag.battery is not None:
            service = f"{path}/service000a"
            self._add(
                service,
                {
                    GATT_SERVICE: {
                        "UUID": Variant("s", BATTERY_SERVICE),
                        "Device": Variant("o", path),
                        "Primary": Variant("b", True),
                        "Includes": Variant("ao", []),
                    }
                },
            )
            self._add(
                f"{service}/char000b",
                {
                    GATT_CHAR: {
                        "UUID": Variant("s", BATTERY_LEVEL),
                        "Service": Variant("o", service),
                        "Value": Variant("ay", b""),
                        "Notifying": Variant("b", False),
                        "Flags": Variant("as", ["read", "notify"]),
                        "MTU": Variant("q", 23),
                    }
                },
            )
        self._changed(path, DEVICE, {"ServicesResolved": Variant("b", True)})
        return Message.new_method_return(msg)

    def _Device1_Disconnect(self, msg: Message, path: str) -> Message:
        for child in sorted(self.objects, reverse=True):
            if child.startswith(path + "/"):
                self._remove(child)
        self._changed(
            path,
            DEVICE,
            {"ServicesResolved": Variant("b", False), "Connected": Variant("b", False)},
        )
        return Message.new_method_return(msg)

    def _GattCharacteristic1_ReadValue(self, msg: Message, path: str) -> Message:
        tag = self._tag_at(path)
        if tag is None or tag.battery is None:
            raise _Error("org.bluez.Error.Failed", "Not connected")
        self.reads += 1
        value = bytes([tag.battery])
        self._changed(path, GATT_CHAR, {"Value": Variant("ay", value)})
        return Message.new_method_return(msg, "ay", [value])

    def _tag_at(self, path: str) -> FakeTag | None:
        device = "/".join(path.split("/")[:5])
        props = self.objects.get(device, {}).get(DEVICE)
        if props is None:
            return None
        return self.tags.get(props["Address"].value)

    def _client_left(self, name: str) -> None:
        # BlueZ ends the discovery sessions and monitors of a client that left the bus.
        for adapter in self.adapters.values():
            if name in adapter.sessions:
                adapter.sessions.discard(name)
                if not adapter.sessions and adapter.powered:
                    self._discovery_over(adapter)
            for key in [k for k in adapter.monitors if k[0] == name]:
                del adapter.monitors[key]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class FakeBluez:
    """The fake, on its own thread; every method is safe to call from a test."""

    def __init__(self, bus_address: str, interval: float = 0.05) -> None:
        self.bus_address = bus_address
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = _Server(bus_address, interval)
        self._run(self._server.start())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        async def go() -> T:
            return fn(*args)

        return self._run(go())

    def add_adapter(
        self,
        name: str = "hci0",
        *,
        address: str = "00:1A:7D:DA:71:13",
        powered: bool = True,
        passive: bool = False,
    ) -> None:
        self._call(self._server.add_adapter, name, address, powered, passive)

    def remove_adapter(self, name: str = "hci0") -> None:
        self._call(self._server.remove_adapter, name)

    def set_powered(self, powered: bool, name: str = "hci0") -> None:
        self._call(self._server.set_powered, name, powered)

    def put_tag(self, tag: FakeTag) -> None:
        self._call(self._server.put_tag, tag)

    def remove_tag(self, address: str) -> None:
        self._call(self._server.remove_tag, address)

    def calls(self, member: str | None = None) -> list[tuple[str, str, Any]]:
        calls = self._call(lambda: list(self._server.calls))
        return [c for c in calls if member is None or c[0] == member]

    def discovering(self, name: str = "hci0") -> set[str]:
        return self._call(lambda: set(self._server.adapters[name].sessions))

    def monitors(self, name: str = "hci0") -> list[list[tuple[int, int, bytes]]]:
        return self._call(lambda: list(self._server.adapters[name].monitors.values()))

    @property
    def gatt_reads(self) -> int:
        return self._call(lambda: self._server.reads)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self._server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


@contextlib.contextmanager
def fake_bluez_env(interval: float = 0.05) -> Iterator[tuple[DbusDaemon, FakeBluez]]:
    daemon = DbusDaemon()
    fake: FakeBluez | None = None
    old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    try:
        fake = FakeBluez(daemon.address, interval)
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = daemon.address
        yield daemon, fake
    finally:
        if old is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old
        if fake is not None:
            fake.close()
        daemon.stop()
