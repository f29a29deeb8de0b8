"""Belgium's ten legal public holidays: the counsellors are off, so the person is told the next real opening."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def easter_sunday(year: int) -> dt.date:
    """Western Easter by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


@lru_cache(maxsize=64)
def belgian_holidays(year: int) -> frozenset[dt.date]:
    easter = easter_sunday(year)
    return frozenset({
        dt.date(year, 1, 1),  # New Year
        easter + dt.timedelta(days=1),  # Easter Monday
        dt.date(year, 5, 1),  # Labour Day
        easter + dt.timedelta(days=39),  # Ascension
        easter + dt.timedelta(days=50),  # Whit Monday
        dt.date(year, 7, 21),  # National Day
        dt.date(year, 8, 15),  # Assumption
        dt.date(year, 11, 1),  # All Saints
        dt.date(year, 11, 11),  # Armistice
        dt.date(year, 12, 25),  # Christmas
    })


def is_public_holiday(day: dt.date) -> bool:
    return day in belgian_holidays(day.year)
