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
    """What the person writes after consent, for the counsellor; `danger` names the screen's hit, if any."""

    text: str
    danger: str | None = None


@dataclass(frozen=True, slots=True)
class RecordSurvey:
    """One anonymous survey answer after a closed conversation; stored linked to nothing."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class WithdrawTicket:
    pass


@dataclass(frozen=True, slots=True)
class ForgetSession:
    pass


@dataclass(frozen=True, slots=True)
class ShowStoredData:
    """/mydata: the dispatcher adds what storage holds for this session (requests, consents, messages)."""

    locale: str


Effect = GiveConsent | OpenTicket | RelayToCounsellor | RecordSurvey | WithdrawTicket | ForgetSession | ShowStoredData
