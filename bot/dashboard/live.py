"""The live channel: server-sent events for the queue and for one ticket's chat.

What is shown comes from the database, not from process memory: the person may write through another
process (`baken chat`, or a second server behind the same webhook). A stream reads a small query when an
event says its ticket or the queue changed (bot/events.py: in-process, and from other processes over
PostgreSQL LISTEN/NOTIFY), and otherwise polls: quickly where other processes cannot be heard (SQLite),
slowly as a fallback where they can. Every read of a ticket checks the permission again: after a transfer
or close the former holder's stream ends.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from bot.dashboard.auth import DESK, declare, me_of, row_id
from bot.desk import Denied
from bot.events import Signal
from handover.permissions import Action, Actor, TicketFacts, lost_claim
from handover.queue_rules import TicketStatus

QUEUE_EVERY = 1.0
QUEUE_COALESCE = 0.2
TICKET_EVERY = 0.4
HEARTBEAT = 15.0
routes = web.RouteTableDef()


async def _open(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    return response


async def _send(response: web.StreamResponse, event: str, data: object) -> None:
    await response.write(f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())


@routes.get("/events/queue")
@declare(Action.SIGNED_IN)
async def queue_events(request: web.Request) -> web.StreamResponse:
    """Says "queue" whenever an open ticket appears, changes or leaves; the page then fetches its rows."""
    desk = request.app[DESK]
    events = desk.store.events
    response = await _open(request)
    seen = events.queue.mark()
    mark = await desk.queue_mark()
    last_write = time.monotonic()
    while True:
        if await events.queue.wait(seen, events.poll_every(QUEUE_EVERY)):
            await asyncio.sleep(QUEUE_COALESCE)  # a burst of ticket changes: one read, not one per change
        seen = events.queue.mark()
        current = await desk.queue_mark()
        if current != mark:
            mark = current
            await _send(response, "queue", {"open": current[0]})
            last_write = time.monotonic()
        elif time.monotonic() - last_write >= HEARTBEAT:
            await response.write(b": still here\n\n")
            last_write = time.monotonic()


@routes.get("/tickets/{ticket}/events")
@declare(Action.VIEW_TICKET)
async def ticket_events(request: web.Request) -> web.StreamResponse:
    """Each new line of the chat (as JSON text: the page inserts it as text, never as HTML) and status changes."""
    desk = request.app[DESK]
    me = me_of(request)
    ticket_id = row_id(request.match_info["ticket"])
    raw_after = request.query.get("after", "0")
    after = 0 if raw_after == "0" else row_id(raw_after)
    if ticket_id is None or after is None:
        raise web.HTTPNotFound()
    status, _ = await desk.messages_after(me, ticket_id, after)  # refuses before the stream opens
    events = desk.store.events
    signal = events.ticket(ticket_id)
    response = await _open(request)
    try:
        await _follow(response, request, ticket_id, after, status, signal)
    finally:
        events.forget_ticket(ticket_id)
    return response


async def _follow(response: web.StreamResponse, request: web.Request, ticket_id: int, after: int, status: str,
                  signal: Signal) -> None:
    desk = request.app[DESK]
    me = me_of(request)
    events = desk.store.events
    last_write = time.monotonic()
    while True:
        seen = signal.mark()
        try:
            current, lines = await desk.messages_after(me, ticket_id, after)
        except Denied:
            facts = await desk.facts(ticket_id)
            await _send(response, "gone", {"why": _why_gone(me.actor, facts)})
            return
        for line in lines:
            after = line.id
            await _send(response, "line", {"id": line.id, "sender": line.sender, "text": line.text,
                                           "at": line.at.strftime("%H:%M")})
        if current != status:
            status = current
            await _send(response, "status", {"status": status})
        if lines or current != status:
            last_write = time.monotonic()
        elif time.monotonic() - last_write >= HEARTBEAT:
            await response.write(b": still here\n\n")
            last_write = time.monotonic()
        await signal.wait(seen, events.poll_every(TICKET_EVERY))


def _why_gone(actor: Actor, facts: TicketFacts | None) -> str:
    """Which note the page shows: the person left, a colleague claimed it while this counsellor looked
    (the same "someone was quicker" a refused claim gets), or it changed otherwise (handed on, closed)."""
    if facts is not None and facts.status == TicketStatus.WITHDRAWN:
        return "ended"
    if facts is not None and lost_claim(actor, facts):
        return "taken"
    return "gone"
