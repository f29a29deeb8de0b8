"""The free-text danger screen: per-language analysis, concept lexicons, combining rules, filters."""

from flows.screen.screen import LANGS, Hit, Screen, load_screen

#: every category the screen can name, in the order the rules try them
CATEGORIES: tuple[str, ...] = ("self_harm", "attack", "travel", "home", "violence", "weapons")

__all__ = ["CATEGORIES", "LANGS", "Hit", "Screen", "load_screen"]
