"""The relay of the counsellor side reaches the web chat: a claim and a reply arrive live in the open page,
and what the person writes back reaches the counsellor's ticket."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from bot.channels.webchat import CHANNEL
from bot.desk import DeskService
from bot.storage.models import Ticket
from tests.bot.desk_support import signed_in
from tests.bot.webchat.conftest import ChatServer, texts


async def test_a_counsellor_claims_and_answers_a_web_chat_request_live(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    for step in ("go", "role:parent", "reason:general", "go", "danger:none", "counsellor", "goal:advice"):
        await tab.choose(step)
    await tab.choose("consent")
    services = webchat_api.services
    assert tab.token is not None
    sid = services.dispatcher.pseudonym(CHANNEL, tab.token)
    (ticket_id,) = await services.store.run(
        lambda s: [i for i in s.execute(select(col(Ticket.id)).where(col(Ticket.session_id) == sid)).scalars()]
    )

    anna = await signed_in(services, "anna", languages="en,nl")
    desk = DeskService(services.store, services.keyring, on_relay=webchat_api.chat.poke)
    await desk.claim(anna, ticket_id)
    await desk.reply(anna, ticket_id, "Hello, I am Anna. <script>alert(1)</script> What worries you most?")
    seen = ""
    while "What worries you most?" not in seen:
        seen += texts(await tab.until("messages"))
    assert "&lt;script&gt;" in seen and "<script>" not in seen, "the counsellor's text is escaped, never run"

    await tab.act({"type": "text", "text": "That he no longer sees his friends."})
    _status, lines = await desk.messages_after(anna, ticket_id, 0)
    assert any("no longer sees his friends" in line.text for line in lines), "the person's answer reaches the desk"
