"""The web chat's protocol, as the page uses it, against a real server and database (no browser)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlmodel import col

from bot.channels.webchat import CHANNEL, WebchatLimits
from bot.storage.models import ConversationSession, OutboxMessage, Ticket, WebchatCode
from bot.storage.repository import Repository
from flows.messages import Outbound
from tests.bot.webchat.conftest import ChatServer, MakeServer, Tab, buttons, texts


async def _count(server: ChatServer, model: Any, *where: Any) -> int:
    def unit(s: Any) -> int:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

    return int(await server.services.store.run(unit))


async def _to_guidance(tab: Tab) -> None:
    await tab.choose("go")
    await tab.choose("role:parent")
    await tab.choose("reason:general")
    asked = await tab.choose("go")  # skip the story
    assert "danger:none" in buttons(asked), "every path asks the danger question once"
    answer = await tab.choose("danger:none")
    assert "counsellor" in buttons(answer)


async def test_the_page_is_the_chat_in_the_browsers_language_with_a_strict_policy(webchat_api: ChatServer) -> None:
    response = await webchat_api.client.get("/", headers={"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"})
    body = await response.text()
    assert response.status == 200
    assert '<html lang="fr">' in body and "Sortie rapide" in body and 'href="/privacy?lang=fr"' in body
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert "<style" not in body and "style=" not in body and "<script>" not in body
    assert "The service is running" not in body
    privacy = await webchat_api.client.get("/privacy?lang=nl")
    assert "unsafe-inline" not in privacy.headers["Content-Security-Policy"]
    assert "<style" not in await privacy.text()
    script = await webchat_api.client.get("/chat/static/chat.js")
    assert script.status == 200 and "sessionStorage" in await script.text()


async def test_a_conversation_over_the_socket_reaches_a_consented_ticket(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    session, welcome = await tab.hello("nl")
    assert session["type"] == "session" and session["new"] and session["locale"] == "nl"
    assert tab.token is not None and len(tab.token) >= 40
    assert "anoniem" in texts(welcome)
    await _to_guidance(tab)
    await tab.choose("counsellor")
    review = await tab.choose("goal:advice")
    assert "consent" in buttons(review)
    queued = await tab.choose("consent")
    assert "wachtrij" in texts(queued)
    assert await _count(webchat_api, Ticket) == 1
    sid = webchat_api.services.dispatcher.pseudonym(CHANNEL, tab.token)
    assert await _count(webchat_api, Ticket, col(Ticket.session_id) == sid) == 1


async def test_replies_wait_in_the_outbox_until_the_page_acknowledges_them(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    unacknowledged = await tab.act({"type": "choice", "data": "role:teacher"}, ack=False)
    assert unacknowledged["ack"]
    await tab.ws.close()
    await webchat_api.chat.flush_acks()
    assert await _count(webchat_api, OutboxMessage) == 1, "the reply the page never confirmed is kept"

    again = await webchat_api.tab()
    session, pending = await again.hello("en", token=tab.token, fresh=False)
    assert session["new"] is False
    assert pending["ack"] == unacknowledged["ack"]
    assert [i["key"] for i in pending["items"]] == [i["key"] for i in unacknowledged["items"]]
    await again.send({"type": "ack", "ids": pending["ack"]})
    # frames of one socket are handled in order: once the next one is answered, the ack is queued
    await again.act({"type": "command", "name": "help"}, ack=False)
    await webchat_api.chat.flush_acks()
    assert await _count(webchat_api, OutboxMessage) == 1, "only the newest, unacknowledged reply is left"


async def test_a_page_without_its_transcript_is_shown_where_the_conversation_is(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    await tab.ws.close()
    await webchat_api.chat.flush_acks()
    other = await webchat_api.tab()
    _session, shown = await other.hello("en", token=tab.token, fresh=True)
    assert shown.get("resumed") and "role:parent" in buttons(shown)


async def test_a_message_written_to_the_outbox_elsewhere_arrives_live(webchat_api: ChatServer) -> None:
    """The relay seam: the dashboard writes a row to the person's outbox; the open page gets it."""
    tab = await webchat_api.tab()
    await tab.hello("en")
    assert tab.token is not None
    services = webchat_api.services
    sid = services.dispatcher.pseudonym(CHANNEL, tab.token)
    said = "Counsellor: hello, I read your message. <img src=x onerror=alert(1)>"
    await services.store.run(lambda s: Repository(s).add_outbox(
        sid, CHANNEL, services.keyring.conversation(s, sid).seal_json([Outbound(said).to_json()], f"outbox:{sid}")))
    # written without an event (the desk announces its rows): found by the fallback poll, which on PostgreSQL,
    # while other processes are heard, runs every 5 seconds
    arrived = await tab.until("messages", within=8)
    assert "I read your message" in texts(arrived)
    assert "<img" not in texts(arrived) and "&lt;img src=x" in texts(arrived), "what people write is never markup"
    await tab.send({"type": "ack", "ids": arrived["ack"]})
    # the same row is not pushed twice while the page holds it
    assert await webchat_api.chat.deliver_waiting() == 0


async def test_the_plain_http_fallback_talks_and_waits_for_relayed_messages(webchat_api: ChatServer) -> None:
    client = webchat_api.client

    async def send(token: str | None, frame: dict[str, Any]) -> list[dict[str, Any]]:
        response = await client.post("/chat/send", json={"token": token, "lang": "de", "frame": frame})
        assert response.headers["Cache-Control"] == "no-store"
        return list((await response.json())["frames"])

    session, welcome = await send(None, {"type": "hello", "token": None, "lang": "de", "fresh": True})
    token = session["token"]
    assert "Weiter" in json.dumps(welcome, ensure_ascii=False)
    await send(token, {"type": "ack", "ids": welcome["ack"]})
    [role] = await send(token, {"type": "choice", "data": "go", "id": "http000001"})
    assert "role:parent" in buttons(role)
    await send(token, {"type": "ack", "ids": role["ack"]})

    services = webchat_api.services
    sid = services.dispatcher.pseudonym(CHANNEL, token)
    waiting = asyncio.create_task(client.post("/chat/poll", json={"token": token}))
    await asyncio.sleep(0)  # let the poll start waiting before the row exists
    await services.store.run(lambda s: Repository(s).add_outbox(sid, CHANNEL, services.keyring.conversation(s, sid)
                                                                .seal_json([Outbound("A counsellor's reply").to_json()],
                                                                           f"outbox:{sid}")))
    webchat_api.chat.poke(sid)
    polled = await (await asyncio.wait_for(waiting, 10)).json()
    assert "A counsellor's reply" in texts(polled["frames"][0])


async def test_the_socket_refuses_sites_not_allowed_to_embed_the_chat(webchat_server_factory: MakeServer) -> None:
    server = await webchat_server_factory(webchat_origins="https://school.example")
    try:
        await server.client.ws_connect("/chat/ws", headers={"Origin": "https://evil.example"})
        raise AssertionError("a foreign origin was let in")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 403
    allowed = await server.tab(Origin="https://school.example")
    await allowed.hello("en")
    page = await server.client.get("/?embed=1")
    assert "frame-ancestors 'self' https://school.example" in page.headers["Content-Security-Policy"]
    widget = await server.client.get("/widget.js")
    assert widget.status == 200 and "Chat with Baken" in await widget.text()


async def test_too_long_a_message_is_refused_kindly_and_nothing_is_lost(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    await tab.choose("role:parent")
    await tab.choose("reason:young_person")
    refused = await tab.act({"type": "text", "text": "x" * 4001})
    assert refused == {"type": "error", "reason": "too_long", "id": refused["id"], "re": refused["id"]}
    assert tab.token is not None
    state, data = await webchat_api.services.dispatcher.load_state(CHANNEL, tab.token)
    assert state == "story" and data is not None and data["story"] == []


async def test_a_flood_is_slowed_but_the_emergency_numbers_always_answer(webchat_server_factory: MakeServer) -> None:
    server = await webchat_server_factory(WebchatLimits(per_connection=(3, 0.001), relay_check_seconds=0.1))
    tab = await server.tab()
    await tab.hello("en")
    answers = [await tab.act({"type": "command", "name": "help"}) for _ in range(5)]
    assert [a["type"] for a in answers][-2:] == ["error", "error"]
    assert answers[-1]["reason"] == "slow_down"
    urgent = await tab.act({"type": "command", "name": "urgent"})
    assert urgent["type"] == "messages" and "112" in texts(urgent) and urgent["items"][0]["urgent"]
    danger = await tab.act({"type": "text", "text": "he has a gun and wants to kill people"})
    assert danger["type"] == "messages" and "tel:112" in texts(danger)
    other = await server.tab()
    _session, welcome = await other.hello("en")
    assert welcome["type"] == "messages", "another tab is not slowed by the flood"


async def test_an_idle_socket_is_closed(webchat_server_factory: MakeServer) -> None:
    server = await webchat_server_factory(WebchatLimits(idle_seconds=0.3))
    tab = await server.tab()
    await tab.hello("en")
    closed = await tab.ws.receive(timeout=5)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert tab.ws.close_code == 4000


async def test_ticks_then_done_record_the_observations(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    await tab.choose("role:parent")
    await tab.choose("reason:young_person")
    await tab.choose("go")
    observations = await tab.choose("age:12-15")
    checks = observations["items"][-1]["checks"]
    assert {c["value"] for c in checks} >= {"withdrawn", "blackwhite"} and not any(c["checked"] for c in checks)
    after = await tab.act({"type": "ticks", "toggle": ["withdrawn", "blackwhite"], "data": "go"})
    assert "other_worries" not in json.dumps(after)  # the next question, not the ticked one again
    assert tab.token is not None
    state, data = await webchat_api.services.dispatcher.load_state(CHANNEL, tab.token)
    assert state == "other_worries" and data is not None and data["observed"] == ["withdrawn", "blackwhite"]
    await tab.send({"type": "ack", "ids": after["ack"]})
    await tab.act({"type": "command", "name": "help"})  # answered: the ack before it is queued
    await webchat_api.chat.flush_acks()
    assert await _count(webchat_api, OutboxMessage) <= 1, "the hidden steps' replies left the outbox"


async def test_switching_language_shows_the_same_question_in_the_new_language(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    switched = await tab.act({"type": "language", "lang": "fr"})
    assert switched["locale"] == "fr" and "Qui êtes-vous" in texts(switched)
    assert "role:parent" in buttons(switched)


async def test_a_code_continues_the_conversation_elsewhere_once(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    issued = await tab.act({"type": "code"})
    code = issued["code"]
    assert len(code.replace("-", "")) == 12
    async with webchat_api.services.sessions() as s:
        stored = (await s.execute(select(WebchatCode))).scalars().one()
    assert code.replace("-", "") not in stored.code_hash and tab.token not in repr(stored.token)

    client = webchat_api.client
    resumed = await client.post("/chat/resume", json={"code": code.lower().replace("-", " ")})
    assert resumed.status == 200 and (await resumed.json())["token"] == tab.token
    again = await client.post("/chat/resume", json={"code": code})
    assert again.status == 404 and (await again.json())["error"] == "bad_code"
    statuses = [(await client.post("/chat/resume", json={"code": "ABCD-EFGH-JKMN"})).status for _ in range(5)]
    assert statuses[-1] == 429, "tries are limited per address"


async def test_end_and_erase_removes_the_session_its_ticket_and_its_code(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    session, _welcome = await tab.hello("en")
    sealed_with = session["vault"]
    await _to_guidance(tab)
    await tab.choose("counsellor")
    await tab.choose("goal:support")
    await tab.choose("consent")
    await tab.act({"type": "code"})
    confirm = await tab.act({"type": "command", "name": "forget"})
    assert "forget_yes" in buttons(confirm)
    old_token = tab.token
    erased = await tab.choose("forget_yes")
    assert erased["type"] == "erased" and "again" in buttons(erased)
    for model in (ConversationSession, Ticket, WebchatCode, OutboxMessage):
        assert await _count(webchat_api, model) == 0, model.__name__
    fresh = await tab.choose("again")  # "Start again" opens a new, unrelated session
    assert fresh["type"] == "session" and fresh["token"] != old_token
    assert fresh["vault"] != sealed_with, "the page's sealed copy of the old transcript cannot be opened"
    again = await webchat_api.tab()
    session, _welcome = await again.hello("en", token=old_token, fresh=False)
    assert session["new"] and session["vault"] != sealed_with


async def test_the_transcript_key_is_the_conversations_own_and_the_same_on_every_return(
        webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    session, _welcome = await tab.hello("en")
    key = base64.urlsafe_b64decode(session["vault"] + "=")
    assert len(key) == 32
    back = await webchat_api.tab()
    returned, _pending = await back.hello("en", token=tab.token, fresh=True)
    assert returned["vault"] == session["vault"], "a reload opens the copy the tab sealed"
    other = await webchat_api.tab()
    someone, _hi = await other.hello("en")
    assert someone["vault"] != session["vault"]


async def test_a_made_up_token_is_never_adopted(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    made_up = "A" * 43
    session, welcome = await tab.hello("en", token=made_up)
    assert session["new"] is True and session["token"] != made_up
    assert "go" in buttons(welcome)


async def test_the_longest_message_fits_whatever_its_characters(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    await tab.choose("go")
    await tab.choose("role:parent")
    await tab.choose("reason:young_person")
    told = await tab.act({"type": "text", "text": "😟" * 4000})
    assert told["type"] == "messages", "4,000 emoji are one allowed message, not a closed socket"
