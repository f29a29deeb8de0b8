"""Urgent help that does not wait for storage: the numbers go out even when the stored step cannot.

Every channel hands a message to the Dispatcher, whose step is one database transaction. When the database
is locked by another writer, down or unreachable, or when the person's earlier messages still wait their
turn (a flood), that step is late or fails. A message that asks for urgent help must not wait for it: the
channel starts the stored step, and if it has not answered within `grace` seconds (or failed sooner), the
channel sends the numbers the engine works out without the stored conversation, with a note saying the
rest is down (or coming). The stored step keeps going; when it finally answers, its own copy of the numbers
is left out, so nobody gets them twice.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

from sqlalchemy.exc import DBAPIError

from content.i18n import N_
from flows.messages import Outbound

T = TypeVar("T")
#: what a unit of work raises when the database itself is the trouble (locked, down, unreachable)
STORAGE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, OSError, TimeoutError)
#: how long the stored step has before the numbers go out without it; a normal step takes milliseconds
GRACE_SECONDS = 0.5
#: what a channel says when a message could not be kept at all (the database failed)
NOT_KEPT = N_("Baken is down for the moment and could not keep your message. Please send it again in a few "
              "minutes.")


@dataclass
class StorageHealth:
    """Whether the Dispatcher's last unit of work failed on the database (and none succeeded since)."""

    failed: bool = False

    @contextmanager
    def unit(self) -> Iterator[None]:
        try:
            yield
        except STORAGE_ERRORS:
            self.failed = True
            raise
        self.failed = False

    def down(self) -> bool:
        return self.failed


@dataclass
class NumbersSent:
    """Which messages already got the numbers without storage, by the channel's message key.

    A message re-delivered (Telegram retries an unacknowledged update) does not get them twice, and its
    stored step leaves them out. Bounded: the oldest keys go first. With a `path`, each key is also written
    to a small file (one line, flushed to disk before the numbers go out) and read back at start, so a
    process that died before the step could be stored still knows after a restart; keys older than
    KEEP_SECONDS are dropped. The file holds update ids and times only: nothing that names or links a person.
    Without one (or with another process behind the same webhook) a crash before the step was stored sends
    them once more, the safe side; once the step is stored its outbox row counts them as sent.
    """

    size: int = 10_000
    path: Path | None = None
    _keys: OrderedDict[str, None] = field(default_factory=OrderedDict)

    KEEP_SECONDS: ClassVar[float] = 24 * 3600.0  # Telegram stops re-delivering an update long before

    def __post_init__(self) -> None:
        if self.path is None:
            return
        now = time.time()
        kept: list[str] = []
        with suppress(FileNotFoundError):
            for line in self.path.read_text(encoding="ascii", errors="replace").splitlines():
                stamp, _, key = line.partition(" ")
                with suppress(ValueError):
                    if key and now - float(stamp) < self.KEEP_SECONDS:
                        kept.append(line)
                        self._remember(key)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # compacted: old keys go
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.writelines(f"{line}\n" for line in kept)

    def add(self, key: str) -> None:
        """In memory, at once: a second delivery meanwhile sends nothing."""
        self._remember(key)

    def record(self, key: str) -> None:
        """On disk, after the numbers went out (a few ms of fsync never come before them)."""
        if self.path is not None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{time.time():.0f} {key}\n".encode("ascii", errors="replace"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def _remember(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


def without_numbers(replies: list[Outbound]) -> list[Outbound]:
    """A stored step's replies for a message whose numbers already went out: the rest only."""
    return [r for r in replies if not r.urgent]


async def in_time(task: asyncio.Future[T], grace: float) -> bool:
    """Whether `task` finished (with a result or an error) within `grace` seconds; it is never cancelled."""
    done, _ = await asyncio.wait({task}, timeout=grace)
    return bool(done)


async def numbers_first(
    work: Awaitable[T],
    numbers: Callable[[], list[Outbound]] | None,
    send: Callable[[list[Outbound]], Awaitable[None]],
    *,
    grace: float = GRACE_SECONDS,
    failed: Callable[[T], bool] = lambda _: False,
) -> tuple[T, bool]:
    """Run `work`; for an urgent message (`numbers` given) send what it makes when the work is late or fails.

    Returns the work's result and whether the numbers were sent here; raises what the work raised (after
    sending the numbers). `failed` tells a result that stands for a failure (a webhook update not stored).
    """
    task = asyncio.ensure_future(work)
    if numbers is None:
        return await task, False
    sent = False
    if not await in_time(task, grace) or task.exception() is not None or failed(task.result()):
        await send(numbers())
        sent = True
    return await task, sent
