"""Stem tables: the Snowball stem of every lexicon word, written at build time so start-up stems nothing.

Stemming the lexicons' 5 700 words with Snowball (pure Python) was most of the screen's start-up. The
table `lexicons/stems/<lang>.tsv` (word, tab, stem; sorted) is read into the stem cache before a lexicon
is built; a word missing from it is stemmed as before, and a table that another Snowball version wrote is
ignored (`analysis.preload_stems` checks a sample), so the table changes how fast the screen starts,
never what it finds.

Run: `python -m flows.screen.stems` (also part of `make screen-model`); a test fails when it is stale.
"""

from __future__ import annotations

from pathlib import Path

LEXICONS = Path(__file__).with_name("lexicons")


def table_path(lang: str, directory: Path = LEXICONS) -> Path:
    return directory / "stems" / f"{lang}.tsv"


def read(lang: str, directory: Path = LEXICONS) -> dict[str, str]:
    """The committed table of a language, or nothing when there is none."""
    path = table_path(lang, directory)
    if not path.exists():
        return {}
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, stem = line.partition("\t")
        if word:
            table[word] = stem
    return table


def build(lang: str, directory: Path = LEXICONS) -> dict[str, str]:
    """Every word the lexicon of a language stems while it is built, with its stem."""
    from flows.screen.analysis import cached_stems, clear_stems
    from flows.screen.screen import load_language

    clear_stems()
    load_language(lang, directory, use_stem_table=False)
    table = cached_stems(lang)
    clear_stems()
    return table


def write(lang: str, table: dict[str, str], directory: Path = LEXICONS) -> Path:
    path = table_path(lang, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{w}\t{table[w]}\n" for w in sorted(table)), encoding="utf-8")
    return path


def main() -> None:
    from flows.screen.screen import LANGS

    for lang in LANGS:
        table = build(lang)
        print(f"{lang}: {len(table)} stems → {write(lang, table)}")


if __name__ == "__main__":
    main()
