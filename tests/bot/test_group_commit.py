"""The store's group commit: units queued together share one transaction, each in its own savepoint.

What a person would notice if it went wrong: a reply lost because another person's step failed beside it,
or a failed step half-stored.
"""

from __future__ import annotations

import asyncio

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
