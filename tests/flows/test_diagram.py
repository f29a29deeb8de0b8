from pathlib import Path

from flows.conversation import STATES
from flows.diagram import mermaid


def test_the_committed_diagram_is_drawn_from_the_current_machine() -> None:
    committed = (Path(__file__).parents[2] / "docs" / "conversation.mmd").read_text()
    assert committed == mermaid(), "run `python -m flows.diagram > docs/conversation.mmd`"


def test_every_waiting_state_can_be_reached() -> None:
    drawn = mermaid()
    for state in STATES:
        if state not in ("language", "confirm_forget"):
            assert f"--> {state}" in drawn, state
