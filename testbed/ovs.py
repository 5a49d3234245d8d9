"""Open vSwitch here: start it, detect the usable datapath, remove dead runs' leftovers."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
from dataclasses import dataclass, field

from testbed import ownership
from testbed.wait import wait_until

log = logging.getLogger(__name__)

OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"


def _run(*args: str, check: bool = True, timeout_s: float = 10.0) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def vsctl(*args: str, check: bool = True) -> str:
    """Run ovs-vsctl with a short database timeout and return its stdout."""
    return _run("ovs-vsctl", "-t", "5", *args, check=check)


def _ovs_answers() -> bool:
    proc = subprocess.run(
        ["ovs-vsctl", "-t", "1", "show"], capture_output=True, timeout=5, check=False
    )
    return proc.returncode == 0


def ensure_ovs_running(timeout_s: float = 30.0) -> None:
    """Start ovsdb-server and ovs-vswitchd with ovs-ctl unless `ovs-vsctl show` already works."""
    if _ovs_answers():
        return
    log.info("Open vSwitch is not answering; starting it with ovs-ctl")
    _run(OVS_CTL, "start", "--system-id=random", check=False, timeout_s=timeout_s)
    wait_until(_ovs_answers, timeout_s, interval_s=0.1, what="ovs-vsctl show to answer")


def _ofport(interface: str) -> int | None:
    out = vsctl("--if-exists", "get", "Interface", interface, "ofport", check=False).strip()
    return int(out) if out.lstrip("-").isdigit() else None


@functools.cache
def kernel_datapath_works() -> bool:
    """Probe once per process whether a kernel-datapath bridge gets an ofport for a veth port."""
    forced = os.environ.get("VNSTITCH_DATAPATH")
    if forced in ("kernel", "system", "user", "netdev"):
        return forced in ("kernel", "system")
    ensure_ovs_running()
    prefix = "vnsq"  # a run prefix of its own; names stay short whatever the caller's prefix
    bridge = f"{prefix}{os.getpid()}"
    port, peer = f"{bridge}-a", f"{bridge}-b"
    # Bridge first (owner recorded in the same transaction), veth second: a concurrent
    # cleanup then always finds the veth's bridge alive and leaves both alone.
    vsctl("--may-exist", "add-br", bridge, "--", "set", "Bridge", bridge, *_owner_args(prefix))
    try:
        _run("ip", "link", "add", port, "type", "veth", "peer", "name", peer)
        vsctl("add-port", bridge, port, check=False)
        # add-port returns once vswitchd applied it, so the ofport is final by now; the short
        # poll only covers a slow vswitchd.
        try:
            return wait_until(lambda: (_ofport(port) or 0) > 0, 0.3, what=f"an ofport on {port}")
        except TimeoutError:
            return False
    finally:
        _run("ip", "link", "del", port, check=False)
        vsctl("--if-exists", "del-br", bridge, check=False)


def _owner_args(prefix: str) -> list[str]:
    return [f"external_ids:{k}={v}" for k, v in ownership.owner_external_ids(prefix).items()]


@dataclass(frozen=True)
class BridgeRecord:
    """A bridge in OVS's database and the owner it records, if any."""

    name: str
    external_ids: dict[str, str] = field(default_factory=dict)

    def owner_alive(self) -> bool | None:
        """True/False for a recorded owner's liveness; None when no owner is recorded."""
        pid = self.external_ids.get(ownership.OWNER_KEY, "")
        if not pid.isdigit():
            return None
        start = self.external_ids.get(ownership.OWNER_START_KEY) or None
        return ownership.owner_is_alive(int(pid), start)


def list_bridges(prefix: str = "") -> list[BridgeRecord]:
    """Bridges whose name starts with prefix, with their external_ids."""
    out = vsctl("--format=json", "--columns=name,external_ids", "list", "Bridge")
    records = []
    for name, ids in json.loads(out)["data"]:
        if name.startswith(prefix):
            records.append(BridgeRecord(name, {k: v for k, v in ids[1]}))
    return records


def root_interfaces(prefix: str) -> list[str]:
    """Names of root-namespace network interfaces starting with prefix."""
    return [name for name in _root_peers() if name.startswith(prefix)]


def _root_peers() -> dict[str, str | None]:
    """Every root-namespace interface, mapped to its veth peer when that is in the root too."""
    entries = json.loads(_run("ip", "-j", "link", "show") or "[]")
    return {e["ifname"]: e.get("link") for e in entries}


@dataclass
class CleanupReport:
    """What cleanup_leftovers removed and what it left alone because its owner lives."""

    removed_bridges: list[str] = field(default_factory=list)
    removed_interfaces: list[str] = field(default_factory=list)
    kept_bridges: list[str] = field(default_factory=list)
    kept_interfaces: list[str] = field(default_factory=list)


def _bridge_is_protected(bridge: BridgeRecord, include_ownerless: bool) -> bool:
    alive = bridge.owner_alive()
    if alive is None:
        return not include_ownerless
    prefix = bridge.external_ids.get(ownership.PREFIX_KEY) or ownership.run_prefix_of(bridge.name)
    return alive or ownership.prefix_is_claimed(prefix)


def cleanup_leftovers(prefix: str = "vns", include_ownerless: bool = False) -> CleanupReport:
    """Delete bridges and root-namespace interfaces named prefix* whose owner process is dead."""
    ensure_ovs_running()
    report = CleanupReport()
    kept: set[str] = set()
    for bridge in list_bridges(prefix):
        if _bridge_is_protected(bridge, include_ownerless):
            kept.add(bridge.name)
            report.kept_bridges.append(bridge.name)
            continue
        vsctl("--if-exists", "del-br", bridge.name, check=False)
        report.removed_bridges.append(bridge.name)
    peers = _root_peers()

    def protected(name: str) -> bool:
        if not name.startswith(prefix):
            return True  # not ours to judge (e.g. a veth peer outside the prefix)
        owner_bridge = name.split("-", 1)[0]
        return owner_bridge in kept or ownership.prefix_is_claimed(ownership.run_prefix_of(name))

    gone: set[str] = set()
    for name in (n for n in peers if n.startswith(prefix)):
        if name in gone:
            continue
        peer = peers[name]
        if protected(name) or (peer is not None and protected(peer)):
            report.kept_interfaces.append(name)
            continue
        # Deleting one end of a veth deletes its peer too.
        _run("ip", "link", "del", name, check=False)
        report.removed_interfaces.append(name)
        gone.add(name)
        if peer is not None:
            gone.add(peer)
            report.removed_interfaces.append(peer)
    if report.removed_bridges or report.removed_interfaces:
        log.info("removed leftovers: %s", report)
    return report
