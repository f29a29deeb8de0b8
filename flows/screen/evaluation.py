"""Recall and false-positive rate of the screen on the corpus, per language and per category."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flows.screen.corpus import TRAIN_SPLITS, UNTOUCHED, Example, examples
from flows.screen.model import IMMINENT_VETO_CUT
from flows.screen.screen import LANGS, Screen


@dataclass
class Tally:
    urgent: int = 0
    caught: int = 0
    right_category: int = 0
    #: urgent messages only the statistical model caught, and harmless ones only it flagged
    by_model: int = 0
    flagged_by_model: int = 0
    harmless: int = 0
    flagged: int = 0
    misses: list[Example] = field(default_factory=list)
    false_alarms: list[tuple[Example, str]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.urgent if self.urgent else 1.0

    @property
    def fp_rate(self) -> float:
        return self.flagged / self.harmless if self.harmless else 0.0


def evaluate(screen: Screen, items: Iterable[Example]) -> dict[tuple[str, str], Tally]:
    """Tallies keyed by (language, category); category "*" holds the language's totals."""
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for ex in items:
        hit = screen.check(ex.text, ex.lang)
        for key in ((ex.lang, ex.category), (ex.lang, "*")):
            tally = tallies[key]
            if ex.urgent:
                tally.urgent += 1
                if hit is None:
                    tally.misses.append(ex)
                else:
                    tally.caught += 1
                    tally.right_category += hit.category == ex.category
                    tally.by_model += hit.source == "model"
            else:
                tally.harmless += 1
                if hit is not None:
                    tally.flagged += 1
                    tally.flagged_by_model += hit.source == "model"
                    tally.false_alarms.append((ex, hit.category))
    return tallies


def in_split(ex: Example, split: str) -> bool:
    """`untouched` is the parts nothing was ever tuned or trained on (`corpus.UNTOUCHED`: the honest figure);
    `heldout` every held part together (most of them seen since); `all` the whole corpus; `trained`
    every part the model learnt; otherwise one part by name."""
    if split == "all":
        return True
    if split == "trained":
        return ex.split in TRAIN_SPLITS
    if split == "untouched":
        return ex.split in UNTOUCHED
    if split == "heldout":
        return ex.split.startswith("held")
    return ex.split == split


def report(screen: Screen, split: str = "untouched", langs: Iterable[str] = LANGS, verbose: bool = False,
           directory: Path | None = None) -> str:
    """A plain table for `make eval-danger`; with `directory`, every line of a set kept outside the project."""
    langs = list(langs)
    if directory is not None:
        langs = [lang for lang in langs if (directory / f"{lang}.tsv").exists()]
        items = [ex for lang in langs for ex in examples(lang, directory)]
        where = f"the set in {directory}"
    else:
        items = [ex for lang in langs for ex in examples(lang) if in_split(ex, split)]
        where = f"the {split} part of the corpus (flows/screen/corpus/)"
    tallies = evaluate(screen, items)
    lines = [f"Danger screen on {where}",
             f"{'lang':5} {'category':10} {'urgent':>6} {'caught':>6} {'recall':>7} {'same cat':>8}"
             f" {'harmless':>8} {'flagged':>7} {'FP rate':>7}"]
    for lang in langs:
        cats = sorted(c for (lg, c) in tallies if lg == lang and c != "*")
        for cat in [*cats, "*"]:
            tally = tallies[(lang, cat)]
            recall = f"{tally.recall:7.1%}" if tally.urgent else f"{'':7}"
            same = f"{tally.right_category:8d}" if tally.urgent else f"{'':8}"
            fp = f"{tally.fp_rate:7.1%}" if tally.harmless else f"{'':7}"
            name = "ALL" if cat == "*" else cat
            lines.append(f"{lang:5} {name:10} {tally.urgent:6d} {tally.caught:6d} {recall} {same}"
                         f" {tally.harmless:8d} {tally.flagged:7d} {fp}")
        lines.append("")
    total_urgent = sum(tallies[(lg, "*")].urgent for lg in langs)
    total_caught = sum(tallies[(lg, "*")].caught for lg in langs)
    total_harmless = sum(tallies[(lg, "*")].harmless for lg in langs)
    total_flagged = sum(tallies[(lg, "*")].flagged for lg in langs)
    lines.append(f"all languages: recall {total_caught}/{total_urgent} = {total_caught / max(total_urgent, 1):.1%}, "
                 f"false positives {total_flagged}/{total_harmless} = {total_flagged / max(total_harmless, 1):.1%}")
    if screen.models:
        by_model = sum(tallies[(lg, "*")].by_model for lg in langs)
        flagged_by_model = sum(tallies[(lg, "*")].flagged_by_model for lg in langs)
        lines.append(f"of which the statistical model alone: {by_model} caught, {flagged_by_model} flagged "
                     "(thresholds per language: " + ", ".join(
                         f"{lg} {screen.models[lg].threshold:.2f}" for lg in langs if lg in screen.models) + ")")
        for lg in langs:
            if lg in screen.models:
                by_cut: dict[float, list[str]] = {}
                for category, cut in sorted(screen.models[lg].veto_cuts.items()):
                    by_cut.setdefault(cut, []).append(category)
                lines.append(f"{lg}: the model silences a rules hit without a time when P(urgent) is under "
                             + ("; ".join(f"{cut:.2f} ({', '.join(cats)})" for cut, cats in sorted(by_cut.items()))
                                or "nothing (no veto)")
                             + (f", one with a time under {IMMINENT_VETO_CUT}" if by_cut else ""))
    else:
        lines.append("the lexicons and rules alone (no statistical model)")
    sizes = screen.size
    lines.append("phrases in the lexicons: " + ", ".join(f"{lg} {sizes[lg]}" for lg in langs)
                 + f" (total {sum(sizes[lg] for lg in langs)})")
    if verbose:
        for lang in langs:
            totals = tallies[(lang, "*")]
            for ex in totals.misses:
                lines.append(f"MISS {lang} {ex.category}: {ex.text}")
            for ex, cat in totals.false_alarms:
                lines.append(f"FALSE {lang} {ex.category} as {cat}: {ex.text}")
    return "\n".join(lines)
