"""``/v1/stream``: server-sent events of what changes, for the web view (``/ui/``).

Each stream runs in the WSGI server's greenthread of its connection: it asks the core through
the same :class:`~vnstitch.core.commands.ControllerApi` as every route (topology events since the
last version, reservations and intents every round; links every second; forecasts and stats
every two seconds) and sends what changed (:mod:`vnstitch.northbound.live_feed`). Bounded: at most
``MAX_STREAMS`` at once (503 beyond), a heartbeat comment when nothing was sent for
``HEARTBEAT_S`` (a closed connection is noticed at the next write, which ends the greenthread),
and each stream ends after ``MAX_STREAM_S`` (the client reconnects). The bearer token is read
from the ``Authorization`` header like every other route: the web view reads the stream with
``fetch``, so the token never appears in a URL or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ryu.app.wsgi import route
from ryu.lib import hub
from webob import Response

from ryu_apps.rest_common import LOG, Resource, error_response, guarded
from vnstitch.core.commands import (
    Command,
    ControllerApi,
    GetForecasts,
    GetLinks,
    GetStats,
    GetTopology,
    GetTopologyEvents,
    ListIntents,
    ListReservations,
)
from vnstitch.northbound.live_feed import FeedState, Look, comment, retry_frame

SLOTS_KEY = "vnstitch_stream_slots"
MAX_STREAMS = 8
POLL_S = 0.5  # one round: topology events, reservations, intents
LINKS_EVERY = 2  # rounds: link usage once a second
SLOW_EVERY = 4  # rounds: forecasts and stats every two seconds
HEARTBEAT_S = 10.0
MAX_STREAM_S = 3600.0


class StreamSlots:
    """How many streams are open, against the maximum (one instance per application)."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> bool:
        """Take a slot; False when all are in use."""
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        """Return a slot (the stream ended: closed by the client, by us, or failed)."""
        self.open = max(0, self.open - 1)


@dataclass(frozen=True)
class Pacing:
    """The stream's clock and waits (a test runs them without sleeping)."""

    sleep: Callable[[float], Any] = hub.sleep
    clock: Callable[[], float] = time.monotonic
    poll_s: float = POLL_S
    heartbeat_s: float = HEARTBEAT_S
    max_stream_s: float = MAX_STREAM_S


def _body(api: ControllerApi, command: Command) -> Any:
    """The reply body of a 200, else None (this round goes without it)."""
    reply = api.call(command)
    return reply.body if reply.status == 200 else None


def look(api: ControllerApi, state: FeedState, round_no: int) -> Look:
    """The round's questions: fast ones every round, the rest every few rounds."""
    slow = round_no % SLOW_EVERY == 0
    return Look(
        events=_body(api, GetTopologyEvents(str(state.version))),
        reservations=_body(api, ListReservations()),
        intents=_body(api, ListIntents()),
        links=_body(api, GetLinks()) if round_no % LINKS_EVERY == 0 else None,
        forecasts=_body(api, GetForecasts()) if slow else None,
        stats=_body(api, GetStats()) if slow else None,
    )


def full_look(api: ControllerApi) -> Look:
    """Everything, for a snapshot."""
    return Look(
        reservations=_body(api, ListReservations()),
        intents=_body(api, ListIntents()),
        links=_body(api, GetLinks()),
        forecasts=_body(api, GetForecasts()),
        stats=_body(api, GetStats()),
    )


def feed(api: ControllerApi, pacing: Pacing | None = None) -> Iterator[bytes]:
    """The stream's frames: a snapshot, then the changes of every round, until its lifetime."""
    pace = pacing or Pacing()
    state = FeedState()
    ident = 0
    started = last_sent = pace.clock()
    yield retry_frame()
    topology = _body(api, GetTopology()) or {}
    ident += 1
    yield state.snapshot(topology, full_look(api)).encode(ident)
    round_no = 0
    while pace.clock() - started < pace.max_stream_s:
        pace.sleep(pace.poll_s)
        round_no += 1
        seen = look(api, state, round_no)
        if seen.events is not None and state.has_gap(seen.events):
            topology = _body(api, GetTopology())
            if topology is None:
                continue
            messages = [state.snapshot(topology, full_look(api))]
        else:
            messages = state.changes(seen)
        for message in messages:
            ident += 1
            yield message.encode(ident)
            last_sent = pace.clock()
        if pace.clock() - last_sent >= pace.heartbeat_s:
            yield comment("heartbeat")
            last_sent = pace.clock()
    yield comment("stream lifetime reached: reconnect")


class Stream:
    """The response body: the frames, and the slot given back when the server closes it.

    The WSGI server calls ``close`` whether the stream ended, failed, or the client went away
    (the next write fails), and also when the body was never iterated.
    """

    def __init__(self, frames: Iterator[bytes], slots: StreamSlots) -> None:
        self._frames = frames
        self._slots: StreamSlots | None = slots

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._frames
        except Exception:  # a bug ends this stream (the client reconnects), never the server
            LOG.exception("live stream failed")

    def close(self) -> None:
        """End the generator and give the slot back (once)."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()
        if self._slots is not None:
            self._slots.give_back()
            self._slots = None


class StreamResource(Resource):
    """The live feed of the web view."""

    def __init__(self, req: Any, link: Any, data: dict[str, Any], **config: Any) -> None:
        super().__init__(req, link, data, **config)
        self.slots: StreamSlots = data[SLOTS_KEY]

    @route("stream", "/v1/stream", methods=["GET"])
    @guarded(write=False)
    def stream(self, req: Any, **_kwargs: Any) -> Any:
        """Server-sent events: a snapshot, then what changes (503 when too many are open)."""
        if not self.slots.take():
            response = error_response(
                503, f"too many live streams open ({self.slots.limit}): poll the API instead"
            )
            response.headers["Retry-After"] = "10"
            return response
        # eventlet buffers a response's pieces up to 4 KiB; each event must leave at once.
        req.environ["eventlet.minimum_write_chunk_size"] = 0
        response = Response(status=200, content_type="text/event-stream", charset=None)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"
        response.app_iter = Stream(feed(self.api), self.slots)
        return response


ROUTES = StreamResource
