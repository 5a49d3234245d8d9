"""The real predictor process and the controller over ZeroMQ, with a Mininet network.

The predictor is seeded with a history in which h1 sends to h3; the controller runs a
time-compressed clock that reaches the seed's end a few seconds after it starts. The forecast
made from the seed becomes confirmed rules before h1 has sent anything, so h1's first packet
never visits the controller. Then the predictor is killed (SIGKILL) and restarted: the
controller keeps running and forecasts resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from testbed.predictor_process import SCALE, predictor_argv, write_seed
from testbed.predictor_process import PredictorProcess as Predictor
from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

LEAD_S = 12.0  # wall seconds from the controller's start to the seed's end
SRC, DST = "10.0.0.1", "10.0.0.3"


def _predictor(stack: Stack, seed: Path, until: float, workdir: Path) -> Predictor:
    """Seeded from a trace, connected to the stack's endpoints with its CURVE keys."""
    argv = predictor_argv(
        stack.observations_endpoint, stack.forecasts_endpoint, seed, until, workdir
    )
    argv += ["--key-dir", str(stack.key_dir)]  # made here; waits for controller.key
    return Predictor(argv, workdir)


@pytest.fixture(scope="module")
def live(
    testbed_host: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Predictor]]:
    workdir = tmp_path_factory.mktemp("predictor-live")
    seed = workdir / "seed.npz"
    until = write_seed(seed)
    stack = Stack(
        nx.path_graph([1, 2, 3]),
        controller={"probe_interval_s": 0.5, "link_timeout_s": 2.0, "stats_interval_s": 1.0},
        predictor={
            "threshold_mbps": 1.0,
            "time_scale": SCALE,
            "time_origin": until - LEAD_S * SCALE,
        },
    )
    predictor = _predictor(stack, seed, until, workdir)
    predictor.start()
    try:
        with stack:
            yield stack, predictor
    finally:
        predictor.stop()


def predicted(stack: Stack) -> dict[str, Any] | None:
    for res in stack.get("/v1/reservations")["reservations"]:
        if res["predicted"] and (res["src"], res["dst"]) == (SRC, DST):
            return dict(res)
    return None


def forecast(stack: Stack) -> dict[str, Any] | None:
    for entry in stack.get("/v1/forecasts")["forecasts"]:
        if entry["pair"] == [SRC, DST]:
            return dict(entry)
    return None


def test_a_forecast_for_a_silent_pair_is_stitched_before_its_first_packet(
    live: tuple[Stack, Predictor],
) -> None:
    stack, _ = live
    res = wait_until(
        lambda: (r := predicted(stack)) and r["state"] == "ACTIVE" and r, 30.0, 0.1, "ACTIVE"
    )
    assert res["bandwidth_mbps"] == pytest.approx(5.0)
    fc = forecast(stack)
    assert fc is not None and fc["model"] == "fallback-recent-peak"
    assert stack.get("/v1/stats")["queue"]["dropped"] == {}
    before = stack.get("/v1/stats")["packet_in"].get("ipv4", 0)
    assert stack.net is not None
    assert stack.net.ping("h1", "h3", count=3, interval=0.1).received == 3
    # the requests ride the one-way reservation; the replies (h3 -> h1 sent nothing in the
    # seed: no forecast, no reservation) take baseline forwarding after one packet-in
    assert stack.get("/v1/stats")["packet_in"].get("ipv4", 0) == before + 1


def test_a_killed_predictor_leaves_the_controller_running_and_forecasts_resume(
    live: tuple[Stack, Predictor],
) -> None:
    stack, predictor = live
    first = wait_until(lambda: forecast(stack), 30.0, 0.1, "a forecast")
    predictor.kill()
    received = stack.get("/v1/stats")["queue"]["received"]
    assert stack.controller.is_running()
    assert stack.get("/v1/topology")["switches"]  # the controller still answers
    predictor.start()

    def resumed() -> dict[str, Any] | None:
        fc = forecast(stack)
        return fc if fc and fc["valid_from"] > first["valid_from"] else None

    later = wait_until(resumed, 30.0, 0.2, "forecasts from the restarted predictor")
    assert later["model"] == "fallback-recent-peak"
    assert stack.get("/v1/stats")["queue"]["received"] > received
    assert stack.controller.is_running()
