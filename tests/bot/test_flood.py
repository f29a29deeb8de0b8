"""One person flooding the Telegram webhook is slowed alone: told once, others served, danger never waits."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.notices import SLOW_DOWN
from content.i18n import translator
from tests.bot.fake_telegram import BakenOnTelegram, FakeBotAPI, on_webhook, text
from tests.bot.test_telegram import PEOPLE, fast_tuning
from tests.bot.test_urgent_without_storage import WITHIN, first_message


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    """Baken on the webhook with production's flood gate (5 at once, then 2 a second per person), and at most
    12 of one chat's updates in hand (production: 32) to keep the test short."""
    tuning = fast_tuning(FloodGate())
    tuning.max_per_chat = 12
    fake, baken = await on_webhook(tmp_path / "data", tuning)
    yield baken, fake
    await baken.close()
    await fake.close()


async def test_a_flooder_is_told_once_others_are_served_and_danger_gets_through_at_once(
    gated: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, fake = gated
    flooder, calm = PEOPLE["nl"], PEOPLE["fr"]
    await baken.step(flooder, "/start")
    flood = [asyncio.create_task(baken.post(text(flooder, f"bericht {n}"))) for n in range(60)]
    await asyncio.sleep(0.3)

    replies = await baken.converse(calm, ["/start", "#go", "#role:parent"])
    assert len(replies) >= 3, "someone else is answered step by step while the flood waits"
    assert not all(task.done() for task in flood), "the flooder's messages are still being slowed"

    before = len(fake.of("sendMessage", flooder.id))
    asked = time.monotonic()
    danger = asyncio.create_task(baken.post(text(flooder, "Hij zegt dat hij morgen iemand gaat vermoorden.")))
    numbers = await first_message(fake, flooder, before, "112", WITHIN)
    assert time.monotonic() - asked < WITHIN and "101" in numbers.text, "no limit holds up the numbers"

    statuses = Counter(await asyncio.gather(*flood, danger))
    assert set(statuses) <= {200, 429}, "never a server error"
    assert statuses[429] > 0, "past the chat's queue, Telegram is asked to deliver again later"
    notices = [c for c in fake.of("sendMessage", flooder.id) if c.text == translator("nl")(SLOW_DOWN)]
    assert len(notices) == 1, "a kind slow-down answer, once"
    assert not [c for c in fake.of("sendMessage", calm.id) if c.text == translator("fr")(SLOW_DOWN)]


def test_the_gate_tells_once_per_flood_and_again_after_calm() -> None:
    now = [0.0]
    gate = FloodGate(rate=2.0, burst=5, clock=lambda: now[0])
    delays = [gate.delay("p") for _ in range(8)]
    assert delays[:5] == [0.0] * 5 and all(d > 0 for d in delays[5:])
    assert gate.first_slowed("p") and not gate.first_slowed("p")
    now[0] += 60  # the bucket refills: calm again
    assert gate.delay("p") == 0.0
    for _ in range(6):
        gate.delay("p")
    assert gate.first_slowed("p"), "a new flood later is told again"
