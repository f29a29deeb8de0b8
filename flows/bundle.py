"""Loads everything the conversation reads, once per process."""

from __future__ import annotations

from functools import lru_cache

from content.directory import Directory, format_contact
from content.library import Library
from content.postcodes import PostcodeIndex
from flows.conversation import Content
from flows.screen import load_screen
from flows.triage import load_rules


@lru_cache(maxsize=1)
def load_content() -> Content:
    return Content(
        library=Library.load(),
        directory=Directory.load(),
        postcodes=PostcodeIndex.load(),
        triage=load_rules(),
        format_contact=format_contact,
        screen=load_screen(),
    )
