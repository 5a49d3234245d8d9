"""The real predictor process with a controller cluster, across a kill -9 of the leader.

3 store members, 3 controllers (each its own predictor endpoints, as on separate hosts), a
4-switch ring. The predictor is given every controller's endpoints and follows whichever binds
them: the leader. It is seeded with a history in which h1 sends to h3 at 5 Mbit/s, so its
forecasts keep a 5 Mbit/s predicted reservation for the pair while pings cross it (none lost). The
controllers share one traffic clock (``time_origin_wall``), so a new leader's observations go
on where the old one's stopped.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from testbed.cluster import ClusterStack
from testbed.measure import parse_ping
from testbed.predictor_process import SCALE, predictor_argv, write_seed
from testbed.predictor_process import PredictorProcess as Predictor
from testbed.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(150)]

SRC, DST = "10.0.0.1", "10.0.0.3"
PREDICTED = re.compile(r"cookie=0x(11[0-9a-f]{14}),\s*duration=([0-9.]+)s.*?priority=(\d+),(\S+)")


def _predictor(stack: ClusterStack, seed: Path, until: float, workdir: Path) -> Predictor:
    """Seeded from a trace, connected to every controller's endpoints."""
    observations = ",".join(obs for obs, _ in stack.queue_endpoints.values())
    forecasts = ",".join(fc for _, fc in stack.queue_endpoints.values())
    argv = [*predictor_argv(observations, forecasts, seed, until, workdir), "--no-curve"]
    return Predictor(argv, workdir)


@pytest.fixture(scope="module")
def live(
    testbed_host: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ClusterStack, Predictor]]:
    workdir = tmp_path_factory.mktemp("cluster-predictor")
    seed = workdir / "seed.npz"
    until = write_seed(seed)
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "stats_interval_s": 1.0}
    stack = ClusterStack(
        nx.cycle_graph([1, 2, 3, 4]),
        options=options,
        predictor={  # the seed ends as the controllers start: every observation is live
            "threshold_mbps": 1.0,
            "time_scale": SCALE,
            "time_origin": until,
            "time_origin_wall": time.time(),
        },
        queue_per_instance=True,
    )
    predictor = _predictor(stack, seed, until, workdir)
    predictor.start()
    try:
        with stack:
            yield stack, predictor
    finally:
        predictor.stop()


def _predicted(stack: ClusterStack, name: str) -> list[dict[str, Any]]:
    listed = stack.get(name, "/v1/reservations")["reservations"]
    return [r for r in listed if r["predicted"] and (r["src"], r["dst"]) == (SRC, DST)]


def _forecast(stack: ClusterStack, name: str) -> dict[str, Any] | None:
    for entry in stack.get(name, "/v1/forecasts")["forecasts"]:
        if entry["pair"] == [SRC, DST]:
            return dict(entry)
    return None


def _predicted_flows(stack: ClusterStack) -> dict[str, float]:
    """Every predicted reservation's entry (switch, cookie, priority, match) -> duration."""
    out = {}
    for node in (1, 2, 3, 4):
        for line in stack.dump_flows(node).splitlines():
            found = PREDICTED.search(line)
            if found:
                cookie, duration, priority, match = found.groups()
                out[f"{node} {cookie} {priority} {match}"] = float(duration)
    return out


def _next_batch(stack: ClusterStack, name: str, after: int, timeout_s: float) -> int:
    """Wait until ``name`` applied a batch newer than seq ``after``; its seq."""

    def newer() -> int | None:
        fc = _forecast(stack, name)
        return fc["seq"] if fc is not None and fc["seq"] > after else None

    seq: int = wait_until(newer, timeout_s, 0.02, f"a forecast batch after #{after} on {name}")
    return seq


def _batch_period(stack: ClusterStack, name: str) -> tuple[int, float]:
    """The yardstick: how often batches arrive at ``name`` (a step of traffic time); the seq
    of the last one, which has just arrived."""
    seq = _next_batch(stack, name, -1, 10.0)
    seq = _next_batch(stack, name, seq, 10.0)  # one arrives: the period starts now
    began = time.monotonic()
    seq = _next_batch(stack, name, seq, 10.0)
    return seq, time.monotonic() - began


def test_forecasts_follow_a_new_leader_after_kill_9(live: tuple[ClusterStack, Predictor]) -> None:
    stack, predictor = live
    leader = stack.leader()
    made = wait_until(
        lambda: [r for r in _predicted(stack, leader) if r["state"] == "ACTIVE"],
        30.0,
        0.1,
        "the predicted reservation ACTIVE on the leader",
    )[0]
    assert made["bandwidth_mbps"] == pytest.approx(5.0)
    assert stack.net is not None
    pings = stack.net.net["h1"].popen(
        ["ping", "-n", "-i", "0.02", "-c", "1500", "-W", "1", stack.net.host("h3").ip],
        stdout=subprocess.PIPE,
        text=True,
    )
    seq, period_s = _batch_period(stack, leader)
    flows = _predicted_flows(stack)
    assert flows, "no predicted reservation entry on the switches"

    killed_at = time.monotonic()  # just after a batch: the next one is a step away
    stack.kill(leader)
    successor = stack.leader(timeout_s=10.0, not_=leader)
    takeover_s = time.monotonic() - killed_at
    reached: list[float] = []  # when the predictor's first message (a heartbeat) got there
    booked: list[int] = []  # every batch seen in the new leader's book for the pair

    def resumed() -> int | None:
        if not reached and stack.get(successor, "/v1/stats")["queue"]["received"]:
            reached.append(time.monotonic() - killed_at)
        fc = _forecast(stack, successor)
        booked.extend([fc["seq"]] if fc is not None else [])
        return fc["seq"] if fc is not None and fc["seq"] > seq else None

    first: int = wait_until(resumed, 10.0 + 5 * period_s, 0.02, "forecasts at the new leader")
    resumed_s = time.monotonic() - killed_at
    wait_until(
        lambda: [r for r in _predicted(stack, successor) if r["state"] == "ACTIVE"],
        10.0,
        0.1,
        "the predicted reservation ACTIVE on the new leader",
    )
    pings.send_signal(signal.SIGINT)  # it prints what it counted so far
    out, _ = pings.communicate(timeout=30)
    result = parse_ping(out)
    print(
        f"cluster predictor: kill -9 of {leader}; {successor} leads after"
        f" {takeover_s * 1000:.0f} ms; the predictor reached it after"
        f" {reached[0] * 1000 if reached else float('nan'):.0f} ms;"
        f" first forecast batch (#{first}, last before #{seq})"
        f" applied {resumed_s * 1000:.0f} ms after the kill (batches every"
        f" {period_s * 1000:.0f} ms); {result.sent - result.received} of {result.sent} pings lost"
    )
    assert resumed_s <= takeover_s + 3 * period_s, (resumed_s, takeover_s, period_s)
    assert result.sent > 0 and result.sent == result.received, out[-300:]

    # the predictor went on by itself
    assert predictor.proc is not None and predictor.proc.poll() is None
    log = predictor.log.read_text(errors="replace")
    assert "Traceback" not in log
    assert "history cleared" not in log  # the new leader's traffic clock went on

    # the same predicted reservation goes on, its rules in place; no second one for the pair
    now = _predicted(stack, successor)
    assert [r["id"] for r in now] == [made["id"]], now
    after = _predicted_flows(stack)
    for key, duration in flows.items():
        assert key in after, key
        assert after[key] >= duration + resumed_s - 0.5, (key, duration, after[key])
    # no batch the old leader applied (up to #seq) was applied again by the new one
    assert min(booked) == first > seq, booked


def test_forecasts_go_only_to_the_new_leader_while_the_old_one_is_paused(
    live: tuple[ClusterStack, Predictor],
) -> None:
    """A paused leader keeps its TCP connections (a partition looks the same): the predictor's
    heartbeats drop it, so once another instance leads every batch reaches that one."""
    stack, predictor = live
    for name, proc in stack.controllers.items():  # the one killed before comes back, follower
        if not proc.is_running():
            stack.start_controller(name)
            stack.wait_switches_connected(name)
    leader = stack.leader()
    _, period_s = _batch_period(stack, leader)
    stack.signal(leader, signal.SIGSTOP)
    try:
        successor = stack.leader(timeout_s=15.0, not_=leader)
        seq = _next_batch(stack, successor, -1, 10.0)
        seq = _next_batch(stack, successor, seq, 3 * period_s)  # heartbeats: 3 to 4 s to drop
        arrivals = []
        for _ in range(3):  # PUSH would hand every other batch to the paused one
            began = time.monotonic()
            seq = _next_batch(stack, successor, seq, 3 * period_s)
            arrivals.append(time.monotonic() - began)
    finally:
        stack.signal(leader, signal.SIGCONT)
    print(
        f"cluster predictor: {leader} paused, {successor} leads; batches there every"
        f" {', '.join(f'{a * 1000:.0f}' for a in arrivals)} ms (before: {period_s * 1000:.0f} ms)"
    )
    assert max(arrivals) < 1.5 * period_s, (arrivals, period_s)
    wait_until(
        lambda: stack.cluster(leader)["role"] == "follower", 10.0, 0.1, "the old leader follows"
    )
    assert predictor.proc is not None and predictor.proc.poll() is None
    assert "history cleared" not in predictor.log.read_text(errors="replace")
    assert len(_predicted(stack, successor)) == 1
