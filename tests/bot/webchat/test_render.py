"""What the web chat shows for the conversation's messages: escaped text, tap-to-call, articles, checkboxes."""

from __future__ import annotations

from bot.channels.webchat.render import render_message
from content.directory import Labels
from flows.conversation import Content
from flows.messages import Button, Outbound


def test_text_from_people_is_never_markup() -> None:
    shown = render_message(Outbound('<script>alert("x")</script> **really** <b>'))
    assert "<script>" not in str(shown["html"]) and "&lt;script&gt;" in str(shown["html"])
    assert "<strong>really</strong>" in str(shown["html"]) and "&lt;b&gt;" in str(shown["html"])


def test_emergency_numbers_are_tap_to_call() -> None:
    shown = render_message(Outbound("If someone is in danger right now, call:\n☎ 112 – Emergency\n☎ 101 – Police",
                                    urgent=True))
    assert shown["urgent"] is True
    assert '<a class="tel" href="tel:112">112</a>' in str(shown["html"])
    assert 'href="tel:101"' in str(shown["html"])


def test_contacts_are_cards_with_their_numbers_and_hours(content: Content) -> None:
    topics = ["listening", "suicide", "youth"]
    listed = content.directory.select(place=None, lang="fr", audience="parent", topics=topics)
    contacts = [c for c in listed if c.phone][:3]  # some services give a website only
    text = "\n\n".join(content.format_contact(c, "fr") for c in contacts)
    shown = render_message(Outbound(text))
    markup = str(shown["html"])
    assert shown["kind"] == "contacts" and markup.count('<section class="contact">') == len(contacts) == 3
    assert 'href="tel:' in markup
    labels = Labels.load()
    hours = ("Joignable", labels.text("hours_unknown", "fr"), labels.text("hours_unknown_no_website", "fr"))
    assert markup.count("<li>") >= 3 and all(
        any(h in section for h in hours) for section in markup.split('<section class="contact">')[1:]
    ), "every card says when the service answers"


def test_an_article_reads_as_a_page(content: Content) -> None:
    article = content.library.in_language("de")[0]
    shown = render_message(Outbound(f"{article.title}\n\n{article.body}"))
    assert shown["kind"] == "article"
    assert str(shown["html"]).startswith('<h2 class="article-title">')
    assert "<h3>" in str(shown["html"]) and "<li>" in str(shown["html"])


def test_multi_select_becomes_checkboxes_with_done_and_back() -> None:
    shown = render_message(Outbound("Tick all that apply", (
        Button("tick:withdrawn", "✓ Withdraws"), Button("tick:online", "Online a lot"),
        Button("go", "Done"), Button("back", "« Back"),
    )))
    assert shown["checks"] == [
        {"value": "withdrawn", "label": "Withdraws", "checked": True},
        {"value": "online", "label": "Online a lot", "checked": False},
    ]
    assert shown["buttons"] == [{"data": "go", "label": "Done"}, {"data": "back", "label": "« Back"}]
