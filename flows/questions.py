"""The answers Baken offers, as data: ids are stored, labels are catalog msgids."""

from __future__ import annotations

from content.i18n import N_

Option = tuple[str, str]

ROLES: tuple[Option, ...] = (
    ("parent", N_("Mother or father")),
    ("stepparent", N_("Step-parent or foster parent")),
    ("grandparent", N_("Grandparent")),
    ("sibling", N_("Brother or sister")),
    ("relative", N_("Other family member or friend")),
    ("teacher", N_("Teacher or school staff")),
    ("clb", N_("Pupil guidance (CLB, PMS)")),
    ("worker", N_("Youth or social worker")),
    ("self", N_("I am a young person, it is about me")),
    ("other", N_("Someone else")),
)
FAMILY_ROLES = frozenset({"parent", "stepparent", "grandparent", "sibling", "relative"})
PROFESSIONAL_ROLES = frozenset({"teacher", "clb", "worker"})

#: role → who the content is written for (article and contact audiences)
AUDIENCE_OF_ROLE: dict[str, str] = {
    **dict.fromkeys(FAMILY_ROLES, "parent"),
    "teacher": "teacher",
    "clb": "teacher",
    "worker": "worker",
    "other": "all",
    "self": "young",
}

#: deep-link payloads (`/start school`) that preselect a role
DEEP_LINK_ROLES: dict[str, str] = {"parent": "parent", "school": "teacher", "worker": "worker"}

REASONS: tuple[Option, ...] = (
    ("general", N_("A general question")),
    ("news", N_("A worry after something in the news")),
    ("young_person", N_("A worry about a young person I know")),
    ("case", N_("A situation at work with a pupil or client")),
    ("departure", N_("A family member left for a conflict zone, or came back")),
)


def reasons_for(role: str | None) -> tuple[Option, ...]:
    """Professionals get 'a situation at work'; family gets 'a family member left'."""
    if role in PROFESSIONAL_ROLES:
        keep = {"general", "news", "case"}
    elif role in FAMILY_ROLES:
        keep = {"general", "news", "young_person", "departure"}
    else:
        keep = {"general", "news", "young_person"}
    return tuple(o for o in REASONS if o[0] in keep)


AGES: tuple[Option, ...] = (
    ("under12", N_("Younger than 12")),
    ("12-15", N_("12 to 15")),
    ("16-17", N_("16 or 17")),
    ("18-25", N_("18 to 25")),
    ("over25", N_("Older than 25")),
    ("unknown", N_("I don't know")),
)

#: changes in ideas, contacts and behaviour: signals worth a conversation, never proof
OBSERVATIONS: tuple[Option, ...] = (
    ("withdrawn", N_("Withdraws from family or old friends")),
    ("ties", N_("Breaks with people who think differently")),
    ("blackwhite", N_("Sees everything in black and white, us against them")),
    ("hostile", N_("Speaks with hostility about a group of people")),
    ("online", N_("Spends much time on extreme content online")),
    ("school", N_("Drops out of school, training or work")),
    ("violence_ok", N_("Approves of or justifies violence")),
    ("recruiter", N_("Is in contact with a group or person pushing them")),
    ("leaving", N_("Talks about leaving for a conflict zone")),
)

#: worries that usually call for other, general help
OTHER_WORRIES: tuple[Option, ...] = (
    ("drugs", N_("Alcohol or drugs")),
    ("gangs", N_("Crime or a gang")),
    ("selfharm", N_("Self-harm or talk of suicide")),
    ("home_violence", N_("Violence at home")),
    ("bullying", N_("Bullying")),
    ("mood", N_("Very sad, anxious or low")),
)

DURATIONS: tuple[Option, ...] = (
    ("weeks", N_("Days or weeks")),
    ("months", N_("A few months")),
    ("year", N_("More than a year")),
    ("unknown", N_("I don't know")),
)

EXPLANATIONS: tuple[Option, ...] = (
    ("puberty", N_("Puberty, searching for who they are")),
    ("home", N_("Conflict or a big change at home")),
    ("mental", N_("Mental health problems")),
    ("loss", N_("A loss or something painful that happened")),
    ("friends", N_("New friends or a new relationship")),
)

DANGERS: tuple[Option, ...] = (
    ("violence", N_("They plan or threaten to hurt someone")),
    ("weapons", N_("They have or are looking for weapons")),
    ("travel", N_("They plan to leave for a conflict zone soon")),
    ("life", N_("Their own life is in danger")),
    ("none", N_("None of these")),
)

DEPARTURES: tuple[Option, ...] = (
    ("planning", N_("They are planning to leave")),
    ("left", N_("They have left")),
    ("returned", N_("They have come back")),
    ("children", N_("Their children are coming back or came back")),
)

GOALS: tuple[Option, ...] = (
    ("information", N_("Information")),
    ("advice", N_("Advice on what to do")),
    ("support", N_("Someone to talk to, support")),
    ("referral", N_("Help finding the right service")),
)

LEVEL_LABELS: dict[str, str] = {
    "info": N_("a question for information"),
    "concern": N_("a worry worth a conversation"),
    "serious": N_("a serious worry: talk to someone soon"),
    "urgent": N_("urgent: someone may be in danger"),
}

LANGUAGES: tuple[Option, ...] = (
    ("nl", "Nederlands"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("en", "English"),
)


def label_of(options: tuple[Option, ...], key: str | None) -> str | None:
    for k, label in options:
        if k == key:
            return label
    return None


#: what the free-text danger screen found, as a reason a person and a counsellor read
SCREEN_LABELS: dict[str, str] = {
    "self_harm": N_("Your own words: talk of ending a life or of self-harm"),
    "attack": N_("Your own words: talk of an attack"),
    "travel": N_("Your own words: leaving for a conflict zone soon"),
    "home": N_("Your own words: danger at home"),
    "violence": N_("Your own words: a threat or plan to hurt someone"),
    "weapons": N_("Your own words: weapons"),
}

#: danger options for a young person writing about themselves
DANGERS_SELF: tuple[Option, ...] = (
    ("life", N_("I think of ending my life or of hurting myself")),
    ("violence", N_("Someone threatens to hurt me or someone else")),
    ("weapons", N_("Someone has or is looking for weapons")),
    ("travel", N_("Someone plans to leave for a conflict zone soon")),
    ("none", N_("None of these")),
)

#: every answer id that can appear in a triage reason, with its label
ANSWER_LABELS: dict[str, str] = {
    **{f"observed:{k}": v for k, v in OBSERVATIONS + OTHER_WORRIES},
    **{f"danger:{k}": v for k, v in DANGERS},
    **{f"departure:{k}": v for k, v in DEPARTURES},
    **{f"reason:{k}": v for k, v in REASONS},
    **{f"screen:{k}": v for k, v in SCREEN_LABELS.items()},
}
