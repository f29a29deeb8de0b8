"""One inbound message in, one event fired, replies and effects out: the domain's single entry point."""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from content.i18n import DEFAULT_LOCALE, LOCALES, N_
from flows import questions as q
from flows.conversation import (
    ALARM_FROM,
    DEFAULTS,
    MULTI_SELECT,
    NO_BACK,
    STATES,
    STORY_LIMIT,
    TEXT_STATES,
    TRANSITIONS,
    Content,
    Conversation,
)
from flows.effects import Effect, ForgetSession
from flows.messages import Button, Inbound, InboundKind, Outbound, Unsupported
from flows.prompts import PROMPTS
from handover.relay_notices import SURVEY_ANSWERS, SURVEY_QUESTIONS

#: commands a person can type, mapped to the machine's events
COMMANDS: dict[str, str] = {
    "start": "start",
    "restart": "restart",
    "help": "help",
    "urgent": "urgent",
    "language": "choose_language",
    "taal": "choose_language",
    "langue": "choose_language",
    "sprache": "choose_language",
    "forget": "forget",
    "mydata": "mydata",
    "stop": "stop",
    "back": "back",
}
#: events after which "back" should not return to the state we left
NO_HISTORY = frozenset({"back", "start", "restart", "again", "forget", "forget_yes", "forget_no", "choose_language",
                        "mydata",
                        "lang", "stop", "withdraw", "survey"})
#: option values a button may carry, per event (anything else is stale or forged)
VALID_VALUES: dict[str, frozenset[str]] = {
    "role": frozenset(k for k, _ in q.ROLES),
    "reason": frozenset(k for k, _ in q.REASONS),
    "age": frozenset(k for k, _ in q.AGES),
    "duration": frozenset(k for k, _ in q.DURATIONS),
    "danger": frozenset(k for k, _ in q.DANGERS + q.DANGERS_SELF),
    "departure": frozenset(k for k, _ in q.DEPARTURES),
    "goal": frozenset(k for k, _ in q.GOALS),
    "lang": frozenset(LOCALES),
    "survey": frozenset(f"{k}.{a}" for k, _ in SURVEY_QUESTIONS for a, _ in SURVEY_ANSWERS),
}
BACK_WORDS = frozenset({"back", "terug", "retour", "zurück", "zuruck", "vorige", "précédent"})
_PLACE = re.compile(r"^\d{4}$")


@dataclass
class StepResult:
    """A step's outcome. `state` is None when the session was erased and must not be saved again."""

    state: str | None
    data: dict[str, Any] | None
    replies: list[Outbound]
    effects: list[Effect] = field(default_factory=list)
    event: str = ""
    #: what the step refused (Conversation.refused): the channel layer logs it as a security event
    refused: str = ""


def fresh_data(locale: str | None) -> dict[str, Any]:
    data = copy.deepcopy(DEFAULTS)
    data["locale"] = locale if locale in LOCALES else DEFAULT_LOCALE
    return data


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch)).strip(" .!?«»✓")


def _unsupported_text(kind: str) -> str:
    return {
        Unsupported.STICKER: N_("Thank you for the sticker! I can only read text and the buttons."),
        Unsupported.PHOTO: N_("I cannot look at pictures, and I did not keep it. Could you tell me in words?"),
        Unsupported.VOICE: N_("I cannot listen to voice messages, and I did not keep it. Could you type it?"),
        Unsupported.VIDEO: N_("I cannot watch videos, and I did not keep it. Could you tell me in words?"),
        Unsupported.DOCUMENT: N_("I cannot open files, and I did not keep it. Could you tell me in words?"),
        Unsupported.LOCATION: N_("You do not need to share your location with me; I did not keep it. "
        "For services near you, just type your postcode when I ask."),
        Unsupported.CONTACT: N_("You do not need to share a phone number or contact card with me; I did not keep "
        "it. This chat stays anonymous."),
        Unsupported.EDITED: N_("I saw you edited a message. I read every message once, so please send the "
        "change as a new message."),
    }.get(Unsupported(kind) if kind in Unsupported._value2member_map_ else Unsupported.OTHER,
          N_("I can only read text and the buttons. Could you tell me in words?"))


class Engine:
    """Holds the machine built once at start-up; restores a light Conversation per event."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.machine = Machine(
            model=None,
            states=STATES,
            transitions=TRANSITIONS,
            initial="welcome",
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        self.triggers: dict[str, frozenset[str]] = {
            s: frozenset(self.machine.get_triggers(s)) for s in STATES
        }

    def step(
        self, state: str | None, data: dict[str, Any] | None, inbound: Inbound, locale_hint: str | None = None
    ) -> StepResult:
        if state is None or data is None or state not in self.triggers:
            state, data = "welcome", fresh_data(locale_hint)
            if inbound.kind is not InboundKind.COMMAND or not inbound.text.startswith("/start"):
                # any first message opens the conversation at its start
                conv = Conversation(state, data, self.content)
                return self._fire(conv, "start", "")
        conv = Conversation(state, data, self.content)
        if inbound.kind is InboundKind.RESUME:
            conv.say(conv.t("Welcome back. This is where we were:"))
            self._render(conv)
            return StepResult(conv.state, conv.data, conv.out, conv.effects, "", conv.refused)
        event, value = self._event_for(conv, inbound)
        if event is None:
            self._render(conv)
            return StepResult(conv.state, conv.data, conv.out, conv.effects, "", conv.refused)
        return self._fire(conv, event, value)

    # ------------------------------------------------------------------ mapping inbound to one event
    def _event_for(self, c: Conversation, inbound: Inbound) -> tuple[str | None, str]:
        t = c.t
        if inbound.kind is InboundKind.COMMAND:
            name, _, arg = inbound.text[1:].partition(" ")
            name = name.split("@", 1)[0].lower()
            event = COMMANDS.get(name)
            if event is None:
                c.say(t("I don't know that command."))
                return "help", ""
            return event, arg.strip()
        if inbound.kind is InboundKind.UNSUPPORTED:
            c.say(t(_unsupported_text(inbound.text)))
            return None, ""
        if inbound.kind is InboundKind.CHOICE:
            return self._choice(c, inbound.text)
        return self._text(c, inbound.text)

    def _choice(self, c: Conversation, data: str) -> tuple[str | None, str]:
        event, _, value = data.partition(":")
        if event in self.triggers[c.state] and self._valid(c, event, value):
            return event, value
        # a button of an earlier question is pressed every day; data no question of Baken's ever carried is
        # made up (a forged callback or frame): the log tells the two apart, the person gets the same answer
        known = event in self.machine.events and (event not in VALID_VALUES or value in VALID_VALUES[event])
        c.refused = "stale_button" if known else "forged_button"
        c.say(c.t("That button belongs to an earlier question. Here is where we are now:"))
        return None, ""

    def _valid(self, c: Conversation, event: str, value: str) -> bool:
        if event in VALID_VALUES:
            return value in VALID_VALUES[event]
        if event == "tick":
            return value in {k for k, _ in MULTI_SELECT.get(c.state, ())}
        if event == "place":
            return bool(_PLACE.match(value))
        if event == "read":
            return bool(value)
        return value == ""

    def _text(self, c: Conversation, text: str) -> tuple[str | None, str]:
        if not text.strip():
            c.say(c.t("I received an empty message."))
            return None, ""
        if c.state in TEXT_STATES:
            return "text", text
        folded = _fold(text)
        if folded in BACK_WORDS:
            return "back", ""
        if c.state in ("guidance", "contacts") and _PLACE.match(text.strip()):
            return "place", text.strip()
        buttons = self._buttons(c)
        match = self._match_button(buttons, folded)
        if match is not None:
            return self._choice(c, match.data)
        hit = c.screen(text)
        if len(text.split()) >= 4 and c.state not in ("welcome", "language", "done", "confirm_forget"):
            room = STORY_LIMIT - sum(len(s) for s in c.data["story"])
            if room > 0:
                c.data["story"].append(text[:room])
                c.say(c.t("Thank you, I have added this to what you told me in your own words."))
        if hit is not None and c.state in ALARM_FROM:
            return "alarm", ""
        c.say(c.t("Please choose one of the options: tap a button or type its number."))
        return None, ""

    def _buttons(self, c: Conversation) -> tuple[Button, ...]:
        probe = Conversation(c.state, c.data, self.content)
        probe.t = c.t
        PROMPTS[c.state](probe)
        return probe.out[-1].buttons if probe.out else ()

    @staticmethod
    def _match_button(buttons: tuple[Button, ...], folded: str) -> Button | None:
        if folded.isdigit():
            n = int(folded)
            return buttons[n - 1] if 1 <= n <= len(buttons) else None
        exact = [b for b in buttons if _fold(b.label) == folded]
        if exact:
            return exact[0]
        if len(folded) >= 3:
            starts = [b for b in buttons if _fold(b.label).startswith(folded)]
            if len(starts) == 1:
                return starts[0]
        return None

    # ------------------------------------------------------------------ firing and rendering
    def _fire(self, c: Conversation, event: str, value: str) -> StepResult:
        before = c.state
        args = (value,) if value or event in ("text", "start") else ()
        self.machine.events[event].trigger(c, *args)
        if c.goto is not None:
            self.machine.set_state(c.goto, c)
            c.goto = None
        if c.state != before and event not in NO_HISTORY and before not in NO_BACK:
            history: list[str] = c.data["history"]
            history.append(before)
            del history[:-30]
        if any(isinstance(e, ForgetSession) for e in c.effects):
            return StepResult(None, None, [*self.erased(c.data["locale"])], c.effects, event, c.refused)
        if not (event == "text" and c.state == "waiting") and event != "survey":
            self._render(c)
        return StepResult(c.state, c.data, c.out, c.effects, event, c.refused)

    def urgent_answer(self, inbound: Inbound, locale: str | None, *, storage_down: bool) -> list[Outbound] | None:
        """The numbers for a message that asks for urgent help, worked out without the stored conversation.

        For a channel that cannot get the stored step in time (the database is locked or down, or the
        person's earlier messages still wait): /urgent, a danger answer other than "none", or free text the
        screen flags. None for anything else. The note says what happens to the rest of the message.
        """
        category = self._urgent_category(inbound, locale)
        if category is None:
            return None
        conv = Conversation("welcome", fresh_data(locale), self.content)
        conv.say_emergency(category or None)
        if storage_down:
            conv.say(conv.t("The rest of Baken is down for the moment, so for now I can only give you these "
                            "numbers."))
        else:
            conv.say(conv.t("The rest of Baken is slow for the moment, so these numbers come first. I will answer "
                            "the rest of your message as soon as I can."))
        return conv.out

    def _urgent_category(self, inbound: Inbound, locale: str | None) -> str | None:
        """"" for urgent help with no category, the danger answer or screen category, or None (not urgent)."""
        if inbound.kind is InboundKind.COMMAND:
            name = inbound.text[1:].partition(" ")[0].split("@", 1)[0].lower()
            return "" if COMMANDS.get(name) == "urgent" else None
        if inbound.kind is InboundKind.CHOICE:
            event, _, value = inbound.text.partition(":")
            if event == "danger" and value in VALID_VALUES["danger"] and value != "none":
                return value
            return None
        if inbound.kind is InboundKind.TEXT and inbound.text.strip():
            try:
                hit = self.content.screen.check(inbound.text, locale if locale in LOCALES else DEFAULT_LOCALE)
            except Exception:  # the stored step screens again; a fault here must not stop anything
                return None
            return hit.category if hit is not None else None
        return None

    def erased(self, locale: str) -> list[Outbound]:
        """The answer to an erasure: the same each time it is asked for, so a re-delivery can repeat it."""
        conv = Conversation("welcome", fresh_data(locale), self.content)
        conv.say(conv.t("Everything you told me is erased. If you want, you can start again."),
                 [Button("again", conv.t("Start again"))])
        return conv.out

    def _render(self, c: Conversation) -> None:
        PROMPTS[c.state](c)

    def prompt(self, state: str, data: dict[str, Any]) -> list[Outbound]:
        """The question of `state` as a person arriving there sees it: for a channel that shows a stored
        conversation afresh (another device, a page without its transcript). Changes nothing."""
        conv = Conversation(state if state in PROMPTS else "welcome", copy.deepcopy(data), self.content)
        self._render(conv)
        return conv.out


def default_engine() -> Engine:
    from flows.bundle import load_content

    return Engine(load_content())


__all__ = ["Engine", "StepResult", "default_engine", "fresh_data"]
