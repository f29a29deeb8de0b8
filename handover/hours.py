"""When counsellors answer, so a person is told honestly when to expect a reply."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from handover.holidays import is_public_holiday

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_SPEC = re.compile(rf"^\s*{_DAY}(?:-{_DAY})?\s+(\d\d):(\d\d)-(\d\d):(\d\d)\s*$")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Opening hours as 'mon-fri 09:00-17:00', optionally several separated by ';'; closed on Belgian holidays."""

    windows: tuple[tuple[int, dt.time, dt.time], ...]
    tz: ZoneInfo

    @classmethod
    def parse(cls, spec: str, tz: str = "Europe/Brussels") -> OpeningHours:
        windows: list[tuple[int, dt.time, dt.time]] = []
        for part in spec.split(";"):
            m = _SPEC.match(part.lower())
            if not m:
                raise ValueError(f"cannot read opening hours {part!r}; write e.g. 'mon-fri 09:00-17:00'")
            first = DAYS.index(m[1])
            last = DAYS.index(m[2]) if m[2] else first
            start, end = dt.time(int(m[3]), int(m[4])), dt.time(int(m[5]), int(m[6]))
            for day in range(first, last + 1):
                windows.append((day, start, end))
        return cls(tuple(sorted(windows)), ZoneInfo(tz))

    def is_open(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.tz)
        if is_public_holiday(local.date()):
            return False
        return any(d == local.weekday() and s <= local.time() < e for d, s, e in self.windows)

    def next_opening(self, now: dt.datetime) -> dt.datetime:
        local = now.astimezone(self.tz)
        for offset in range(22):  # a week, plus room for holidays that follow each other
            day = local.date() + dt.timedelta(days=offset)
            if is_public_holiday(day):
                continue
            for d, s, _e in self.windows:
                if d == day.weekday():
                    start = dt.datetime.combine(day, s, tzinfo=self.tz)
                    if start > local:
                        return start
        raise ValueError("opening hours have no window")
