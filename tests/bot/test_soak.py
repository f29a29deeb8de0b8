"""The short soak: `baken serve` killed with SIGKILL 5 times while chats talk, hand over and relay.

`make soak` runs the long one (100 kills per backend) and prints the same figures. Replies are delivered at
least once: a kill after a step's replies went to Telegram and before their outbox row was deleted makes
Telegram deliver the update again, and the pending replies go out again. Those duplicate replies are counted
and printed, not asserted away; nothing may be lost.
"""

from __future__ import annotations

import pytest

from bench.soak import soak
from tests.conftest import POSTGRES_URL


@pytest.mark.parametrize("backend", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="PostgreSQL tests need BAKEN_TEST_POSTGRES_URL (set by .ci/run when a server "
        "answers)")),
])
async def test_five_sigkills_lose_and_double_nothing(backend: str) -> None:
    figures = await soak(kills=5, concurrent=4, base=POSTGRES_URL if backend == "postgresql" else None, quiet=True)
    report = "\n".join(figures.lines())
    assert figures.restarts_survived == 5, report
    assert figures.handovers > 0 and figures.deliveries > figures.updates, "handovers made, re-deliveries needed"
    assert figures.handovers_lost == 0 and figures.duplicate_tickets == 0, report
    assert figures.relayed_lost == 0 and figures.relayed_twice == 0, report
    assert figures.missing_replies == 0, report
    assert figures.not_resumed == 0, report
