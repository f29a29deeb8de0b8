"""What a person is shown on /mydata about their requests: every stored item, in words, in their language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from content.i18n import N_, Translate
from flows.questions import LEVEL_LABELS

STATUS_WORDS: dict[str, str] = {
    "waiting": N_("waiting for a counsellor"),
    "claimed": N_("a counsellor is talking with you"),
    "transferred": N_("handed to another counsellor"),
    "closed": N_("closed"),
    "withdrawn": N_("withdrawn"),
}


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """One request for a counsellor as storage holds it, already decrypted for the person it belongs to."""

    number: int
    status: str
    level: str
    created: dt.datetime
    consent_at: dt.datetime | None
    summary: str
    story: str | None
    messages: list[tuple[str, str]] = field(default_factory=list)  # (person | counsellor, text)


def describe_requests(t: Translate, requests: list[StoredRequest]) -> str:
    if not requests:
        return t("No request for a counsellor is stored for you.") + "\n" + t("/forget erases everything at once.")
    lines: list[str] = []
    for r in requests:
        lines.append(t("Request {number}: {status}; assessment: {level}; made on {date}.").format(
            number=r.number, status=t(STATUS_WORDS.get(r.status, r.status)),
            level=t(LEVEL_LABELS.get(r.level, r.level)), date=r.created.strftime("%Y-%m-%d %H:%M UTC")))
        if r.consent_at is not None:
            when = r.consent_at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(t("You agreed to share it on {date}.").format(date=when))
        lines.append(t("What the counsellor sees:") + "\n" + r.summary)
        if r.story:
            lines.append(t("Your own words, as shared:") + f" “{r.story}”")
        for sender, text in r.messages:
            who = t("You") if sender == "person" else t("Counsellor")
            lines.append(f"{who}: {text}")
    lines.append(t("/forget erases everything at once."))
    return "\n\n".join(lines)
