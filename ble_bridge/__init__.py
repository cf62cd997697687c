"""Anbao BLE bridge: watches extinguisher beacons and guards' badges with bleak (issue 8)."""

__version__ = "0.1.0"
