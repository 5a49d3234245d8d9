"""Processes of a replay: the predictor, the senders inside the Mininet hosts, CPU accounting.

Each is started with :mod:`subprocess` (the senders through the host's ``popen``) and stopped by
its own PID: SIGTERM, then SIGKILL after a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mininet_scenarios.replay_schedule import HostSchedule, write_schedule
from testbed.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
Senders = dict[str, tuple[subprocess.Popen[bytes], Path]]


def start_predictor(stack: Stack, options: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m predictor run`` connected to the stack's queue, with extra ``options``."""
    argv = [sys.executable, "-m", "predictor", "run"]
    argv += ["--observations", stack.observations_endpoint, "--forecasts", stack.forecasts_endpoint]
    argv += ["--key-dir", str(stack.key_dir)]  # our keypair, authorized; the controller's key
    with log.open("wb") as handle:
        return subprocess.Popen(
            [*argv, *options], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
        )


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout_s``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


def launch_senders(
    stack: Stack, schedules: dict[str, HostSchedule], run_dir: Path, t0: float
) -> Senders:
    """One ``replay_sender`` per host (by IP), all starting their first step at wall ``t0``."""
    assert stack.net is not None
    by_ip = {h.ip: h.name for h in stack.net.hosts}
    out: Senders = {}
    for ip, schedule in schedules.items():
        name = by_ip[ip]
        path = write_schedule(schedule, run_dir / f"schedule-{name}.json")
        result = run_dir / f"result-{name}.json"
        argv = [sys.executable, "-m", "mininet_scenarios.replay_sender", str(path), str(result)]
        with (run_dir / f"sender-{name}.log").open("wb") as log:
            proc = stack.net.net[name].popen(
                [*argv, repr(t0)], cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT
            )
        out[ip] = (proc, result)
    return out


def collect_results(senders: Senders, deadline: float) -> dict[str, dict[str, Any]]:
    """Wait (until wall ``deadline``) for every sender, kill stragglers, read the results."""
    results = {}
    for ip, (proc, path) in senders.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if path.exists():
            results[ip] = json.loads(path.read_text())
    return results


def stop_senders(senders: Senders) -> None:
    """Kill senders still running (after an error)."""
    for proc, _ in senders.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) a process has used so far, or None if it is gone."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ovs_pid() -> int | None:
    """PID of ovs-vswitchd (from its pidfile), if it runs."""
    try:
        return int(Path("/var/run/openvswitch/ovs-vswitchd.pid").read_text().strip())
    except (OSError, ValueError):
        return None
