"""Small wording rules an expert read asked for (issue 12), kept by a test so they stay kept."""

from __future__ import annotations

import re

from content.i18n import LOCALE_DIR
from content.library import ARTICLES_DIR


def test_dutch_says_je_kan_throughout() -> None:
    texts = [p.read_text(encoding="utf-8") for p in ARTICLES_DIR.glob("*/nl.md")]
    texts.append((LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8"))
    mixed = [m.group(0) for text in texts for m in re.finditer(r"\b(je kunt|kun je|jij kunt)\b", text, re.I)]
    assert mixed == []


def test_the_young_person_screens_say_tu_and_du() -> None:
    from content.i18n import translator

    for lang, informal, formal in (("fr", "toi", "vous"), ("de", "dich", "Sie")):
        screen = translator(lang)(
            "Thank you for reaching out. This chat is mainly for adults who worry about a young person. "
            "For you, there are lines for young people where someone listens, anonymously and for free."
        )
        assert informal in screen and not re.search(rf"\b{formal}\b", screen), screen
