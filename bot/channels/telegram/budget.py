"""Telegram's bot-wide send limit, held across the cluster: each process sends at most its share of 30 a second.

Why: Telegram allows a bot about 30 messages a second in all, and answers more with 429. Every send of a
process takes a slot of one sliding window here: direct replies by request, replies riding in webhook answers
(no request from Baken, but a message Telegram counts and may silently refuse), relayed counsellor messages
and the notices to the counsellors' group. The window holds floor(30 / N) slots for the N live processes
(bot/leader.py counts them every second on PostgreSQL; on SQLite there is one), so N processes together never
send more than 30 in any second. A sliding window, not a bucket: PTB's bucket lets a burst of 30 through and
then 30 a second, up to 60 inside one second.

A process that joins is counted by the others within about a second (their next count); in that second the
cluster may send one share more than 30. A process that dies frees its share at the others' next count.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

#: Telegram's limit for a whole bot (messages a second)
LIMIT = 30
#: the window's length: a little over a second, because requests leave evenly but arrive with jitter
WINDOW = 1.1


class SendBudget:
    """At most `share` sends in any `window` seconds from this process."""

    def __init__(self, limit: int = LIMIT, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.processes = 1
        self._sent: deque[float] = deque()
        self._turn = asyncio.Lock()

    @property
    def share(self) -> int:
        """This process's slots per window: never 0, so a crowded cluster still answers (slowly)."""
        return max(1, self.limit // self.processes)

    def set_processes(self, count: int) -> None:
        self.processes = max(1, count)

    async def take(self) -> None:
        """Wait for a slot, first come first served, and take it."""
        async with self._turn:
            while True:
                now = self.clock()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.share:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self._sent[len(self._sent) - self.share] + self.window - now)


class BudgetedRateLimiter(AIORateLimiter):
    """PTB's rate limiter (20 a minute per group, 429s waited out and retried) with this process's share of the
    bot-wide budget in place of PTB's own 30-a-second bucket: every request to a chat, each try of it, takes
    a slot."""

    def __init__(self, budget: SendBudget | None = None, max_retries: int = 3) -> None:
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self.budget = budget or SendBudget()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if data.get("chat_id") is None:  # getMe, setWebhook, answerCallbackQuery: not messages to a chat
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        async def counted(*a: Any, **kw: Any) -> bool | dict[str, Any] | list[dict[str, Any]]:
            await self.budget.take()
            return await callback(*a, **kw)

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)
