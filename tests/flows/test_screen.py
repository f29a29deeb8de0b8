"""The free-text danger screen: what it catches, what it leaves alone, and the corpus it is measured on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from flows.screen import CATEGORIES, LANGS, Screen, load_screen
from flows.screen.corpus import SPLITS, examples

#: the two messages of issue 11, and what people write in the other languages
KNIFE = {
    "nl": "Ik vond een mes in zijn schooltas en hij zegt dat hij morgen een klasgenoot gaat steken.",
    "fr": "J'ai trouvé un couteau dans son cartable et il dit qu'il va poignarder un camarade de classe demain.",
    "de": "Ich habe ein Messer in seiner Schultasche gefunden und er sagt, dass er morgen einen Mitschüler "
          "abstechen wird.",
    "en": "I found a knife in his school bag and he says he is going to stab a classmate tomorrow.",
}
NO_LIFE = {
    "nl": "Mijn dochter zegt dat ze niet meer wil leven.",
    "fr": "Ma fille dit qu'elle ne veut plus vivre.",
    "de": "Meine Tochter sagt, dass sie nicht mehr leben will.",
    "en": "My daughter says she doesn't want to live anymore.",
}


@pytest.fixture(scope="module")
def screen() -> Screen:
    return load_screen()


@pytest.mark.parametrize("lang", LANGS)
def test_the_issues_two_messages_are_caught_in_every_language(screen: Screen, lang: str) -> None:
    knife = screen.check(KNIFE[lang], lang)
    assert knife is not None and knife.category == "violence" and knife.imminent, "tomorrow is soon"
    life = screen.check(NO_LIFE[lang], lang)
    assert life is not None and life.category == "self_harm"


@pytest.mark.parametrize(
    ("lang", "text", "category"),
    [
        ("nl", "mn zoon heeft een pistool onder zn bed", "weapons"),
        ("nl", "hij wil een aanslag plegen op het station", "attack"),
        ("nl", "mijn broer vertrekt morgen naar syrie om te strijden", "travel"),
        ("nl", "mijn vader slaat mijn moeder elke avond", "home"),
        ("nl", "ze denkt aan zelfmord", "self_harm"),  # a typo in a long word still counts
        ("fr", "il veut partir en syrie la semaine prochaine", "travel"),
        ("fr", "elle a dit qu'elle allait se pendre", "self_harm"),
        ("de", "er will einen anschlag auf den weihnachtsmarkt verüben", "attack"),
        ("de", "mein mann schlägt die kinder", "home"),
        ("en", "hes gonna stab him after school", "violence"),
        ("en", "she wants to kill herself", "self_harm"),
    ],
)
def test_each_category_is_named(screen: Screen, lang: str, text: str, category: str) -> None:
    hit = screen.check(text, lang)
    assert hit is not None and hit.category == category, hit


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("nl", "mijn arme zoon heeft het moeilijk"),  # French "arme" (weapon) is not Dutch
        ("nl", "ik gun hem echt een goeie vriendengroep"),  # English "gun" is not Dutch
        ("nl", "ik lach me dood om die filmpjes"),
        ("nl", "mijn broer is drie jaar geleden naar syrie vertrokken"),  # a past departure, not imminent
        ("nl", "mijn dochter moet een spreekbeurt geven over de aanslagen in brussel"),
        ("nl", "hij bidt vijf keer per dag en gaat naar de moskee"),
        ("fr", "il veut entrer a l'armee apres ses etudes"),
        ("fr", "je suis morte de rire"),
        ("de", "ich lach mich tot"),
        ("en", "he plays fortnite and shoots everyone in the game"),
        ("en", "ik gun hem dat, he is a good boy really"),  # Dutch mixed into English
    ],
)
def test_what_only_sounds_like_danger_is_left_alone(screen: Screen, lang: str, text: str) -> None:
    assert screen.check(text, lang) is None


def test_only_the_persons_language_runs_but_brussels_mixing_is_read(screen: Screen) -> None:
    assert screen.check("une arme", "nl") is None, "a French word alone in Dutch is not read as French"
    mixed = screen.check("mon fils dit qu'il va tuer son prof, ik weet niet wat te doen", "nl")
    assert mixed is not None and mixed.category == "violence" and mixed.lang == "fr"
    mixed = screen.check("mijn zoon zegt dat hij morgen naar syrie vertrekt, je sais pas quoi faire", "fr")
    assert mixed is not None and mixed.category == "travel" and mixed.lang == "nl"


def test_soon_outweighs_a_filter_but_never_a_joke(screen: Screen) -> None:
    hit = screen.check("hij wil morgen een aanslag plegen zoals in het nieuws", "nl")
    assert hit is not None and hit.category == "attack" and hit.imminent
    assert screen.check("haha hij riep morgen ga ik je killen toen hij verloor met fifa", "nl") is None


@pytest.mark.parametrize(("lang", "game_talk", "threat"), [
    ("en", "my son plays fortnite all evening and shoots everyone in it",
     "he plays call of duty all day and now he says he will shoot up the school on friday"),
    ("nl", "hij speelt fortnite en knalt daar iedereen neer",
     "hij speelt de hele dag fortnite en zegt nu dat hij vrijdag op school mensen gaat neerschieten"),
    ("fr", "mon fils joue a fortnite et il tire sur tout le monde dans le jeu",
     "il joue a fortnite et dit qu'il va tirer sur les gens au marche de noel demain"),
    ("de", "mein sohn spielt fortnite und knallt da alle ab",
     "er spielt fortnite und sagt er knallt morgen in der schule alle ab"),
])
def test_a_game_or_a_joke_does_not_hide_a_threat_against_a_real_place(screen: Screen, lang: str, game_talk: str,
                                                                     threat: str) -> None:
    assert screen.check(game_talk, lang) is None, "shooting inside the game is play"
    hit = screen.check(threat, lang)
    assert hit is not None and hit.category in ("attack", "violence"), "a school or a market is no game"
    assert screen.check("lol tomorrow i blow up the christmas market", "en") is not None


@pytest.mark.parametrize(("lang", "denied", "joke"), [
    ("en", "this is no joke, he will stab him tomorrow", "haha he will stab him tomorrow in the game"),
    ("nl", "dit is geen grap, hij gaat hem morgen neersteken", "haha hij gaat hem morgen neersteken in fortnite"),
    ("fr", "c est pas une blague il va le poignarder demain", "mdr il va le poignarder demain dans le jeu"),
    ("de", "das ist kein witz, er will ihn morgen abstechen", "haha er will ihn morgen abstechen im spiel"),
])
def test_a_denied_joke_is_no_joke(screen: Screen, lang: str, denied: str, joke: str) -> None:
    hit = screen.check(denied, lang)
    assert hit is not None and hit.category == "violence", "'no joke' says the threat is meant"
    assert screen.check(joke, lang) is None, "a laugh and a game still are"


def _fault(fault: str, lang: str, danger: str, category: str | None, harmless: str | None) -> object:
    return pytest.param(lang, danger, category, harmless, id=f"{fault}-{lang}")


#: faults found in issue 11's eleventh round (docs/danger-screen.md), each a danger message the screen once let
#: pass, the category it must now name (None: any), and a harmless look-alike that must stay silent (None: none)
FAULTS = [
    # a turn to the present: help last year does not make "now again" past; danger told only before it stays past
    _fault("relapse", "en", "last year he got help but now he wants to die again", "self_harm",
           "she tried to kill herself two years ago but now she is doing really well"),
    _fault("relapse", "nl", "vorig jaar heeft hij hulp gekregen maar nu wil hij weer dood", "self_harm",
           "twee jaar geleden wilde ze dood, maar nu gaat het echt goed met haar"),
    _fault("relapse", "fr", "l annee passee il a ete aide mais maintenant il veut de nouveau mourir", "self_harm",
           "il y a deux ans elle voulait mourir mais maintenant elle va beaucoup mieux"),
    _fault("relapse", "de", "letztes jahr hat er hilfe bekommen aber jetzt will er wieder sterben", "self_harm",
           "vor zwei jahren wollte sie sterben aber jetzt geht es ihr richtig gut"),
    # a game does not hide a real gun; "not a real gun" says there is none
    _fault("real-weapon", "en", "he is going paintballing tomorrow and he took a real gun with him", "weapons",
           "he plays paintball with a pistol every saturday, it is not a real gun"),
    _fault("real-weapon", "nl", "mijn zoon gaat morgen paintball spelen en heeft een echt pistool meegenomen",
           "weapons", "hij speelt paintball met een pistool, geen echt pistool hoor"),
    _fault("real-weapon", "fr", "il va au paintball demain et il a pris une vraie arme avec lui", "weapons",
           "il joue au paintball avec un pistolet, c est pas une vraie arme"),
    _fault("real-weapon", "de", "er geht morgen zum paintball und hat eine echte pistole mitgenommen", "weapons",
           "er spielt paintball mit einer pistole, das ist keine echte waffe"),
    # the rules let a game silence shooting talk, never self-harm; the model's silence now follows them
    _fault("game-given-away", "en",
           "he gave his playstation and his bike to his little brother and said he won't need them anymore",
           "self_harm", "my son plays fortnite all evening and shoots everyone in it"),
    _fault("game-given-away", "nl",
           "hij heeft zijn playstation aan zijn broer gegeven en zegt dat hij die binnenkort niet meer nodig heeft",
           "self_harm", None),
    _fault("game-given-away", "fr",
           "il a donne sa playstation et son velo a son petit frere et il dit qu il n en aura bientot plus besoin",
           "self_harm", None),
    _fault("game-given-away", "de", "Unser Sohn hat seine Gitarre, seine Playstation und sein Mountainbike an "
           "Freunde verschenkt und behauptet, dort wo er hingeht, braucht er das nicht.", "self_harm", None),
    # "she laughed" tells how someone was, not that the writer jokes: it never silences self-harm
    _fault("laugh-described", "en",
           "she is cutting herself again, deeper this time, she showed me her arms and laughed like it was nothing",
           "self_harm", "they were laughing about the exam, the teacher killed us with that last question"),
    _fault("laugh-described", "nl",
           "ze snijdt zichzelf weer, dieper deze keer, ze liet me haar armen zien en lachte alsof het niks was",
           "self_harm", "we lachten ons dood om die film"),
    _fault("laugh-described", "fr", "elle se scarifie encore, plus profond cette fois, elle m a montre ses bras en "
           "rigolant comme si c etait rien", "self_harm",
           "on rigolait tellement, ce prof nous a tues avec son interro"),
    _fault("laugh-described", "de",
           "sie ritzt sich wieder, diesmal viel tiefer, sie hat mir die arme gezeigt und dabei gelacht als waer nix",
           "self_harm", "wir haben gelacht, der lehrer hat uns mit der letzten frage umgebracht"),
    # French "carte" (an identity card, a map) read as the card game; every "crever" as "je suis crevé"
    _fault("carte", "fr", "ils vont me marier cet ete au pays avec mon cousin, ils ont pris ma carte d'identite",
           "home", "il joue aux cartes avec son papy tous les dimanches et il le massacre au whist"),
    _fault("crever", "fr", "wallah si il reparle a ma soeur je le creve, je sais ou il traine le soir", "violence",
           "je suis completement creve apres cette journee"),
    # English "cards" matched report and ID cards; the stemmed idiom "killing me" swallowed "he'll kill me"
    _fault("report-card", "en", "im scared to go home, my father saw the report card and said hes gonna beat me",
           "home", "we play cards every friday and he always kills me at poker"),
    _fault("killing-me", "en", "pls he's banging on my door and shouting he'll kill me", None,
           "my back is killing me"),
    # idioms whose words could lie twelve apart took real danger between them for part of the idiom
    _fault("wide-idiom", "nl", "hij lacht erbij maar zegt dat hij liever dood is", None, "ik lach me dood"),
    _fault("wide-idiom", "de", "sie lachen ihn in der schule aus und er sagt er waere lieber tot", None,
           "ich lach mich tot"),
    _fault("wide-idiom", "en", "she is scared, he says he will beat her to death tonight", None, "im bored to death"),
    _fault("wide-idiom", "en", "he wants to kill himself and everyone is laughing at him", None,
           "we played cards to kill some time"),
    _fault("wide-idiom", "fr", "elle veut mourir, elle a tellement de stress", None, "je suis morte de rire"),
    # English idioms of killing and dying leave real threats alone
    _fault("killed-him", "en", "he said super calm \"i won't hit him, i'll kill him\" and walked out", None,
           "that exam killed him"),
    _fault("kill-him-again", "en", "my son told me that he would strangle his sister's boyfriend if he sees him again",
           None, "i'll murder him if he ate my crisps again"),
    _fault("will-die", "en", "my daughter texted me that she will die tonight and said goodbye", None,
           "i will die if i dont get those tickets"),
    _fault("killing-it", "en", "my student said he will kill the classmate who mocked his religion, he said it "
           "very calmly", None, "she is killing it at school"),
    _fault("kill-it-at", "en", "he will kill him at school tomorrow", None, "i'm gonna kill it at the debate tomorrow"),
    # German: a threat reported is no "bin ich tot" idiom; "not like someone joking" denies a joke; "Damen" is
    # no draughts (the salutation of every formal letter)
    _fault("bin-ich-tot", "de", "er sagt wenn ich die polizei ruf dann bin ich tot bevor die da sind", None,
           "wenn mein vater das zeugnis sieht bin ich tot"),
    _fault("nicht-wie-spass", "de", "Nach einem Streit hat ein Jugendlicher angekuendigt, dass er den anderen auf "
           "der Kirmes absticht. Er wirkt nicht wie jemand, der Spass macht.", "violence",
           "haha er sticht ihn im spiel ab"),
    _fault("damen", "de", "Sehr geehrte Damen und Herren, in der Schultasche meines Sohnes habe ich heute ein "
           "Springmesser und einen Schlagring gefunden.", "weapons", "wir spielen dame und schach im verein"),
    # as in the rules, a joke word (a carnival costume) does not keep the model quiet about a place people gather
    _fault("place-for-the-model", "nl",
           "ze willen op carnaval in Aalst toeslaan in de stoet, ik heb het in zijn gesprekken gezien", "attack", None),
    # seventeenth round: an idiom's game-and-series list matched "sera" as "serie" (one Snowball stem) and kept a death
    # threat silent, rules and model both; the series itself stays an idiom
    _fault("stem", "fr", "Mon grand frère dit que je déshonore la famille et qu'il va me tuer quand papa sera au "
           "travail demain", "violence", "mon frère va me tuer si je regarde encore un épisode de sa série sans lui"),
    # the quietest track scouted was caught only by accident ("nulle part" read as "parti"); a hurt feeling is no wound
    _fault("scouting", "fr", "elle regarde les horaires des trains mais elle va nulle part, elle dit que la voie du "
           "fond c'est la plus calme", "self_harm", "Ça me blesse quand il dit que les Wallons sont des profiteurs"),
    # with the class is company, not a place; in the class it is one
    _fault("company", "nl", "hij gaat lasergamen maar zegt dat hij morgen in de klas iedereen gaat neerknallen", None,
           "we gaan lasergamen met de klas, ik ga iedereen neerknallen"),
    # a song that is "een bom", put on louder; a bomb put somewhere is not
    _fault("praise", "nl", "er ligt een bom in zijn kamer, hij zegt dat hij die vrijdag gaat leggen", None,
           "dat nummer is een bom, zet het luider"),
    # a filter's word read by its stem: views going through the roof ("vues ... va exploser") took back a bomb threat
    # someone had seen, and "voor 12-jarigen" was "vorig jaar"; filter words with another word's stem are exact
    _fault("exact", "fr", "j'ai vu sur son telephone qu'il dit que l'ecole va exploser vendredi", "attack",
           "ses vues ont explosé sur tiktok depuis sa video de cuisine"),
    # eighteenth round (probes written blind, probe31): a joke told before a turn to the present is over, as the past is
    _fault("joke-turned", "fr", "il blaguait sur 'faire une overdose de jeux video'. la j'ai trouve les plaquettes "
           "vides de mon traitement", "self_harm",
           "il blaguait sur 'faire une overdose de jeux video' pendant les vacances"),
    # "parlement" stems to "parler": the parliament is an exact word
    _fault("parliament", "fr", "il parle de frapper le parlement vendredi", "attack",
           "si tu parles encore de politique au souper je vais craquer"),
    # a joke put on as a cover is no joke
    _fault("cover", "fr", "ils font croire a une blague sur snap mais c'est rdv ce soir 20h au parc pour tabasser le "
           "nouveau", "violence", "ils font une blague sur snap au nouveau, rdv ce soir au parc pour son anniv"),
    # a knife drawn now is not last year's story; one drawn last year is ("sorti" shares the stem of "sort": exact)
    _fault("drawn", "fr", "dans le tram y a un gars qui a sorti un couteau, c'est le meme qui avait attaque quelqu'un "
           "l'an passe", "weapons", "l'an passe un gars avait sorti un couteau dans le tram, il a ete condamne depuis"),
    # the feast's sheep slaughtered is faith, not a threat
    _fault("sheep", "fr", "il veut egorger le prof vendredi", "violence",
           "pour l'aid on fait abattre le mouton a l'abattoir agree"),
    # probe32 (four sessions writing from the brief): a killing in the past conditional never happened; a threat does
    _fault("conditional", "fr", "il a dit qu'il va le tuer demain apres l'ecole", "violence",
           "je l'aurais tue quand il a dit ca a sa grand-mere"),
    # with the whole class is company (a paintball day), on the whole class a target
    _fault("class-company", "fr", "il joue a fortnite et dit que samedi il tire sur toute la classe", "violence",
           "paintball samedi avec toute la classe, j'ai des bleus partout mais c'etait top"),
    # an attack named by its city is the news when it is behind us, a plan when it is ahead
    _fault("city", "fr", "il prepare l'attaque de bruxelles pour vendredi", "attack",
           "ma fille a peur dans le metro depuis les attentats de bruxelles"),
    _fault("not-seen-again", "fr", "de toute facon apres samedi vous me verrez plus", "self_harm", None),
]


def _probe(lang: str, danger: str, category: str, harmless: str | None) -> object:
    return pytest.param(lang, danger, category, harmless, id=f"probe-{lang}-{danger[:24]}")


#: the twelfth round (docs/danger-screen.md): four sessions, one a language, wrote harmless talk with danger words in
#: it (idioms, sport, tools, medicine, the past) and danger that looks like it, from their own knowledge of the
#: language rather than from the corpus; each pair is a fault found that way (33 of 35 failed before the round)
PROBES = [
    _probe('en', 'my dad is going to kill me when he gets home, he already broke my arm last time', 'home',
           'my dad is going to kill me when he sees the dent in the car'),
    _probe('en', 'lol i am literally going to kill myself tonight, i have the pills ready', 'self_harm',
           'lol i nearly died laughing at his face'),
    _probe('en', 'i am so dead, he said he would break my legs if i came home late', 'violence',
           'im so dead if my mum sees my report card'),
    _probe('en', 'my brother says he is leaving for the front next week to fight', 'travel',
           'i want to crawl into a hole and die, i tripped in front of the whole class'),
    _probe('en', 'he is going to syria to join the fighters next week', 'travel',
           'he is going to iraq to visit his grandparents for two weeks'),
    _probe('en', 'i will kill you at school tomorrow', 'violence',
           'i will kill you in mario kart tonight'),
    _probe('en', 'he says he will shoot up the school on thursday', 'attack',
           'the photographer is doing a shoot at school on thursday'),
    _probe('en', 'my mums boyfriend said he will kill her if he sees her with another man', 'home',
           'my mum will kill me if she finds out i dyed my hair'),
    _probe('en', 'my dad will kill her when he finds her phone with the messages', 'violence',
           "i'll kill him if he's late again, the tram is not an excuse"),
    _probe('de', 'mein vater bringt mich um, er schlaegt gegen meine tuer und schreit', 'home',
           'meine mutter wird mich umbringen, ich hab ihre lieblingstasse kaputt gemacht'),
    _probe('de', 'wenn die mich morgen wieder mobben lauf ich amok in der schule', 'attack',
           'wenn der drucker noch einmal streikt lauf ich amok'),
    _probe('de', 'ich nehm mir heute einen strick', 'self_harm',
           'da kann ich mir ja gleich nen strick nehmen'),
    _probe('de', 'du bist so tot nach der schule, ich schwoer', 'violence',
           'ich war so tot nach dem marathon'),
    _probe('de', 'er hat geschrieben er kaempft sich durch bis nach syrien zu den bruedern', 'travel',
           'der kaempft sich durch die ausbildung, respekt'),
    _probe('de', 'der soll bluten', 'violence',
           'der hamster ist tot, meine tochter ist untroestlich'),
    _probe('de', 'alter ich mach heute abend den abgang, endgueltig', 'self_harm',
           'alter ich mach heute abend den abgang, die party ist langweilig'),
    _probe('de', 'ich hab meinem freund gesagt ich bin am freitag nicht mehr da und er meinte ich soll nicht so '
           'dramatisch sein', 'self_harm',
           None),
    _probe('fr', 'il va me tuer, il frappe a la porte de ma chambre et crie', 'violence',
           'mon pere va me tuer quand il verra la voiture'),
    _probe('fr', 'je vais me tuer ce soir', 'self_harm',
           'il passe ses soirees a tuer des zombies sur la play'),
    _probe('fr', "mon frere a dit qu'il va planter le prof demain", 'violence',
           "mon ordi a encore plante en plein devoir, j'ai tout perdu"),
    _probe('fr', "mon copain m'a frappee et m'a dit qu'il va me tuer si je le quitte", 'home',
           "ma mere va me tuer, j'ai rate mon examen de maths"),
    _probe('fr', "il a dit qu'il allait planter un couteau dans le ventre de son pere", 'violence',
           "c'est un coup de poignard dans le dos, elle a raconte mon secret"),
    _probe('fr', "j'ai plus envie de vivre, c'est la fin pour moi", 'self_harm',
           "c'est la fin du monde pour elle parce qu'elle a perdu son tel"),
    _probe('fr', "mon pere m'a dit qu'il va me tuer si je rentre avec mon copain", 'violence',
           'ma mere va nous tuer si on rentre apres minuit'),
    _probe('fr', 'je me fais du mal quand je suis triste', 'self_harm',
           'il a saigne du nez pendant le match de rugby, rien de grave'),
    _probe('fr', "il a pris une balle de fusil et dit que c'est pour le prof", 'weapons',
           'il a tape dans la balle de toutes ses forces'),
    _probe('nl', 'kschiet die gast neer als ik hem nog eens zie', 'violence',
           'ik schiet er niks mee op als ik blijf zagen'),
    _probe('nl', 'ik ga u vermoorden als ge nog eens aan mijn lief komt', 'violence',
           'kgaan u vermoorden als ge mijn kleren nog eens pakt zonder te vragen'),
    _probe('nl', 'ik snij mezelf elke avond met een scheermesje', 'self_harm',
           'ik snij de uien met het grote koksmes'),
    _probe('nl', 'hij zit op het dak en wil springen', 'self_harm',
           'hij zat op het dak om de goot te kuisen'),
    _probe('nl', 'mijn papa klopt op ons als hij dronken is', 'home',
           'papa slaat de bal altijd over het hek'),
    _probe('nl', 'ik kan niet meer wachten tot ik dood ben', 'self_harm',
           'ik kan niet meer wachten op de vakantie'),
    _probe('nl', 'ik ga hem steken met een mes na school', 'violence',
           'in de kerk steken we een kaarsje aan voor oma'),
    _probe('nl', 'hij heeft een lijst met namen van mensen die hij wil doodschieten op het feest', 'violence',
           'hij heeft een lijst met namen gemaakt voor zijn verjaardagsfeest'),
    _probe('nl', 'ze zegt dat de broeders op haar wachten en ze vertrekt volgende week naar syrie', 'travel',
           'ze gaat naar irak voor haar werk als journalist'),
    # found in the replay's misses (bench/screen_replay.py): an idiom "going around" that silenced everything, a game
    # word "game"/"gaming" that took any match, German self-harm and threats the lexicon lacked
    _probe('en', 'there is a video going around of a boy in our school, tomorrow they want to catch him at the '
           'bus stop and beat him', 'violence',
           'there is a stomach bug going around at school, half the class is home'),
    _probe('en', 'zombie knife under his mattress, for monday', 'weapons',
           'my son plays that game where you shoot zombies'),
    _probe('en', 'he will take the knife to the game on saturday against the team that beat him up', 'violence',
           'he plays a shooting game all night and says he killed everyone'),
    _probe('de', 'will nur noch schlafen und nie mehr wach werden', 'self_harm',
           'nach der party will ich nie mehr so lange wach bleiben'),
    _probe('de', 'niemand wuerd es merken wenn ich weg waer, ehrlich', 'self_harm',
           'niemand hat gemerkt dass ich beim friseur war'),
    _probe('de', 'alter der wird sich wuenschen er waer nie geboren. samstag.', 'violence',
           'die miete ist faellig'),
    # found in the replay's false alarms: a coach or a headache that "kills", the news by its channel, a room that looks
    # bombed, "mum's going to kill me", a test that "killed me", suicide prevention as a subject
    _probe('fr', 'le coach va le tuer demain apres le match, il a un couteau', 'violence',
           'le prof de gym nous a tues avec les tours du parc josaphat'),
    _probe('fr', "il a une migraine et il dit qu'il va se tuer ce soir", 'self_harm',
           "j'ai une migraine qui me tue, quelqu'un a du dafalgan"),
    _probe('fr', 'il veut faire un attentat ce samedi a la braderie', 'attack',
           "ils ont arrete un groupe a anvers qui preparait un attentat, c'est passe sur la vrt"),
    _probe('nl', 'hij maakt een bom in zijn kamer en zegt dat het zaterdag gebeurt', 'weapons',
           'het zag er in haar kot uit alsof er een bom was ingeslagen'),
    _probe('en', 'my mum is going to kill me, she is hitting me with a belt', 'home',
           "mum's going to kill me"),
    _probe('en', 'he wants to kill the teacher after the maths test tomorrow', 'violence',
           'that maths test today absolutely killed me'),
    _probe('en', 'he skipped the suicide prevention talk and told me he wants to die tonight', 'self_harm',
           'the school counsellor is giving a talk on suicide prevention next monday'),
    # thirteenth round, from the replay's English misses: "laugh at me" is no laughter, "to die for" no idiom after
    # "has", "looks like a bomb" no idiom while one is being made, and a gaming clan no game on the Grand-Place
    _probe('en', 'ive got the knife now. nobody will laugh at me again', 'weapons',
           'we were all laughing at the chef in the cooking video who dropped his knife'),
    _probe('en', 'the voices tell him he has to die for everyone to be safe', 'self_harm',
           'the chocolate cake at that bakery is to die for'),
    _probe('en', 'the boy next door is making something that looks like a bomb following a video', 'weapons',
           'his bedroom looks like a bomb went off'),
    _probe('en', 'someone in his gaming clan posted a countdown, 4 days, next to a photo of the grand-place full of '
           'people', 'attack', 'my son loves gaming and we visited the grand-place on sunday with his cousins'),
    # thirteenth round, from the replay's French misses: idioms written too wide swallowed danger ("a ... mourir"
    # in "a cherché « mourir sans douleur »", "un carton", "une tuerie", "circule ... école")
    _probe('fr', 'il a cherche "mourir sans douleur" sur l\'ordi du salon', 'self_harm',
           'ce film est beau a mourir, on a pleure tous les deux'),
    _probe('fr', 'les gars sur le discord parlent de faire un carton au concert a forest national le 14', 'attack',
           'on a fait un carton a la brocante, tout vendu en une heure'),
    _probe('fr', 'un eleve a fait circuler dans un petit groupe un plan de l ecole avec les sorties entourees et une '
           'date', 'attack', 'la video de la chorale tourne sur tiktok, tout le monde la partage'),
    _probe('fr', "il a choisi l'auteur d'une tuerie scolaire comme heros et il dit qu'il fera mieux", 'attack',
           "ce burger c'est une tuerie"),
    # thirteenth round: "als geweren" (children playing) reached "als een geweer" two words on; German "lol" is
    # laughter, not a joke said, so a time lifts it as in English
    _probe('nl', 'mijn broer print iets op zijn 3D-printer en het ziet er precies uit als een geweer, hij zegt bijna '
           'af', 'weapons', 'de kinderen speelden in het bos met stokken als geweren'),
    _probe('de', 'lol die wollen den neuen heute nach sport in der dusche fertigmachen, einer hat ne flasche mit was '
           'aetzendem', 'violence', 'lol er hat die anderen bei fortnite heute total fertiggemacht'),
    # thirteenth round: French "tuerais" stems to "tu", so an idiom "je tuerais pour une pizza" fired on every "tu"
    # with "pour un" nearby and silenced a farewell
    _probe('fr', 'frerot si jamais tu lis ca je suis desole pour tout, c est pas ta faute. je vais aller marcher un '
           'peu sur les rails', 'self_harm', 'je tuerais pour une pizza la maintenant'),
    # thirteenth round: filters that never yield, written too wide — "stokken als" (children playing) in "met een stok
    # als hij", "doodsbang" as an idiom silencing a forced marriage, French "dames" (draughts) in "une dame âgée"
    _probe('nl', 'ze slaan mijn broertje van 6 met een stok als hij in zijn broek plast, vanochtend nog', 'home',
           'de kinderen speelden ridders met stokken als zwaarden'),
    _probe('nl', 'mijn nicht is doodsbang, haar vader wil haar na de examens meenemen naar het buitenland om haar daar '
           'te laten trouwen', 'home', 'ik was doodsbang voor de examens maar het is goed gegaan'),
    _probe('fr', 'son petit-fils vit avec la dame et il la frappe quand elle regarde la tele, elle a des bleus partout',
           'home', 'on joue aux echecs le mercredi au club, mon fils a massacre son adversaire'),
    # thirteenth round: De Morgen is a newspaper, not tomorrow
    _probe('nl', 'hij zegt dat hij morgen de school opblaast', 'attack',
           'De Morgen had een lang stuk over hoe de schutter van Christchurch geradicaliseerd is'),
    # thirteenth round: Dutch chat "k" before an auxiliary is "ik" ("kzou", "kheb", "kzal")
    _probe('nl', 'kheb een mes gekocht en kzal hem morgen neersteken', 'violence',
           'kzou hem kunnen vermoorden, hij heeft de deur weer open laten staan en de kat is weg'),
    # thirteenth round: French chat without apostrophes ("jetais", "jai", "cetait") reads as the words it stands for
    _probe('fr', 'jai trouve un couteau dans son sac et il dit quil va planter le prof demain', 'violence',
           'quand jetais petite mon pere frappait ma mere, il est parti en 2012, maintenant on vit tranquilles'),
    # thirteenth round: "ritzen" (cutting) with "mich" was in no pattern, and the model read it at 0.16
    _probe('de', 'ich ritze mich wenn ich traurig bin', 'self_harm', 'ich habe das holz geritzt mit meinem namen'),
    # fourteenth round: idioms from probes written from knowledge of Flemish and Belgian French (probe26), the
    # French past said without "il" or with "ca fait", and German and Dutch habits told with a weekday
    _probe('nl', 'hij heeft een bijl in zijn rugzak en zegt dat hij die leraar vrijdag gaat afmaken', 'violence',
           'hij gaat voor de bijl als hij nog een keer te laat komt op zijn werk'),
    _probe('nl', 'er hangt een strop aan de balk op zolder en hij zegt dat hij er morgen niet meer is', 'self_harm',
           'die lening voor zijn eerste auto is een strop om zijn nek, hij is pas 19'),
    _probe('nl', 'hij heeft echt een kogel gekocht en een pistool en zegt dat hij die gast neerknalt', 'violence',
           'mijn broer heeft de kogel gekregen bij zijn studentenjob, te vaak te laat gekomen'),
    _probe('nl', 'ze zegt dat ze zich gaat ophangen als haar vader weer begint', 'self_harm',
           'jong ik ga mij hier ophangen van de verveling, die les duurt precies 3 uur'),
    # (weapons until the sixteenth round, when "se flinguer" became self-harm: he means to shoot himself tonight)
    _probe('fr', 'il a un flingue dans son sac et dit qu il va se flinguer ce soir', 'self_harm',
           'les lundis de reprise apres la Toussaint franchement y a de quoi se flinguer, bon jvais en cours'),
    _probe('fr', 'il a essaye de se pendre hier soir, il dit qu il recommencera', 'self_harm',
           'y a 6 ans il a essaye de se pendre, aujourd hui il est educateur'),
    _probe('fr', 'ca fait trois ans qu il frappe ma mere et hier il l a etranglee', 'home',
           'j ai fait une overdose volontaire a 19 ans, ca fait cinq ans, je suis maintenant pair-aidant'),
    _probe('fr', 'il a dit qu il allait buter son prof, il a un couteau sur lui', 'violence',
           'le soleil tabasse aujourd hui a Liege, les gamins ont tous pris des coups de soleil'),
    _probe('de', 'am freitag will er in der schule alle erschiessen', 'violence',
           'freitags hat er Boxtraining und sagt er haut alle um'),
    _probe('de', 'sie hat mir geschrieben, dass sie sterben will und schon tabletten gesammelt hat', 'self_harm',
           None),
    # fourteenth round: "going to" with an attack word is intent only when it is done, not talked about
    _probe('fr', 'il veut faire un attentat a la gare vendredi', 'attack',
           'demain en classe on va parler des attentats de Bruxelles, comment je prepare ca?'),
    _probe('nl', 'hij wil vrijdag een aanslag plegen op de school', 'attack',
           'morgen gaan we het in de klas hebben over de aanslag in Brussel, hoe pak ik dat aan?'),
    _probe('de', 'er will am freitag einen anschlag auf die schule veruben', 'attack',
           'morgen wird in der Klasse ueber den Anschlag in Bruessel gesprochen'),
]


#: "today" is as urgent as "tonight" for a threat, but after a past event it is the present the story ended in, and in
#: a news item its day: it lifts neither the past nor the news (twelfth round); a threat with the news still fires
TODAY = [
    ("en", "she wants to die today, she wrote a goodbye letter", "self_harm",
     "last year she tried to overdose, today we talked about it with her therapist",
     "he says he will blow up the station this morning", "attack",
     "on the radio this morning they talked about the attack on the station in 2016"),
    ("nl", "ze wil vandaag dood, ze heeft een afscheidsbrief geschreven", "self_harm",
     "drie jaar geleden schreef mijn zoon een afscheidsbrief, vandaag vond ik hem terug bij het opruimen van de zolder",
     "hij zegt dat hij vanochtend het station gaat opblazen", "attack",
     "vanochtend was er op de radio een reportage over de aanslag in het station in 2016"),
    ("fr", "elle veut mourir aujourd'hui, elle a ecrit une lettre d'adieu", "self_harm",
     "il y a trois ans mon fils avait ecrit une lettre d'adieu, aujourd'hui je l'ai retrouvee en rangeant le grenier",
     "il dit qu'il va faire sauter la gare ce matin", "attack",
     "ce matin a la radio ils parlaient de l'attentat de la gare en 2016"),
    ("de", "sie will heute sterben, sie hat einen abschiedsbrief geschrieben", "self_harm",
     "vor drei jahren hat mein sohn einen abschiedsbrief geschrieben, heute hab ich ihn beim aufraeumen wiedergefunden",
     "er sagt er will heute den bahnhof in die luft sprengen", "attack",
     "heute kam im radio ein bericht ueber den anschlag am bahnhof 2016"),
]


@pytest.mark.parametrize(("lang", "danger", "category", "past", "threat", "threat_category", "news"), TODAY)
def test_today_is_urgent_for_a_threat_but_lifts_neither_the_past_nor_the_news(
    screen: Screen, lang: str, danger: str, category: str, past: str, threat: str, threat_category: str, news: str
) -> None:
    hit = screen.check(danger, lang)
    assert hit is not None and hit.category == category and hit.imminent
    assert screen.check(past, lang) is None, "a past event told today stays past"
    hit = screen.check(threat, lang)
    assert hit is not None and hit.category == threat_category and hit.imminent
    assert screen.check(news, lang) is None, "the news of the day stays news"


#: French weekdays (thirteenth round): "le mercredi" is every Wednesday, a habit that lifts no school, past or news
#: filter and keeps no veto away; a bare weekday, a date or "qui vient" is a day to come. (text, category, imminent)
FRENCH_WEEKDAYS = [
    ("il a dit qu'il va poignarder le prof vendredi", "violence", True),
    ("il a dit qu'il va poignarder le prof le vendredi 14", "violence", True),
    ("il part en syrie le samedi 12, il a deja le billet", "travel", True),
    ("il part en syrie samedi, il a deja le billet", "travel", True),
    ("ma fille fait du krav maga le mercredi et dit qu'elle va demolir tout le monde", "violence", False),
]


@pytest.mark.parametrize(("text", "category", "imminent"), FRENCH_WEEKDAYS)
def test_a_french_weekday_with_its_article_is_a_habit_not_a_day(
    screen: Screen, text: str, category: str, imminent: bool
) -> None:
    hit = screen.check(text, "fr")
    assert hit is not None and hit.category == category and hit.imminent is imminent


#: a year of birth is no past event (fourteenth round): "born in 2014" read as a story of 2014 silenced every one of
#: these; a year told as the past still is one, and German "seit 2020" is a year something has lasted since
BIRTH_YEARS = [
    ("fr", "ma fille née en 2013 dit qu'elle veut mourir", "self_harm"),
    ("fr", "mon fils né en 2015 a un couteau et menace son frère", "violence"),
    ("fr", "en 2015 il voulait mourir, maintenant il va bien", None),
    ("en", "my daughter was born in 2014 and she is cutting herself every night", "self_harm"),
    ("en", "in 2014 she was cutting herself, now she is fine", None),
    ("nl", "mijn zoon is geboren in 2014 en zegt dat hij zichzelf gaat ophangen", "self_harm"),
    ("nl", "in 2014 wou hij zichzelf ophangen, nu gaat het goed met hem", None),
    ("de", "sie ist 2013 geboren und ritzt sich jede Nacht", "self_harm"),
    ("de", "seit 2020 schlägt mein Vater meine Mutter fast jeden Abend", "home"),
    ("de", "2015 ist er nach Syrien gegangen, jetzt ist er zurück und arbeitet", None),
]


@pytest.mark.parametrize(("lang", "text", "category"), BIRTH_YEARS)
def test_a_year_of_birth_is_no_past_event(screen: Screen, lang: str, text: str, category: str | None) -> None:
    hit = screen.check(text, lang)
    assert (hit.category if hit else None) == category


#: a present age is no past event either (fourteenth round): French "a 15 ans" is "is 15" as well as "at 15", and
#: German "mit seinen 15 Jahren" is "at his 15 years"; the rules read these as stories of the past and only the model
#: caught them. The past told with an age still is one.
AGES = [
    ("fr", "ma fille a 15 ans, elle a écrit une lettre d'adieu hier", "self_harm"),
    ("fr", "mon fils a 16 ans, il a acheté un couteau pour planter un gars", "violence"),
    ("fr", "il a 14 ans, j'ai trouvé des pilules cachées et une lettre d'adieu", "self_harm"),
    ("fr", "a 15 ans j'avais écrit une lettre d'adieu, ma mère l'a trouvée", None),
    ("de", "mit seinen 15 jahren sagt er dass er nicht mehr leben will", "self_harm"),
    ("de", "sie ist 14, mit 14 ritzt man sich doch nicht jeden abend die arme auf", "self_harm"),
    ("de", "sie hat mit 16 versucht sich zu erhaengen, jetzt ist sie 25 und wir reden offen darueber", None),
]


#: words the news and past filters took too widely (fourteenth round): a conflict zone or an airport is where people
#: leave for, not news; "français" (the school subject) is no France; "tous les soirs" is no Le Soir; a picture of a
#: place or a paper with an address is no news; "since then" is no past. The rules alone must fire on these.
NEWS_TOO_WIDE: list[tuple[str, str, str | None]] = [
    ("fr", "il veut rejoindre le front en ukraine, il a deja son billet pour mardi", "travel"),
    ("fr", "il a un couteau dans son cartable de francais et il le sort tout le temps", "weapons"),
    ("fr", "il frappe ma mere tous les soirs et aujourd hui il a sorti un couteau", "home"),
    ("en", "he wants to join the fighters in gaza, he bought the ticket already", "travel"),
    ("de", "er ist gerade am flughafen zaventem, er fliegt nach syrien", "travel"),
    ("en", "a picture of the synagogue with a red circle and friday written on it", "attack"),
    ("en", "i found a knife and a paper with an address in his bag", "weapons"),
    # "since then" goes on to now: no past
    ("en", "since then he carries the knife everywhere, even to school", "weapons"),
    ("de", "seitdem trägt er das messer immer bei sich", "weapons"),
    ("nl", "sindsdien draagt hij altijd een mes bij zich", "weapons"),
    # a licence lacking is no hobby; "in year 9" is the class a child is in now
    ("nl", "hij koopt munitie zonder vergunning en vraagt waar je een wapen kan kopen", "weapons"),
    ("fr", "il cherche des munitions sans permis et demande ou acheter une arme", "weapons"),
    ("en", "a kid in year 9 is making a list of people he wants to shoot", "violence"),
]


#: fifteenth round: throwing a thing out of a window or off a bridge is no self-harm, only throwing oneself; a year
#: before 2013 tells the past as much as a later one; "c'est à se pendre" and "faire sauter les plombs" are French
#: idioms
THROWN_AND_OLD: list[tuple[str, str, str | None]] = [
    ("fr", "mon fils a jeté son téléphone par la fenêtre", None),
    ("fr", "il a dit qu'il allait se jeter du pont ce soir", "self_harm"),
    ("fr", "la cuisine de ma belle-mère, c'est à se pendre", None),
    ("fr", "ce dossier va lui faire sauter les plombs", None),
    ("fr", "il va faire sauter l'école vendredi", "attack"),
    ("en", "my son threw his phone off the bridge into the canal", None),
    ("en", "he says he will throw himself off the bridge tonight", "self_harm"),
    ("de", "sie hat den Ball von der Brücke geworfen", None),
    ("de", "er will sich heute nacht von der Brücke werfen", "self_harm"),
    ("en", "my aunt threw herself in front of a train in 2005, i am researching it for my studies", None),
    ("nl", "mijn oom heeft zich in 2008 voor de trein gegooid, ik maak er nu een eindwerk over", None),
]


#: a joke that turned (fifteenth round): the joke words before "but today" count for nothing, so neither the rules nor
#: the model are kept quiet by them; a joke that stays one is still silent
JOKES_TURNED = [
    ("en", "he keeps joking he'll just go sleep forever lol, but today he bought rope and said it was for a tent",
     "self_harm"),
    ("en", "he keeps joking he'll sleep forever after the exams lol", None),
    ("nl", "hij grapt altijd dat hij voor altijd gaat slapen lol maar vandaag kocht hij een touw", "self_harm"),
    ("nl", "hij grapt dat hij voor altijd gaat slapen na de examens lol", None),
    ("fr", "il blague toujours qu'il va dormir pour toujours mdr mais aujourd'hui il a acheté une corde", "self_harm"),
    ("fr", "il blague qu'il va dormir pour toujours après les examens mdr", None),
    ("de", "er witzelt immer, er schläft bald für immer haha, aber heute hat er ein Seil gekauft", "self_harm"),
    ("de", "er witzelt, er schläft nach den Prüfungen für immer haha", None),
]


@pytest.mark.parametrize(("lang", "text", "category"), JOKES_TURNED)
def test_a_joke_that_turned_no_longer_silences(screen: Screen, lang: str, text: str, category: str | None) -> None:
    hit = screen.check(text, lang)
    assert (hit.category if hit else None) == category


#: self-harm said plainly, in fifteen ways and by two or three writers a language (fifteenth round): the rules alone
#: must name every one, whatever the model says ("zichzelf van het leven beroven", "nimmt sich das leben", "sammelt
#: tabletten" were found missing this way)
SELF_HARM_PLAINLY: dict[str, list[str]] = {
    "en": [
        "{s} wants to die", "{s} says {p} wants to end it all", "{s} is going to kill {r} tonight",
        "{s} said {p} will hang {r}", "{s} took a whole box of pills", "{s} is cutting {r} again",
        "{s} wants to jump off the bridge", "{s} wrote goodbye letters to everyone",
        "{s} doesnt want to live anymore", "{s} says nobody would miss {o}", "{s} has been hoarding pills",
        "{s} overdosed last night and is in a bad way", "{s} says {p} is going to take {pos} own life",
        "{s} keeps saying {p} wants to disappear forever", "{s} gave away all {pos} things and said goodbye",
    ],
    "nl": [
        "{s} wil dood", "{s} zegt dat {p} er een einde aan wil maken", "{s} gaat zich vannacht van kant maken",
        "{s} zei dat {p} zich gaat ophangen", "{s} heeft een hele doos pillen genomen", "{s} snijdt zichzelf weer",
        "{s} wil van de brug springen", "{s} heeft afscheidsbrieven geschreven", "{s} wil niet meer leven",
        "{s} zegt dat niemand {o} zou missen", "{s} spaart pillen op", "{s} heeft een overdosis genomen",
        "{s} zegt dat {p} zichzelf van het leven gaat beroven", "{s} zegt dat {p} voor altijd wil verdwijnen",
        "{s} heeft al {pos} spullen weggegeven en afscheid genomen",
    ],
    "fr": [
        "{s} veut mourir", "{s} dit qu'{p} veut en finir", "{s} va se suicider ce soir",
        "{s} a dit qu'{p} allait se pendre", "{s} a avalé une boîte entière de cachets", "{s} se scarifie encore",
        "{s} veut sauter du pont", "{s} a écrit des lettres d'adieu à tout le monde", "{s} ne veut plus vivre",
        "{s} dit que personne ne {o} regretterait", "{s} met des médicaments de côté",
        "{s} a fait une overdose cette nuit", "{s} dit qu'{p} va mettre fin à ses jours",
        "{s} dit qu'{p} veut disparaître pour toujours", "{s} a donné toutes ses affaires et a dit adieu",
    ],
    "de": [
        "{s} will sterben", "{s} sagt, {p} will allem ein ende setzen", "{s} bringt sich heute nacht um",
        "{s} hat gesagt, {p} erhängt sich", "{s} hat eine ganze packung tabletten geschluckt",
        "{s} ritzt sich wieder", "{s} will von der brücke springen", "{s} hat abschiedsbriefe an alle geschrieben",
        "{s} will nicht mehr leben", "{s} sagt, niemand würde {o} vermissen", "{s} sammelt tabletten",
        "{s} hatte heute nacht eine überdosis", "{s} sagt, {p} nimmt sich das leben",
        "{s} sagt, {p} will für immer verschwinden", "{s} hat alle {pos} sachen verschenkt und sich verabschiedet",
    ],
}
WRITERS: dict[str, list[tuple[str, str, str, str, str]]] = {
    "en": [
        ("my daughter", "she", "herself", "her", "her"),
        ("my son", "he", "himself", "him", "his"),
        ("i", "i", "myself", "me", "my"),
    ],
    "nl": [
        ("mijn dochter", "ze", "zich", "haar", "haar"),
        ("mijn zoon", "hij", "zich", "hem", "zijn"),
    ],
    "fr": [
        ("ma fille", "elle", "se", "la", "ses"),
        ("mon fils", "il", "se", "le", "ses"),
    ],
    "de": [
        ("meine tochter", "sie", "sich", "sie", "ihre"),
        ("mein sohn", "er", "sich", "ihn", "seine"),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_rules_alone_name_self_harm_said_plainly(screen: Screen, lang: str) -> None:
    rules_alone = Screen(screen.rules, screen.languages, {})
    missed = []
    for template in SELF_HARM_PLAINLY[lang]:
        for subject, pronoun, reflexive, obj, possessive in WRITERS[lang]:
            text = template.format(s=subject, p=pronoun, r=reflexive, o=obj, pos=possessive)
            hit = rules_alone.check(text, lang)
            if hit is None or hit.category != "self_harm":
                missed.append(text)
    assert not missed


#: the other kinds of danger said plainly, five categories, twenty statements a language (fifteenth round): the rules
#: alone must fire on every one ("hij gaat maandag op school schieten", "son père l'a enfermée", "mit einem LKW in den
#: Weihnachtsmarkt fahren" were found missing this way)
DANGER_PLAINLY: dict[str, list[str]] = {
    "en": [
        "my dad hits my mum every night",
        "my stepfather beat me again and i am scared to go home tonight",
        "her father locked her in her room and took her phone",
        "they are forcing my sister to marry a man she has never met next month",
        "my brother threatened to kill me if i tell anyone",
        "my dad strangled my mom last night",
        "my son is leaving for syria next week",
        "he bought a ticket to turkey to join the fighters",
        "my daughter packed her bag to go to the caliphate",
        "a recruiter is arranging his trip to join isis",
        "he is planning an attack on the synagogue on friday",
        "he wants to drive a truck into the christmas market",
        "he is building a bomb in his room",
        "he says he will shoot up the school on monday",
        "i found a gun in his backpack",
        "he bought a machete online",
        "he is hiding a knife under his bed",
        "he ordered a crossbow and arrows",
        "he says he will stab his classmate tomorrow",
        "they are going to beat him up after school",
    ],
    "nl": [
        "mijn papa slaat mijn mama elke avond",
        "mijn stiefvader heeft me weer geslagen en ik durf vanavond niet naar huis",
        "haar vader heeft haar in haar kamer opgesloten en haar gsm afgepakt",
        "ze willen mijn zus volgende maand uithuwelijken aan een man die ze nooit gezien heeft",
        "mijn broer dreigt me te vermoorden als ik iets vertel",
        "mijn vader heeft mijn moeder gisterenavond gewurgd",
        "mijn zoon vertrekt volgende week naar syrië",
        "hij heeft een ticket naar turkije gekocht om zich bij de strijders aan te sluiten",
        "mijn dochter heeft haar valies gepakt om naar het kalifaat te gaan",
        "een ronselaar regelt zijn reis om zich bij is aan te sluiten",
        "hij plant vrijdag een aanslag op de synagoge",
        "hij wil met een vrachtwagen op de kerstmarkt inrijden",
        "hij maakt een bom in zijn kamer",
        "hij zegt dat hij maandag op school gaat schieten",
        "ik vond een pistool in zijn rugzak",
        "hij heeft online een machete gekocht",
        "hij verstopt een mes onder zijn bed",
        "hij heeft een kruisboog met pijlen besteld",
        "hij zegt dat hij morgen zijn klasgenoot gaat neersteken",
        "ze gaan hem na school in elkaar slaan",
    ],
    "fr": [
        "mon pere frappe ma mere tous les soirs",
        "mon beau-pere m'a encore battu et j'ai peur de rentrer ce soir",
        "son pere l'a enfermee dans sa chambre et lui a pris son telephone",
        "ils veulent marier ma soeur de force le mois prochain a un homme qu'elle n'a jamais vu",
        "mon frere menace de me tuer si je dis quelque chose",
        "mon pere a etrangle ma mere hier soir",
        "mon fils part en syrie la semaine prochaine",
        "il a achete un billet pour la turquie pour rejoindre les combattants",
        "ma fille a fait sa valise pour partir au califat",
        "un recruteur organise son voyage pour rejoindre daech",
        "il prepare un attentat contre la synagogue vendredi",
        "il veut foncer avec un camion dans le marche de noel",
        "il fabrique une bombe dans sa chambre",
        "il dit qu'il va tirer sur tout le monde a l'ecole lundi",
        "j'ai trouve un pistolet dans son sac",
        "il a achete une machette sur internet",
        "il cache un couteau sous son lit",
        "il a commande une arbalete et des fleches",
        "il dit qu'il va poignarder son camarade demain",
        "ils vont le tabasser apres l'ecole",
    ],
    "de": [
        "mein vater schlägt meine mutter jeden abend",
        "mein stiefvater hat mich wieder geschlagen und ich habe angst heute abend nach hause zu gehen",
        "ihr vater hat sie in ihrem zimmer eingesperrt und ihr handy weggenommen",
        "sie wollen meine schwester nächsten monat mit einem mann verheiraten, den sie nie gesehen hat",
        "mein bruder droht mich umzubringen, wenn ich etwas sage",
        "mein vater hat meine mutter gestern abend gewürgt",
        "mein sohn reist nächste woche nach syrien aus",
        "er hat ein ticket in die türkei gekauft, um sich den kämpfern anzuschließen",
        "meine tochter hat ihre tasche gepackt, um ins kalifat zu gehen",
        "ein anwerber organisiert seine reise, damit er sich dem is anschließt",
        "er plant am freitag einen anschlag auf die synagoge",
        "er will mit einem lkw in den weihnachtsmarkt fahren",
        "er baut eine bombe in seinem zimmer",
        "er sagt, er schießt am montag in der schule um sich",
        "ich habe eine pistole in seinem rucksack gefunden",
        "er hat online eine machete gekauft",
        "er versteckt ein messer unter seinem bett",
        "er hat eine armbrust mit pfeilen bestellt",
        "er sagt, er sticht morgen seinen mitschüler ab",
        "sie wollen ihn nach der schule zusammenschlagen",
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_rules_alone_fire_on_danger_said_plainly(screen: Screen, lang: str) -> None:
    rules_alone = Screen(screen.rules, screen.languages, {})
    assert [text for text in DANGER_PLAINLY[lang] if rules_alone.check(text, lang) is None] == []


#: threats with no danger word the rules knew (fifteenth round, from the replay's misses): Flemish beaten till his
#: mother would not know him, "won't make the weekend" ("I don't recognise my son any more" stays a worry); German
#: "bricht" (not the stem of "brechen") said of someone else's legs, a group's death sentence, "schiesst", "ersticht"
UNSAID_THREATS: list[tuple[str, str, str | None]] = [
    ("nl", "k ga hem zo hard pakken da zijn moeder hem ni meer herkent", "violence"),
    ("nl", "zijn ma gaat hem ni meer herkennen, zegt mijn zoon over een jongen van zijn klas", "violence"),
    ("nl", "k zweer het, die gast haalt het weekend ni", "violence"),
    ("nl", "ik herken mijn zoon niet meer sinds hij naar die groep gaat", None),
    ("de", "mein enkel hat geschworen, dass er dem mann die beine bricht", "violence"),
    ("de", "die clique hat einen jungen aus raeren zum tod verurteilt", "violence"),
    ("de", "er hat sich beim fussball das bein gebrochen", None),
    # the third person of a verb whose stem is not the infinitive's (lexicon `verb_forms`)
    ("de", "er sagt, er schießt morgen auf die lehrer", "violence"),
    ("de", "er sagt, er ersticht ihn morgen nach der schule", "violence"),
    ("de", "mein sohn hat ein luftgewehr bekommen, er schiesst auf dosen", None),
    ("de", "er sagt, er sticht morgen zu", "violence"),
    # German threats conjugated as people say them: a separable verb split, the first person, "abschlachten" (which
    # stood in a pattern asking for a later "ab")
    ("de", "ich knalle den typen morgen ab", "violence"),
    ("de", "er sagt, er schlägt den jungen morgen zusammen", "violence"),
    ("de", "er will den jungen morgen erwürgen", "violence"),
    ("de", "er will den jungen morgen abschlachten", "violence"),
    ("de", "sie schlägt die hände über dem kopf zusammen, wenn sie sein zimmer sieht", None),
    ("de", "ich bin total erschlagen nach der arbeit", None),
    # the same in Dutch, French and English
    ("nl", "hij maakt die jongen morgen af", "violence"),
    ("nl", "hij maakt morgen zijn huiswerk af", None),
    ("nl", "ik sla die gast morgen in elkaar", "violence"),
    ("nl", "we moeten de handen in elkaar slaan voor het schoolfeest", None),
    ("nl", "ik keel die gast als ik hem zie", "violence"),
    ("fr", "il veut crever le gars qui a filmé sa soeur", "violence"),
    ("fr", "je vais crever de chaud dans ce bus", None),
    ("en", "he says he will jump that kid after school tomorrow", "violence"),
    ("en", "we jump the queue at the bakery every morning", None),
    # an incendiary bomb is a weapon even where no venue is named
    ("de", "er sagt, er wirft morgen einen molotowcocktail auf das haus", "weapons"),
    ("nl", "ik vond een molotovcocktail in zijn kast", "weapons"),
    ("fr", "il a fabriqué un cocktail molotov dans la cave", "weapons"),
    ("en", "i found a molotov cocktail under his bed", "weapons"),
    ("de", "als er 13 war, wurde er von den jungs aus der oberstadt verprügelt, das ist zum glück vorbei", None),
]


#: sixteenth round: the past said in other ways (an imperfect with how it ended, ages in words, "il fut un temps", two
#: school years, "ik was 15 toen"), idioms found by probes, and a relapse said as such, which brings back the danger
#: named before it ("je me scarifiais en secondaire ... depuis juin ça recommence"); denied, a relapse is none
PAST_AND_RELAPSE: list[tuple[str, str, str | None]] = [
    ("fr", "mon beau-père me frappait avant, maintenant il est parti et on est tranquilles", None),
    ("fr", "quand j'avais douze ans je voulais mourir, aujourd'hui je suis maman", None),
    ("fr", "il fut un temps où je me scarifiais tous les soirs, j'ai deux enfants maintenant", None),
    ("fr", "jai fait une TS en 3e, maintenant je suis en rheto et ca va", None),
    ("fr", "je me scarifiais en secondaire, j'avais arrêté pendant mes études, et depuis juin ça recommence",
     "self_harm"),
    ("fr", "il y a longtemps ma mère nous enfermait dans la cave, elle recommence avec mon petit frère", "home"),
    ("fr", "elle a fait une tentative il y a quatre jours et ce soir elle ne répond plus", "self_harm"),
    ("fr", "elle a le couteau sous la gorge avec son mémoire à rendre lundi", None),
    ("fr", "il a mis le couteau sous la gorge de sa soeur", "weapons"),
    ("fr", "il s'est fait descendre en flammes par son prof devant toute la classe", None),
    ("nl", "ik was 15 toen ik afscheidsbrieven schreef, ik ben er nu 23 en gelukkig", None),
    ("nl", "ze sneed zichzelf vroeger, ze is nu hervallen", "self_harm"),
    ("nl", "ze sneed zichzelf vroeger, ze is al drie jaar niet meer hervallen", None),
    ("nl", "de leerkracht zet hem het mes op de keel: voor vrijdag inleveren", None),
    ("nl", "dat is geen spreekwoord, hij zei dat hij haar gaat afmaken", "violence"),
    ("de", "früher hat sie sich geritzt, jetzt hatte sie einen Rückfall", "self_harm"),
    ("de", "früher hat sie sich geritzt, seit drei Jahren kein Rückfall", None),
    ("en", "she used to cut herself, she has relapsed", "self_harm"),
    ("en", "she used to cut herself, no relapse for three years now", None),
    ("en", "he burned himself with a lighter again last night", "self_harm"),
    ("en", "the dutch oral tomorrow is gonna kill me", None),
    ("fr", "je vais me pendre si j'entends encore cette chanson", None),
    ("fr", "si j'entends encore cette chanson de l'été je me jette par la fenêtre", None),
    ("fr", "si j'entends encore mon père crier sur maman je me tue", "self_harm"),
    ("fr", "elle dit qu'elle se tue ce soir", "self_harm"),
    ("fr", "je me tue à te le dire", None),
    ("fr", "lol je vais me flinguer, j'ai les cachets de maman dans ma poche", "self_harm"),
    ("nl", "hij grapt dat hij voor altijd gaat slapen na de examens lol", None),
    ("nl", "ze dacht aan zelfmoord, dat was 4 jaar geleden, ze is nu aan het studeren voor advocaat", None),
    ("nl", "ze dacht aan zelfmoord, dat was 4 jaar geleden, maar ze is nu aan het snijden in haar armen", "self_harm"),
    ("nl", "mijn stiefvader heeft mij geslagen tot mijn 15de, ik woon nu alleen", None),
    ("nl", "sinds de dood van zijn hond is hij stil", None),
    ("nl", "hij zette het mes op de keel van mijn moeder", "weapons"),
    ("fr", "C'est pas une blague, il a vraiment le flingue sous son lit.", "weapons"),
]


def test_grief_takes_back_its_words_but_leaves_the_model_free(screen: Screen) -> None:
    """"Sinds de dood van haar bomma" fires no rule (a death, no threat), and, unlike an idiom, keeps no model quiet:
    there is where a wish to follow the dead is said (sixteenth round: it was an idiom, and silenced the model)."""
    grief = "sinds de dood van haar bomma wil ze bij haar zijn"
    rules_only = Screen(screen.rules, screen.languages, {})
    assert rules_only.check(grief, "nl") is None
    concepts = rules_only._check_in(grief, "nl")[1]
    assert screen.rules.neutral in concepts and screen.rules.idiom not in concepts
    assert not screen.rules.silences_model("self_harm", concepts)


@pytest.mark.parametrize(("lang", "text", "category"), PAST_AND_RELAPSE)
def test_the_rules_alone_read_the_past_and_a_relapse(screen: Screen, lang: str, text: str,
                                                     category: str | None) -> None:
    hit = Screen(screen.rules, screen.languages, {}).check(text, lang)
    assert (hit.category if hit else None) == category


@pytest.mark.parametrize(("lang", "text", "category"), AGES + NEWS_TOO_WIDE + THROWN_AND_OLD + UNSAID_THREATS)
def test_the_rules_alone_see_what_a_filter_took_too_widely(screen: Screen, lang: str, text: str,
                                                            category: str | None) -> None:
    """The model caught most of these; the rules are the layer that must not depend on it."""
    hit = Screen(screen.rules, screen.languages, {}).check(text, lang)
    assert (hit.category if hit else None) == category


#: threats told with the news of an attack: the news yields to no time (twelfth round), so each must carry its own
#: intent — a threat reported with its time, a copycat — or it would be read as news talk
NEWS_THREATS = [
    ('nl', 'hij keek de hele dag naar het journaal over de schietpartij en zegt dat hij morgen iedereen op '
           'school neerschiet'),
    ('nl', 'na het nieuws over de aanslag zei hij dat hij vrijdag de moskee opblaast'),
    ('nl', 'mijn zoon zag op het journaal een aanslag en zegt nu dat hij morgen hetzelfde doet op school'),
    ('en', 'he watched the news about the shooting all day and says today he shoots everyone at school'),
    ('en', 'after the news about the attack he said on friday he blows up the mosque'),
    ('en', 'after watching the news about the shooting my son said he will do the same at school on friday'),
    ('fr', 'il a regarde les infos sur la fusillade toute la journee et dit que demain il tire sur tout le monde '
           'a l ecole'),
    ('fr', 'apres le journal sur l attentat il a dit que vendredi il fait sauter la mosquee'),
    ('fr', 'apres le journal sur la fusillade mon fils a dit qu il ferait pareil vendredi a l ecole'),
    ('de', 'er hat den ganzen tag nachrichten ueber den amoklauf geschaut und sagt morgen erschiesst er alle in '
           'der schule'),
    ('de', 'nach den nachrichten ueber den anschlag sagt er am freitag sprengt er die moschee'),
    ('de', 'nach den nachrichten ueber den amoklauf sagt mein sohn er macht das gleiche am freitag in der schule'),
]


@pytest.mark.parametrize(("lang", "threat"), NEWS_THREATS)
def test_a_threat_told_with_the_news_is_no_news(screen: Screen, lang: str, threat: str) -> None:
    hit = screen.check(threat, lang)
    assert hit is not None and hit.category in {"attack", "violence"} and hit.imminent


#: plain lexicon words whose Snowball stem has two letters or fewer: each matches every word with that stem. French
#: "tuer" and "tuerais" stem to "tu" and made idioms fire on "tu" (thirteenth round); these are the function words
#: and short words left, each harmless as a stem (a new one must be written "=word" or added here knowingly). "vue" and
#: "vues" were here until the seventeenth round, when "j'ai vu sur son telephone que l'ecole va exploser vendredi" was
#: found an idiom ("vues ... va exploser", views going through the roof): they are exact words now
SHORT_STEMS = {
    "nl": {"alle", "alles", "als", "appt", "appte", "ons", "uien"},
    "fr": {"ans", "des", "es", "fier", "hier", "hts", "ils", "les", "mes", "rue", "ses", "vie"},
    "de": set(),
    "en": {"abs", "being", "doing", "going"},
}


@pytest.mark.parametrize("lang", LANGS)
def test_no_lexicon_word_stems_to_a_word_it_does_not_mean(lang: str) -> None:
    import yaml

    from flows.screen.analysis import analyser
    from flows.screen.screen import LEXICONS

    stem = analyser(lang).stem
    doc = yaml.safe_load((LEXICONS / f"{lang}.yaml").read_text(encoding="utf-8"))
    short = {alt for patterns in doc["concepts"].values() for pattern in patterns for term in pattern.split()
             for alt in term.split("|")
             if alt not in ("...", "^") and not alt.startswith(("=", "*")) and not alt.endswith("*") and "_" not in alt
             and len(stem(alt)) <= 2 and stem(alt) != alt}
    assert short == SHORT_STEMS[lang]


@pytest.mark.parametrize(("lang", "danger", "category", "harmless"), FAULTS + PROBES)
def test_danger_a_fault_once_let_pass_is_caught_and_its_look_alike_is_not(
    screen: Screen, lang: str, danger: str, category: str | None, harmless: str | None
) -> None:
    hit = screen.check(danger, lang)
    assert hit is not None, "danger is caught"
    assert category is None or hit.category == category
    if harmless is not None:
        assert screen.check(harmless, lang) is None, "its harmless look-alike is not"


def test_a_hit_says_which_words_fired(screen: Screen) -> None:
    hit = screen.check("hij heeft een machete in zijn rugzak", "nl")
    assert hit is not None and hit.category == "weapons"
    assert any("machete" in e for e in hit.evidence)


@pytest.mark.parametrize("lang", LANGS)
def test_the_corpus_has_enough_labelled_messages_of_every_kind(lang: str) -> None:
    items = list(examples(lang))
    urgent = [e for e in items if e.urgent]
    harmless = [e for e in items if not e.urgent]
    assert len(items) >= 300 and len(urgent) >= 120 and len(harmless) >= 180
    assert set(Counter(e.category for e in urgent)) == set(CATEGORIES)
    assert {"idiom", "joke", "school", "news", "past", "faith"} <= {e.category for e in harmless}
    assert {e.split for e in items} <= set(SPLITS), "every line in a named part"
    assert {"held16", "held19", "train18"} <= {e.split for e in items}, "each language has its blind parts"
    assert len({e.text for e in items}) == len(items), "no message twice"


def test_every_named_part_of_the_corpus_holds_lines() -> None:
    used = {e.split for lang in LANGS for e in examples(lang)}
    assert used == set(SPLITS)


@pytest.mark.parametrize("lang", LANGS)
def test_the_tune_part_is_caught_without_false_alarms(screen: Screen, lang: str) -> None:
    """A guard against regressions: the lexicons were written from this part, so it must stay clean."""
    tune = [e for e in examples(lang) if e.split == "tune"]
    missed = [e.text for e in tune if e.urgent and screen.check(e.text, lang) is None]
    alarmed = [e.text for e in tune if not e.urgent and screen.check(e.text, lang) is not None]
    assert missed == [] and alarmed == []


def test_baken_screen_answers_line_by_line_in_order(tmp_path: object) -> None:
    lines = [NO_LIFE["nl"], "hij is boos op de wereld", "", KNIFE["nl"], "mijn arme zoon"]
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "screen", "--lang", "nl"], input="\n".join(lines) + "\n",
        capture_output=True, text=True, timeout=60, check=True, env={**os.environ},
    )
    assert result.stdout.splitlines() == ["self_harm", "none", "none", "violence", "none"]


def test_baken_screen_piped_into_a_reader_that_stops_early_ends_quietly() -> None:
    """A reviewer's `baken screen --lang nl < phrases.txt | head -3`: the reader goes away after three lines, and
    the screen must end without a traceback (it printed 'BrokenPipeError' before)."""
    screen_proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "screen", "--lang", "nl"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    assert screen_proc.stdin is not None and screen_proc.stdout is not None
    screen_proc.stdin.write((NO_LIFE["nl"] + "\n").encode())
    screen_proc.stdin.flush()
    first = screen_proc.stdout.readline()  # its first answer, then the reader goes away like `head`
    screen_proc.stdout.close()
    try:
        screen_proc.stdin.write(((NO_LIFE["nl"] + "\n") * 5000).encode())
        screen_proc.stdin.close()
    except BrokenPipeError:
        pass  # the screen may already have ended: what matters is how
    err = screen_proc.stderr.read() if screen_proc.stderr else b""
    screen_proc.wait(timeout=60)
    assert first.strip() == b"self_harm"
    assert screen_proc.returncode == 0, err
    assert b"Traceback" not in err


def test_baken_screen_eval_prints_the_table_per_language_and_category() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "screen", "--eval"], capture_output=True, text=True, timeout=120,
        check=True,
    )
    out = result.stdout
    for lang in LANGS:
        for category in CATEGORIES:
            assert any(line.startswith(f"{lang:5} {category:10}") for line in out.splitlines()), (lang, category)
    assert "recall" in out and "FP rate" in out and "phrases in the lexicons" in out


@pytest.mark.parametrize("lang", LANGS)
def test_the_committed_stem_table_holds_every_lexicon_word_and_snowballs_stem(lang: str) -> None:
    """Start-up reads the lexicons' stems from a table instead of stemming 5 700 words: it must be current."""
    from flows.screen import stems

    assert stems.read(lang) == stems.build(lang), "stale stem table: run `make screen-model`"


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_stemmer_stems_as_snowballs_own_python(lang: str) -> None:
    """PyStemmer (Snowball's rules compiled, 20 times faster on a new word) is what the screen uses; the lexicons, the
    stem tables and the model were built with snowballstemmer's pure Python: both must give every word the same stem,
    or a lock update that moves one of them without the other would silently change what the screen reads."""
    import importlib

    from flows.screen import stems
    from flows.screen.analysis import STEMMERS, analyser

    name = STEMMERS[lang]
    in_use = analyser(lang)._stemmer
    assert type(in_use).__module__ == "Stemmer", f"the compiled stemmer is not in use: {type(in_use)}"
    module = importlib.import_module(f"snowballstemmer.{name}_stemmer")
    python = getattr(module, f"{name.capitalize()}Stemmer")()
    corpus = {w for ex in examples(lang) for w in analyser(lang)._split(ex.text)}
    words = sorted(set(stems.read(lang)) | corpus)
    differ = [w for w in words if in_use.stemWord(w) != python.stemWord(w)]
    assert not differ, differ[:20]


def test_a_stem_table_from_another_snowball_is_ignored() -> None:
    from flows.screen.analysis import _STEM_CACHE, preload_stems

    assert not preload_stems("nl", {"wapens": "wapens-anders"})
    assert ("nl", "wapens") not in _STEM_CACHE or _STEM_CACHE[("nl", "wapens")] == "wapen"


def test_a_typo_reaches_only_the_danger_words_it_is_near() -> None:
    """'gedreht' is one letter from the threat 'gedroht': forgiven as a typo in the danger concept, it must not
    also switch on an exact '=gedroht' listed in another concept (typos are never forgiven there)."""
    from flows.screen.analysis import analyser
    from flows.screen.lexicon import Lexicon

    lexicon = Lexicon("de", {"harm": ["gedroht"], "home": ["vater ... =gedroht"]}, analyser("de"),
                      typo_concepts=frozenset({"harm"}))
    concepts = {f.concept for f in lexicon.scan(["vater", "hat", "video", "gedreht"])}
    assert concepts == {"harm"}, concepts


def test_baken_screen_eval_measures_a_set_kept_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "en.tsv").write_text(
        "urgent\tviolence\toutside\the says he will stab his teacher tomorrow\n"
        "harmless\tidiom\toutside\tthat exam killed me lol\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "screen", "--eval", "--corpus", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert f"the set in {tmp_path}" in result.stdout
    assert "recall 1/1 = 100.0%, false positives 0/1 = 0.0%" in result.stdout
    (tmp_path / "en.tsv").write_text("urgent\tviolence\n", encoding="utf-8")
    broken = subprocess.run([sys.executable, "-m", "bot.cli", "screen", "--eval", "--corpus", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode == 2 and "expected label, category, split, text" in broken.stderr
    assert "Traceback" not in broken.stderr
