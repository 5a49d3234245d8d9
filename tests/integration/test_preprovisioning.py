"""Forecasts over the real ZeroMQ link become confirmed rules before the pair sends anything.

The forecasts here come from a plain pyzmq PUSH socket (an authorized CURVE client) speaking
the wire contract, so the test pins the controller's side; ``test_predictor_controller_live.py``
runs the real predictor process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest
import zmq

from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.messages import ForecastBatch, PairForecast, PairId, encode

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    g = nx.path_graph([1, 2, 3])
    with Stack(g, predictor={"threshold_mbps": 1.0}) as s:
        yield s


@pytest.fixture()
def pusher(stack: Stack) -> Iterator[Any]:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 0)
    stack.curve_client("test-pusher").apply(sock)  # an authorized CURVE client
    sock.connect(stack.forecasts_endpoint)
    yield sock
    sock.close(0)


def _batch(seq: int, pair: PairId, upper: float, valid_s: float = 60.0) -> bytes:
    now = time.time()
    fc = PairForecast(pair, (upper * 0.8,) * 3, (upper,) * 3, now - 1, now + valid_s)
    return encode(ForecastBatch("test-predictor", seq, "test-model", 0.95, now, (fc,)))


def _predicted(stack: Stack, src: str, dst: str) -> dict[str, Any] | None:
    for res in stack.get("/v1/reservations")["reservations"]:
        if res["predicted"] and res["src"] == src and res["dst"] == dst:
            return dict(res)
    return None


def test_forecast_is_stitched_before_the_first_packet(stack: Stack, pusher: Any) -> None:
    pair, back = PairId("10.0.0.1", "10.0.0.3"), PairId("10.0.0.3", "10.0.0.1")
    now = time.time()
    both = tuple(
        PairForecast(p, (u * 0.8,) * 3, (u,) * 3, now - 1, now + 60.0)
        for p, u in ((pair, 5.0), (back, 1.5))  # each direction its own forecast
    )
    pusher.send(encode(ForecastBatch("test-predictor", 0, "test-model", 0.95, now, both)))

    def active(p: PairId) -> dict[str, Any] | None:
        res = _predicted(stack, p.src, p.dst)
        return res if res and res["state"] == "ACTIVE" else None

    res = wait_until(lambda: active(pair), 10.0, 0.05, "the predicted reservation to be ACTIVE")
    assert res["bandwidth_mbps"] == pytest.approx(5.0) and "test-model" in res["origin_ref"]
    rev = wait_until(lambda: active(back), 10.0, 0.05, "the reverse one to be ACTIVE")
    assert rev["bandwidth_mbps"] == pytest.approx(1.5)  # its own size, not the busier one's
    assert not res["bidirectional"] and not rev["bidirectional"]
    forecasts = stack.get("/v1/forecasts")["forecasts"]
    assert sorted(f["pair"] for f in forecasts) == sorted([[*pair], [*back]])
    before = stack.get("/v1/stats")["packet_in"].get("ipv4", 0)
    assert stack.net is not None
    assert stack.net.ping("h1", "h3", count=3, interval=0.1).received == 3
    assert stack.get("/v1/stats")["packet_in"].get("ipv4", 0) == before


def test_forecast_change_resizes_and_falling_away_releases(stack: Stack, pusher: Any) -> None:
    pair = PairId("10.0.0.2", "10.0.0.3")
    pusher.send(_batch(1, pair, 4.0))
    wait_until(lambda: _predicted(stack, pair.src, pair.dst), 10.0, 0.05, "created")
    pusher.send(_batch(2, pair, 8.0))

    def resized() -> bool:
        res = _predicted(stack, pair.src, pair.dst)
        return bool(res and res["bandwidth_mbps"] == pytest.approx(8.0))

    wait_until(resized, 10.0, 0.05, "resized to 8 Mbit/s")
    pusher.send(_batch(3, pair, 0.2))
    wait_until(lambda: _predicted(stack, pair.src, pair.dst) is None, 10.0, 0.05, "released")


def test_bad_messages_are_dropped_and_counted(stack: Stack, pusher: Any) -> None:
    for junk in (b"\xff\x00garbage", b"", encode_wrong_version()):
        pusher.send(junk)
    wait_until(
        lambda: sum(stack.get("/v1/stats")["queue"]["dropped"].values()) >= 3,
        5.0,
        0.05,
        "three drops counted",
    )
    assert stack.controller.is_running()


def test_request_reservations_are_never_displaced(stack: Stack, pusher: Any) -> None:
    status, mine = stack.request(
        "POST", "/v1/reservations", {"src": "h1", "dst": "h2", "bandwidth_mbps": 2}
    )
    assert status == 201
    pair = PairId("10.0.0.1", "10.0.0.2")
    pusher.send(_batch(4, pair, 50.0))

    def seen() -> bool:  # forecasts are stored and acted on in one step of the event loop
        return [pair.src, pair.dst] in [f["pair"] for f in stack.get("/v1/forecasts")["forecasts"]]

    wait_until(seen, 5.0, 0.05, "the forecast to arrive")
    assert _predicted(stack, pair.src, pair.dst) is None
    assert stack.get(f"/v1/reservations/{mine['id']}")["state"] == "ACTIVE"
    stack.request("DELETE", f"/v1/reservations/{mine['id']}")


def encode_wrong_version() -> bytes:
    import msgpack

    packed: bytes = msgpack.packb({"v": 99, "kind": "forecasts"})
    return packed
