"""Which texts guidance offers first: the reader's own work, and what their answers ask for (issue 12)."""

from __future__ import annotations

import pytest

from flows.engine import Engine
from tests.scripted import ScriptedUser


def guidance_for(engine: Engine, role: str, *, observed: tuple[str, ...], explained: tuple[str, ...] = (),
                 danger: str = "none", locale: str = "en") -> list[str]:
    u = ScriptedUser(engine, locale)
    u.begin(role, "young_person" if role == "parent" else "case")
    u.press("go")
    u.press("age:16-17")
    for o in observed:
        u.press(f"tick:{o}")
    u.press("go")
    u.press("go")
    u.press("duration:months")
    for e in explained:
        u.press(f"tick:{e}")
    u.press("go")
    u.press(f"danger:{danger}")
    assert u.state == "guidance"
    return [b.data.removeprefix("read:") for b in u.buttons if b.data.startswith("read:")]


@pytest.mark.parametrize("locale", ["nl", "fr", "de", "en"])
def test_a_teacher_gets_the_texts_about_their_own_work_first(engine: Engine, locale: str) -> None:
    found = guidance_for(engine, "teacher", observed=("withdrawn", "blackwhite"), locale=locale)
    assert found[:2] == ["remarks-in-class", "the-school-and-the-clb"]


def test_normal_adolescence_stays_whenever_puberty_is_ticked(engine: Engine) -> None:
    # four changes and contact with a recruiter make this "serious": growing up is no longer put first,
    # but the text stays on offer
    found = guidance_for(engine, "parent", observed=("withdrawn", "ties", "blackwhite", "hostile", "recruiter"),
                         explained=("puberty",))
    assert "normal-adolescence" in found
    assert "normal-adolescence" not in guidance_for(
        engine, "parent", observed=("withdrawn", "ties", "blackwhite", "hostile", "recruiter"))


def test_much_time_with_extreme_content_online_brings_the_online_text(engine: Engine) -> None:
    for observed in (("online",), ("withdrawn", "blackwhite", "hostile", "online")):
        assert "online-propaganda" in guidance_for(engine, "parent", observed=observed), observed
