"""What a flow step asks the world to do; the dispatcher applies these inside the step's transaction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GiveConsent:
    """The person said yes to the text they were shown; must precede OpenTicket."""

    consent_version: str
    locale: str
    shares_story: bool


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """Put the person in the counsellor queue with what they agreed to share."""

    level: str
    priority: int
    reasons: tuple[str, ...]
    locale: str
    role: str
    region: str | None
    goal: str
    summary: str
    story: str | None


@dataclass(frozen=True, slots=True)
class RelayToCounsellor:
    """A message for the counsellor; `danger` is the screen's category when the words describe danger."""

    text: str
    danger: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawTicket:
    pass


@dataclass(frozen=True, slots=True)
class ForgetSession:
    pass


Effect = GiveConsent | OpenTicket | RelayToCounsellor | WithdrawTicket | ForgetSession
