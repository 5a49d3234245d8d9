"""The predictor follows a cluster's leader: the bridge unbinds on step-down, binds again on
takeover, and a predictor connected to every instance's endpoints reaches the bound one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from predictor.publisher import RunConfig, _connect
from ryu_apps.queue_bridge import QueueBridge
from testbed.controller import free_tcp_port


def _bridge(observations: str, forecasts: str) -> QueueBridge:
    return QueueBridge(observations, forecasts, lambda frames: None, 1 << 20, None, print)


def test_a_closed_bridge_frees_its_endpoints_and_the_predictor_reaches_the_bound_one(
    tmp_path: Path,
) -> None:
    ports = [free_tcp_port() for _ in range(4)]
    obs = [f"tcp://127.0.0.1:{p}" for p in ports[:2]]
    fc = [f"tcp://127.0.0.1:{p}" for p in ports[2:]]
    old_leader = _bridge(obs[0], fc[0])
    old_leader.close()  # stepped down
    leader = _bridge(obs[1], fc[1])  # another instance leads
    deadline = time.monotonic() + 10.0
    while True:  # the first endpoints are free again once ZeroMQ closed them (asynchronously)
        try:
            again = _bridge(obs[0], fc[0])
            break
        except zmq.ZMQError:
            assert time.monotonic() < deadline, "the closed bridge kept its endpoints"
            time.sleep(0.05)
    again.close()
    config = RunConfig(",".join(obs), ",".join(fc), tmp_path)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sub, push = _connect(context, config, None)
    try:
        deadline = time.monotonic() + 10.0
        received = None
        while received is None and time.monotonic() < deadline:
            try:
                push.send(b"forecast", zmq.NOBLOCK)
            except zmq.Again:
                time.sleep(0.05)
                continue
            if leader._pull.poll(200):
                received = leader._pull.recv()
        assert received == b"forecast"
        leader.publish(b"observations")
        deadline = time.monotonic() + 10.0
        heard = None
        while heard is None and time.monotonic() < deadline:
            leader.publish(b"observations")
            if sub.poll(100):
                heard = sub.recv()
        assert heard == b"observations"
    finally:
        sub.close()
        push.close()
        context.term()
        leader.close()


def test_a_bridge_that_cannot_bind_both_endpoints_holds_neither() -> None:
    """A new leader's first try may find the forecasts endpoint still held (the leader it
    replaces closes asynchronously): the observations socket it bound is let go at once, so
    the next try (a second later) can bind both."""
    obs, fc = (f"tcp://127.0.0.1:{free_tcp_port()}" for _ in range(2))
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    holder, probe = context.socket(zmq.PULL), context.socket(zmq.PUB)
    for sock in (holder, probe):
        sock.setsockopt(zmq.LINGER, 0)
    holder.bind(fc)
    try:
        with pytest.raises(zmq.ZMQError):
            _bridge(obs, fc)
        deadline = time.monotonic() + 5.0
        while True:  # ZeroMQ closes the listener asynchronously, within milliseconds
            try:
                probe.bind(obs)
                break
            except zmq.ZMQError:
                assert time.monotonic() < deadline, "the failed bridge kept its observations port"
                time.sleep(0.02)
    finally:
        holder.close()
        probe.close()
        context.term()


def test_a_paused_controller_is_dropped_and_forecasts_go_to_the_other(tmp_path: Path) -> None:
    """A leader paused (or cut off) keeps its TCP connection: the predictor's heartbeat drops
    it, so PUSH no longer hands it every other forecast once another instance leads."""
    paused, leading = (f"tcp://127.0.0.1:{free_tcp_port()}" for _ in range(2))
    script = (
        "import sys, time, zmq\n"
        "s = zmq.Context().socket(zmq.PULL); s.bind(sys.argv[1]); print('bound', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, paused], stdout=subprocess.PIPE)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.bind(leading)
    config = RunConfig(f"{paused},{leading}", f"{paused},{leading}", tmp_path)
    sub, push = _connect(context, config, None)
    events = push.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"bound\n"

        def wait_for(event: int, count: int) -> None:
            deadline, seen = time.monotonic() + 10.0, 0
            while seen < count:
                assert time.monotonic() < deadline, f"no ZeroMQ event {event}"
                if events.poll(100):
                    seen += recv_monitor_message(events)["event"] == event

        wait_for(zmq.EVENT_HANDSHAKE_SUCCEEDED, 2)  # connected to both
        os.kill(child.pid, signal.SIGSTOP)
        wait_for(zmq.EVENT_DISCONNECTED, 1)  # the paused one stopped answering pings
        for n in range(6):
            push.send(b"%d" % n, zmq.NOBLOCK)
        got = [pull.recv() for _ in range(6) if pull.poll(2000)]
        assert got == [b"%d" % n for n in range(6)]  # none went to the paused one
    finally:
        os.kill(child.pid, signal.SIGKILL)
        os.kill(child.pid, signal.SIGCONT)
        child.wait(timeout=10)
        push.disable_monitor()
        for sock in (events, sub, push, pull):
            sock.close(0)
        context.term()
