"""Leader election over the replicated store: three elector processes, a real 3-member store.

Each elector is ``python -m vnstitch.cluster.election`` (the same code the controller runs),
printing its takeovers and losses as JSON lines.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.wait import wait_until
from vnstitch.cluster.availability import Availability
from vnstitch.cluster.election import Elector
from vnstitch.cluster.members import LocalCluster, start_local
from vnstitch.cluster.ovsdb_store import ClusterStore
from vnstitch.store.interface import StoreUnavailable

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
Event = tuple[str, dict[str, Any]]


class Electors:
    """Three elector processes and the events they print."""

    def __init__(self, address: str) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.procs: dict[str, subprocess.Popen[str]] = {}
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for name in ("a", "b", "c"):
            argv = [sys.executable, "-m", "vnstitch.cluster.election"]
            proc = subprocess.Popen(
                [*argv, "--store", address, "--instance", name],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=REPO,
                env=env,
            )
            self.procs[name] = proc
            threading.Thread(target=self._read, args=(name, proc), daemon=True).start()

    def _read(self, name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.events.put((name, json.loads(line)))

    def until(self, wanted: Callable[[str, dict[str, Any]], bool], timeout_s: float) -> Event:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                name, event = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            if wanted(name, event):
                return name, event
        raise AssertionError(f"no such event within {timeout_s} s")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    members = start_local(tmp_path_factory.mktemp("election"), 3)
    yield members
    members.stop()


def _elected(_: str, event: dict[str, Any]) -> bool:
    return bool(event["event"] == "elected")


def test_one_leader_a_killed_one_is_replaced_at_once_and_a_paused_one_is_fenced(
    cluster: LocalCluster,
) -> None:
    electors = Electors(cluster.address)
    try:
        first, event = electors.until(_elected, 10.0)
        generation = event["generation"]
        with pytest.raises(AssertionError):  # exactly one leader: nobody else takes over
            electors.until(_elected, 1.0)
        started = time.monotonic()
        electors.procs[first].kill()
        second, event = electors.until(_elected, 3.0)
        assert time.monotonic() - started < 1.0  # the lock moves when the session closes
        assert second != first and event["generation"] == generation + 1

        os.kill(electors.procs[second].pid, signal.SIGSTOP)
        third, event = electors.until(_elected, 5.0)
        assert third not in (first, second) and event["generation"] == generation + 2
        os.kill(electors.procs[second].pid, signal.SIGCONT)
        name, lost = electors.until(lambda n, e: e["event"] == "lost", 5.0)
        assert name == second and f"generation {generation + 2}" in lost["reason"]

        store = ClusterStore(cluster.address)
        store.fence = generation + 1  # what the paused leader held: its writes are refused
        with pytest.raises(Exception, match="no longer the leader's"):
            store.raise_counter("intent", 5)
        store.close()
    finally:
        electors.stop()


def test_the_elector_tells_the_leaders_store_when_the_majority_is_lost_and_back(
    cluster: LocalCluster,
) -> None:
    availability = Availability(probe_every_s=3600.0)  # only the elector can end an outage
    elected: list[int] = []
    elector = Elector(
        cluster.address,
        "solo",
        "http://solo",
        on_elected=elected.append,
        on_lost=lambda _why: None,
        on_seen=lambda _view: None,
        availability=availability,
    )
    runner = threading.Thread(target=elector.run, daemon=True)
    runner.start()
    store = ClusterStore(cluster.address, availability=availability)
    try:
        wait_until(lambda: bool(elected), 10.0, 0.05, "elected")
        cluster.stop_member(0)
        cluster.stop_member(1)
        wait_until(lambda: not availability.available, 15.0, 0.05, "the loss seen")
        with pytest.raises(StoreUnavailable, match="refused at once"):
            store.raise_counter("intent", 5)  # the store was told: no 5 s wait
        assert elected == [elected[0]]  # the lead did not move
    finally:
        cluster.start_member(0)
        cluster.start_member(1)
    wait_until(lambda: availability.available, 20.0, 0.05, "a heartbeat committed again")
    store.raise_counter("intent", 5)
    elector.stop()
    runner.join(timeout=10)
    store.close()
    cluster.wait_ready()
