"""Exponential backoff with jitter, shared by the scanner, the GATT reader and the uplink."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1  # ± this fraction, so bridges that lost the backend together spread out
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next(self, floor: float = 0.0) -> float:
        """The delay before the next try; `floor` is a server's Retry-After."""
        base = min(self.maximum, self.initial * self.factor**self.attempt)
        self.attempt += 1
        spread = base * self.jitter
        return max(floor, min(self.maximum, base + self.rng.uniform(-spread, spread)))

    def reset(self) -> None:
        self.attempt = 0
