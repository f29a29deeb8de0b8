"""Reference codes: hard to guess, forgiving to type, stored only as a keyed hash, used once, expiring."""

from __future__ import annotations

import datetime as dt

from bot.app import Services
from bot.channels.webchat import codes
from bot.storage.models import WebchatCode


def test_codes_are_long_random_and_typed_forgivingly() -> None:
    made = {codes.new_code() for _ in range(200)}
    assert len(made) == 200
    code = made.pop()
    assert len(code) == 14 and code.count("-") == 2
    assert codes.normalise(code.lower().replace("-", " ")) == code.replace("-", "")
    assert codes.normalise("ABCD-EFGH-IJKL") == "ABCDEFGH1JK1", "I and L read as 1"
    assert codes.normalise("too short") is None


async def test_a_code_is_used_once_and_expires(services: Services) -> None:
    keys = services.keyring
    await services.store.run(lambda s: codes.store_code(s, keys, "sid-1", "token-one", "AAAA-BBBB-CCCC"))
    assert await services.store.run(lambda s: codes.redeem_code(s, keys, "AAAABBBBCCCC")) == "token-one"
    assert await services.store.run(lambda s: codes.redeem_code(s, keys, "AAAABBBBCCCC")) is None

    await services.store.run(lambda s: codes.store_code(s, keys, "sid-2", "token-two", "DDDD-EEEE-FFFF"))
    later = dt.datetime.now(dt.UTC) + codes.MAX_AGE + dt.timedelta(hours=1)
    assert await services.store.run(lambda s: codes.purge_codes(s, later)) == 1
    assert await services.store.run(lambda s: s.query(WebchatCode).count()) == 0
