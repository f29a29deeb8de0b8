"""How replies become Telegram messages: escaping, bold, the 4,096 limit, keyboards; and the flood gate."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.lanes import KeyedLocks
from bot.channels.telegram.render import DATA_LIMIT, TEXT_LIMIT, compose, keyboard, split_text, to_html, utf16_len
from content.i18n import LOCALES
from flows.conversation import Content
from flows.messages import Button, Outbound


def test_text_is_escaped_before_content_bold_is_applied() -> None:
    assert to_html("<b>hi</b> & <i>") == "&lt;b&gt;hi&lt;/b&gt; &amp; &lt;i&gt;"
    assert to_html("Read **this** first, **then** that") == "Read <b>this</b> first, <b>then</b> that"
    assert to_html("a * b ** c") == "a * b ** c", "a lone star or pair never formats"
    assert to_html("**<script>**") == "<b>&lt;script&gt;</b>"


def test_long_texts_split_on_paragraphs_and_never_exceed_the_limit() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    parts = split_text("\n\n".join(paragraphs))
    assert len(parts) > 1 and all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    assert all(p.startswith("Paragraph") for p in parts), "cuts fall between paragraphs"
    assert "".join(parts).replace(" ", "").replace("\n", "") == "".join(paragraphs).replace(" ", "")


def test_emoji_count_twice_and_a_text_without_spaces_is_still_cut() -> None:
    emoji = "😔" * 3000  # 6,000 UTF-16 units
    parts = split_text(emoji)
    assert [utf16_len(p) for p in parts] == [4096, 6000 - 4096] and "".join(parts) == emoji
    assert split_text("x" * 4096) == ["x" * 4096]


def test_buttons_go_on_the_last_part_one_per_row() -> None:
    reply = Outbound("line\n" * 1000, (Button("go", "Continue"), Button("back", "« Back")))
    parts = compose([reply])
    assert len(parts) == 2 and parts[0].markup is None and parts[1].markup is not None
    rows = parts[1].markup.inline_keyboard
    assert [[b.callback_data for b in row] for row in rows] == [["go"], ["back"]]


def test_plain_replies_share_a_message_but_urgent_numbers_stand_alone() -> None:
    thanks, numbers, question = Outbound("Thanks."), Outbound("Call 112.", urgent=True), Outbound(
        "Next?", (Button("go", "Go"),))
    assert [p.html for p in compose([thanks, Outbound("More."), question])] == ["Thanks.\n\nMore.\n\nNext?"]
    assert [p.html for p in compose([thanks, numbers, question])] == ["Thanks.", "Call 112.", "Next?"]
    assert [p.html for p in compose([question, thanks])] == ["Next?", "Thanks."], "a keyboard ends a message"


def test_callback_data_over_64_bytes_is_refused() -> None:
    assert keyboard([Button("é" * 32, "ok")]) is not None
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard([Button("é" * 33, "too long")])


def test_every_article_button_fits_in_callback_data(content: Content) -> None:
    for lang in LOCALES:
        for article in content.library.in_language(lang):
            assert len(f"read:{article.id}".encode()) <= DATA_LIMIT, article.id


def test_the_flood_gate_lets_a_burst_through_then_paces_one_person() -> None:
    now = [0.0]
    gate = FloodGate(rate=2.0, burst=3, clock=lambda: now[0])
    assert [gate.delay("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert gate.delay("a") == pytest.approx(0.5) and gate.delay("a") == pytest.approx(1.0)
    assert gate.delay("b") == 0.0, "another person is not affected"
    now[0] += 10
    assert gate.delay("a") == 0.0, "after a pause the bucket is full again"


def test_the_flood_gate_forgets_idle_people() -> None:
    now = [0.0]
    gate = FloodGate(rate=1.0, burst=2, clock=lambda: now[0], max_keys=100)
    for i in range(100):
        gate.delay(f"p{i}")
    now[0] += 5
    gate.delay("new")
    assert len(gate._buckets) == 1


async def test_chat_lanes_keep_one_lock_per_busy_chat_only() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    inside = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold(1):
            inside.set()
            await release.wait()
            order.append("first")

    async def second() -> None:
        async with locks.hold(1):
            order.append("second")

    async def other() -> None:
        async with locks.hold(2):
            order.append("other chat")

    a = asyncio.create_task(first())
    await inside.wait()
    b = asyncio.create_task(second())
    await other()
    release.set()
    await asyncio.gather(a, b)
    assert order == ["other chat", "first", "second"] and len(locks) == 0
