"""A process that spools and acknowledges batches as fast as it can, printing each step after
its commit, so a test can SIGKILL it anywhere and check the spool afterwards.

    python -m tests.bridge.spool_worker SPOOL_PATH RUN
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ble_bridge.aggregate import Sighting
from ble_bridge.frames import TagKind
from ble_bridge.spool import Spool


def main() -> None:
    path, run = Path(sys.argv[1]), int(sys.argv[2])
    spool = Spool.open(path)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    n = 0
    while True:
        n += 1
        at = t0 + timedelta(seconds=n)
        sightings = [
            Sighting(
                f"C0:00:00:00:{run:02X}:{i:02X}",
                TagKind.ADDRESS,
                f"run{run}-batch{n}-tag{i}",
                at,
                at,
                -60,
                1,
                None,
                None,
                None,
            )
            for i in range(1 + n % 7)
        ]
        (batch_id,) = spool.add(sightings, [], at)
        print(f"spooled {batch_id} {len(sightings)}", flush=True)
        if n % 3 == 0:
            oldest = spool.oldest()
            assert oldest is not None
            print(f"acking {oldest.batch_id}", flush=True)
            spool.acknowledge(oldest.batch_id, at)
            print(f"acked {oldest.batch_id}", flush=True)


if __name__ == "__main__":
    main()
