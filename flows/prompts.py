"""What Baken says when it arrives in a state: the question and its buttons, in the person's language."""

from __future__ import annotations

from collections.abc import Callable

from content.i18n import N_
from flows import questions as q
from flows.conversation import MULTI_SELECT, NO_BACK, Conversation
from flows.messages import Button
from handover.consent import CONSENT_TEXT, RETENTION_DAYS


def _back(c: Conversation) -> list[Button]:
    return [] if c.state in NO_BACK or not c.data["history"] else [Button("back", c.t("« Back"))]


def welcome(c: Conversation) -> None:
    c.say(
        c.t(
            "Hello, and welcome. You can talk here about a worry about a young person close to you: "
            "your child, a relative, a pupil or a client."
        )
        + "\n\n"
        + c.t(
            "This chat is anonymous: I do not ask your name and I do not keep your number or account. "
            "It is not the police and not a reporting line: nothing is passed on without your explicit yes. "
            "What you tell me is kept encrypted only as long as needed, and /forget erases it at any time. "
            "In immediate danger, call 112."
        ),
        [
            Button("go", c.t("Continue")),
            Button("privacy", c.t("More about privacy")),
            Button("choose_language", c.t("Language / Taal / Langue / Sprache")),
        ],
    )


def language(c: Conversation) -> None:
    c.say(c.t("Which language do you prefer?"), c.opt("lang", q.LANGUAGES))


def role(c: Conversation) -> None:
    c.say(c.t("Who are you? This helps me choose what fits you."), c.opt("role", q.ROLES) + _back(c))


def young_self(c: Conversation) -> None:
    c.say(
        c.t(
            "Thank you for reaching out. This chat is mainly for adults who worry about a young person. "
            "For you, there are lines for young people where someone listens, anonymously and for free."
        ),
        [
            Button("contacts", c.t("Show lines for young people")),
            Button("go", c.t("Continue here anyway")),
            *_back(c),
        ],
    )


def reason(c: Conversation) -> None:
    c.say(c.t("What brings you here?"), c.opt("reason", q.reasons_for(c.data["role"])) + _back(c))


def story(c: Conversation) -> None:
    if c.data["story"]:
        c.say(c.t("You can add more, or press Continue."), story_more(c))
        return
    c.say(
        c.t(
            "If you like, tell me in your own words what is going on. Take your time; there is no wrong "
            "answer. You can also skip this."
        ),
        [Button("go", c.t("Skip")), *_back(c)],
    )


def story_more(c: Conversation) -> list[Button]:
    return [Button("go", c.t("Continue")), *_back(c)]


def age(c: Conversation) -> None:
    c.say(c.t("How old is the young person, roughly?"), c.opt("age", q.AGES) + _back(c))


MULTI_PROMPTS: dict[str, str] = {
    "observations": N_(
        "Have you noticed any of these changes? Tick all that apply, then press Done. "
        "These are things worth talking about, not proof of anything."
    ),
    "other_worries": N_("Is there anything else you worry about? Tick all that apply, then press Done."),
    "explanations": N_(
        "Could something else explain the changes? Tick what may play a part, then press Done."
    ),
}


def multi(c: Conversation) -> None:
    chosen = set(c.data["explained" if c.state == "explanations" else "observed"])
    buttons = [
        Button(f"tick:{k}", ("✓ " if k in chosen else "") + c.t(label)) for k, label in MULTI_SELECT[c.state]
    ]
    done = c.t("Done") if chosen else c.t("None of these")
    c.say(c.t(MULTI_PROMPTS[c.state]), [*buttons, Button("go", done), *_back(c)])


def duration(c: Conversation) -> None:
    c.say(c.t("Since when have you noticed this?"), c.opt("duration", q.DURATIONS) + _back(c))


def danger(c: Conversation) -> None:
    options = q.DANGERS_SELF if c.data["role"] == "self" else q.DANGERS
    c.say(
        c.t("One important question: is any of this happening now?"),
        c.opt("danger", options) + _back(c),
    )


def departure(c: Conversation) -> None:
    c.say(c.t("What is the situation now?"), c.opt("departure", q.DEPARTURES) + _back(c))


def guidance(c: Conversation) -> None:
    articles = c.articles()
    buttons = [Button(f"read:{a.id}", a.label) for a in articles]
    talk = Button("counsellor", c.t("Talk to a counsellor"))
    contacts = Button("contacts", c.t("Find services near me"))
    finish = Button("finish", c.t("Finish"))
    if c.data["level"] in ("serious", "urgent"):
        buttons = [talk, contacts, *buttons, finish]
    else:
        buttons = [*buttons, contacts, talk, finish]
    c.say(c.t("What would you like to do? These texts may help you:"), [*buttons, *_back(c)])


def postcode(c: Conversation) -> None:
    if c.place_lookup is not None:
        return  # a lookup just failed: its answer already asks again, with suggestions and Skip
    if c.data["role"] == "self":  # a young person: the youth lines speak to them as "tu"/"du"
        ask = c.t("To show lines near you, type your postcode or your town. I only use it to choose, "
                  "and I don't keep it.")
    else:
        ask = c.t(
            "To show services near you, type your postcode (or your municipality). "
            "I use it only to choose services and do not keep it."
        )
    c.say(
        ask,
        [Button("skip", c.t("Skip: show services for all of Belgium")), *_back(c)],
    )


def contacts(c: Conversation) -> None:
    c.say(
        c.t("What next?"),
        [
            Button("counsellor", c.t("Talk to a counsellor")),
            Button("articles", c.t("Back to the texts")),
            Button("finish", c.t("Finish")),
        ],
    )


def goal(c: Conversation) -> None:
    c.say(
        c.t("A counsellor can chat with you here, anonymously. What would you like from them?"),
        c.opt("goal", q.GOALS) + _back(c),
    )


def review(c: Conversation) -> None:
    summary = "\n".join(f"• {line}" for line in c.summary_lines(c.t))
    buttons = [Button("consent", c.t("Yes, share this")), Button("decline", c.t("No, not now"))]
    if c.data["story"]:
        toggle = c.t("Leave out my own words") if c.data["share_story"] else c.t("Include my own words")
        buttons.insert(1, Button("share_story", toggle))
    c.say(
        c.t("This is what the counsellor would see:")
        + "\n"
        + summary
        + "\n\n"
        + c.t(CONSENT_TEXT).format(days=RETENTION_DAYS)
        + "\n\n"
        + c.t("Is that OK for you?"),
        [*buttons, *_back(c)],
    )


def waiting(c: Conversation) -> None:
    c.say(
        c.t("You can write here; your messages go to the counsellor. /stop withdraws your request."),
        [Button("withdraw", c.t("Withdraw my request"))],
    )


def done(c: Conversation) -> None:
    c.say(
        c.t(
            "Thank you for reaching out. Worrying about someone is heavy; you did a good thing by looking "
            "for help. You can come back at any time. /forget erases this conversation."
        ),
        [Button("again", c.t("Start again"))],
    )


def confirm_forget(c: Conversation) -> None:
    c.say(
        c.t(
            "Do you want me to erase everything you told me, and withdraw any request to a counsellor? "
            "This cannot be undone."
        ),
        [Button("forget_yes", c.t("Yes, erase everything")), Button("forget_no", c.t("No, go back"))],
    )


PROMPTS: dict[str, Callable[[Conversation], None]] = {
    "welcome": welcome,
    "language": language,
    "role": role,
    "young_self": young_self,
    "reason": reason,
    "story": story,
    "age": age,
    "observations": multi,
    "other_worries": multi,
    "explanations": multi,
    "duration": duration,
    "danger": danger,
    "departure": departure,
    "guidance": guidance,
    "postcode": postcode,
    "contacts": contacts,
    "goal": goal,
    "review": review,
    "waiting": waiting,
    "done": done,
    "confirm_forget": confirm_forget,
}
