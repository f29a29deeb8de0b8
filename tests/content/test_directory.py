"""Which services a person is shown, and what the content check catches."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from content.directory import CONTACTS_DIR, Contact, Directory, DirectoryError, check, format_contact
from content.postcodes import Place, PostcodeIndex

RADICALISATION_WORRY = ["radicalisation", "parenting", "welfare", "listening"]


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load()


@pytest.fixture(scope="module")
def postcodes() -> PostcodeIndex:
    return PostcodeIndex.load()


def place(postcodes: PostcodeIndex, code: str) -> Place:
    found = postcodes.get(code)
    assert found is not None
    return found


def ids(contacts: list[Contact]) -> list[str]:
    return [c.id for c in contacts]


def copy_contacts(tmp_path: Path) -> Path:
    target = tmp_path / "contacts"
    shutil.copytree(CONTACTS_DIR, target)
    return target


def edit_entry(folder: Path, file: str, contact_id: str, **changes: object) -> None:
    path = folder / file
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in entries:
        if entry["id"] == contact_id:
            entry.update(changes)
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")


# ---- the shipped data


def test_the_shipped_directory_has_no_problems(directory: Directory) -> None:
    assert directory.problems() == []
    assert check() == []


def test_the_required_services_are_there(directory: Directory) -> None:
    expected = {
        "emergency-112": "112", "police-101": "101", "tele-onthaal": "106", "tele-accueil": "107",
        "telefonhilfe-108": "108", "zelfmoordlijn-1813": "1813", "centre-prevention-suicide": "0800 32 123",
        "awel": "102", "ecoute-enfants": "103", "child-focus": "116 000", "hulplijn-1712": "1712",
        "opvoedingslijn": "078 15 00 10", "caw": "0800 13 500", "druglijn": "078 15 10 20",
        "caprev": "0800 111 72", "wegweiser-ostbelgien": "+32 471 91 94 90",
    }
    for contact_id, phone in expected.items():
        assert directory.get(contact_id).phone == phone
    for contact_id in ("jac", "huizen-van-het-kind", "infor-drogues", "kaleido-ostbelgien", "nupraatikerover",
                       "onderwijs-aanspreekpunt"):
        assert directory.get(contact_id).phone is None  # no number was found: none is invented


def test_the_two_suicide_lines_are_never_mixed_up(directory: Directory) -> None:
    dutch, french = directory.get("zelfmoordlijn-1813"), directory.get("centre-prevention-suicide")
    assert (dutch.phone, dutch.communities, dutch.languages) == ("1813", ("nl",), ("nl",))
    assert (french.phone, french.communities, french.languages) == ("0800 32 123", ("fr",), ("fr",))


def test_no_hours_are_shown_where_the_sources_disagree(directory: Directory) -> None:
    for contact_id in ("caprev", "opvoedingslijn", "hulplijn-1712", "awel", "child-focus", "druglijn", "caw"):
        assert directory.get(contact_id).hours is None
    assert directory.get("wegweiser-ostbelgien").email is None  # printed with a misspelt domain


# ---- select()


def test_a_parent_in_vilvoorde(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "1800"), lang="nl", audience="parent", topics=RADICALISATION_WORRY)
    assert "vilvoorde-cocon" in ids(found)
    assert "opvoedingslijn" in ids(found)
    assert found[0].id == "opvoedingslijn"  # ordinary help first, the specialised local service after it
    assert all(c.scope != "local" or "Vilvoorde" in c.municipalities for c in found)
    assert all(set(c.communities) != {"fr"} for c in found)  # never a French-community-only line
    assert "vilvoorde-consultpunt" not in ids(found)  # the city's consult point is for professionals


def test_within_ordinary_help_local_comes_before_community_before_national(
    directory: Directory, postcodes: PostcodeIndex
) -> None:
    found = directory.select(place=place(postcodes, "1800"), lang="nl", audience="parent",
                             topics=["parenting", "welfare", "listening"], limit=20)
    ordinary = [c for c in found if not c.specialised_in_radicalisation]
    assert [c.tier for c in ordinary] == sorted(c.tier for c in ordinary)
    assert ordinary[0].id == "opvoedingslijn"  # first-line help before specialised help


def test_a_teacher_in_vilvoorde_gets_the_city_consult_point(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "1800"), lang="nl", audience="teacher",
                             topics=["radicalisation"])
    assert {"vilvoorde-consultpunt", "onderwijs-aanspreekpunt"} <= set(ids(found))


def test_eupen(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "4700"), lang="de", audience="parent", topics=RADICALISATION_WORRY)
    assert {"wegweiser-ostbelgien", "kaleido-ostbelgien", "telefonhilfe-108"} <= set(ids(found))
    assert all(c.scope == "national" or "de" in c.communities for c in found)


def test_a_french_speaking_parent_in_brussels_gets_caprev(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "1000"), lang="fr", audience="parent", topics=RADICALISATION_WORRY)
    assert "caprev" in ids(found)
    assert found[0].languages == ("fr",)  # their language first


def test_brussels_gets_both_communities(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "1030"), lang="nl", audience="parent",
                             topics=["listening"], limit=10)
    assert {"tele-onthaal", "tele-accueil"} <= set(ids(found))


def test_a_molenbeek_parent_gets_the_local_service(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "1080"), lang="fr", audience="parent", topics=RADICALISATION_WORRY)
    assert "molenbeek-prevention" in ids(found)
    assert found[0].id != "molenbeek-prevention"  # kept, but never first by default


def test_a_district_of_antwerp_gets_antwerp_services(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "2100"), lang="nl", audience="parent", topics=RADICALISATION_WORRY)
    assert "antwerpen-de-touter" in ids(found)


@pytest.mark.parametrize("code", [None, "1800", "1000", "4000", "4700", "9000"])
@pytest.mark.parametrize("lang", ["nl", "fr", "de", "en"])
def test_teachers_only_services_never_go_to_a_parent(
    directory: Directory, postcodes: PostcodeIndex, code: str | None, lang: str
) -> None:
    where = place(postcodes, code) if code else None
    for audience in ("parent", "all", "young"):
        found = directory.select(place=where, lang=lang, audience=audience,
                                 topics=[*RADICALISATION_WORRY, "school", "classroom"], limit=50)
        assert not {"onderwijs-aanspreekpunt", "equipes-mobiles"} & set(ids(found))


def test_without_a_place_the_language_decides(directory: Directory) -> None:
    dutch = directory.select(place=None, lang="nl", audience="parent", topics=RADICALISATION_WORRY, limit=50)
    assert "opvoedingslijn" in ids(dutch) and "caprev" not in ids(dutch)
    assert all(c.scope != "local" for c in dutch)
    french = directory.select(place=None, lang="fr", audience="parent", topics=RADICALISATION_WORRY, limit=50)
    assert "caprev" in ids(french) and "opvoedingslijn" not in ids(french)
    english = directory.select(place=None, lang="en", audience="parent", topics=["listening"], limit=50)
    assert {"tele-onthaal", "tele-accueil", "telefonhilfe-108"} <= set(ids(english))
    assert "infor-drogues" not in ids(directory.select(place=None, lang="en", audience="parent", topics=["drugs"]))


def test_a_young_person_gets_youth_lines(directory: Directory) -> None:
    for lang, line in (("nl", "awel"), ("fr", "ecoute-enfants"), ("de", "telefonhilfe-108")):
        found = directory.select(place=None, lang=lang, audience="young", topics=["youth", "listening", "suicide"])
        assert line in ids(found)
    assert "jac" in ids(directory.select(place=None, lang="nl", audience="young", topics=["youth"]))


def test_emergency_numbers_only_when_asked(directory: Directory) -> None:
    found = directory.select(place=None, lang="nl", audience="parent", topics=RADICALISATION_WORRY, limit=50)
    assert not {"emergency-112", "police-101"} & set(ids(found))


def test_the_limit_is_kept(directory: Directory, postcodes: PostcodeIndex) -> None:
    found = directory.select(place=place(postcodes, "1000"), lang="nl", audience="parent",
                             topics=RADICALISATION_WORRY, limit=3)
    assert len(found) == 3


def test_an_unknown_topic_still_gives_a_listening_line(directory: Directory) -> None:
    found = directory.select(place=None, lang="fr", audience="parent", topics=["faith"])
    assert found and found[0].id == "tele-accueil"
    assert all("listening" in c.topics for c in found)


# ---- emergency()


@pytest.mark.parametrize("lang", ["nl", "fr", "de", "en"])
def test_emergency_starts_with_112_and_101(directory: Directory, lang: str) -> None:
    for self_harm in (False, True):
        found = directory.emergency(place=None, lang=lang, self_harm=self_harm)
        assert [c.phone for c in found[:2]] == ["112", "101"]
    assert [c.phone for c in directory.emergency(place=None, lang=lang)] == ["112", "101"]


def test_emergency_gives_the_suicide_line_of_the_persons_language(directory: Directory,
                                                                   postcodes: PostcodeIndex) -> None:
    def phones(**kwargs: object) -> list[str | None]:
        return [c.phone for c in directory.emergency(self_harm=True, **kwargs)]  # type: ignore[arg-type]

    assert phones(place=None, lang="nl") == ["112", "101", "1813"]
    assert phones(place=None, lang="fr") == ["112", "101", "0800 32 123"]
    assert phones(place=None, lang="de") == ["112", "101", "108"]
    assert phones(place=place(postcodes, "1800"), lang="nl") == ["112", "101", "1813"]
    assert phones(place=place(postcodes, "4000"), lang="fr") == ["112", "101", "0800 32 123"]
    assert phones(place=place(postcodes, "1800"), lang="fr") == ["112", "101", "0800 32 123", "1813"]
    assert {"1813", "0800 32 123"} <= set(phones(place=None, lang="en"))


def test_emergency_for_a_young_person(directory: Directory) -> None:
    assert [c.phone for c in directory.emergency(place=None, lang="nl", young=True)] == ["112", "101", "102"]
    assert [c.phone for c in directory.emergency(place=None, lang="fr", young=True)] == ["112", "101", "103"]
    assert [c.phone for c in directory.emergency(place=None, lang="de", self_harm=True, young=True)] == [
        "112", "101", "108"]


# ---- stale() and problems() on edited copies


def test_an_entry_reviewed_long_ago_is_stale(tmp_path: Path) -> None:
    folder = copy_contacts(tmp_path)
    edit_entry(folder, "flemish.yaml", "awel", reviewed=dt.date(2020, 1, 15))
    directory = Directory.load(folder)
    today = dt.date(2026, 12, 1)
    assert ids(directory.stale(months=12, today=today)) == ["awel"]
    assert directory.stale(months=12 * 10, today=today) == []
    assert len(directory.stale(months=0, today=dt.date(2027, 1, 1))) == len(directory)


def test_no_contact_claims_a_confirmation_that_never_happened(directory: Directory, tmp_path: Path) -> None:
    assert len(directory.unconfirmed()) == len(directory)  # nobody has phoned a service yet
    folder = copy_contacts(tmp_path)
    edit_entry(folder, "flemish.yaml", "awel", confirmed=dt.date(2026, 11, 25))
    assert "awel" not in ids(Directory.load(folder).unconfirmed())
    edit_entry(folder, "flemish.yaml", "awel", confirmed="soon")
    with pytest.raises(DirectoryError, match="awel: confirmed must be a date"):
        Directory.load(folder)


def test_a_service_seen_only_before_2020_carries_a_caveat(directory: Directory) -> None:
    kaleido = directory.get("kaleido-ostbelgien")  # seen 2014 – 2019
    assert kaleido.seen_only_before_2020
    assert "stammen aus der Zeit vor 2020" in format_contact(kaleido, "de", today=dt.date(2026, 12, 1))
    assert not directory.get("tele-onthaal").seen_only_before_2020  # seen up to 2025
    assert "before 2020" not in format_contact(directory.get("tele-onthaal"), "en", today=dt.date(2026, 12, 1))


def test_the_opvoedingslijn_counts_as_one_source(directory: Directory) -> None:
    # both pages that give its number repeat one 2016 press release
    assert directory.get("opvoedingslijn").confidence == "one-source"


def test_a_stale_contact_carries_a_warning(directory: Directory) -> None:
    opvoedingslijn = directory.get("opvoedingslijn")
    fresh = format_contact(opvoedingslijn, "en", today=dt.date(2026, 12, 1))
    old = format_contact(opvoedingslijn, "en", today=dt.date(2028, 1, 1))
    assert "last checked" not in fresh
    assert "These details were last checked on 23 November 2026; please check the website." in old
    assert "23. November 2026" in format_contact(opvoedingslijn, "de", today=dt.date(2028, 1, 1))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"phone": "078 15 00"}, "wrong number of digits"),
        ({"phone": "1813-x"}, "not written as digits"),
        ({"topics": ["parenting", "astrology"]}, "unknown topic 'astrology'"),
        ({"name": {"nl": "Opvoedingslijn", "fr": "Opvoedingslijn", "en": "Opvoedingslijn"}}, "name has no de text"),
        ({"scope": "local", "municipalities": ["Atlantis"]}, "municipality 'Atlantis' is not in the postcode list"),
        ({"audience": ["parents"]}, "unknown audience 'parents'"),
        ({"website": "opvoedingslijn.be"}, "is not a web address"),
        ({"email": "info(at)opvoedingslijn.be"}, "is not an e-mail address"),
        ({"communities": ["fr"]}, "phone 078 15 00 10 belongs to the nl community only"),
        ({"phone": None, "website": None, "chat": None}, "a person cannot reach it"),
        ({"hours": {"nl": "altijd"}}, "hours has no fr, de, en text"),
        ({"confidence": "pretty sure"}, "unknown confidence"),
        ({"colour": "blue"}, "unknown key 'colour'"),
    ],
)
def test_problems_catch_a_broken_entry(tmp_path: Path, changes: dict[str, object], expected: str) -> None:
    folder = copy_contacts(tmp_path)
    edit_entry(folder, "flemish.yaml", "opvoedingslijn", **changes)
    problems = Directory.load(folder).problems()
    assert any(expected in p and "opvoedingslijn" in p for p in problems), problems


def test_problems_catch_the_suicide_lines_swapped(tmp_path: Path) -> None:
    folder = copy_contacts(tmp_path)
    edit_entry(folder, "flemish.yaml", "zelfmoordlijn-1813", phone="0800 32 123")
    problems = Directory.load(folder).problems()
    assert any("zelfmoordlijn-1813" in p and "belongs to the fr community" in p for p in problems)


def test_problems_catch_a_duplicate_id(tmp_path: Path) -> None:
    folder = copy_contacts(tmp_path)
    edit_entry(folder, "local.yaml", "verviers-safer", id="caprev")
    assert any("duplicate id" in p and "caprev" in p for p in Directory.load(folder).problems())


def test_problems_catch_a_missing_emergency_line(tmp_path: Path) -> None:
    folder = copy_contacts(tmp_path)
    path = folder / "german.yaml"
    entries = [e for e in yaml.safe_load(path.read_text(encoding="utf-8")) if e["id"] != "telefonhilfe-108"]
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    problems = Directory.load(folder).problems()
    assert "directory: no suicide line with a phone for the de community" in problems


def test_problems_catch_a_missing_label_translation(tmp_path: Path) -> None:
    folder = copy_contacts(tmp_path)
    labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
    del labels["hours_unknown"]["de"]
    labels["phone"]["fr"] = "Téléphone"
    (folder / "labels.yaml").write_text(yaml.safe_dump(labels, allow_unicode=True), encoding="utf-8")
    problems = Directory.load(folder).problems()
    assert "labels.yaml: label 'hours_unknown' has no de text" in problems
    assert any("'phone' (fr) has other {placeholders}" in p for p in problems)


def test_an_unreadable_entry_is_refused_with_file_and_id(tmp_path: Path) -> None:
    folder = copy_contacts(tmp_path)
    path = folder / "french.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    del entries[0]["reviewed"]
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DirectoryError, match=r"french\.yaml: tele-accueil: missing reviewed"):
        Directory.load(folder)
    assert check(folder) == ["french.yaml: tele-accueil: missing reviewed"]


# ---- format_contact()


def test_a_contact_is_shown_in_a_few_plain_lines(directory: Directory) -> None:
    text = format_contact(directory.get("caprev"), "fr", today=dt.date(2026, 12, 1))
    lines = text.splitlines()
    assert lines[0] == "CAPREV (Fédération Wallonie-Bruxelles)"
    assert "Téléphone : 0800 111 72 (gratuit)" in lines
    assert "Heures d'ouverture : voir leur site web" in lines  # conflicting hours are never shown
    assert len(lines) <= 8
    assert "<" not in text and "*" not in text


def test_hours_are_shown_only_where_they_are_current(directory: Directory) -> None:
    assert "Open: day and night, every day" in format_contact(directory.get("emergency-112"), "en")
    awel = format_contact(directory.get("awel"), "nl", today=dt.date(2026, 12, 1))
    assert "Openingsuren: niet met zekerheid gekend" in awel  # no hours and no website


def test_a_one_source_number_and_another_language_are_flagged(directory: Directory) -> None:
    text = format_contact(directory.get("wegweiser-ostbelgien"), "en", today=dt.date(2026, 12, 1))
    assert "This service speaks German." in text
    assert "one source only" in text
    assert "speaks" not in format_contact(directory.get("wegweiser-ostbelgien"), "de")


@pytest.mark.parametrize("lang", ["nl", "fr", "de", "en"])
def test_every_contact_can_be_shown_in_every_language(directory: Directory, lang: str) -> None:
    for contact in directory:
        text = format_contact(contact, lang, today=dt.date(2030, 1, 1))
        assert text.startswith(contact.name_for(lang))
        assert "{" not in text
