"""A token bucket per person: someone sending many messages a second is slowed, everyone else is not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class FloodGate:
    """Allows `burst` messages at once, then `rate` per second, per key (a pseudonym, never a raw id).

    Waiting happens before the message is handled, so one flood costs its sender time, not the database or
    other people: the sender's updates wait in their chat's lane, and give up their working slot while they
    wait (see `telegram_lanes`).
    """

    def __init__(
        self,
        rate: float = 2.0,
        burst: int = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_keys: int = 10_000,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.sleep = sleep
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._told: set[str] = set()  # keys slowed and told so, until their bucket fills again

    def delay(self, key: str) -> float:
        """Take a token for `key`; the seconds to wait before its message may be handled (0 for most)."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        refilled = min(self.burst, tokens + (now - at) * self.rate)
        if refilled >= self.burst:
            self._told.discard(key)  # calm again: a later flood is told again
        tokens = refilled - 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._forget_idle(now)
        return 0.0 if tokens >= 0 else -tokens / self.rate

    def first_slowed(self, key: str) -> bool:
        """True once per flood: the first time `key` is slowed since its bucket was last full."""
        if key in self._told:
            return False
        self._told.add(key)
        return True

    async def wait(self, key: str) -> float:
        seconds = self.delay(key)
        if seconds > 0:
            await self.sleep(seconds)
        return seconds

    def _forget_idle(self, now: float) -> None:
        """Keep memory flat: a bucket that has refilled holds nothing worth remembering."""
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
            self._told.discard(k)
