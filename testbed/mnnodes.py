"""Mininet node classes of the test bed: owner-tagged OVS switches and delay-relay nodes."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mininet.node import Host, OVSSwitch, RemoteController

from testbed.controller import LOG_DIR, REPO_ROOT


class QuietRemoteController(RemoteController):  # type: ignore[misc]
    """A remote controller Mininet does not probe with telnet.

    Mininet's own check reads the controller's OpenFlow HELLO as UTF-8 text, which fails at
    random on its binary transaction id; the test bed has already waited for the port.
    """

    def checkListening(self) -> None:
        """Skip Mininet's telnet probe."""


class OwnedOVSSwitch(OVSSwitch):  # type: ignore[misc]
    """An OVSSwitch whose bridge records its owner in external_ids when it is created."""

    def __init__(self, name: str, owner_ids: dict[str, str] | None = None, **params: Any) -> None:
        super().__init__(name, **params)
        self.owner_ids = dict(owner_ids or {})

    def bridgeOpts(self) -> str:
        """Mininet's bridge options plus external_ids, set in the add-br transaction itself."""
        ids = "".join(f" external_ids:{key}={value}" for key, value in self.owner_ids.items())
        return str(super().bridgeOpts()) + ids


class RelayNode(Host):  # type: ignore[misc]
    """A namespace that is a piece of wire: no IP address, just the relay process."""

    def config(self, **_params: Any) -> dict[str, Any]:
        """Bring loopback up and leave the interfaces unaddressed."""
        self.cmd("ip link set lo up")
        return {}


@dataclass
class RelayProcess:
    """A running testbed.relay inside a RelayNode."""

    node: str
    if_a: str
    if_b: str
    delay_ms: float
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """PID of the relay program."""
        return self.proc.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM the relay by PID, SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout_s)
        if self.proc.stdout:
            self.proc.stdout.close()


RELAY_RT_PRIORITY = 10


def start_relay(
    node: RelayNode,
    if_a: str,
    if_b: str,
    delay_ms: float,
    rt_priority: int = RELAY_RT_PRIORITY,
    timeout_s: float = 10.0,
) -> RelayProcess:
    """Start testbed.relay in node between two of its interfaces; return once it is ready."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"relay-{os.getpid()}-{node.name}.log"
    with open(log_path, "wb") as log_file:
        proc = node.popen(
            [
                *(sys.executable, "-m", "testbed.relay", if_a, if_b),
                *("--delay-ms", str(delay_ms), "--rt-priority", str(rt_priority)),
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
            stdin=subprocess.DEVNULL,
            cwd=str(REPO_ROOT),
        )
    relay = RelayProcess(node.name, if_a, if_b, delay_ms, proc, log_path)
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if readable else b""
    if line.strip() != b"ready":
        relay.stop()
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"relay in {node.name} did not start within {timeout_s}s:\n{tail}")
    return relay
