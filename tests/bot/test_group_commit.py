"""The store's group commit: units queued together share one transaction, each in its own savepoint.

What a person would notice if it went wrong: a reply lost because another person's step failed beside it,
or a failed step half-stored.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.storage.models import SurveyAnswer
from bot.storage.repository import Contention


def _answers(s: Session) -> list[str]:
    return sorted(a for a in s.execute(select(SurveyAnswer.answer)).scalars())


async def test_units_queued_together_stand_or_fall_alone(services: Services) -> None:
    store = services.store
    store.at_once = False  # every unit queues for the writer thread, as under load
    tries: dict[str, int] = {}

    def writes(answer: str, fail: bool = False, contend: bool = False):  # type: ignore[no-untyped-def]
        def unit(s: Session) -> str:
            tries[answer] = tries.get(answer, 0) + 1
            s.add(SurveyAnswer(question="q", answer=answer))
            s.flush()
            if fail:
                raise ValueError("this step breaks")
            if contend and tries[answer] == 1:
                raise Contention
            return answer
        return unit

    results = await asyncio.gather(
        *(store.run(writes(f"a{i}")) for i in range(10)),
        store.run(writes("broken", fail=True)),
        store.run(writes("raced", contend=True)),
        *(store.run(writes(f"b{i}")) for i in range(10)),
        return_exceptions=True,
    )
    if store._sync is not None:  # SQLite: the units queued behind the first shared transactions
        assert store.largest_batch > 1
    assert len([r for r in results if isinstance(r, BaseException)]) == 1
    assert isinstance(results[10], ValueError)
    assert results[11] == "raced" and tries["raced"] == 2  # rolled back alone, then run again
    stored = await store.run(_answers)
    assert stored == sorted([f"a{i}" for i in range(10)] + [f"b{i}" for i in range(10)] + ["raced"])
    count = await store.run(lambda s: s.execute(select(func.count()).select_from(SurveyAnswer)).scalar_one())
    assert count == 21  # nothing of the broken unit, the raced one once


async def test_a_cancelled_caller_does_not_break_the_batch(services: Services) -> None:
    store = services.store

    def slow(s: Session) -> int:
        s.add(SurveyAnswer(question="q", answer="slow"))
        return 1

    first = asyncio.ensure_future(store.run(slow))
    second = asyncio.ensure_future(store.run(slow))
    second.cancel()
    assert await first == 1
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await store.run(lambda s: len(_answers(s))) >= 1


async def test_a_unit_runs_at_once_when_the_writer_is_idle(services: Services) -> None:
    store = services.store
    if store._sync is None:
        pytest.skip("SQLite only: PostgreSQL has no writer thread")
    before = store.ran_at_once
    assert await store.run(lambda s: s.add(SurveyAnswer(question="q", answer="now"))) is None
    assert store.ran_at_once == before + 1
    assert await store.run(_answers) == ["now"]


async def test_another_process_holding_the_lock_never_blocks_the_event_loop(services: Services) -> None:
    """A unit that meets the database's lock held elsewhere (another process, a backup) waits in the writer
    thread: the event loop goes on answering others meanwhile (the urgent numbers among them), and the unit
    is stored once the lock is free."""
    store = services.store
    if store._sync is None:
        pytest.skip("SQLite only: PostgreSQL has no writer thread")
    other = sqlite3.connect(services.settings.db_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        unit = asyncio.create_task(store.run(lambda s: s.add(SurveyAnswer(question="q", answer="waited"))))
        started = time.monotonic()
        for _ in range(20):  # the loop keeps turning while the unit waits for the lock (30 s at most)
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 5, "the event loop was held while the unit waited for the lock"
        assert not unit.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await asyncio.wait_for(unit, 30)
    assert await store.run(_answers) == ["waited"]


async def test_units_run_at_once_in_a_row_let_the_event_loop_turn(services: Services) -> None:
    """A caller running many units one after the other (a retention purge) never holds the event loop for
    all of them: a message arriving meanwhile is answered between two units."""
    store = services.store
    turned: list[int] = []
    done = 0

    async def other() -> None:
        for _ in range(5):
            turned.append(done)
            await asyncio.sleep(0)

    beside = asyncio.create_task(other())
    for n in range(50):
        await store.run(lambda s, n=n: s.add(SurveyAnswer(question="q", answer=f"a{n}")))
        done += 1
    await beside
    assert turned and turned[0] < 50, "the other task ran only once every unit was done"


async def test_a_wal_checkpoint_never_holds_up_a_message(services: Services,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic checkpoint (20-40 ms of disk work under load) runs on a thread and connection of its own:
    while it runs, units of work are still stored and answered at once instead of queueing behind it."""
    import threading

    from bot.storage import store as store_module

    store = services.store
    if store._sync is None:
        pytest.skip("SQLite only: PostgreSQL checkpoints on its own")
    inside, release = threading.Event(), threading.Event()
    real = store_module._checkpoint_wal

    def slow_checkpoint(conn: object, mode: str, busy_ms: int | None = None) -> None:
        if mode == "PASSIVE":
            inside.set()
            release.wait(10)  # a checkpoint that takes long (a slow disk)
        real(conn, mode, busy_ms)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "_checkpoint_wal", slow_checkpoint)
    store._unchecked = store_module.CHECKPOINT_EVERY - 1
    try:
        await store.run(lambda s: s.add(SurveyAnswer(question="q", answer="due")))  # this commit makes it due
        assert await asyncio.to_thread(inside.wait, 5), "the checkpoint did not start"
        for n in range(3):  # stored while the checkpoint is still running
            await asyncio.wait_for(store.run(lambda s, n=n: s.add(SurveyAnswer(question="q", answer=f"m{n}"))), 2)
        assert await store.run(_answers) == ["due", "m0", "m1", "m2"]
    finally:
        release.set()
    for _ in range(100):  # the checkpoint ends, and the next one can be submitted
        if not store._checkpointing:
            break
        await asyncio.sleep(0.02)
    assert not store._checkpointing
