"""A userspace delay element: forwards Ethernet frames between two interfaces, N ms late.

The kernel here has no netem, so a Mininet node in the middle of a link runs

    python -m testbed.relay IF_A IF_B --delay-ms N

which reads every frame from one interface with an AF_PACKET socket, holds it for N ms
(per direction, FIFO, so order is preserved) and writes it to the other. A single-threaded
scheduler loop sleeps in select() until the next frame is due or a frame arrives, timed by the
monotonic clock. VLAN tags the kernel strips into packet metadata are put back from
PACKET_AUXDATA. The relay prints "ready" once its sockets are bound and exits cleanly on
SIGTERM/SIGINT, when its parent dies, or when an interface disappears.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
AUXDATA = struct.Struct("IIIHHHH")
PR_SET_PDEATHSIG = 1
MAX_FRAME = 65600
BATCH = 256  # frames read from one socket before the scheduler looks at the clock again
SOCK_BUF = 8 << 20


def offload_command(ifname: str) -> list[str]:
    """The ethtool command that keeps large offloaded segments away from the relay."""
    return ["ethtool", "-K", ifname, "tx", "off", "gro", "off", "gso", "off", "tso", "off"]


def configure_interface(ifname: str) -> None:
    """Disable offloads and IPv6 chatter on an interface and bring it up."""
    subprocess.run(offload_command(ifname), capture_output=True, check=False)
    with (
        contextlib.suppress(OSError),
        open(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "w") as knob,
    ):
        knob.write("1")
    subprocess.run(["ip", "link", "set", ifname, "up"], capture_output=True, check=True)


def open_port(ifname: str) -> socket.socket:
    """A promiscuous, non-blocking AF_PACKET socket bound to ifname that skips outgoing frames."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((ifname, ETH_P_ALL))
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, SOCK_BUF)
    mreq = struct.pack("iHH8s", socket.if_nametoindex(ifname), PACKET_MR_PROMISC, 0, b"")
    sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    with contextlib.suppress(OSError):  # old kernel: read_frame's pkttype check still filters
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    sock.setblocking(False)
    return sock


def restore_vlan(frame: bytes, ancdata: list[tuple[int, int, bytes]]) -> bytes:
    """Re-insert the 802.1Q tag the kernel moved into PACKET_AUXDATA, if there was one."""
    for level, kind, data in ancdata:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(data) < AUXDATA.size:
            continue
        status, _, _, _, _, tci, tpid = AUXDATA.unpack_from(data)
        if status & TP_STATUS_VLAN_VALID:
            if not status & TP_STATUS_VLAN_TPID_VALID or not tpid:
                tpid = 0x8100
            return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def read_frame(sock: socket.socket) -> bytes | None:
    """One received frame (outgoing copies skipped), or None when the socket is drained."""
    while True:
        try:
            frame, ancdata, _, addr = sock.recvmsg(MAX_FRAME, socket.CMSG_SPACE(AUXDATA.size))
        except BlockingIOError:
            return None
        if addr[2] != PACKET_OUTGOING:
            return restore_vlan(frame, ancdata)


@dataclass
class Direction:
    """Frames from one port waiting to leave through the other, oldest first."""

    src: socket.socket
    dst: socket.socket
    queue: deque[tuple[float, bytes]] = field(default_factory=deque)
    forwarded: int = 0
    dropped: int = 0

    def send_due(self, now: float) -> None:
        """Send every queued frame whose due time has come."""
        queue = self.queue
        while queue and queue[0][0] <= now:
            frame = queue.popleft()[1]
            try:
                self.dst.send(frame)
                self.forwarded += 1
            except OSError as exc:
                if exc.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN, errno.EMSGSIZE):
                    raise
                self.dropped += 1  # full qdisc or link down: a real wire drops too

    def receive(self, delay_s: float) -> None:
        """Queue up to BATCH arrived frames, each due delay_s after it was read."""
        for _ in range(BATCH):
            frame = read_frame(self.src)
            if frame is None:
                return
            self.queue.append((time.monotonic() + delay_s, frame))


class Relay:
    """The scheduler loop over two ports and a signal wake-up pipe."""

    def __init__(self, if_a: str, if_b: str, delay_ms: float) -> None:
        self.ifnames = (if_a, if_b)
        self.delay_s = delay_ms / 1000.0
        self.sock_a, self.sock_b = open_port(if_a), open_port(if_b)
        self.directions = {
            self.sock_a: Direction(self.sock_a, self.sock_b),
            self.sock_b: Direction(self.sock_b, self.sock_a),
        }
        self.stopping = False
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _timeout(self, now: float) -> float | None:
        due = [d.queue[0][0] for d in self.directions.values() if d.queue]
        return max(0.0, min(due) - now) if due else None

    def _interfaces_exist(self) -> bool:
        try:
            for name in self.ifnames:
                socket.if_nametoindex(name)
        except OSError:
            return False
        return True

    def run(self) -> None:
        """Forward frames until told to stop or an interface disappears."""
        readers: list[Any] = [self.sock_a, self.sock_b, self.wake_r]
        while not self.stopping:
            now = time.monotonic()
            for direction in self.directions.values():
                direction.send_due(now)
            readable, _, _ = select.select(readers, [], [], self._timeout(time.monotonic()))
            for sock in readable:
                if sock is self.wake_r:
                    os.read(self.wake_r, 64)
                    continue
                try:
                    self.directions[sock].receive(self.delay_s)
                except OSError as exc:
                    if exc.errno != errno.ENETDOWN:
                        raise
                    if not self._interfaces_exist():
                        return

    def summary(self) -> str:
        """Frame counters per direction, for the log."""
        a, b = self.directions[self.sock_a], self.directions[self.sock_b]
        names = self.ifnames
        return (
            f"relay {names[0]}->{names[1]}: forwarded {a.forwarded} dropped {a.dropped}; "
            f"{names[1]}->{names[0]}: forwarded {b.forwarded} dropped {b.dropped}"
        )


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM us when the process that started us exits."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def raise_priority(rt_priority: int) -> None:
    """Run under SCHED_FIFO so frames leave on time even when other processes load the CPUs."""
    if rt_priority <= 0:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(rt_priority))
    except (OSError, AttributeError) as exc:
        print(f"relay: no real-time priority ({exc}); timing may jitter", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the relay between two interfaces until SIGTERM."""
    parser = argparse.ArgumentParser(description="Forward frames between two interfaces late.")
    parser.add_argument("if_a")
    parser.add_argument("if_b")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay per direction")
    parser.add_argument(
        "--rt-priority",
        type=int,
        default=0,
        help="SCHED_FIFO priority (1-99) for precise timing under CPU contention; 0: normal",
    )
    parser.add_argument(
        "--no-configure", action="store_true", help="leave offloads and link state alone"
    )
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error("--delay-ms must be >= 0")
    die_with_parent()
    if not args.no_configure:
        for name in (args.if_a, args.if_b):
            configure_interface(name)
    relay = Relay(args.if_a, args.if_b, args.delay_ms)
    raise_priority(args.rt_priority)
    print("ready", flush=True)
    try:
        relay.run()
    finally:
        print(relay.summary(), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
