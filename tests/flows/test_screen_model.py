"""The danger screen's statistical model: built from the corpus, reproducible, offline, and what it adds."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from flows.screen import LANGS, load_screen
from flows.screen import model as screen_model
from flows.screen.corpus import SPLITS, TRAIN_SPLITS, examples
from flows.screen.model import CLASSES, Model, TrainingSettings, corpus_digest, train
from flows.screen.model_build import VETO_CUTS, training_items
from flows.screen.screen import Screen

SMALL = TrainingSettings(epochs=3)


def _sample(lang: str, n: int = 120) -> list[tuple[str, str]]:
    return training_items(lang)[:n]


@pytest.fixture(scope="module")
def screen() -> Screen:
    return load_screen()


def test_training_twice_gives_the_same_weights_and_the_same_bytes(tmp_path: Path) -> None:
    first = train("nl", _sample("nl"), SMALL)
    second = train("nl", _sample("nl"), SMALL)
    assert first.weights == second.weights and first.bias == second.bias
    a = screen_model.save(first, tmp_path / "a")
    b = screen_model.save(second, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes(), "a rebuild must leave git clean"


def test_training_and_loading_never_touch_the_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the screen model tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = train("en", _sample("en"), SMALL)
    screen_model.save(model, tmp_path)
    loaded = screen_model.load("en", tmp_path)
    assert loaded is not None and loaded.score("he wants to kill himself").urgent > 0.0


@pytest.mark.parametrize("lang", LANGS)
def test_the_committed_model_was_trained_from_the_current_corpus(lang: str) -> None:
    model = screen_model.load(lang)
    assert model is not None, "run `make screen-model`"
    assert model.digest == corpus_digest(training_items(lang)), \
        "stale weights (corpus or training settings changed): run `make screen-model`"
    assert 0.0 < model.threshold < 1.0
    # the veto was chosen with each blind author's part held out (bench/screen_cv.py, bench/screen_replay.py
    # --groups, docs/danger-screen.md, eighth, twelfth and thirteenth rounds): it lost no urgent line there, each
    # cut standing at most at a third of the lowest P(urgent) of an urgent hit it could touch. Self-harm hits are
    # never vetoed: the model reads some in earnest as harmless (SELF_HARM_MISREAD).
    assert model.veto_cuts == VETO_CUTS[lang]
    assert all(0.0 < cut <= 0.02 for cut in model.veto_cuts.values()), "only when all but certain"
    assert "self_harm" not in model.veto_categories


def test_the_model_trains_on_every_part_but_the_untrained_blind_set() -> None:
    """Every other part trains the model; `held16`, `held19`, `held21`, `held22`, `held25`, `held26`, `held27`,
    `held28`, `held30`, `held31` and `held32` (written blind by other hands; `held32` in French only) stay out, so they
    keep measuring a model that never saw them, and `untouched` is exactly them; `probe24`, `blind25`, `probe28`,
    `probe29`, `blind30`, `probe31` and `probe32` (regression sets) stay out too. Tuning parts never count in the
    held-out figures."""
    from flows.screen.evaluation import in_split

    assert TRAIN_SPLITS == set(SPLITS) - {"held16", "held19", "held21", "held22", "held25", "held26", "held27",
                                          "held28", "held30", "held31", "held32", "probe24", "blind25", "probe28",
                                          "probe29", "blind30", "probe31", "probe32"}
    probes = [ex for ex in examples("en") if ex.split == "probe24"]
    assert probes and not {ex.text for ex in probes} & {t for t, _ in training_items("en")}
    assert {"tune3", "train16", "train18", "train21", "train22"} <= TRAIN_SPLITS
    assert not any(in_split(ex, "heldout") for ex in examples("en") if ex.split.startswith(("tune", "train")))
    trained = {t for _, t in training_items("en")}
    untouched = [ex for ex in examples("en") if in_split(ex, "untouched")]
    assert {ex.split for ex in untouched} == {"held16", "held19", "held21", "held22", "held25", "held26", "held27",
                                              "held28", "held30", "held31"}  # held32 is French only
    assert "held32" in {ex.split for ex in examples("fr") if in_split(ex, "untouched")}
    assert all(ex.text not in trained for ex in untouched)


@pytest.mark.parametrize(
    ("lang", "text", "category"),
    [
        ("nl", "hij zegt dat niemand hem nog zal zien na vanavond", "self_harm"),
        ("en", "she just wants to not wake up tomorrow", "self_harm"),
        # a threat to "them all" at school: attack or violence, both bring 112 and 101
        ("en", "my son says he will make them all pay on monday at school", "attack|violence"),
    ],
)
def test_a_phrase_only_the_model_catches_fires_with_its_category(
        screen: Screen, lang: str, text: str, category: str) -> None:
    assert load_screen(with_model=False).check(text, lang) is None, "the lexicons alone miss it"
    hit = screen.check(text, lang)
    assert hit is not None and hit.category in category.split("|") and hit.source == "model"
    assert hit.evidence[0].startswith("model: ") and any(e.startswith("model feature: ") for e in hit.evidence)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("nl", "we bakken zondag pannenkoeken met de kinderen"),
        ("fr", "on fait des crepes dimanche avec les enfants"),
        ("de", "wir backen am sonntag pfannkuchen mit den kindern"),
        ("en", "my son loves cooking and got a new chef's knife from his gran"),
        ("en", ""),
        ("en", "hello"),  # too few words the model knows
        ("nl", "He has changed a lot since the summer."),  # English typed in a Dutch chat
        ("en", "My daughter cries every night."),
        ("nl", "Mijn dochter huilt elke avond."),
    ],
)
def test_a_harmless_phrase_stays_silent(screen: Screen, lang: str, text: str) -> None:
    assert screen.check(text, lang) is None
    assert screen.models[lang].score(text).urgent < screen.models[lang].threshold


def test_a_joke_keeps_the_model_silent(screen: Screen) -> None:
    text = "she was joking that she just wants to not wake up tomorrow"
    assert screen.models["en"].score(text).urgent >= screen.models["en"].threshold, "the model alone would fire"
    assert screen.check(text, "en") is None


def test_chat_laughter_is_no_joke_and_does_not_keep_the_model_quiet(screen: Screen) -> None:
    # "haha" and "lol" are laughter, like a laughing emoji, not a joke said (twelfth round): never a silence of
    # self-harm
    text = "haha she just wants to not wake up tomorrow"
    hit = screen.check(text, "en")
    assert hit is not None and hit.category == "self_harm"


def test_the_veto_silences_only_what_the_model_finds_harmless(screen: Screen) -> None:
    strict = screen.models["en"]
    picky = Model("en", strict.weights, strict.bias, threshold=strict.threshold,
                  veto_cuts={"self_harm": 0.5, "violence": 0.5})
    vetoing = Screen(screen.rules, screen.languages, {"en": picky})
    # a film's plot: no filter knows it, so the lexicons fire
    film = "in the film she watched the main character wants to kill herself"
    assert screen.check(film, "en") is not None, "the lexicons fire on it"
    assert vetoing.check(film, "en") is None
    knife = vetoing.check("I found a knife in his school bag and he says he is going to stab a classmate tomorrow.",
                          "en")
    assert knife is not None and knife.category == "violence"


#: self-harm in earnest that the model reads as all but surely harmless (P(urgent) under 0.05): a relapse told after
#: the help that came before it, a cut told in the present. The replay's urgent self-harm hits all scored 0.127 or
#: more in Dutch, French and German, and a self-harm veto at 0.05 spared 34 of its false alarms; these hand-written
#: lines, in the tests since earlier rounds, failed under it (thirteenth round). Self-harm stays out of every veto.
SELF_HARM_MISREAD = [
    ("nl", "vorig jaar heeft hij hulp gekregen maar nu wil hij weer dood"),
    ("fr", "l annee passee il a ete aide mais maintenant il veut de nouveau mourir"),
    ("fr", "je me fais du mal quand je suis triste"),
    ("en", "after two years of therapy he was doing well but now he talks about ending it again"),
]


@pytest.mark.parametrize(("lang", "text"), SELF_HARM_MISREAD)
def test_self_harm_the_model_misreads_still_fires(screen: Screen, lang: str, text: str) -> None:
    assert screen.models[lang].score(text).urgent < 0.05, "the model reads it as harmless"
    hit = screen.check(text, lang)
    assert hit is not None and hit.category == "self_harm"


def test_the_veto_spares_the_categories_it_does_not_cover_and_what_the_model_cannot_read(screen: Screen) -> None:
    strict = screen.models["en"]
    everything = Model("en", strict.weights, strict.bias, threshold=strict.threshold,
                       veto_cuts={"violence": 1.0, "weapons": 1.0})
    vetoing = Screen(screen.rules, screen.languages, {"en": everything})
    # a veto of 1.0 silences every violence or weapons hit the model reads, and nothing else
    assert vetoing.check("my son said he will stab his teacher with a knife", "en") is None
    # … but one with a time on it only when the model is sure to a thousandth (IMMINENT_VETO_CUT): the most urgent
    # threats are the ones with a day or an hour
    soon = vetoing.check("my son said he will stab his teacher with a knife after school", "en")
    assert soon is not None and soon.category == "violence" and soon.imminent
    self_harm = vetoing.check("my daughter says she wants to kill herself tonight", "en")
    assert self_harm is not None and self_harm.category == "self_harm"
    # too few words the model knows: it scores 0.0, which is no evidence of harmlessness
    short = "stab him"
    assert not everything.reads(short) and screen.check(short, "en") is not None
    assert vetoing.check(short, "en") is not None


def test_a_hit_with_a_time_is_vetoed_only_when_the_model_is_sure_to_a_thousandth(screen: Screen) -> None:
    """The rules read a bomb and a time in a chemistry test announced for tomorrow; the model, sure to a thousandth,
    silences it. The threats with a day on them that the model reads lowest stay: the cut is twenty times below the
    plain veto's (fourteenth round)."""
    from flows.screen.model import IMMINENT_VETO_CUT

    model = screen.models["en"]
    test = "bro the chemistry teacher just dropped a bomb: test tomorrow. we're cooked"
    rules_only = Screen(screen.rules, screen.languages, {})
    flagged = rules_only.check(test, "en")
    assert flagged is not None and flagged.imminent and flagged.category == "weapons"
    assert model.score(test).urgent < IMMINENT_VETO_CUT < min(VETO_CUTS["en"].values())
    assert screen.check(test, "en") is None
    for lang, threat in [("en", "he plays call of duty all day and says he will shoot up the school on friday"),
                         ("de", "er spielt fortnite und sagt er knallt morgen in der schule alle ab"),
                         ("nl", "hij speelt fortnite en zegt dat hij morgen iedereen op school neerknalt")]:
        hit = screen.check(threat, lang)
        assert hit is not None and hit.imminent, threat


def test_the_classes_are_harmless_and_the_screen_categories() -> None:
    from flows.screen import CATEGORIES

    assert CLASSES[0] == "harmless" and set(CLASSES[1:]) == set(CATEGORIES)


def test_the_evaluation_says_what_the_model_added_and_can_leave_it_out() -> None:
    import subprocess
    import sys

    def run(*extra: str) -> str:
        return subprocess.run([sys.executable, "-m", "bot.cli", "screen", "--eval", "--split", "held11", *extra],
                              capture_output=True, text=True, timeout=120, check=True).stdout

    assert "of which the statistical model alone:" in run()
    assert "the lexicons and rules alone (no statistical model)" in run("--rules-only")


def test_a_screen_whose_model_respects_the_filters_stays_silent_where_a_filter_silenced_the_words(
    screen: Screen,
) -> None:
    # `Screen.model_respects_filters` is off in the shipped screen: in the twelfth round's replay it cost 124 urgent
    # lines for 34 false alarms (bench/screen_replay.py --respect). What it does, for that study:
    story = "three years ago my son wrote a goodbye letter, today i found it again while cleaning the attic"
    hit = screen.check(story, "en")
    assert hit is not None and hit.source == "model", "the past filter silences the rules, the model still fires"
    respecting = Screen(screen.rules, screen.languages, screen.models, model_respects_filters=True)
    assert respecting.check(story, "en") is None
    assert respecting.check("she wants to die today, she wrote a goodbye letter", "en") is not None


class _SureTo:
    """The shipped model's weights with its reading of every message set to one P(urgent), to place it by hand on
    either side of `STORY_BAR`."""

    def __init__(self, model: Model, p_urgent: float) -> None:
        self._model = model
        self.threshold = model.threshold
        self.p_urgent = p_urgent

    def vetoes(self, text: str, category: str, imminent: bool = False) -> bool:
        return False

    def fires(self, text: str) -> screen_model.Verdict | None:
        verdict = self._model.score(text)
        return screen_model.Verdict(self.p_urgent, verdict.category, verdict.evidence)


def test_a_story_of_something_over_needs_a_surer_model(screen: Screen) -> None:
    """Where only the past or recovery told silenced the rules' words, the model must reach `STORY_BAR`, not only
    its threshold (sixteenth round: in the replay that spared 11 false alarms and lost no urgent line)."""
    story = "il y a dix ans j'ai fait une tentative de suicide, maintenant je vais bien"
    rules_only = Screen(screen.rules, screen.languages, {})
    assert rules_only.check(story, "fr") is None, "the past silences the rules"
    model = screen.models["fr"]
    unsure = Screen(screen.rules, screen.languages, {"fr": _SureTo(model, screen_model.STORY_BAR - 0.01)})  # type: ignore[dict-item]
    sure = Screen(screen.rules, screen.languages, {"fr": _SureTo(model, screen_model.STORY_BAR)})  # type: ignore[dict-item]
    assert model.threshold < screen_model.STORY_BAR
    assert unsure.check(story, "fr") is None
    hit = sure.check(story, "fr")
    assert hit is not None and hit.source == "model"
    # the same reading where no filter silenced anything fires at the threshold as before
    just_over = Screen(screen.rules, screen.languages, {"fr": _SureTo(model, model.threshold)})  # type: ignore[dict-item]
    quiet = "mon fils passe ses soirées seul dans sa chambre et ne parle presque plus à personne"
    assert rules_only.check(quiet, "fr") is None and just_over.check(quiet, "fr") is not None
