"""The live channel: server-sent events for the queue and for one ticket's chat.

Events come from the database, not from process memory: the person may write through another process
(`baken chat`, or a second server behind the same webhook), so each stream polls a small query. Every poll
of a ticket checks the permission again: after a transfer or close the former holder's stream ends.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bot.dashboard.auth import DESK, declare, me_of
from bot.desk import Denied
from handover.permissions import Action
from handover.queue_rules import TicketStatus

QUEUE_EVERY = 1.0
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
    response = await _open(request)
    mark = await desk.queue_mark()
    idle = 0.0
    while True:
        await asyncio.sleep(QUEUE_EVERY)
        current = await desk.queue_mark()
        if current != mark:
            mark = current
            await _send(response, "queue", {"open": current[0]})
            idle = 0.0
        else:
            idle += QUEUE_EVERY
            if idle >= HEARTBEAT:
                await response.write(b": still here\n\n")
                idle = 0.0


@routes.get("/tickets/{ticket}/events")
@declare(Action.VIEW_TICKET)
async def ticket_events(request: web.Request) -> web.StreamResponse:
    """Each new line of the chat (as JSON text: the page inserts it as text, never as HTML) and status changes."""
    desk = request.app[DESK]
    me = me_of(request)
    try:
        ticket_id = int(request.match_info["ticket"])
        after = int(request.query.get("after", "0"))
    except ValueError as exc:
        raise web.HTTPNotFound() from exc
    status, _ = await desk.messages_after(me, ticket_id, after)  # refuses before the stream opens
    response = await _open(request)
    idle = 0.0
    while True:
        try:
            current, lines = await desk.messages_after(me, ticket_id, after)
        except Denied:
            facts = await desk.facts(ticket_id)
            ended = facts is not None and facts.status == TicketStatus.WITHDRAWN
            await _send(response, "gone", {"ended": ended})  # ended: the person left; else no longer ours
            return response
        for line in lines:
            after = line.id
            await _send(response, "line", {"id": line.id, "sender": line.sender, "text": line.text,
                                           "at": line.at.strftime("%H:%M")})
        if current != status:
            status = current
            await _send(response, "status", {"status": status})
        if lines or current != status:
            idle = 0.0
        else:
            idle += TICKET_EVERY
            if idle >= HEARTBEAT:
                await response.write(b": still here\n\n")
                idle = 0.0
        await asyncio.sleep(TICKET_EVERY)
