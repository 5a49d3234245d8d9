"""A local store cluster for trials and tests: N ovsdb-server members on loopback.

``start_local(DIR, 3)`` creates the clustered database files (``ovsdb-tool create-cluster`` for
the first member, ``join-cluster`` for the others) unless DIR already holds them, starts one
``ovsdb-server`` per member (client port and Raft port on 127.0.0.1, log and control socket in
DIR) and waits until a leader answers. ``DIR/cluster.json`` records the ports, so the same
members start again on the same addresses. On real machines each member runs on its own host
(README, "A controller cluster").
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from vnstitch.cluster.ovsdb_store import ClusterStore, why_not_leader
from vnstitch.cluster.rpc import Connection, RpcError
from vnstitch.cluster.schema import DATABASE, write_schema
from vnstitch.store.schema import StoreError

ELECTION_TIMER_MS = 1000  # ovsdb-server's default; a follower waits this long for the leader


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Member:
    """One ovsdb-server of the local cluster."""

    index: int
    db: Path
    client_port: int
    raft_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def remote(self) -> str:
        """Its client address."""
        return f"tcp:127.0.0.1:{self.client_port}"

    @property
    def raft(self) -> str:
        """Its address among members."""
        return f"tcp:127.0.0.1:{self.raft_port}"

    @property
    def control(self) -> Path:
        """Its ovs-appctl control socket."""
        return self.db.with_suffix(".ctl")

    def alive(self) -> bool:
        """Whether its process runs."""
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalCluster:
    """The members of a local store cluster, started by this process."""

    folder: Path
    members: list[Member] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The address controllers use: every member's client address."""
        return ",".join(m.remote for m in self.members)

    def start_member(self, index: int) -> None:
        """Start member ``index`` (again)."""
        member = self.members[index]
        if member.alive():
            return
        log = member.db.with_suffix(".log")
        member.process = subprocess.Popen(
            [
                "ovsdb-server",
                str(member.db),
                f"--remote=ptcp:{member.client_port}:127.0.0.1",
                f"--unixctl={member.control}",
                f"--log-file={log}",
                "--pidfile=" + str(member.db.with_suffix(".pid")),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop_member(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stop member ``index`` with ``sig`` (SIGKILL: as a crash) and reap it."""
        member = self.members[index]
        if member.process is not None and member.process.poll() is None:
            member.process.send_signal(sig)
            member.process.wait(timeout=10)
        member.process = None

    def status(self, index: int) -> str:
        """``ovs-appctl cluster/status`` of member ``index`` (its Raft role, term, peers)."""
        member = self.members[index]
        proc = subprocess.run(
            ["ovs-appctl", "-t", str(member.control), "cluster/status", DATABASE],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return proc.stdout if proc.returncode == 0 else proc.stderr.strip()

    def wait_ready(self, timeout_s: float = 15.0) -> None:
        """Return when every live member has joined and a leader commits; StoreError if not."""
        deadline = time.monotonic() + timeout_s
        ClusterStore(self.address, timeout_s=timeout_s).close()
        while True:
            states = {m.index: self.status(m.index) for m in self.members if m.alive()}
            waiting = [
                i
                for i, text in states.items()
                if "Status: cluster member" not in text or "Leader: unknown" in text
            ]
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise StoreError(f"store members {[i + 1 for i in waiting]} have not joined yet")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every member (the database files stay in the folder)."""
        for index in range(len(self.members)):
            self.stop_member(index, signal.SIGTERM)


def _create(folder: Path, count: int, election_timer_ms: int) -> list[Member]:
    schema = write_schema(folder / "vnstitch.ovsschema")
    members = [
        Member(i, folder / f"member{i + 1}.db", _free_port(), _free_port()) for i in range(count)
    ]
    first = members[0]
    _tool(
        "create-cluster",
        f"--election-timer={election_timer_ms}",
        str(first.db),
        str(schema),
        first.raft,
    )
    for member in members[1:]:
        _tool("join-cluster", str(member.db), DATABASE, member.raft, first.raft)
    layout = [
        {"db": m.db.name, "client_port": m.client_port, "raft_port": m.raft_port} for m in members
    ]
    (folder / "cluster.json").write_text(json.dumps(layout, indent=1) + "\n")
    return members


def _tool(command: str, *args: str) -> None:
    argv = ["ovsdb-tool", *(a for a in args if a.startswith("--")), command]
    argv += [a for a in args if not a.startswith("--")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise StoreError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")


def _load(folder: Path) -> list[Member]:
    layout = json.loads((folder / "cluster.json").read_text())
    return [
        Member(i, folder / entry["db"], int(entry["client_port"]), int(entry["raft_port"]))
        for i, entry in enumerate(layout)
    ]


def start_local(
    folder: str | os.PathLike[str],
    count: int = 3,
    *,
    election_timer_ms: int = ELECTION_TIMER_MS,
    timeout_s: float = 15.0,
) -> LocalCluster:
    """Create (if new) and start a ``count``-member store in ``folder``; wait for a leader."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    members = _load(path) if (path / "cluster.json").exists() else None
    if members is not None and len(members) != count:
        raise StoreError(f"{path} holds a {len(members)}-member store, not {count}")
    cluster = LocalCluster(path, members or _create(path, count, election_timer_ms))
    for index in range(count):
        cluster.start_member(index)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                cluster.wait_ready(timeout_s=max(0.5, deadline - time.monotonic()))
                return cluster
            except StoreError:
                if time.monotonic() >= deadline:
                    raise
    except BaseException:
        cluster.stop()
        raise


def member_health(address: str, timeout_s: float = 0.5) -> list[dict[str, object]]:
    """Each member of the store at ``address``: reachable, its Raft role, connected or why not."""
    out: list[dict[str, object]] = []
    for remote in [r.strip() for r in address.split(",") if r.strip()]:
        entry: dict[str, object] = {"address": remote}
        try:
            conn = Connection(remote, timeout_s)
        except RpcError as exc:
            out.append({**entry, "healthy": False, "role": None, "reason": str(exc)})
            continue
        try:
            reason = why_not_leader(conn)
            role = "leader" if reason is None else "follower"
            lost = reason is not None and reason.startswith("not connected")
            out.append(
                {
                    **entry,
                    "healthy": not lost,
                    "role": None if lost else role,
                    "reason": reason if lost else None,
                }
            )
        except RpcError as exc:
            out.append({**entry, "healthy": False, "role": None, "reason": str(exc)})
        finally:
            conn.close()
    return out
