"""Train the screen's statistical model from the reviewed corpus and write `model/<lang>.json.gz`.

Run: `make screen-model` (or `.venv/bin/python -m flows.screen.model_build`). Pure Python, no network,
deterministic: run twice, get the same bytes. It trains on the parts of the corpus named in
`corpus.TRAIN_SPLITS` only, so later parts stay untouched until their first run.

The thresholds below were chosen once, before any later part was measured, by a simulation on the seen
parts (docs/danger-screen.md, "The statistical model"): for every part from held2 to held11, the rules as
they were at that part's first run, plus a model trained on every other part; per language, the
threshold and veto that caught most while flagging at most 8 % of the harmless messages. The veto was later
chosen again, by cross-validation on the training parts (`bench/screen_cv.py`; see THRESHOLDS).
"""

from __future__ import annotations

import argparse
import time

from flows.screen import stems
from flows.screen.corpus import TRAIN_SPLITS, examples
from flows.screen.model import MODELS, Model, TrainingSettings, corpus_digest, save, train
from flows.screen.screen import LANGS

#: per language: fire when the rules found nothing and P(urgent) >= threshold (the veto: `VETO_CUTS` below)
#: The first simulation also chose a veto (nl 0.05, fr/de/en 0.10) on every category. On held13's first run it
#: silenced 10 urgent messages (six attack plans among them) to spare 15 false alarms, so it was switched off.
#: The veto below was chosen by cross-validation on the training parts only (`python -m bench.screen_cv`,
#: docs/danger-screen.md, fifth round): of the scopes and cuts tried that lost at most one urgent hit per
#: 1,000 urgent lines both with 5 folds by line (here 0 of 3,844 lost, 31 of 196 false alarms removed) and
#: with each blind author's part held out whole (1 of 1,760 lost, 31 of 191 removed), it removes the most.
#: Self-harm, attack, home and travel hits are never vetoed: there the model was confidently wrong on urgent
#: lines (an airport "operation ready" at P(urgent) 0.004). The one line lost with the author held out is an
#: attack plan the rules named violence (a church "most full on Sunday", "revenge for Gaza", P(urgent) 0.002).
#: That one line decided it then: the veto was NOT shipped. A veto that can silence an attack plan to spare
#: about three points of false alarms breaks "danger first"; the study and the mechanism stayed, so a larger
#: corpus could settle it later (below).
#: The thresholds were chosen again in the seventh round (`python -m bench.screen_thresholds`): each part written
#: blind by another hand held out whole, the model trained on the rest. From the shipped value, each step of 0.05
#: down was taken while it bought at least 1.5 urgent catches per false alarm it added (a miss can cost a life,
#: a false alarm a line and a tap): nl 0.50 -> 0.45 (+7 caught, +0 false alarms of 910/1,066), fr 0.75 -> 0.60
#: (+30, +13), en 0.50 -> 0.45 (+9, +5); de stays at 0.45 (the next step: +8 for +10).
#: The eighth round (session 7) ran the same study again with three times the blind training data: each of
#: the seven parts written blind by another hand (held14, held15, train16, train17, train18, train20, train21)
#: held out whole in turn, the model trained on every other training line (`python -m bench.screen_cv --scheme
#: parts`, docs/danger-screen.md, eighth round): 5,200 urgent lines and 209 false alarms of the rules. The
#: church plan lost in the fifth round now scores above 0.03. A veto of violence, weapons and home hits under
#: P(urgent) 0.01 lost none of the 5,200 urgent lines and silenced 42 of the 209 false alarms (20 %); weapons and
#: home lose none even at twice the cut, violence one at 0.02. Self-harm, attack and travel hits are still never
#: vetoed: at 0.01 an attack plan was lost (P(urgent) 0.005), and self-harm lost one at every cut tried.
#: The ninth round (session 8) ran the threshold study again (the seventh round's rule, each step of 0.05 down
#: taken while it buys at least 1.5 urgent catches per false alarm it adds) on all eight parts written blind by
#: other hands (held14, held15, train16, train17, train18, train20, train21, train22), each held out whole, the
#: model trained on every other training line: fr 0.60 -> 0.55 (+15 caught, +10 false alarms of 2,109) -> 0.50
#: (+12, +3) -> 0.45 (+9, +6), the next step +3 for +5; en 0.45 -> 0.40 (+6, +4 of 1,710), the next +5 for +10;
#: nl and de stay (their next step: +7 for +10, +7 for +5).
#: The twelfth round (session 11) replayed the real screen on all nine blind training parts with each part's
#: held-out model readings (`python -m bench.screen_cv --scheme parts --every-line`, then `python -m
#: bench.screen_replay`): unlike the earlier studies, the replay spares hits with a time, as the screen does. With
#: that, a veto at 0.01 on every category but self-harm lost none of the 7,159 urgent lines and silenced 30 more
#: false alarms than the shipped scope (496 -> 466); the first urgent line lost is an attack warning at P 0.026,
#: so the cut stays at 0.01 and attack and travel join the scope. The same replay took nl 0.45 -> 0.40 (+10 caught,
#: +3 false alarms) -> 0.35 (+7, +2); fr, de and en stayed (next steps +11/+10, +9/+9, +6/+9). On `untouched` nl at
#: 0.35 caught 1 line more for 4 false alarms more, and hand-written harmless look-alikes ("drie jaar geleden
#: schreef hij een afscheidsbrief, vandaag vond ik hem terug", a journalist going to Iraq) fired at 0.37 and 0.43:
#: nl went back to 0.45 (docs/danger-screen.md, twelfth round).
THRESHOLDS: dict[str, float] = {"nl": 0.45, "fr": 0.45, "de": 0.45, "en": 0.40}
#: per language and category: silence a rules hit without a time when P(urgent) < the cut (a category not named:
#: never; a false alarm costs a line and a tap, a miss can cost a life: where the held-out studies lost urgent
#: lines, the rules keep the last word). Until the thirteenth round: 0.01 on every category but self-harm, in every
#: language. The thirteenth round (session 12) replayed the screen on the nine blind training parts (7,159 urgent
#: lines; `bench/screen_replay.py --veto-cuts`) and read, per language, the lowest P(urgent) of an urgent rules hit
#: without a time: self-harm nl 0.127, fr 0.258, de 0.131, en 0.0006; the other categories nl 0.026, fr 0.055, de
#: 0.102, en 0.075. A cut stands at most at about a third of that: 0.02 in fr, de and en, nl stays at 0.01. The replay
#: lost no urgent line and 444 -> 422 false alarms; `untouched`, measured once after that choice, lost none: 88 -> 84.
#: Self-harm stays out: a cut of 0.05 in nl, fr and de (the replay: 0 lost, 34 false alarms fewer) silenced
#: self-harm in earnest that hand-written tests hold, read by the model at 0.0001 to 0.02 (a relapse, "je me fais du
#: mal quand je suis triste": tests/flows/test_screen_model.py, SELF_HARM_MISREAD). The replay's urgent lines are
#: not every kind of urgent line (docs/danger-screen.md, thirteenth round).
_OTHERS = ("violence", "weapons", "home", "attack", "travel")
VETO_CUTS: dict[str, dict[str, float]] = {
    "nl": dict.fromkeys(_OTHERS, 0.01),
    "fr": dict.fromkeys(_OTHERS, 0.02),
    "de": dict.fromkeys(_OTHERS, 0.02),
    "en": dict.fromkeys(_OTHERS, 0.02),
}


def training_items(lang: str) -> list[tuple[str, str]]:
    """(text, class) of the training parts, in corpus order."""
    return [(ex.text, ex.category if ex.urgent else "harmless")
            for ex in examples(lang) if ex.split in TRAIN_SPLITS]


def build(lang: str, settings: TrainingSettings | None = None) -> Model:
    items = training_items(lang)
    settings = settings or TrainingSettings()
    model = train(lang, items, settings, threshold=THRESHOLDS[lang], veto_cuts=VETO_CUTS[lang])
    model.digest = corpus_digest(items, settings)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lang", action="append", choices=LANGS, help="only these languages (default: all)")
    args = ap.parse_args()
    for lang in args.lang or LANGS:
        started = time.process_time()
        model = build(lang)
        path = save(model, MODELS)
        print(f"{lang}: {len(model.weights)} features, threshold {model.threshold}, veto "
              f"{', '.join(f'{c} {cut}' for c, cut in sorted(model.veto_cuts.items()))}, "
              f"{time.process_time() - started:.1f} s CPU → {path}")
    stems.main()  # the lexicons' stem tables, so start-up stems nothing (flows/screen/stems.py)


if __name__ == "__main__":
    main()
