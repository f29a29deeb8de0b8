"""Abuse limits of the web chat: token buckets per connection and per address, kept in memory only.

An address is used as a dictionary key for a few minutes and never written anywhere. No limit here ever
stands between a person and the emergency numbers: the page shows them itself, and the chat answers an
urgent command or a message that mentions danger even when it refuses everything else.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Bucket:
    """`capacity` at once, then `rate` per second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass
class WebchatLimits:
    """What production leaves at its defaults; tests and the load script turn these."""

    message_chars: int = 4000  # a typed message; longer ones are refused kindly and kept in the box
    frame_bytes: int = 64 * 1024  # a WebSocket frame or an HTTP body: 4,000 characters fit even \u-escaped
    per_connection: tuple[float, float] = (20, 2.0)  # burst, then messages per second
    per_address: tuple[float, float] = (60, 5.0)  # every message and poll from one address
    new_sessions_per_address: tuple[float, float] = (20, 20 / 60)  # new conversations: 20, then 20 a minute
    connections_per_address: int = 50
    code_tries_per_address: tuple[float, float] = (5, 5 / 900)  # reference-code tries: 5 per quarter hour
    code_tries_overall: tuple[float, float] = (60, 1.0)
    idle_seconds: float = 30 * 60  # a socket with nothing from the person for this long is closed
    poll_seconds: float = 25.0  # how long an HTTP long-poll waits
    relay_check_seconds: float = 1.0  # how often the outbox is checked for rows written elsewhere


@dataclass
class AddressBook:
    """Buckets per address, bounded: the least recently seen addresses are dropped first."""

    make: Callable[[], Bucket]
    size: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, Bucket] = field(default_factory=OrderedDict)

    def take(self, address: str, cost: float = 1.0) -> bool:
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = self.make()
            if len(self._buckets) > self.size:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        return bucket.take(self.clock(), cost)


def bucket_of(spec: tuple[float, float]) -> Callable[[], Bucket]:
    return lambda: Bucket(spec[0], spec[1])
