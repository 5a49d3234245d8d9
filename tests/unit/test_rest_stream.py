"""``/v1/stream`` on Ryu's WSGI application with a fake controller and a clock that never sleeps.

The route checks the token like every read, answers 503 beyond the open-stream limit, and
gives its slot back however the stream ends; the stream sends a snapshot, then only changes,
and a heartbeat when nothing changed for a while.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

import pytest
from ryu.app.wsgi import WSGIApplication
from webob import Request

from ryu_apps.rest_api import register_routes
from ryu_apps.rest_stream import MAX_STREAMS, Pacing, Stream, StreamSlots, feed
from vnstitch.core.actions import Reply
from vnstitch.core.commands import (
    Command,
    GetForecasts,
    GetLinks,
    GetStats,
    GetTopology,
    GetTopologyEvents,
    ListIntents,
    ListReservations,
)

TOKEN = "t0ken"


class FakeCore:
    """A ControllerApi whose answers the test changes between rounds."""

    open_reads = False

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.reservations: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.version = 3

    def authorize(self, header: str | None) -> int:
        if not header:
            return 401
        return 200 if header == f"Bearer {TOKEN}" else 403

    def call(self, command: Command) -> Reply:
        self.commands.append(command)
        match command:
            case GetTopology():
                body: Any = {"version": self.version, "switches": [], "links": [], "hosts": []}
            case GetTopologyEvents(since):
                listed = [e for e in self.events if e["version"] > int(since)]
                body = {"version": self.version, "events": listed}
            case ListReservations():
                body = {"reservations": self.reservations}
            case ListIntents():
                body = {"intents": []}
            case GetLinks():
                body = {"links": []}
            case GetForecasts():
                body = {"forecasts": [], "queue": None}
            case GetStats():
                body = {"packet_in": {}}
            case _:
                return Reply(0, 500, {"error": "unexpected", "field": None})
        return Reply(0, 200, body)


class FakeClock:
    """``sleep`` advances ``now``; nothing waits."""

    def __init__(self) -> None:
        self.now = 100.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def pacing(self, **overrides: float) -> Pacing:
        return Pacing(sleep=self.sleep, clock=lambda: self.now, **overrides)


def frames(chunks: Iterator[bytes], n: int) -> list[str]:
    return [c.decode() for c in islice(chunks, n)]


def parsed(frame: str) -> tuple[str, Any]:
    fields = dict(line.split(": ", 1) for line in frame.strip().split("\n"))
    return fields["event"], json.loads(fields["data"])


def test_a_snapshot_first_then_only_what_changed() -> None:
    core, clock = FakeCore(), FakeClock()
    core.reservations = [{"id": "1", "state": "INSTALLING"}]
    stream = feed(core, clock.pacing())
    retry, snapshot = frames(stream, 2)
    assert retry == "retry: 2000\n\n"
    event, body = parsed(snapshot)
    assert event == "snapshot" and body["topology"]["version"] == 3
    assert body["reservations"] == core.reservations
    core.reservations = [{"id": "1", "state": "ACTIVE"}]
    core.events = [{"version": 4, "kind": "link_remove"}]
    core.version = 4
    first, second = frames(stream, 2)
    assert parsed(first) == ("topology", {"version": 4, "events": core.events})
    assert parsed(second) == ("reservation", {"id": "1", "state": "ACTIVE"})
    assert frames(stream, 1) == [": heartbeat\n\n"]  # 10 s without a change
    since = [c.since for c in core.commands if isinstance(c, GetTopologyEvents)]
    assert since[0] == "3" and set(since[1:]) == {"4"}  # each round asks from the last version


def test_nothing_changed_is_a_heartbeat_and_the_stream_ends_at_its_lifetime() -> None:
    core, clock = FakeCore(), FakeClock()
    stream = feed(core, clock.pacing(heartbeat_s=2.0, max_stream_s=5.0))
    frames(stream, 2)
    rest = list(stream)
    assert rest == [b": heartbeat\n\n"] * 2 + [b": stream lifetime reached: reconnect\n\n"]
    assert clock.now == pytest.approx(105.0)


def test_a_gap_in_the_topology_events_sends_a_new_snapshot() -> None:
    core, clock = FakeCore(), FakeClock()
    stream = feed(core, clock.pacing())
    frames(stream, 2)
    core.version = 9
    core.events = [{"version": 8, "kind": "link_add"}, {"version": 9, "kind": "link_add"}]
    event, body = parsed(frames(stream, 1)[0])
    assert event == "snapshot" and body["topology"]["version"] == 9


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def wsgi(core: FakeCore) -> WSGIApplication:
    app = WSGIApplication()
    register_routes(app, core)
    return app


def open_stream(wsgi: WSGIApplication, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Request.blank("/v1/stream", headers=headers).get_response(wsgi, catch_exc_info=False)


def test_the_route_needs_the_token_like_every_read(wsgi: WSGIApplication, core: FakeCore) -> None:
    assert open_stream(wsgi, None).status_int == 401
    assert open_stream(wsgi, "wrong").status_int == 403
    assert not core.commands


def test_the_route_streams_events_and_limits_open_streams(
    wsgi: WSGIApplication, core: FakeCore
) -> None:
    req = Request.blank("/v1/stream", headers={"Authorization": f"Bearer {TOKEN}"})
    bodies = []
    for _ in range(MAX_STREAMS):
        status, headers, body = req.call_application(wsgi)
        assert status.startswith("200")
        assert dict(headers)["Content-Type"].startswith("text/event-stream")
        assert isinstance(body, Stream)
        bodies.append(body)
    assert req.environ["eventlet.minimum_write_chunk_size"] == 0  # every event leaves at once
    refused = open_stream(wsgi)
    assert refused.status_int == 503 and refused.headers["Retry-After"]
    assert "too many" in refused.json["error"]
    first = iter(bodies[0])
    assert next(first) == b"retry: 2000\n\n"
    assert parsed(next(first).decode())[0] == "snapshot"
    for body in bodies:  # the server closes each body: iterated or not, the slot comes back
        body.close()
        body.close()  # closing twice gives back one slot
    assert open_stream(wsgi).status_int == 200


def test_slots_are_counted_and_never_negative() -> None:
    slots = StreamSlots(limit=1)
    assert slots.take() and not slots.take()
    slots.give_back()
    slots.give_back()
    assert slots.open == 0 and slots.take()


def test_with_open_reads_the_stream_needs_no_token(wsgi: WSGIApplication, core: FakeCore) -> None:
    core.open_reads = True
    answer = open_stream(wsgi, None)
    assert answer.status_int == 200 and answer.content_type == "text/event-stream"
    answer.app_iter.close()


def test_a_failing_stream_ends_quietly_and_gives_its_slot_back() -> None:
    def broken() -> Iterator[bytes]:
        yield b"retry: 2000\n\n"
        raise RuntimeError("a bug")

    slots = StreamSlots(limit=1)
    assert slots.take()
    stream = Stream(broken(), slots)
    assert list(stream) == [b"retry: 2000\n\n"]
    stream.close()
    assert slots.open == 0
