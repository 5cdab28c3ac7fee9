"""Retry delays: exponential, capped, with jitter that a re-decision reproduces."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, retry: int, seed: str) -> float:
        """Seconds to wait before retry number `retry` (1 for the first).

        The ceiling is min(cap, base × 2^retry); the delay lies between half of it and all of it. The
        jitter is drawn from `seed` (the id of the event that caused the retry) rather than a random
        source, so deciding again about the same event gives the same delay, hence the same event.
        """
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, got {retry}")
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(retry, 64))
        fraction = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") / 2**64
        return round(ceiling * (0.5 + 0.5 * fraction), 3)
