"""The Telegram channel: python-telegram-bot inside Baken's aiohttp server, as thin as a channel can be."""

from bot.channels.telegram.channel import DEFAULT_API_URL, RETRY_AFTER, Handled, TelegramChannel, TelegramTuning

__all__ = ["DEFAULT_API_URL", "RETRY_AFTER", "Handled", "TelegramChannel", "TelegramTuning"]
