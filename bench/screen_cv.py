"""Would a model veto on the rules' hits pay? k-fold cross-validation on the training parts only.

The screen's rules fire on harmless lines the filters do not recognise (idioms, games, past events, news talk);
a veto would let the statistical model silence a rules hit it finds all but certainly harmless. Whether any
veto is safe is decided here, on the training parts of the corpus (`corpus.TRAIN_SPLITS`) alone, never on
`held16`:

* per language, the training lines in corpus order are cut into k folds by line (line i goes to fold i mod k,
  deterministic);
* for each fold, a model is trained on the other k-1 folds with the shipped settings (`TrainingSettings()`,
  12 epochs) and scores every line of the fold on which the rules (of the person's own language, the only
  hits the screen would veto) fire;
* each candidate veto (silence a rules hit when P(urgent) < t, i.e. P(harmless) > 1 - t, for every rules
  hit or only for some categories) is then counted: false alarms removed, urgent hits lost.

A message the model does not read (fewer than four known words, `Model.reads`) scores 0.0; a veto must never
count that as "harmless", so such hits are never vetoed, here as in the screen (`Model.vetoes`).

With `--scheme parts`, each training part written by another author (`NEW_AUTHORS`: held14, held15, train16)
is held out whole instead, the model trained on every other training line: folds by line let the model read
other lines of the same author, which flatters it; a new hand is what the blind set and real use bring.

The rules were tuned on every part before `train16` (their hits there are in-sample, few false alarms);
`train16` was never used to change a rule, so its rules hits are a blind sample: the table says both.

Run: `.venv/bin/python -m bench.screen_cv [--scheme line|parts] [--folds 5] [--lang nl ...] [--save scores.json |
--load scores.json] [--show-lost CUT]`. About 15 s CPU per fold and language (5 minutes for the four languages,
4 with `--scheme parts`); one process, no parallelism. The result: docs/danger-screen.md, fifth round.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from flows.screen.corpus import TRAIN_SPLITS, Example, examples
from flows.screen.model import TrainingSettings, train
from flows.screen.screen import LANGS, load_screen

#: candidate vetoes: silence a rules hit when the model's P(urgent) is below one of these
CUTS: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.05, 0.10)
#: the scopes a veto may be limited to: every rules hit, or only those of some categories
SCOPES: dict[str, frozenset[str] | None] = {
    "all hits": None,
    "not self_harm": frozenset({"attack", "travel", "home", "violence", "weapons"}),
    "violence+weapons": frozenset({"violence", "weapons"}),
    "attack": frozenset({"attack"}),
    "violence": frozenset({"violence"}),
    "weapons": frozenset({"weapons"}),
    "home": frozenset({"home"}),
    "self_harm": frozenset({"self_harm"}),
}
#: `--scheme parts`: the training parts written by authors other than the developer, each held out whole in
#: turn (the model trained on every other training line), to see the veto meet a hand it never read
NEW_AUTHORS: tuple[str, ...] = ("held14", "held15", "train16", "train17", "train18", "train20", "train21",
                              "train22", "train23")
#: the safety bar: at most this many urgent hits lost per 1,000 urgent lines, across languages
MAX_LOST_PER_1000 = 1.0


@dataclass(frozen=True, slots=True)
class Scored:
    """One training line on which the rules of its own language fire, with the held-out model's reading."""

    lang: str
    fold: int
    split: str
    urgent: bool
    kind: str  # the line's category (urgent) or kind of hard negative (harmless)
    rule_category: str
    reads: bool  # the model reads it (enough known words); when not, it scores 0.0 and may not veto
    p_urgent: float
    model_category: str
    text: str
    #: with `--every-line`: every concept the rules found, and whether a time was said (the veto spares those)
    concepts: tuple[str, ...] = ()
    imminent: bool = False


def assign(items: Sequence[Example], folds: int, scheme: str,
           parts: Sequence[str] = NEW_AUTHORS) -> list[int | None]:
    """Each line's fold: by line (i mod k), or by author part (only `parts` are held out, each whole)."""
    if scheme == "line":
        return [i % folds for i in range(len(items))]
    return [list(parts).index(ex.split) if ex.split in parts else None for ex in items]


def cross_validate(lang: str, folds: int, settings: TrainingSettings, scheme: str = "line",
                   parts: Sequence[str] = NEW_AUTHORS, every_line: bool = False) -> tuple[list[Scored], int, int]:
    """The scored rules hits of one language (with `every_line`, every held-out line, a line the rules let pass
    with an empty `rule_category`), and its count of urgent and harmless lines held out."""
    items: list[Example] = [ex for ex in examples(lang) if ex.split in TRAIN_SPLITS]
    fold_of = assign(items, folds, scheme, parts)
    rules = load_screen(with_model=False)
    hits: dict[int, str] = {}
    found: dict[int, tuple[tuple[str, ...], bool]] = {}
    for i, ex in enumerate(items):
        hit, concepts = rules._check_in(ex.text, lang)  # the language's own rules: the only hits a veto would touch
        if hit is not None or every_line:
            hits[i] = hit.category if hit is not None else ""
            found[i] = (tuple(sorted(concepts)), rules.rules.soon in concepts)
    out: list[Scored] = []
    for fold in sorted({f for f in fold_of if f is not None}):
        started = time.process_time()
        train_items = [(ex.text, ex.category if ex.urgent else "harmless")
                       for i, ex in enumerate(items) if fold_of[i] != fold]
        model = train(lang, train_items, settings)
        for i, category in hits.items():
            if fold_of[i] != fold:
                continue
            ex = items[i]
            verdict = model.score(ex.text)
            out.append(Scored(lang, fold, ex.split, ex.urgent, ex.category, category, model.reads(ex.text),
                              verdict.urgent, verdict.category, ex.text, *found[i]))
        print(f"  {lang} fold {fold + 1}: trained on {len(train_items)} lines, "
              f"{time.process_time() - started:.0f} s CPU", flush=True)
    held = [ex for i, ex in enumerate(items) if fold_of[i] is not None]
    urgent = sum(ex.urgent for ex in held)
    return out, urgent, len(held) - urgent


def vetoed(s: Scored, cut: float, scope: frozenset[str] | None) -> bool:
    return s.reads and s.p_urgent < cut and (scope is None or s.rule_category in scope)


def table(scored: Sequence[Scored], lines: dict[str, tuple[int, int]], langs: Iterable[str]) -> str:
    langs = list(langs)
    scored = [s for s in scored if s.rule_category]  # `--every-line` keeps the lines the rules let pass too
    total_urgent = sum(lines[lg][0] for lg in langs)
    rows = ["Rules hits on the training parts (own language), scored by a model that never saw the line:"]
    for lg in langs:
        mine = [s for s in scored if s.lang == lg]
        tp = sum(s.urgent for s in mine)
        fa = [s for s in mine if not s.urgent]
        rows.append(f"  {lg}: {tp}/{lines[lg][0]} urgent lines hit, {len(fa)}/{lines[lg][1]} harmless lines hit "
                    f""
                    f"model does not read {sum(not s.reads for s in mine)} of the hits")
    rows.append("")
    rows.append(f"{'scope':18} {'P(urg)<':>7} {'FA removed':>16} {'urgent lost':>14} {'lost/1000':>9}  per language "
                "(FA removed / urgent lost)")
    for name, scope in SCOPES.items():
        for cut in CUTS:
            fa_all = [s for s in scored if not s.urgent]
            removed = sum(vetoed(s, cut, scope) for s in fa_all)
            lost = sum(vetoed(s, cut, scope) for s in scored if s.urgent)
            per = "  ".join(f"{lg} {sum(vetoed(s, cut, scope) for s in fa_all if s.lang == lg)}/"
                            f"{sum(vetoed(s, cut, scope) for s in scored if s.urgent and s.lang == lg)}"
                            for lg in langs)
            rate = 1000 * lost / max(total_urgent, 1)
            mark = " ok" if rate <= MAX_LOST_PER_1000 else ""
            rows.append(f"{name:18} {cut:7.3f} {removed:5d}/{len(fa_all):4d} {removed / max(len(fa_all), 1):5.1%} "
                        f"{lost:5d}/{total_urgent:5d} {rate:9.2f}{mark:3}  {per}")
        rows.append("")
    return "\n".join(rows)


def losses(scored: Sequence[Scored], cut: float) -> str:
    """The urgent lines every-hit veto at `cut` would lose, and the kinds of false alarm it removes."""
    scored = [s for s in scored if s.rule_category]
    rows = [f"Urgent rules hits with P(urgent) < {cut} (the model reads them):"]
    rows += [f"  {s.lang} {s.kind:9} p={s.p_urgent:.4f} [{s.split}] {s.text[:110]}"
             for s in sorted(scored, key=lambda s: s.p_urgent) if s.urgent and vetoed(s, cut, None)]
    kinds: dict[str, int] = {}
    for s in scored:
        if not s.urgent and vetoed(s, cut, None):
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
    rows.append("False alarms removed by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--scheme", choices=("line", "parts"), default="line",
                    help="folds by line (default) or each of NEW_AUTHORS' parts held out whole")
    ap.add_argument("--epochs", type=int, default=TrainingSettings().epochs)
    ap.add_argument("--lang", action="append", choices=LANGS, help="only these languages (default: all)")
    ap.add_argument("--save", type=Path, help="write the scored hits here (JSON) for --load")
    ap.add_argument("--load", type=Path, action="append",
                    help="report from scores saved earlier, without training (again to add another run's parts)")
    ap.add_argument("--show-lost", type=float, metavar="CUT", help="list the urgent hits a veto at CUT loses")
    ap.add_argument("--every-line", action="store_true",
                    help="score every held-out line, not only the rules' hits (with the concepts found), for --save")
    ap.add_argument("--part", action="append", help="with --scheme parts: hold out these parts only "
                    f"(default: {', '.join(NEW_AUTHORS)})")
    args = ap.parse_args()
    langs = args.lang or list(LANGS)
    scored: list[Scored] = []
    lines: dict[str, tuple[int, int]] = {}
    if args.load:
        for path in args.load:  # runs over different parts add up: their held-out lines do not overlap
            doc = json.loads(path.read_text(encoding="utf-8"))
            scored += [Scored(**row) for row in doc["scored"] if row["lang"] in langs]
            for lg, (urgent, harmless) in doc["lines"].items():
                before = lines.get(lg, (0, 0))
                lines[lg] = (before[0] + urgent, before[1] + harmless)
            print(f"{doc.get('scheme', 'line')} scheme, {doc['folds']} folds, {doc['epochs']} epochs (from {path})")
    else:
        settings = TrainingSettings(epochs=args.epochs)
        parts = tuple(args.part or NEW_AUTHORS)
        what = (f"{args.folds}-fold CV by line" if args.scheme == "line"
                else "parts " + ", ".join(parts) + " held out")
        print(f"{what}, over the training parts, {settings.epochs} epochs", flush=True)
        for lg in langs:
            got, urgent, harmless = cross_validate(lg, args.folds, settings, args.scheme, parts, args.every_line)
            scored += got
            lines[lg] = (urgent, harmless)
        if args.save:
            doc = {"scheme": args.scheme, "folds": args.folds, "epochs": settings.epochs, "lines": lines,
                   "scored": [asdict(s) for s in scored]}
            args.save.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    print(table(scored, {lg: (int(v[0]), int(v[1])) for lg, v in lines.items()}, langs))
    if args.show_lost is not None:
        print(losses(scored, args.show_lost))


if __name__ == "__main__":
    main()
