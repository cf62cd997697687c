"""Anbao BLE bridge: watches extinguisher beacons and guards' badges with bleak (issue 8)."""
