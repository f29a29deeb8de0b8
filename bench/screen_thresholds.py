"""Where should each language's model threshold sit? Each part written blind by another hand, held out whole.

The thresholds in `flows/screen/model_build.py` were chosen in issue 11's second round, on a leave-one-part-out
simulation over parts written by one hand. Since then five parts were written blind by other sessions
(`BLIND_PARTS`): a model trained without one of them, scoring it, is the closest this corpus gets to a person
nobody has read. Per language and held-out part, a model is trained on every other training part
(`corpus.TRAIN_SPLITS`, never `held16`) with the shipped settings; each line of the part is then decided as the
screen decides: the rules (as they are now), else the model at threshold t, unless an idiom or joke marker
keeps it silent. The table gives recall and false alarms per threshold, and what the model adds to the rules.

The rules were tuned on these parts' false alarms, so the rules' own false-alarm rate here is flattering; what
the model adds (catches and false alarms beyond the rules) is measured fairly.

Run: `.venv/bin/python -m bench.screen_thresholds [--lang nl ...] [--save scores.json | --load scores.json]`.
About 30 s CPU per part and language (10 minutes for all). The result: docs/danger-screen.md, seventh round.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flows.screen.corpus import TRAIN_SPLITS, examples
from flows.screen.model import TrainingSettings, train
from flows.screen.model_build import THRESHOLDS
from flows.screen.screen import LANGS, load_screen

BLIND_PARTS: tuple[str, ...] = ("held14", "held15", "train16", "train17", "train18")
CUTS: tuple[float, ...] = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)


@dataclass(frozen=True, slots=True)
class Line:
    lang: str
    part: str
    urgent: bool
    rules: bool  # the rules fire (any language the screen would try)
    silenced: bool  # an idiom or joke marker keeps the model quiet
    p_urgent: float


def score(lang: str) -> list[Line]:
    screen = load_screen(with_model=False)
    items = [ex for ex in examples(lang) if ex.split in TRAIN_SPLITS]
    out: list[Line] = []
    for part in BLIND_PARTS:
        held = [ex for ex in items if ex.split == part]
        if not held:
            continue
        started = time.process_time()
        model = train(lang, [(ex.text, ex.category if ex.urgent else "harmless") for ex in items if ex.split != part],
                      TrainingSettings())
        for ex in held:
            _, concepts = screen._check_in(ex.text, lang)
            out.append(Line(lang, part, ex.urgent, screen.check(ex.text, lang) is not None,
                            bool(concepts & screen.rules.never_yield), model.score(ex.text).urgent))
        print(f"  {lang} without {part}: {time.process_time() - started:.0f} s CPU", flush=True)
    return out


def table(lines: list[Line]) -> str:
    rows = ["lang  cut    recall   false alarms   model adds: caught / false alarms"]
    for lang in LANGS:
        mine = [x for x in lines if x.lang == lang]
        if not mine:
            continue
        urgent = [x for x in mine if x.urgent]
        harmless = [x for x in mine if not x.urgent]
        ruled_u = sum(x.rules for x in urgent)
        ruled_h = sum(x.rules for x in harmless)
        rows.append(f"{lang}    rules  {ruled_u / len(urgent):6.1%}   {ruled_h / len(harmless):6.1%}"
                    f"         ({len(urgent)} urgent, {len(harmless)} harmless)")
        for cut in CUTS:
            add_u = sum(1 for x in urgent if not x.rules and not x.silenced and x.p_urgent >= cut)
            add_h = sum(1 for x in harmless if not x.rules and not x.silenced and x.p_urgent >= cut)
            mark = "  <- shipped" if abs(cut - THRESHOLDS[lang]) < 1e-9 else ""
            rows.append(f"{lang}    {cut:.2f}   {(ruled_u + add_u) / len(urgent):6.1%}   "
                        f"{(ruled_h + add_h) / len(harmless):6.1%}         {add_u:4d} / {add_h:3d}{mark}")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lang", action="append", choices=LANGS)
    ap.add_argument("--save", type=Path)
    ap.add_argument("--load", type=Path)
    args = ap.parse_args()
    if args.load:
        lines = [Line(**row) for row in json.loads(args.load.read_text())]
    else:
        lines = [line for lang in args.lang or LANGS for line in score(lang)]
        if args.save:
            args.save.write_text(json.dumps([asdict(x) for x in lines]))
    print(table(lines))


if __name__ == "__main__":
    main()
