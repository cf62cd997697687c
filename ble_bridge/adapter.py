"""The Bluetooth adapter's state as BlueZ reports it on the system D-Bus: present, powered,
its address, and whether it can scan passively (BlueZ's advertisement monitor)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from bleak.backends.bluezdbus.utils import get_dbus_authenticator
from dbus_fast import BusType, Message, MessageType, unpack_variants
from dbus_fast.aio import MessageBus

BLUEZ = "org.bluez"
ADAPTER_INTERFACE = "org.bluez.Adapter1"
MONITOR_MANAGER_INTERFACE = "org.bluez.AdvertisementMonitorManager1"


@dataclass(frozen=True, slots=True)
class AdapterState:
    name: str
    present: bool
    powered: bool = False
    address: str | None = None
    passive_capable: bool = False
    reason: str | None = None  # why it is not usable, in words for the log

    @property
    def usable(self) -> bool:
        return self.present and self.powered

    def problem(self) -> str | None:
        if self.reason:
            return self.reason
        if not self.present:
            return (
                f"Bluetooth adapter {self.name} not found: is the dongle plugged in and "
                "bluetoothd running?"
            )
        if not self.powered:
            return (
                f"Bluetooth adapter {self.name} is powered off: run "
                f"'bluetoothctl power on' (or 'rfkill unblock bluetooth')"
            )
        return None

    def to_json(self, passive: bool) -> dict[str, Any]:
        return {
            "present": self.present,
            "powered": self.powered,
            "address": self.address,
            "passive": passive,
        }


class AdapterProbe:
    """Asks BlueZ about one adapter; keeps its own bus connection and reconnects as needed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._bus: MessageBus | None = None

    async def state(self) -> AdapterState:
        """Never raises: a missing bus or bluetoothd is an adapter that is not present."""
        try:
            bus = await self._connect()
            reply = await bus.call(
                Message(
                    destination=BLUEZ,
                    path="/",
                    interface="org.freedesktop.DBus.ObjectManager",
                    member="GetManagedObjects",
                )
            )
        except Exception as exc:  # no socket, refused, auth, a bus that died mid-call
            await self.close()
            return AdapterState(
                self.name, present=False, reason=f"no system D-Bus for BlueZ ({exc!r})"
            )
        if reply is None or reply.message_type == MessageType.ERROR:
            error = reply.error_name if reply is not None else "no reply"
            if error == "org.freedesktop.DBus.Error.ServiceUnknown":
                reason = "bluetoothd is not running (no org.bluez on the system D-Bus)"
            else:
                reason = f"BlueZ did not answer ({error})"
            return AdapterState(self.name, present=False, reason=reason)
        objects = reply.body[0]
        interfaces = objects.get(f"/org/bluez/{self.name}")
        if not interfaces or ADAPTER_INTERFACE not in interfaces:
            return AdapterState(self.name, present=False)
        props = unpack_variants(interfaces[ADAPTER_INTERFACE])
        monitor = unpack_variants(interfaces.get(MONITOR_MANAGER_INTERFACE, {}))
        return AdapterState(
            self.name,
            present=True,
            powered=bool(props.get("Powered", False)),
            address=props.get("Address"),
            passive_capable="or_patterns" in monitor.get("SupportedMonitorTypes", []),
        )

    async def _connect(self) -> MessageBus:
        if self._bus is not None and self._bus.connected:
            return self._bus
        await self.close()
        # The same authentication as bleak (BLEAK_DBUS_AUTH_UID in containers).
        bus = MessageBus(bus_type=BusType.SYSTEM, auth=get_dbus_authenticator())
        try:
            await bus.connect()
        except BaseException:
            bus.disconnect()
            raise
        self._bus = bus
        return bus

    async def close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
            with contextlib.suppress(Exception):  # the error that ended the bus, seen already
                await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
