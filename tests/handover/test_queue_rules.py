"""Queue order, waiting-time colours and opening hours with Belgian holidays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from handover.holidays import belgian_holidays, easter_sunday
from handover.hours import OpeningHours
from handover.queue_rules import WaitColour, parse_targets, queue_order, wait_colour

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


@dataclass
class Row:
    name: str
    priority: int
    created_at: dt.datetime


def test_urgent_first_then_the_longest_waiting() -> None:
    rows = [
        Row("concern-old", 1, T0),
        Row("urgent-new", 3, T0 + dt.timedelta(minutes=50)),
        Row("urgent-old", 3, T0 + dt.timedelta(minutes=5)),
        Row("serious", 2, T0 + dt.timedelta(minutes=1)),
    ]
    assert [r.name for r in queue_order(rows)] == ["urgent-old", "urgent-new", "serious", "concern-old"]


def test_waiting_turns_amber_at_half_the_target_and_red_when_missed() -> None:
    assert wait_colour("urgent", dt.timedelta(minutes=2)) is WaitColour.OK
    assert wait_colour("urgent", dt.timedelta(minutes=3)) is WaitColour.AMBER
    assert wait_colour("urgent", dt.timedelta(minutes=5)) is WaitColour.RED
    assert wait_colour("info", dt.timedelta(hours=5)) is WaitColour.OK


def test_targets_come_from_settings_and_bad_ones_are_refused() -> None:
    targets = parse_targets("urgent=2m, info=48h")
    assert targets["urgent"] == dt.timedelta(minutes=2)
    assert targets["info"] == dt.timedelta(hours=48)
    assert targets["serious"] == dt.timedelta(minutes=30)
    with pytest.raises(ValueError):
        parse_targets("urgent=5s")
    with pytest.raises(ValueError):
        parse_targets("panic=5m")


def test_easter_and_the_moving_holidays() -> None:
    assert easter_sunday(2026) == dt.date(2026, 4, 5)
    assert easter_sunday(2027) == dt.date(2027, 3, 28)
    days = belgian_holidays(2026)
    assert dt.date(2026, 4, 6) in days  # Easter Monday
    assert dt.date(2026, 5, 14) in days  # Ascension
    assert dt.date(2026, 5, 25) in days  # Whit Monday
    assert dt.date(2026, 7, 21) in days and len(days) == 10


def test_closed_on_a_holiday_and_the_next_opening_skips_it() -> None:
    hours = OpeningHours.parse("mon-fri 09:00-17:00")
    armistice = dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC)  # a Wednesday
    assert not hours.is_open(armistice)
    assert hours.next_opening(armistice).date() == dt.date(2026, 11, 12)
    christmas_eve = dt.datetime(2026, 12, 24, 18, 0, tzinfo=dt.UTC)  # Thursday evening; Friday is Christmas
    assert hours.next_opening(christmas_eve).date() == dt.date(2026, 12, 28)
