"""What the person is told about their conversation with a counsellor: joined, handed on, closed, reopened."""

from __future__ import annotations

from content.i18n import N_, Translate
from flows.messages import Button, Outbound
from handover.lifecycle import Outcome

#: the person's one button to end the conversation (the flow's own "withdraw" event in the waiting state)
END_BUTTON = "withdraw"
#: the anonymous survey after a close: event "survey", value "<question>.<answer>"
SURVEY_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("helpful", N_("Did this conversation help you?")),
    ("come_back", N_("Would you come back to Baken if you needed to?")),
)
SURVEY_ANSWERS: tuple[tuple[str, str], ...] = (("yes", N_("Yes")), ("unsure", N_("Not sure")), ("no", N_("No")))


def joined_notice(t: Translate, alias: str) -> Outbound:
    return Outbound(
        t("{alias}, a Baken counsellor, has joined the conversation. Write here; {alias} reads along and answers. "
          "You can end the conversation at any moment.").format(alias=alias),
        (Button(END_BUTTON, t("End the conversation")),),
    )


def transferred_notice(t: Translate) -> Outbound:
    return Outbound(t("Your conversation is handed on to another counsellor, who will write to you here."))


def reopened_notice(t: Translate) -> Outbound:
    return Outbound(t("Your conversation with a counsellor is open again. A counsellor will write to you here."))


def survey_question(t: Translate, index: int) -> Outbound:
    key, question = SURVEY_QUESTIONS[index]
    return Outbound(t(question), tuple(Button(f"survey:{key}.{value}", t(label)) for value, label in SURVEY_ANSWERS))


def closed_notice(t: Translate, outcome: Outcome) -> Outbound:
    lines = [t("The counsellor has closed this conversation. Thank you for reaching out.")]
    if outcome is Outcome.AUTHORITIES:
        # what the consent text promised: only in serious, immediate danger, and the person is told
        lines.append(t("Because of serious, immediate danger to someone's life, a supervisor decided to inform the "
                       "emergency services, as the consent text said could happen."))
    lines.append(t("You can start again at any time with /start. In danger, call 112."))
    lines.append(t("Two short anonymous questions, if you like (nothing links your answers to you):"))
    first = survey_question(t, 0)
    return Outbound("\n\n".join([*lines, first.text]), first.buttons)
