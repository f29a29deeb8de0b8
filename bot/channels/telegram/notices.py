"""What the Telegram channel says itself, outside any conversation: msgids for the babel catalog."""

from __future__ import annotations

from content.i18n import DEFAULT_LOCALE, N_, normalise_locale, translator

PRIVATE_ONLY = N_(
    "Hello! I only talk with people one to one, never in a group or channel, so that what you tell me stays "
    "between us. Open a private chat with me to start. I am leaving this group now."
)
CHAT_CLEARED = N_("I have also deleted our messages from this chat.")
SOME_MESSAGES_REMAIN = N_(
    "Some older messages are still in this chat: Telegram only lets me delete messages from the last 48 "
    "hours. You can delete them yourself, or delete the whole chat."
)

SLOW_DOWN = N_(
    "You are sending many messages very quickly. I read every one of them, in order, so my answers will come "
    "a little slower for now. If someone is in danger, call 112 or 101 straight away."
)


def say(msgid: str, language_code: str | None) -> str:
    """A notice in the person's Telegram language when Baken speaks it, otherwise in Dutch."""
    return translator(normalise_locale(language_code) or DEFAULT_LOCALE)(msgid)
