"""The article library: Markdown files with front matter, picked by audience, topics and level."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from content.i18n import LOCALES
from content.yaml_loader import load_yaml

ARTICLES_DIR = Path(__file__).parent / "articles"
AUDIENCES = frozenset({"parent", "teacher", "worker", "all"})
LEVELS = ("info", "concern", "serious", "urgent")
TOPICS = frozenset(
    """basics signals adolescence dialogue online urgent selfcare siblings news faith departure return
    classroom polarisation school secrecy case-consultation referral other-worries drugs self-harm bullying
    violence-home gangs trust""".split()
)
REQUIRED = ("id", "lang", "title", "summary", "audience", "topics", "levels", "reviewed", "sources")


class LibraryError(ValueError):
    """An article file that cannot be shown as it is."""


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    lang: str
    title: str
    summary: str
    audience: frozenset[str]
    topics: tuple[str, ...]
    levels: frozenset[str]
    reviewed: dt.date
    sources: tuple[str, ...]
    body: str
    path: Path
    button: str = ""

    @property
    def label(self) -> str:
        """What a button offering this article says (front matter `button`, else the title)."""
        return self.button or self.title

    def fits(self, audience: str) -> bool:
        return "all" in self.audience or audience in self.audience or audience == "all"


def parse_article(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise LibraryError(f"{path}: no front matter")
    try:
        _, head, body = text.split("---\n", 2)
        meta = load_yaml(head)
    except (ValueError, yaml.YAMLError) as exc:
        raise LibraryError(f"{path}: unreadable front matter ({exc})") from exc
    if not isinstance(meta, dict):
        raise LibraryError(f"{path}: front matter is not a mapping")
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise LibraryError(f"{path}: front matter misses {', '.join(missing)}")
    reviewed = meta["reviewed"]
    if not isinstance(reviewed, dt.date):
        raise LibraryError(f"{path}: reviewed must be a date (YYYY-MM-DD)")
    return Article(
        id=str(meta["id"]),
        lang=str(meta["lang"]),
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        audience=frozenset(str(a) for a in meta["audience"]),
        topics=tuple(str(topic) for topic in meta["topics"]),
        levels=frozenset(str(lv) for lv in meta["levels"]),
        reviewed=reviewed,
        sources=tuple(str(s) for s in meta["sources"]),
        body=body.strip(),
        path=path,
        button=str(meta.get("button") or "").strip(),
    )


class Library:
    """All articles in all languages; lookups are dictionary reads."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self._by_key: dict[tuple[str, str], Article] = {}
        for a in articles:
            self._by_key[(a.id, a.lang)] = a
        self.ids: tuple[str, ...] = tuple(sorted({i for i, _ in self._by_key}))
        self._pick_cache: dict[tuple[str, str, tuple[str, ...], str, int], tuple[Article, ...]] = {}

    @classmethod
    def load(cls, root: Path = ARTICLES_DIR) -> Library:
        return cls(parse_article(p) for p in sorted(root.glob("*/*.md")))

    def get(self, article_id: str, lang: str) -> Article | None:
        return self._by_key.get((article_id, lang)) or self._by_key.get((article_id, "en"))

    def in_language(self, lang: str) -> list[Article]:
        return [a for (_, lg), a in self._by_key.items() if lg == lang]

    def pick(
        self,
        *,
        lang: str,
        audience: str,
        topics: Iterable[str],
        level: str,
        limit: int = 4,
        keep: Iterable[str] = (),
    ) -> tuple[Article, ...]:
        """Articles for this reader: topic order first, then level fit; never empty when any fit the audience.

        `keep` names topics that must stay in the list whatever the level and the limit (normal adolescence
        when puberty was ticked, online propaganda when much time goes to extreme content online): the best
        article on each takes the last free place.
        """
        wanted = tuple(dict.fromkeys(topics))
        kept = tuple(dict.fromkeys(keep))
        key = (lang, audience, (*wanted, "|", *kept), level, limit)
        cached = self._pick_cache.get(key)
        if cached is not None:
            return cached
        pool = [a for a in self.in_language(lang) if a.fits(audience) and "trust" not in a.topics]
        rank = {topic: i for i, topic in enumerate(wanted)}

        def score(a: Article) -> tuple[int, int, str]:
            best = min((rank[topic] for topic in a.topics if topic in rank), default=len(rank) + 1)
            return (best, 0 if level in a.levels else 1, a.id)

        chosen = sorted((a for a in pool if any(topic in rank for topic in a.topics)), key=score)
        if not chosen:
            chosen = sorted((a for a in pool if level in a.levels), key=lambda a: a.id)
        result = list(chosen[:limit])
        for topic in kept:
            if any(topic in a.topics for a in result):
                continue
            extra = min((a for a in pool if topic in a.topics), key=lambda a: (level not in a.levels, a.id),
                        default=None)
            if extra is None or limit <= 0:
                continue
            protected = [a for a in result if any(kept_topic in a.topics for kept_topic in kept)]
            free = [a for a in result if a not in protected]
            if len(result) >= limit and free:
                result.remove(free[-1])
            if len(result) < limit:
                result.append(extra)
        self._pick_cache[key] = tuple(result)
        return tuple(result)

    def by_topic(self, topic: str, lang: str) -> Article | None:
        """The first article on a topic, for fixed places such as the trust page."""
        for a in sorted(self.in_language(lang), key=lambda a: a.id):
            if topic in a.topics:
                return a
        return None

    def problems(self) -> list[str]:
        """Everything `baken content check` should complain about in the library."""
        out: list[str] = []
        for (aid, lang), a in sorted(self._by_key.items(), key=lambda kv: kv[0]):
            if a.path.parent.name != aid or a.path.stem != lang:
                out.append(f"{a.path}: id/lang ({aid}/{lang}) do not match the path")
            if lang not in LOCALES:
                out.append(f"{a.path}: unknown language {lang}")
            if bad := a.audience - AUDIENCES:
                out.append(f"{a.path}: unknown audience {sorted(bad)}")
            if bad_t := set(a.topics) - TOPICS:
                out.append(f"{a.path}: unknown topics {sorted(bad_t)}")
            if bad_l := a.levels - set(LEVELS):
                out.append(f"{a.path}: unknown levels {sorted(bad_l)}")
            words = len(a.body.split())
            if words < 60 or words > 400:
                out.append(f"{a.path}: {words} words; keep articles between 60 and 400 words")
            if len(a.label) > 64:
                out.append(f"{a.path}: button label longer than 64 characters; add a shorter `button:`")
            if re.search(r"radi[ck]ali", a.label, re.IGNORECASE):
                out.append(f"{a.path}: the button label names radicalisation; add a neutral `button:`")
            if len(a.summary) > 90:
                out.append(f"{a.path}: summary longer than 90 characters")
        for aid in self.ids:
            for lang in LOCALES:
                if (aid, lang) not in self._by_key:
                    out.append(f"article {aid}: missing language {lang}")
            metas = {
                (x.audience, x.topics, x.levels) for lg in LOCALES if (x := self._by_key.get((aid, lg)))
            }
            if len(metas) > 1:
                out.append(f"article {aid}: audience, topics or levels differ between languages")
        return out


@lru_cache(maxsize=1)
def default_library() -> Library:
    return Library.load()
