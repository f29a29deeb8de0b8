"""What a person is told after their request enters the queue."""

from __future__ import annotations

import datetime as dt

from content.i18n import N_, Translate
from handover.hours import OpeningHours

_DAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
              N_("Sunday"))


def next_steps(t: Translate, position: int, hours: OpeningHours, now: dt.datetime, *, urgent: bool = False) -> str:
    lines = [t("You are number {position} in the queue.").format(position=position)]
    if hours.is_open(now):
        lines.append(t("A counsellor is on duty now and will answer you here as soon as possible."))
    else:
        opening = hours.next_opening(now)
        lines.append(
            t("The counsellors are not on duty now. They start again on {day} at {time}; your request waits "
              "for them.").format(day=t(_DAY_NAMES[opening.weekday()]), time=opening.strftime("%H:%M"))
        )
        if urgent:  # nobody reads an urgent request before then: the numbers again, now
            lines.append(t("Because this is urgent and nobody is on duty now: if anyone is in danger, call 112 "
                           "(emergency) or 101 (police) now, without waiting for us."))
    lines.append(t("What happens next: a counsellor reads your summary and writes to you here. You answer "
                   "when it suits you. In danger, do not wait: call 112."))
    return "\n".join(lines)
