"""What a private Telegram message means to the conversation: text, a command, or something Baken does not read.

Only the kind of an attachment crosses into the domain; its contents (a location, a phone number, a file)
are never read, stored or logged.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType

from flows.messages import Inbound, Unsupported

#: attachment attribute of a Message -> the kind answer the engine gives for it (anything else: OTHER)
ATTACHMENTS: dict[str, Unsupported] = {
    "sticker": Unsupported.STICKER,
    "photo": Unsupported.PHOTO,
    "live_photo": Unsupported.PHOTO,
    "paid_media": Unsupported.PHOTO,
    "voice": Unsupported.VOICE,
    "audio": Unsupported.VOICE,
    "video_note": Unsupported.VOICE,
    "video": Unsupported.VIDEO,
    "animation": Unsupported.VIDEO,
    "document": Unsupported.DOCUMENT,
    "location": Unsupported.LOCATION,
    "venue": Unsupported.LOCATION,
    "contact": Unsupported.CONTACT,
}
PRIVATE = ChatType.PRIVATE
GROUPS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL})


def inbound_of(message: Message) -> Inbound | None:
    """A new private message as an Inbound; None for service messages nobody typed (pins, timers)."""
    if isinstance(message.text, str):
        return Inbound.from_text(message.text)  # a forwarded text is just text; its origin is not read
    if message.text is not None:  # a forged update whose text is not text
        return Inbound.unsupported(Unsupported.OTHER)
    for attribute, kind in ATTACHMENTS.items():
        if getattr(message, attribute, None):
            return Inbound.unsupported(kind)
    if message.effective_attachment is not None:
        return Inbound.unsupported(Unsupported.OTHER)
    return None


def edit_of(message: Message) -> Inbound | None:
    """An edited message gets one kind word; a live location's moves arrive as edits and get none."""
    if message.location is not None:
        return None
    return Inbound.unsupported(Unsupported.EDITED)


def urgent_candidate(update: Update) -> tuple[int, Inbound, str | None] | None:
    """The private chat, inbound and language of an update that could ask for urgent help (a message or a
    button), read without the stored conversation; None for anything else."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != PRIVATE:
        return None
    language = user.language_code
    if update.message is not None and isinstance(update.message.text, str):
        return chat.id, Inbound.from_text(update.message.text), language
    if update.callback_query is not None and isinstance(update.callback_query.data, str):
        return chat.id, Inbound.choice(update.callback_query.data), language
    return None
