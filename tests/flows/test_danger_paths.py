"""Every path through the conversation passes the danger question before the guidance.

The paths are not listed by hand: the test walks the machine through the real engine, pressing every
button each state offers (and typing where typing is an answer), from the first message on, for every
role and reason, until no new situation turns up. Where the guidance is reached, the danger question
must have been answered; on a path where nothing alarming was typed it was asked once, not twice.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from flows.engine import Engine, StepResult
from flows.messages import Inbound

Situation = tuple[object, ...]


def situation(state: str, data: dict[str, Any]) -> Situation:
    """What the machine's conditions can see; details no condition reads (which age, which ticks) are folded."""
    return (
        state, data["role"], data["reason"], data["age"] is None, data["duration"] is None, data["danger"],
        data["departure"], data["resume"], data["ticket_open"], bool(data["screened"]), bool(data["observed"]),
    )


def presses(result: StepResult) -> list[str]:
    """Every button of the last question, plus what a person may type where typing is an answer."""
    with_buttons = [r for r in result.replies if r.buttons]
    data = [b.data for b in with_buttons[-1].buttons] if with_buttons else []
    # reading an article changes nothing; ticking more than the first option adds no new situation;
    # "back" only returns to an earlier question with every answer kept, and no answer ever un-answers the
    # danger question (only a fresh start does, and that starts the walk over): it cannot open a new path
    data = [d for d in data if not d.startswith("read:") and d != "back"]
    ticks = [d for d in data if d.startswith("tick:")]
    data = [d for d in data if not d.startswith("tick:")] + ticks[:1]
    typed = {"story": ["He has changed a lot since the summer."], "postcode": ["1000", "9999"]}
    return [f"#{d}" for d in data] + typed.get(str(result.state), [])


def step(engine: Engine, state: str | None, data: dict[str, Any] | None, move: str, locale: str) -> StepResult:
    inbound = Inbound.choice(move[1:]) if move.startswith("#") else Inbound.from_text(move)
    return engine.step(state, copy.deepcopy(data), inbound, locale)


def test_every_path_answers_the_danger_question_before_guidance(engine: Engine) -> None:
    first = engine.step(None, None, Inbound.from_text("/start"), "nl")
    assert first.state == "welcome" and first.data is not None
    # (result, how many times the danger question was shown on the way, the moves that led here)
    queue: deque[tuple[StepResult, int, tuple[str, ...]]] = deque([(first, 0, ())])
    seen: set[Situation] = {situation(first.state, first.data)}
    reached_guidance = 0
    roles_reaching_guidance: set[str] = set()
    while queue:
        result, asked, path = queue.popleft()
        assert result.state is not None and result.data is not None
        for move in presses(result):
            nxt = step(engine, result.state, result.data, move, "nl")
            if nxt.state is None or nxt.data is None:
                continue
            times = asked + (nxt.state == "danger" and result.state != "danger")
            if nxt.state == "guidance" and result.state != "guidance":
                reached_guidance += 1
                roles_reaching_guidance.add(str(nxt.data["role"]))
                assert nxt.data["danger"] is not None, f"guidance without the danger question: {(*path, move)}"
                assert times == 1, f"the danger question {times} times before guidance: {(*path, move)}"
            key = situation(nxt.state, nxt.data)
            if key not in seen and nxt.state != "guidance":
                seen.add(key)
                queue.append((nxt, times, (*path, move)))
    assert reached_guidance > 50, "the walk reached the guidance by many paths"
    assert roles_reaching_guidance >= {"parent", "teacher", "worker", "self", "sibling", "other"}


def test_every_reason_of_every_role_is_walked(engine: Engine) -> None:
    """The walk above must not miss a branch: each role's reasons, and the young person's own path."""
    from flows import questions as q

    for role, _ in q.ROLES:
        r = engine.step(None, None, Inbound.from_text("/start"), "en")
        r = step(engine, r.state, r.data, "#go", "en")
        r = step(engine, r.state, r.data, f"#role:{role}", "en")
        if role == "self":
            assert r.state == "danger", "a young person about themselves is asked about danger first"
            r = step(engine, r.state, r.data, "#danger:none", "en")
            assert r.state == "young_self"
            r = step(engine, r.state, r.data, "#go", "en")
        assert r.state == "reason"
        offered = [b.data for b in r.replies[-1].buttons if b.data.startswith("reason:")]
        assert offered == [f"reason:{k}" for k, _ in q.reasons_for(role)]
