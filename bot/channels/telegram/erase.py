"""After /forget, take the conversation off the screen too, as far as Telegram allows: a phone may be shared."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot
from telegram.constants import BulkRequestLimit
from telegram.error import TelegramError

from bot.dispatch import ShownMessage

log = logging.getLogger("baken.telegram")

#: bots may delete a message during 48 hours; keep a margin for clocks and the time the request takes
DELETABLE_FOR = dt.timedelta(hours=48) - dt.timedelta(minutes=5)
BATCH: int = BulkRequestLimit.MAX_LIMIT  # deleteMessages takes 1-100 ids
#: a wider run of ids than two days of a helpline chat holds is not filled in (known ids only): 50 requests
MAX_RANGE = 5_000


@dataclass(frozen=True, slots=True)
class Cleared:
    deleted: int
    remaining: int


async def clear_chat(bot: Bot, chat_id: int, trail: Sequence[ShownMessage], now: dt.datetime, *,
                     fill_gaps: bool = False) -> Cleared:
    """Delete what can still be deleted; count what stays (too old, or refused by Telegram).

    `fill_gaps`: also every id between the first and the last recent one. Replies sent in a webhook answer
    have no id Baken knows; a private chat numbers its messages one after another, and Telegram skips ids it
    cannot find, so the range takes them off too.
    """
    recent = sorted({m.message_id for m in trail if now - m.at < DELETABLE_FOR})
    remaining = len({m.message_id for m in trail}) - len(recent)
    if fill_gaps and recent and recent[-1] - recent[0] < MAX_RANGE:
        recent = list(range(recent[0], recent[-1] + 1))
    deleted = 0
    for start in range(0, len(recent), BATCH):
        batch = recent[start:start + BATCH]
        try:
            await bot.delete_messages(chat_id, batch)
            deleted += len(batch)
        except TelegramError as exc:
            log.warning("could not delete %d messages after /forget: %s", len(batch), type(exc).__name__)
            remaining += len(batch)
    return Cleared(deleted, remaining)
