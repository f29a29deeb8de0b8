"""The commands Telegram lists in its menu, described in each of Baken's languages."""

from __future__ import annotations

from telegram import Bot, BotCommand

from content.i18n import DEFAULT_LOCALE, LOCALES, N_, translator

#: command -> description (msgids; Telegram allows 1-256 characters)
COMMANDS: dict[str, str] = {
    "start": N_("Start the conversation"),
    "urgent": N_("Emergency numbers"),
    "help": N_("What I can do, and the commands"),
    "language": N_("Change the language"),
    "restart": N_("Start again from the beginning"),
    "stop": N_("End the conversation and withdraw a request"),
    "forget": N_("Erase everything you told me"),
    "mydata": N_("See everything Baken keeps about you"),
}


def commands_in(locale: str) -> list[BotCommand]:
    t = translator(locale)
    return [BotCommand(name, t(description)) for name, description in COMMANDS.items()]


async def register_commands(bot: Bot) -> None:
    """One list per language for people whose Telegram speaks it, and Dutch for everyone else."""
    await bot.set_my_commands(commands_in(DEFAULT_LOCALE))
    for locale in LOCALES:
        await bot.set_my_commands(commands_in(locale), language_code=locale)
