"""One lane per conversation: its messages are handled one at a time, in the order they arrived.

asyncio's Lock serves its waiters first come, first served (a newcomer never barges past a waiter), so a
lane taken at arrival keeps arrival order. A lane exists only while someone holds or waits for it, so
memory follows the conversations in flight, not all conversations ever seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class LaneFull(Exception):
    """Too many messages of one conversation are already waiting: the channel asks its sender to retry later."""


class KeyedLocks(Generic[K]):
    """A FIFO lock per key, bounded: at most `max_waiting` holders and waiters per key (None: unbounded)."""

    def __init__(self, max_waiting: int | None = None) -> None:
        self.max_waiting = max_waiting
        self._locks: dict[K, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[None]:
        """Wait for this key's turn, in arrival order; raises LaneFull (without waiting) past the bound."""
        lock, users = self._locks.get(key, (None, 0))
        if self.max_waiting is not None and users >= self.max_waiting:
            raise LaneFull
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def waiting(self, key: K) -> int:
        """Holders and waiters of one key (0 for an idle conversation)."""
        return self._locks.get(key, (None, 0))[1]

    def __len__(self) -> int:
        return len(self._locks)
