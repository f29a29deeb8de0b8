"""A scripted person for plain-Python conversation tests: no channel, no database."""

from __future__ import annotations

from typing import Any

from flows.effects import Effect
from flows.engine import Engine
from flows.messages import Button, Inbound, Outbound


class ScriptedUser:
    def __init__(self, engine: Engine, locale: str = "en") -> None:
        self.engine = engine
        self.locale = locale
        self.state: str | None = None
        self.data: dict[str, Any] | None = None
        self.replies: list[Outbound] = []
        self.effects: list[Effect] = []
        self.erased = False

    def _step(self, inbound: Inbound) -> list[Outbound]:
        result = self.engine.step(self.state, self.data, inbound, self.locale)
        self.state, self.data = result.state, result.data
        self.erased = result.state is None
        self.replies = result.replies
        self.effects += result.effects
        return result.replies

    def say(self, text: str) -> list[Outbound]:
        return self._step(Inbound.from_text(text))

    def press_data(self, data: str) -> list[Outbound]:
        return self._step(Inbound.choice(data))

    @property
    def buttons(self) -> tuple[Button, ...]:
        with_buttons = [r for r in self.replies if r.buttons]
        return with_buttons[-1].buttons if with_buttons else ()

    def press(self, key: str) -> list[Outbound]:
        """Press the button whose data is `key`, or `trigger:key`; fail loudly when it is not offered."""
        for b in self.buttons:
            if b.data == key or b.data.endswith(":" + key):
                return self.press_data(b.data)
        raise AssertionError(f"no button {key!r} in state {self.state}: {[b.data for b in self.buttons]}")

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    def start(self) -> list[Outbound]:
        return self.say("/start")

    def begin(self, role: str, reason: str | None = None) -> None:
        """The opening every path shares: /start, continue, who you are, and what brings you."""
        self.start()
        self.press("go")
        self.press(f"role:{role}")
        if reason is not None:
            self.press(f"reason:{reason}")
