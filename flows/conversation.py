"""The guided conversation: states (what Baken waits for), transitions as data, and their callbacks.

Read it top to bottom: STATES, then TRANSITIONS, then the Conversation model whose methods the
transitions name (conditions are `is_…`/`has_…` predicates, the rest say what they do). The machine is
built once (see `flows.engine`); each inbound message fires one event on a light Conversation restored
from storage.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from content.directory import Contact, Directory
from content.i18n import N_, Translate, translator
from content.library import Article, Library
from content.postcodes import Place, PostcodeIndex, PostcodeLookup
from flows import questions as q
from flows.effects import (
    Effect,
    ForgetSession,
    GiveConsent,
    OpenTicket,
    RecordSurvey,
    RelayToCounsellor,
    ShowStoredData,
    WithdrawTicket,
)
from flows.messages import Button, Outbound
from flows.screen import Hit, Screen
from flows.triage import TriageTable, answers_from
from handover.consent import CONSENT_VERSION
from handover.relay_notices import SURVEY_QUESTIONS, survey_question

log = logging.getLogger("baken.flows")

# --------------------------------------------------------------------------------------------- states
STATES: list[str] = [
    "welcome",  # privacy notice, then continue
    "language",  # choosing a language (from /language or the welcome screen)
    "role",  # who are you
    "young_self",  # a young person writing about themselves: youth lines first
    "reason",  # what brings you
    "story",  # in your own words (optional, several messages allowed)
    "age",  # age range of the young person
    "observations",  # changes noticed (multi-select)
    "other_worries",  # other worries (multi-select)
    "duration",  # since when
    "explanations",  # other explanations (multi-select)
    "danger",  # signs of urgent danger
    "departure",  # a family member left or came back
    "guidance",  # the level, its reasons and fitting articles
    "postcode",  # where to look for contacts
    "contacts",  # contacts shown
    "goal",  # what they want from a counsellor
    "review",  # what would be shared; the consent question
    "waiting",  # in the counsellor queue; messages relay to the ticket
    "done",  # finished
    "confirm_forget",  # /forget asks once more
]

#: states left for the danger question when the screen catches danger in a typed text; after the answer
#: the person comes back (states after the guidance come back to a fresh guidance, with the new level)
#: new counsellor requests one person may make in 48 hours (the window is kept by the channel layer)
REQUEST_LIMIT = 5
ALARM_FROM = frozenset(STATES) - {"danger", "waiting", "language", "confirm_forget"}
AFTER_GUIDANCE = frozenset({"guidance", "postcode", "contacts", "goal", "review", "done"})

# ---------------------------------------------------------------------------------------- transitions
ANY = "*"
TRANSITIONS: list[dict[str, Any]] = [
    # always available
    {"trigger": "start", "source": ANY, "dest": "welcome", "before": "begin"},
    {"trigger": "restart", "source": ANY, "dest": "welcome", "before": "begin"},
    {"trigger": "help", "source": ANY, "dest": None, "after": "say_help"},
    {"trigger": "urgent", "source": ANY, "dest": None, "after": "say_urgent"},
    {"trigger": "mydata", "source": ANY, "dest": None, "after": "show_my_data"},
    {"trigger": "choose_language", "source": ANY, "dest": "language", "before": "remember_return"},
    {"trigger": "forget", "source": ANY, "dest": "confirm_forget", "before": "remember_return"},
    {"trigger": "stop", "source": ANY, "dest": "done", "before": "stop_everything"},
    {"trigger": "back", "source": ANY, "dest": None, "after": "go_back"},
    # danger caught in a typed text where a button was expected: the danger question at once
    {"trigger": "alarm", "source": sorted(ALARM_FROM), "dest": "danger", "before": "remember_resume"},
    # start
    {"trigger": "go", "source": "welcome", "dest": "reason", "conditions": "has_role"},
    {"trigger": "go", "source": "welcome", "dest": "role"},
    {"trigger": "privacy", "source": "welcome", "dest": None, "after": "show_privacy"},
    {"trigger": "lang", "source": "language", "dest": None, "after": "set_language"},
    # a young person writing about themselves gets the danger question first, then the youth lines
    {"trigger": "role", "source": "role", "dest": "danger", "conditions": "is_self", "before": "set_role"},
    {"trigger": "role", "source": "role", "dest": "reason", "before": "set_role"},
    {"trigger": "go", "source": "young_self", "dest": "reason"},
    # concern
    {"trigger": "reason", "source": "reason", "dest": "story", "before": "set_reason"},
    {"trigger": "text", "source": "story", "dest": None, "after": "add_story"},
    {"trigger": "go", "source": "story", "dest": "age", "conditions": "is_about_someone"},
    {"trigger": "go", "source": "story", "dest": "departure", "conditions": "is_departure"},
    {"trigger": "go", "source": "story", "dest": "danger", "conditions": "has_no_danger_answer"},
    {"trigger": "go", "source": "story", "dest": "guidance", "before": "assess"},
    {"trigger": "age", "source": "age", "dest": "observations", "before": "set_age"},
    {"trigger": "tick", "source": ["observations", "other_worries", "explanations"], "dest": None,
     "after": "toggle"},
    {"trigger": "go", "source": "observations", "dest": "other_worries"},
    {"trigger": "go", "source": "other_worries", "dest": "duration"},
    {"trigger": "duration", "source": "duration", "dest": "explanations", "before": "set_duration"},
    {"trigger": "go", "source": "explanations", "dest": "guidance", "conditions": "has_danger_answer",
     "before": "assess"},
    {"trigger": "go", "source": "explanations", "dest": "danger"},
    # the danger question asked because of words the screen caught: answer, then back where we were
    {"trigger": "danger", "source": "danger", "dest": None, "conditions": "is_resuming", "after": "resume"},
    {"trigger": "danger", "source": "danger", "dest": "young_self", "conditions": ["is_young_self", "has_no_reason"],
     "before": "set_danger"},
    {"trigger": "danger", "source": "danger", "dest": "departure",
     "conditions": ["is_departure", "has_no_departure_answer"], "before": "set_danger"},
    {"trigger": "danger", "source": "danger", "dest": "age",
     "conditions": ["is_about_someone", "has_no_age"], "before": "set_danger"},
    {"trigger": "danger", "source": "danger", "dest": "guidance", "before": ["set_danger", "assess"]},
    {"trigger": "departure", "source": "departure", "dest": "danger", "conditions": "has_no_danger_answer",
     "before": "set_departure"},
    {"trigger": "departure", "source": "departure", "dest": "guidance", "before": ["set_departure", "assess"]},
    # guidance and contacts
    {"trigger": "read", "source": ["guidance", "contacts"], "dest": None, "after": "show_article"},
    {"trigger": "contacts", "source": ["guidance", "young_self"], "dest": "postcode"},
    {"trigger": "text", "source": "postcode", "dest": "contacts", "prepare": "look_up_place",
     "conditions": "has_place", "after": "show_contacts"},
    {"trigger": "text", "source": "postcode", "dest": None, "after": "say_place_not_found"},
    {"trigger": "place", "source": "postcode", "dest": "contacts", "prepare": "pick_place",
     "conditions": "has_place", "after": "show_contacts"},
    {"trigger": "place", "source": "postcode", "dest": None, "after": "say_place_not_found"},
    # a postcode typed while reading: show the services straight away
    {"trigger": "place", "source": ["guidance", "contacts"], "dest": "contacts", "prepare": "pick_place",
     "conditions": "has_place", "after": "show_contacts"},
    {"trigger": "place", "source": ["guidance", "contacts"], "dest": "postcode", "after": "say_place_not_found"},
    {"trigger": "skip", "source": "postcode", "dest": "contacts", "before": "clear_place",
     "after": "show_contacts"},
    {"trigger": "articles", "source": "contacts", "dest": "guidance"},
    # handover
    {"trigger": "counsellor", "source": ["guidance", "contacts"], "dest": "waiting", "conditions": "has_open_ticket"},
    {"trigger": "counsellor", "source": ["guidance", "contacts"], "dest": "goal"},
    {"trigger": "goal", "source": "goal", "dest": "review", "before": "set_goal"},
    {"trigger": "share_story", "source": "review", "dest": None, "after": "toggle_story"},
    # at most REQUEST_LIMIT new requests in 48 hours: past it, a kind no, the numbers and the open request
    {"trigger": "consent", "source": "review", "dest": None, "conditions": "too_many_requests",
     "after": "refuse_request"},
    {"trigger": "consent", "source": "review", "dest": "waiting", "before": "give_consent"},
    {"trigger": "decline", "source": "review", "dest": "guidance", "before": "say_declined"},
    {"trigger": "text", "source": "waiting", "dest": None, "after": "relay"},
    {"trigger": "withdraw", "source": "waiting", "dest": "done", "before": "withdraw_request"},
    {"trigger": "finish", "source": ["guidance", "contacts", "young_self"], "dest": "done"},
    {"trigger": "again", "source": "done", "dest": "welcome", "before": "begin"},
    # the anonymous two questions after a counsellor closed the conversation
    {"trigger": "survey", "source": "done", "dest": None, "after": "answer_survey"},
    # /forget
    {"trigger": "forget_yes", "source": "confirm_forget", "dest": "welcome", "before": "erase"},
    {"trigger": "forget_no", "source": "confirm_forget", "dest": None, "after": "go_return"},
]

#: states where typed text is an answer, not a misplaced button press
TEXT_STATES = frozenset({"story", "postcode", "waiting"})
MULTI_SELECT: dict[str, tuple[q.Option, ...]] = {
    "observations": q.OBSERVATIONS,
    "other_worries": q.OTHER_WORRIES,
    "explanations": q.EXPLANATIONS,
}
STORY_LIMIT = 8000
NO_BACK = frozenset({"welcome", "waiting", "done", "confirm_forget", "language"})


@dataclass(frozen=True)
class Content:
    """What the conversation reads from: articles, contacts, postcodes, triage rules."""

    library: Library
    directory: Directory
    postcodes: PostcodeIndex
    triage: TriageTable
    format_contact: Callable[[Contact, str], str]
    screen: Screen


#: the fields kept between messages (JSON, encrypted at rest)
DEFAULTS: dict[str, Any] = {
    "locale": "nl",
    "role": None,
    "reason": None,
    "story": [],
    "age": None,
    "observed": [],
    "explained": [],
    "duration": None,
    "danger": None,
    "departure": None,
    "level": None,
    "reasons": [],
    "topics": [],
    "region": None,
    "communities": [],
    "goal": None,
    "share_story": True,
    "ticket_open": False,
    "history": [],
    "return_to": None,
    "read": [],
    "contacts_seen": False,
    "screened": [],
    "resume": None,
    "suggestions": [],
}
#: fields added after sessions were first stored: filled in when an older session comes back
LATER_FIELDS: tuple[str, ...] = ("screened", "resume")


class Conversation:
    """One person's conversation, restored for one event. Callbacks append to `out` and `effects`."""

    def __init__(self, state: str, data: dict[str, Any], content: Content) -> None:
        self.state = state
        self.data = data
        for key in LATER_FIELDS:
            data.setdefault(key, copy.deepcopy(DEFAULTS[key]))
        self.content = content
        self.t: Translate = translator(data["locale"])
        self.out: list[Outbound] = []
        self.effects: list[Effect] = []
        self.goto: str | None = None
        self.place: Place | None = None
        self.place_lookup: PostcodeLookup | None = None
        #: what this step refused, for the security log (a code from a fixed list, never the input):
        #: "stale_button", "forged_button", "request_limit"
        self.refused = ""

    # ---- helpers
    def say(self, text: str, buttons: Iterable[Button] = (), urgent: bool = False) -> None:
        self.out.append(Outbound(text, tuple(buttons), urgent))

    def opt(self, trigger: str, options: Iterable[q.Option]) -> list[Button]:
        return [Button(f"{trigger}:{key}", self.t(label)) for key, label in options]

    @property
    def audience(self) -> str:
        return q.AUDIENCE_OF_ROLE.get(self.data["role"] or "other", "all")

    # ---- conditions
    def has_role(self, *_: Any) -> bool:
        return self.data["role"] is not None

    def is_self(self, value: str) -> bool:
        return value == "self"

    def has_danger_answer(self, *_: Any) -> bool:
        return self.data["danger"] is not None

    def has_no_danger_answer(self, *_: Any) -> bool:
        return self.data["danger"] is None

    def too_many_requests(self, *_: Any) -> bool:
        """The channel layer tells how many requests this person made in the last 48 hours."""
        return int(self.data.get("recent_requests") or 0) >= REQUEST_LIMIT

    def is_resuming(self, *_: Any) -> bool:
        return self.data["resume"] is not None

    def is_young_self(self, *_: Any) -> bool:
        return self.data["role"] == "self"

    def has_no_reason(self, *_: Any) -> bool:
        return self.data["reason"] is None

    def is_about_someone(self, *_: Any) -> bool:
        return self.data["reason"] in ("young_person", "case")

    def has_no_age(self, *_: Any) -> bool:
        return self.data["age"] is None

    def is_departure(self, *_: Any) -> bool:
        return self.data["reason"] == "departure"

    def has_no_departure_answer(self, *_: Any) -> bool:
        return self.data["departure"] is None

    def has_place(self, *_: Any) -> bool:
        return self.place is not None

    def has_open_ticket(self, *_: Any) -> bool:
        return bool(self.data["ticket_open"])

    # ---- always available
    def begin(self, payload: str = "") -> None:
        """A fresh start keeps only the language, an open ticket and a deep-linked role."""
        keep = {"locale": self.data["locale"], "ticket_open": self.data["ticket_open"]}
        self.data.clear()
        self.data.update({k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()})
        self.data.update(keep)
        role = q.DEEP_LINK_ROLES.get(payload.strip().lower())
        if role:
            self.data["role"] = role

    def say_help(self, *_: Any) -> None:
        self.say(
            self.t(
                "You can always type:\n"
                "/urgent – emergency numbers\n"
                "/language – change the language\n"
                "/restart – start again\n"
                "/stop – end the conversation and withdraw a request to a counsellor\n"
                "/forget – erase everything you told me\n"
                "/help – this list\n"
                "Buttons and numbers both work; 'back' takes you one question back."
            )
        )

    @property
    def self_harm_known(self) -> bool:
        """Self-harm was ticked, answered or caught in the person's own words."""
        d = self.data
        return d["danger"] == "life" or "selfharm" in d["observed"] or "self_harm" in d["screened"]

    def emergency_contacts(self, category: str | None = None) -> list[Contact]:
        """112 and 101, then the line that fits the danger: the suicide line of the person's language for
        self-harm, the community's radicalisation line for a departure, the crisis line when nothing is known."""
        lang = self.data["locale"]
        directory = self.content.directory
        self_harm = category in ("self_harm", "life") or (category is None and self.self_harm_known)
        contacts = directory.emergency(place=None, lang=lang, self_harm=self_harm,
                                       young=self_harm or self.audience == "young")
        if category in ("travel",):
            contacts += directory.language_lines(place=None, lang=lang, topic="radicalisation")
        if category is None:
            contacts += directory.language_lines(place=None, lang=lang, topic="listening")
        return list(dict.fromkeys(contacts))

    def contact_lines(self, contacts: Iterable[Contact]) -> list[str]:
        return [f"☎ {c.phone} – {c.name_for(self.data['locale'])}" for c in contacts]

    def say_emergency(self, category: str | None = None) -> None:
        """The numbers, as one urgent message; `category` is a danger answer or a screen category."""
        lines = [self.t(EMERGENCY_HEADS.get(category or "", EMERGENCY_HEADS[""]))]
        lines += self.contact_lines(self.emergency_contacts(category))
        lines.append(self.t("112 and 101 are free and answer day and night. You can keep talking with me afterwards."))
        self.say("\n".join(lines), urgent=True)

    def say_urgent(self, *_: Any) -> None:
        self.say_emergency(None)

    def show_my_data(self, *_: Any) -> None:
        """Everything Baken keeps linked to this person, readable, in their language (GDPR art. 15)."""
        t, d = self.t, self.data
        lines = [t("This is everything Baken keeps about this conversation:"), *self.summary_lines(t)]
        if d["story"]:
            lines.append(t("Your own words, in full:"))
            lines.extend(f"“{part}”" for part in d["story"])
        self.say("\n".join(lines))
        self.effects.append(ShowStoredData(d["locale"]))

    def screen(self, text: str) -> Hit | None:
        """Run the danger screen on free text; on a hit, the fitting numbers go out before anything else."""
        try:
            hit = self.content.screen.check(text, self.data["locale"])
        except Exception:  # a fault in the screen must never cost the person their answer
            log.exception("danger screen failed; the message is handled without it")
            return None
        if hit is not None:
            if hit.category not in self.data["screened"]:
                self.data["screened"].append(hit.category)
            self.say_emergency(hit.category)
        return hit

    def remember_resume(self, *_: Any) -> None:
        self.data["resume"] = self.state

    def ask_danger_now(self) -> None:
        """After a hit: the danger question at once, to confirm in one tap; then back to where we were."""
        self.data["resume"] = self.state
        self.goto = "danger"

    def remember_return(self, *_: Any) -> None:
        if self.state not in ("language", "confirm_forget"):
            self.data["return_to"] = self.state

    def go_return(self, *_: Any) -> None:
        self.goto = self.data.get("return_to") or "welcome"
        self.data["return_to"] = None

    def go_back(self, *_: Any) -> None:
        history = self.data["history"]
        if self.state == "danger":
            self.data["resume"] = None
        if history and self.state not in NO_BACK:
            self.goto = history.pop()
        else:
            self.say(self.t("There is no earlier question to go back to."))

    def stop_everything(self, *_: Any) -> None:
        if self.data["ticket_open"]:
            self.effects.append(WithdrawTicket())
            self.data["ticket_open"] = False
            self.say(self.t("Your request to a counsellor is withdrawn. Nothing more will be shared."))

    # ---- start
    def show_privacy(self, *_: Any) -> None:
        article = self.content.library.by_topic("trust", self.data["locale"])
        if article is not None:
            self.say(f"{article.title}\n\n{article.body}")

    def set_language(self, value: str) -> None:
        if value in dict(q.LANGUAGES):
            self.data["locale"] = value
            self.t = translator(value)
        self.go_return()

    def set_role(self, value: str) -> None:
        self.data["role"] = value

    # ---- concern
    def set_reason(self, value: str) -> None:
        self.data["reason"] = value

    def add_story(self, text: str) -> None:
        story: list[str] = self.data["story"]
        room = STORY_LIMIT - sum(len(s) for s in story)
        if room <= 0:
            self.say(self.t("I could not keep more text here. A counsellor can hear the rest."))
            return
        hit = self.screen(text)
        story.append(text[:room])
        if hit is not None:
            self.ask_danger_now()
        if len(text) > room:
            self.say(self.t("Thank you. Your message was long; I kept the first part."))
        else:
            self.say(self.t("Thank you for telling me."))

    def set_age(self, value: str) -> None:
        self.data["age"] = value

    def toggle(self, value: str) -> None:
        key = "explained" if self.state == "explanations" else "observed"
        chosen: list[str] = self.data[key]
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)

    def set_duration(self, value: str) -> None:
        self.data["duration"] = value

    def set_danger(self, value: str) -> None:
        self.data["danger"] = value
        if value != "none":
            self.say_emergency(value)

    def resume(self, value: str) -> None:
        self.set_danger(value)
        back = self.data["resume"]
        self.data["resume"] = None
        if back in AFTER_GUIDANCE:
            self.assess()
            back = "guidance"
        self.goto = back

    def set_departure(self, value: str) -> None:
        self.data["departure"] = value

    def assess(self, *_: Any) -> None:
        danger = self.data["danger"] if self.data["danger"] != "none" else None
        result = self.content.triage.assess(
            answers_from(self.data["reason"], self.data["observed"], self.data["departure"], danger,
                         self.data["screened"], age=self.data["age"])
        )
        self.data["level"] = result.level
        self.data["reasons"] = list(result.reasons)
        topics = list(result.topics)
        explained = set(self.data["explained"])
        growing_up = "puberty" in explained and result.level in ("info", "concern")
        if growing_up:
            topics = ["adolescence", *[topic for topic in topics if topic != "adolescence"]]
        if explained & {"home", "mental", "loss"}:
            topics.append("other-worries")
        self.data["topics"] = list(dict.fromkeys(topics))
        lines = [self.t("Thank you. From what you told me, this is {level}.").format(
            level=self.t(q.LEVEL_LABELS[result.level]))]
        labels = [self.t(q.ANSWER_LABELS[r]) for r in result.reasons if r in q.ANSWER_LABELS]
        if labels:
            lines.append(self.t("What I went by:") + "\n" + "\n".join(f"• {lb}" for lb in labels))
        lines.append(self.t(LEVEL_ADVICE[result.level]))
        if growing_up:
            lines.append(self.t(
                "You mention that puberty may play a part. Searching for who you are, provoking and strong "
                "opinions are often part of growing up; the first text below is about that."))
        if set(self.data["observed"]) & {k for k, _ in q.OTHER_WORRIES}:
            lines.append(self.t(
                "Some of what you describe may be about something else than extreme ideas. "
                "That deserves help too, and there are services for it."))
        always = self.contact_lines(self.emergency_contacts())
        lines.append(self.t("In danger, day and night:") + "\n" + "\n".join(always))
        self.say("\n\n".join(lines))

    # ---- guidance and contacts
    def articles(self) -> tuple[Article, ...]:
        topics = list(self.data["topics"]) or ["basics", "signals"]
        # professionals first get what fits their work: the class and the school, or the rules of their trade
        own = ROLE_TOPICS.get(self.audience, ())
        topics = [*own, *topics]
        keep = [topic for answer, topic in KEEP_TOPICS.items()
                if answer in self.data["explained"] or answer in self.data["observed"]]
        return self.content.library.pick(
            lang=self.data["locale"], audience=self.audience if self.audience != "young" else "all",
            topics=topics, level=self.data["level"] or "info", keep=keep,
        )

    def show_article(self, value: str) -> None:
        article = self.content.library.get(value, self.data["locale"])
        if article is None:
            self.say(self.t("That article is no longer available. Here is the list again."))
            return
        if value not in self.data["read"]:
            self.data["read"].append(value)
        body = article.body
        if "self-harm" in article.topics:
            # the article promises the number for the person's language: here it is
            lines = self.contact_lines(self.emergency_contacts("self_harm"))
            body = f"{body}\n\n" + "\n".join(lines)
        self.say(f"{article.title}\n\n{body}")

    def look_up_place(self, text: str) -> None:
        self.place_lookup = self.content.postcodes.lookup(text)
        self.place = self.place_lookup.place

    def pick_place(self, value: str) -> None:
        self.look_up_place(value)

    def clear_place(self, *_: Any) -> None:
        self.place = None
        self.data["region"] = None
        self.data["communities"] = []

    def say_place_not_found(self, *_: Any) -> None:
        found = self.place_lookup
        reason = found.reason if found else "no_match"
        suggestions = list(found.suggestions)[:5] if found else []
        skip = Button("skip", self.t("Skip"))
        lang = self.data["locale"]
        choices = [Button(f"place:{p.postcode}", f"{p.postcode} {p.name_in(lang)}") for p in suggestions]
        if reason == "not_a_place":
            self.say(self.t("That postcode belongs to an institution, not to a place where people live. "
                            "Type the postcode of your municipality."), [skip])
        elif reason == "ambiguous_name" and choices:
            self.say(self.t("Several places have that name. Which one do you mean?"), [*choices, skip])
        elif choices:
            self.say(self.t("I don't know that postcode. Did you mean one of these?"), [*choices, skip])
        else:
            self.say(self.t("I could not find that place. Type a Belgian postcode of four digits, like 1800, "
                            "or the name of your municipality."), [skip])

    def show_contacts(self, *_: Any) -> None:
        place = self.place
        if place is not None:
            self.data["region"] = "east-belgium" if "de" in place.communities else place.region
            self.data["communities"] = list(place.communities)
            municipality = place.municipality_in(self.data["locale"])
            self.say(self.t("Services for {municipality}:").format(municipality=municipality))
        # the person's own topics first; the directory ranks the specific worry before general help
        topics = [*self.data["topics"], "parenting", "welfare", "listening", "radicalisation"]
        if "selfharm" in self.data["observed"] or self.data["danger"] == "life":
            topics.insert(0, "suicide")
        if self.data["role"] == "self":
            topics = ["youth", "listening", "suicide"]
        audience = self.audience if self.audience != "all" else "parent"
        contacts = self.content.directory.select(
            place=place, lang=self.data["locale"], audience=audience, topics=topics
        )
        self.data["contacts_seen"] = True
        blocks = [self.content.format_contact(c, self.data["locale"]) for c in contacts]
        self.say("\n\n".join(blocks) if blocks else self.t("I found no specific service; the emergency numbers are "
                                                           "always there: 112 and 101."))

    # ---- handover
    def set_goal(self, value: str) -> None:
        self.data["goal"] = value

    def toggle_story(self, *_: Any) -> None:
        self.data["share_story"] = not self.data["share_story"]

    def summary_lines(self, t: Translate) -> list[str]:
        d = self.data
        lines = [t("Language: {lang}").format(lang=dict(q.LANGUAGES)[d["locale"]])]
        if d["role"]:
            lines.append(t("You are: {role}").format(role=t(q.label_of(q.ROLES, d["role"]) or "")))
        if d["reason"]:
            lines.append(t("About: {reason}").format(reason=t(q.label_of(q.REASONS, d["reason"]) or "")))
        if d["age"]:
            lines.append(t("Age: {age}").format(age=t(q.label_of(q.AGES, d["age"]) or "")))
        noticed = [t(label) for k, label in q.OBSERVATIONS + q.OTHER_WORRIES if k in d["observed"]]
        if noticed:
            lines.append(t("What you noticed: {items}").format(items="; ".join(noticed)))
        if d["duration"]:
            lines.append(t("Since: {since}").format(since=t(q.label_of(q.DURATIONS, d["duration"]) or "")))
        explained = [t(label) for k, label in q.EXPLANATIONS if k in d["explained"]]
        if explained:
            lines.append(t("Other possible explanations: {items}").format(items="; ".join(explained)))
        if d["departure"]:
            lines.append(t("Departure: {status}").format(status=t(q.label_of(q.DEPARTURES, d["departure"]) or "")))
        if d["danger"] and d["danger"] != "none":
            lines.append(t("Danger: {danger}").format(danger=t(q.label_of(q.DANGERS, d["danger"]) or "")))
        lines.extend(t(q.SCREEN_LABELS[s]) for s in d["screened"] if s in q.SCREEN_LABELS)
        if d["level"]:
            level_label = q.LEVEL_LABELS[d["level"]]
            lines.append(t("Assessment: {level}").format(level=t(level_label)))
        if d["region"]:
            lines.append(t("Region: {region}").format(region=t(REGION_LABELS.get(d["region"], d["region"]))))
        if d["goal"]:
            lines.append(t("You would like: {goal}").format(goal=t(q.label_of(q.GOALS, d["goal"]) or "")))
        if d["story"]:
            if d["share_story"]:
                lines.append(t("Your own words: “{words}”").format(words=shortened(d["story"])))
            else:
                lines.append(t("Your own words: left out"))
        return lines

    def give_consent(self, *_: Any) -> None:
        d = self.data
        if d["level"] is None:
            self.assess()
        story = "\n".join(d["story"]) if (d["story"] and d["share_story"]) else None
        self.effects.append(GiveConsent(CONSENT_VERSION, d["locale"], bool(story)))
        d["relayed"] = 0  # each request gets its own allowance of relayed messages
        self.effects.append(
            OpenTicket(
                level=d["level"],
                priority=self.content.triage.priority[d["level"]],
                reasons=tuple(d["reasons"]),
                locale=d["locale"],
                role=d["role"] or "other",
                region=d["region"],
                goal=d["goal"] or "advice",
                summary="\n".join(self.summary_lines(self.t)),
                story=story,
            )
        )
        d["ticket_open"] = True
        self.say(self.t("Thank you. Your request is in the queue for a counsellor."))

    def refuse_request(self, *_: Any) -> None:
        """Past the limit: no new request. Where to turn instead, and the open request if there is one."""
        self.refused = "request_limit"
        t = self.t
        self.say(t("You have asked for a counsellor {n} times in the last 48 hours. That is as many new requests "
                   "as Baken can take from one person, so that everyone who writes can be helped.").format(
                       n=REQUEST_LIMIT))
        if self.data["ticket_open"]:
            self.say(t("Your open request is still in the queue: a counsellor will answer you here. You can "
                       "add to it by writing to me."))
        else:
            self.say(t("You can ask for a counsellor again in two days. Until then, the lines below listen day "
                       "and night, and everything else here stays open to you."))
        self.say_emergency(None)
        self.goto = "waiting" if self.data["ticket_open"] else "guidance"

    def say_declined(self, *_: Any) -> None:
        self.say(self.t("That is fine: nothing was shared. You can read on, look up services, or come back later."))

    def relay(self, text: str) -> None:
        hit = self.screen(text)  # first, whatever else happens to the message: danger gets its numbers
        if len(text) > RELAY_MAX_CHARS:
            self.say(self.t("That message is too long to pass on in one piece (at most {n} characters). Could "
                            "you send it in shorter parts?").format(n=f"{RELAY_MAX_CHARS:,}".replace(",", " ")))
            return
        sent = int(self.data.get("relayed", 0))
        if sent >= RELAY_MAX_MESSAGES:
            self.say(self.t("The counsellor has many messages from you to read already. Please wait for their "
                            "answer before you write more; if someone is in danger, call 112."))
            return
        self.data["relayed"] = sent + 1
        self.effects.append(RelayToCounsellor(text, danger=hit.category if hit else None))
        self.say(self.t("Passed on to the counsellor."))

    def answer_survey(self, value: str) -> None:
        question, _, answer = value.partition(".")
        self.effects.append(RecordSurvey(question, answer))
        keys = [k for k, _label in SURVEY_QUESTIONS]
        following = keys.index(question) + 1
        if following < len(keys):
            self.out.append(survey_question(self.t, following))
        else:
            self.say(self.t("Thank you for your answers."), [Button("again", self.t("Start again"))])

    def withdraw_request(self, *_: Any) -> None:
        self.stop_everything()

    def erase(self, *_: Any) -> None:
        self.effects.append(ForgetSession())
        self.data["ticket_open"] = False


STORY_PREVIEW = 300
#: a relayed message longer than this is refused kindly (Telegram's own limit is 4,096): no 5 MB messages
RELAY_MAX_CHARS = 4000
#: relayed messages per request before the person is asked to wait for an answer (a flood, not a conversation)
RELAY_MAX_MESSAGES = 200


def shortened(story: list[str], limit: int = STORY_PREVIEW) -> str:
    """The person's own words as they will be shared, cut at a word and marked when long (the counsellor
    still gets them whole, as the ticket's story)."""
    text = " / ".join(" ".join(part.split()) for part in story if part.strip())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,.;:/") + " …"


#: the first line of the emergency message, per danger answer or screen category
EMERGENCY_HEADS: dict[str, str] = {
    "": N_("If someone is in danger right now, call:"),
    "life": N_("If a life is in danger right now, call 112. A suicide prevention line listens day and night, "
               "also when you worry about someone else:"),
    "self_harm": N_("If a life is in danger right now, call 112. A suicide prevention line listens day and night, "
                    "also when you worry about someone else:"),
    "travel": N_("If someone is about to leave for a conflict zone, call the police now (101, or 112). "
                 "The line below advises families, also about a departure:"),
}

LEVEL_ADVICE: dict[str, str] = {
    "info": N_(
        "This is a good question to ask. Below you find information to read; services are there if you want them."
    ),
    "concern": N_(
        "What you notice is worth a conversation, with the young person and with someone who can advise you. "
        "It does not prove anything. Many such worries turn out to be about growing up."
    ),
    "serious": N_(
        "Some of what you describe deserves attention soon. I advise you to talk to a counsellor or a "
        "specialised service now. This is not a judgement about the young person."
    ),
    "urgent": N_(
        "If anyone is in danger now, call the emergency numbers above first. Then a counsellor can help you "
        "with the next steps."
    ),
}

#: answers whose article must stay in the guidance list whatever the level: puberty ticked as an explanation
#: keeps normal adolescence, much time with extreme content online keeps the online-propaganda text
KEEP_TOPICS: dict[str, str] = {"puberty": "adolescence", "online": "online"}

ROLE_TOPICS: dict[str, tuple[str, ...]] = {
    "teacher": ("classroom", "school"),
    "worker": ("referral", "secrecy"),
}

REGION_LABELS: dict[str, str] = {
    "flanders": N_("Flanders"),
    "wallonia": N_("Wallonia"),
    "brussels": N_("Brussels"),
    "east-belgium": N_("East Belgium (German-speaking)"),
}
