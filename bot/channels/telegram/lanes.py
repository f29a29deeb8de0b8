"""Telegram updates, polled or posted to the webhook, run concurrently across chats but in order within one chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.lanes import KeyedLocks

__all__ = ["ChatLanes", "KeyedLocks"]


class ChatLanes(BaseUpdateProcessor):
    """One lane per chat: a slowed or slow chat never holds up another one.

    PTB's own slots only count updates in flight (waiting in a lane costs one small task); the work itself is
    bounded by `max_working`, taken inside the lane so that a queue in one lane never holds a working slot.
    """

    def __init__(self, max_working: int = 64, max_in_flight: int = 10_000, *, ordered: bool = True,
                 max_per_chat: int | None = None) -> None:
        super().__init__(max_in_flight)
        #: past `max_per_chat` updates of one chat in hand, the next raises LaneFull at once (a flood waits
        #: in Telegram's queue, not in this process's memory and not in the webhook's overall bound)
        self._lanes: KeyedLocks[int] = KeyedLocks(max_per_chat)
        self._working = asyncio.Semaphore(max_working)
        self.ordered = ordered  # False only to measure what the lanes cost (bench.ordering)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _lane_of(update) if self.ordered else None
        if key is None:
            async with self._working:
                await coroutine
            return
        async with self._lanes.hold(key), self._working:
            await coroutine

    @asynccontextmanager
    async def aside(self) -> AsyncIterator[None]:
        """Give up this update's working slot while it only waits (a flood delay), and take one back after.

        Only for code running inside `do_process_update`, which every handler does: its lane stays held.
        """
        self._working.release()
        try:
            yield
        finally:
            await self._working.acquire()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _lane_of(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
