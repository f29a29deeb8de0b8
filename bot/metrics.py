"""Prometheus metrics: how Baken is doing, in numbers that can name nobody.

Every label value comes from a short fixed list (channel, outcome, phase, level, direction): never a
pseudonym, an id, a postcode or anything a person typed. `label()` folds whatever else into "other", so a
new channel or a bug cannot put free text into a label. The queue gauge is read from the database when
Prometheus scrapes, so every process reports the same queue; the counters and histograms are this process's.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Iterable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.storage.models import Ticket
from bot.storage.store import Store
from handover.queue_rules import OPEN_STATUSES

CHANNELS = ("telegram", "web", "console")
LEVELS = ("urgent", "serious", "concern", "info")
OUTCOMES = ("stepped", "duplicate", "erased", "lane_full", "failed")
OTHER = "other"
log = logging.getLogger("baken.metrics")

UPDATES = Counter(
    "baken_updates", "Inbound messages handled, by channel and outcome", ["channel", "outcome"]
)
STEP_SECONDS = Histogram(
    "baken_step_seconds",
    "Time per inbound message: 'flow' is the conversation step alone, 'stored' the whole transaction",
    ["channel", "phase"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TICKETS_OPENED = Counter("baken_tickets_opened", "Requests for a counsellor opened, by level", ["level"])
QUEUE_OPEN = Gauge("baken_queue_open_tickets", "Open requests waiting or in hand, by level (read at scrape)",
                   ["level"])
FIRST_ANSWER_SECONDS = Histogram(
    "baken_first_answer_seconds",
    "From a request's opening to the first counsellor message, by level",
    ["level"],
    buckets=(30, 60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600),
)
RELAY_MESSAGES = Counter(
    "baken_relay_messages",
    "Messages between a person and a counsellor: 'to_counsellor' written by the person, 'to_person' by a "
    "counsellor; 'delivered'/'failed' are the channel's sends of relayed messages",
    ["direction", "channel"],
)


# every series exists from the start at 0, so a rate() or an alert sees the first event too
for _level in LEVELS:
    TICKETS_OPENED.labels(_level)


def label(value: str | None, allowed: Iterable[str]) -> str:
    """A label value from its fixed list, or "other": nothing else ever becomes a label."""
    return value if value is not None and value in allowed else OTHER


# the labelled series of the per-update path, looked up once: `labels()` costs more than the count itself
PHASES = ("flow", "stored")
_UPDATE_SERIES = {(c, o): UPDATES.labels(c, o) for c in (*CHANNELS, OTHER) for o in (*OUTCOMES, OTHER)}
_STEP_SERIES = {(c, p): STEP_SECONDS.labels(c, p) for c in (*CHANNELS, OTHER) for p in (*PHASES, OTHER)}


def count_update(channel: str, outcome: str) -> None:
    series = _UPDATE_SERIES.get((channel, outcome))
    if series is None:
        series = _UPDATE_SERIES[(label(channel, CHANNELS), label(outcome, OUTCOMES))]
    series.inc()


def observe_step(channel: str, phase: str, seconds: float) -> None:
    series = _STEP_SERIES.get((channel, phase))
    if series is None:
        series = _STEP_SERIES[(label(channel, CHANNELS), label(phase, PHASES))]
    series.observe(seconds)


def count_ticket(level: str) -> None:
    TICKETS_OPENED.labels(label(level, LEVELS)).inc()


def observe_first_answer(level: str, seconds: float) -> None:
    FIRST_ANSWER_SECONDS.labels(label(level, LEVELS)).observe(max(0.0, seconds))


def count_relay(direction: str, channel: str | None) -> None:
    directions = ("to_counsellor", "to_person", "delivered", "failed")
    RELAY_MESSAGES.labels(label(direction, directions), label(channel, CHANNELS)).inc()


def _open_by_level(s: Session) -> dict[str, int]:
    rows = s.execute(
        select(col(Ticket.level), func.count())
        .where(col(Ticket.status).in_([st.value for st in OPEN_STATUSES]))
        .group_by(col(Ticket.level))
    ).tuples()
    counts = dict.fromkeys((*LEVELS, OTHER), 0)
    for level, n in rows:
        counts[label(level, LEVELS)] += int(n)
    return counts


QUEUE_READ_SECONDS = 2.0
_queue_read: dict[int, asyncio.Task[dict[str, int]]] = {}


async def refresh_queue(store: Store) -> bool:
    """Read the open requests per level; a database that does not answer in time leaves the last values
    (and the scrape still gives everything else: a monitoring page must not go blank with the database)."""
    task = _queue_read.get(id(store))
    if task is None or task.done():
        task = asyncio.create_task(store.run(_open_by_level), name="baken-metrics-queue")
        _queue_read[id(store)] = task
    done, _ = await asyncio.wait({task}, timeout=QUEUE_READ_SECONDS)
    if not done:
        log.warning("the queue gauge was not refreshed: the database did not answer in time")
        return False
    _queue_read.pop(id(store), None)
    if task.exception() is not None:
        log.warning("the queue gauge was not refreshed: %s", type(task.exception()).__name__)
        return False
    for level, n in task.result().items():
        QUEUE_OPEN.labels(level).set(n)
    return True


# ---------------------------------------------------------------------------------------------- access
def _loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        return ipaddress.ip_address(peer.split("%")[0]).is_loopback
    except ValueError:
        return False


FORWARDED = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def may_read(request: web.Request, token: str | None) -> bool:
    """With BAKEN_METRICS_TOKEN: only `Authorization: Bearer <token>`. Without: only a direct loopback
    connection — a request that came through a proxy (it carries a forwarding header) is refused even though
    the proxy connects from loopback."""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode())
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    address = peer[0] if isinstance(peer, tuple) and peer else None
    return _loopback(address) and not any(h in request.headers for h in FORWARDED)


async def render(store: Store) -> web.Response:
    await refresh_queue(store)
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
