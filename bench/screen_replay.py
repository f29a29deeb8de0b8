"""The screen as shipped, on lines its model never read: saved held-out scores replayed through the real rules.

`bench.screen_cv --scheme parts --every-line --save F` holds each training part written blind by another hand out
whole, trains the model on every other training line, and saves that model's reading of every held-out line. This
tool puts those readings in place of the shipped model (`Replayed`) and runs the real `Screen` — the lexicons and
rules as they are now, the veto, the model's silences — on the same lines. A change to the rules is then judged
with a model that had not learnt the very lines it is judged on (the shipped model has: on the training parts it
catches nearly everything the rules let pass, which hides what a rule costs).

Run: `.venv/bin/python -m bench.screen_replay --load scores.json [--load more.json] [--lexicons DIR] [--rules FILE]
[--veto-cuts nl:self_harm=0.05,violence=0.01] [--veto 0.01 --veto-categories violence,weapons] [--show lost|false]`.
Seconds; nothing is trained. `--groups` prints, per language, the lowest P(urgent) of the urgent hits a veto could
touch (no time said; self-harm and the rest apart) and how many false alarms each cut would silence: how
`model_build.VETO_CUTS` was chosen.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flows.screen.model import IMMINENT_VETO_CUT, Verdict
from flows.screen.model_build import THRESHOLDS, VETO_CUTS
from flows.screen.rules import RULES_PATH, load_rules
from flows.screen.screen import LANGS, LEXICONS, Screen, load_language


@dataclass(frozen=True, slots=True)
class Reading:
    """One held-out line as `bench.screen_cv` saved it."""

    lang: str
    split: str
    urgent: bool
    kind: str
    reads: bool
    p_urgent: float
    model_category: str
    text: str


class Replayed:
    """Stands in for `model.Model` in a `Screen`: the saved held-out verdict of each line, by its text."""

    def __init__(self, lang: str, readings: Iterable[Reading], threshold: float,
                 veto_cuts: Mapping[str, float]) -> None:
        self.lang = lang
        self.threshold = threshold
        self.veto_cuts = dict(veto_cuts)
        self._by_text = {r.text: r for r in readings if r.lang == lang}

    def _reading(self, text: str) -> Reading:
        return self._by_text[text]  # a line that was not held out has no honest reading: fail loudly

    def vetoes(self, text: str, category: str, imminent: bool = False) -> bool:
        r = self._reading(text)
        cut = self.veto_cuts.get(category, 0.0)
        if imminent:
            cut = min(cut, IMMINENT_VETO_CUT)
        return r.reads and r.p_urgent < cut

    def fires(self, text: str) -> Verdict | None:
        r = self._reading(text)
        if not r.reads or r.p_urgent < self.threshold:
            return None
        return Verdict(r.p_urgent, r.model_category, ())


def load(paths: Sequence[Path]) -> list[Reading]:
    readings: list[Reading] = []
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not any(row.get("concepts") for row in doc["scored"]):
            raise SystemExit(f"{path}: not saved with --every-line")
        readings += [Reading(row["lang"], row["split"], row["urgent"], row["kind"], row["reads"],
                             row["p_urgent"], row["model_category"], row["text"]) for row in doc["scored"]]
    return readings


def build(readings: Sequence[Reading], lexicons: Path, rules_path: Path,
          veto_cuts: Mapping[str, Mapping[str, float]], langs: Sequence[str], respect: bool = False) -> Screen:
    """The real screen with the replayed readings; `veto_cuts` per language and category (default: shipped)."""
    rules = load_rules(rules_path)
    languages = {lang: load_language(lang, lexicons, rules) for lang in LANGS}
    models: Mapping[str, Replayed] = {
        lang: Replayed(lang, readings, THRESHOLDS[lang], veto_cuts.get(lang, VETO_CUTS[lang])) for lang in langs}
    # Replayed has what Screen asks of a Model
    return Screen(rules, languages, models, model_respects_filters=respect)  # type: ignore[arg-type]


def report(screen: Screen, readings: Sequence[Reading], langs: Sequence[str], show: str | None) -> str:
    rows = [f"{'lang':5} {'recall':>18} {'false alarms':>18}   (each blind training part held out whole)"]
    total = [0, 0, 0, 0]
    shown: list[str] = []
    for lang in langs:
        mine = [r for r in readings if r.lang == lang]
        caught = flagged = 0
        for r in mine:
            hit = screen.check(r.text, lang)
            if r.urgent and hit is not None:
                caught += 1
            elif not r.urgent and hit is not None:
                flagged += 1
                if show == "false":
                    shown.append(f"  FALSE {lang} {r.kind:9} {hit.source:5} {hit.category:9} [{r.split}] "
                                 f"{r.text[:110]}")
            elif r.urgent and show == "lost":
                shown.append(f"  MISS  {lang} {r.kind:9} p={r.p_urgent:.3f} [{r.split}] {r.text[:120]}")
        urgent = sum(r.urgent for r in mine)
        harmless = len(mine) - urgent
        total = [total[0] + caught, total[1] + urgent, total[2] + flagged, total[3] + harmless]
        rows.append(f"{lang:5} {caught:5}/{urgent:5} {caught / max(urgent, 1):6.1%} "
                    f"{flagged:5}/{harmless:5} {flagged / max(harmless, 1):6.1%}")
    rows.append(f"{'all':5} {total[0]:5}/{total[1]:5} {total[0] / max(total[1], 1):6.1%} "
                f"{total[2]:5}/{total[3]:5} {total[2] / max(total[3], 1):6.1%}")
    return "\n".join(rows + shown)


#: the cuts `--groups` counts false alarms under (hits with a time on them: `TIME_CUTS`)
GROUP_CUTS: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.1)
TIME_CUTS: tuple[float, ...] = (0.0005, 0.001, 0.002, 0.005, 0.01)


def groups(readings: Sequence[Reading], lexicons: Path, rules_path: Path, langs: Sequence[str]) -> str:
    """Per language, the rules hits a veto could touch, self-harm and the other categories apart, and those with a
    time on them apart again: the lowest P(urgent) of an urgent one, and the false alarms under each cut (none lost
    below that lowest). How `model_build.VETO_CUTS` and `model.IMMINENT_VETO_CUT` were chosen."""
    screen = build(readings, lexicons, rules_path, {lang: {} for lang in langs}, langs)  # no veto: every hit
    rows = [f"{'lang':5} {'group':15} {'lowest urgent':>13}  false alarms under the cuts"]
    for lang in langs:
        by_group: dict[str, tuple[list[float], list[float]]] = {
            "self_harm": ([], []), "others": ([], []), "self_harm, time": ([], []), "others, time": ([], [])}
        for r in readings:
            if r.lang != lang or not r.reads:
                continue
            hit = screen.check(r.text, lang)
            if hit is None or hit.source != "rules":
                continue
            name = ("self_harm" if hit.category == "self_harm" else "others") + (", time" if hit.imminent else "")
            urgent, harmless = by_group[name]
            (urgent if r.urgent else harmless).append(r.p_urgent)
        for name, (urgent, harmless) in by_group.items():
            lowest = f"{min(urgent):.4f}" if urgent else "-"
            cuts = TIME_CUTS if name.endswith("time") else GROUP_CUTS
            rows.append(f"{lang:5} {name:15} {lowest:>13}  " + " ".join(
                f"{sum(p < cut for p in harmless):3} <{cut:<6}" for cut in cuts) + f"  of {len(harmless)}")
    return "\n".join(rows)


def parse_cuts(spec: str) -> dict[str, dict[str, float]]:
    """'nl:self_harm=0.05,violence=0.01;fr:...' -> {lang: {category: cut}}; a language left out keeps its own."""
    cuts: dict[str, dict[str, float]] = {}
    for part in filter(None, spec.split(";")):
        lang, _, pairs = part.partition(":")
        cuts[lang.strip()] = {c.strip(): float(v) for c, _, v in
                              (pair.partition("=") for pair in pairs.split(",") if pair.strip())}
    return cuts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--load", type=Path, action="append", required=True,
                    help="scores saved by bench.screen_cv --every-line --save (again for more languages)")
    ap.add_argument("--lexicons", type=Path, default=LEXICONS, help="a lexicon directory to try (default: shipped)")
    ap.add_argument("--rules", type=Path, default=RULES_PATH, help="a rules file to try (default: shipped)")
    ap.add_argument("--veto-cuts", default="", help="per language and category, e.g. "
                    "'nl:self_harm=0.05,violence=0.01;fr:violence=0.02' (a language left out: its shipped cuts)")
    ap.add_argument("--veto", type=float, help="one cut for every language, on --veto-categories")
    ap.add_argument("--veto-categories", default="violence,weapons,home,attack,travel",
                    help="with --veto: comma-separated ('' for none)")
    ap.add_argument("--groups", action="store_true",
                    help="the lowest urgent P(urgent) and the false alarms under each cut, per language")
    ap.add_argument("--respect", action="store_true",
                    help="the model may not name a category whose words a filter silenced "
                         "(Screen.model_respects_filters)")
    ap.add_argument("--lang", action="append", choices=LANGS)
    ap.add_argument("--show", choices=("lost", "false"), help="list the urgent lines missed, or the false alarms")
    args = ap.parse_args()
    readings = load(args.load)
    langs = [lg for lg in (args.lang or LANGS) if any(r.lang == lg for r in readings)]
    if args.groups:
        print(groups(readings, args.lexicons, args.rules, langs))
        return
    cuts = parse_cuts(args.veto_cuts)
    if args.veto is not None:
        cats = [c for c in args.veto_categories.split(",") if c]
        cuts = {lang: dict.fromkeys(cats, args.veto) for lang in langs}
    screen = build(readings, args.lexicons, args.rules, cuts, langs, args.respect)
    print(report(screen, [r for r in readings if r.lang in langs], langs, args.show))


if __name__ == "__main__":
    main()
