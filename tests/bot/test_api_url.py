"""BAKEN_TELEGRAM_API_URL works written as the server's root or as PTB's base_url (ending in /bot)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.telegram.links import bot_username
from bot.settings import Settings
from tests.bot.fake_telegram import BOT_USERNAME, TOKEN, FakeBotAPI


@pytest.mark.parametrize(
    ("written", "root"),
    [
        ("https://tg.example", "https://tg.example"),
        ("https://tg.example/", "https://tg.example"),
        ("https://tg.example/bot", "https://tg.example"),
        ("https://tg.example/bot/", "https://tg.example"),
        ("https://tg.example/file/bot", "https://tg.example"),
        ("https://tg.example/telegram/bot", "https://tg.example/telegram"),
        ("", None),
    ],
)
def test_both_forms_give_the_servers_root(written: str, root: str | None) -> None:
    assert Settings(telegram_api_url=written).telegram_api_url == root


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.close()


@pytest.mark.parametrize("suffix", ["", "/bot", "/bot/"])
async def test_a_self_hosted_server_written_either_way_answers(fake: FakeBotAPI, suffix: str) -> None:
    settings = Settings(telegram_token=TOKEN, telegram_api_url=fake.url + suffix)
    assert await bot_username(TOKEN, settings.telegram_api_url) == BOT_USERNAME
