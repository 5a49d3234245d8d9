"""Traffic probes between test-bed hosts: ping, all-pairs reachability, iperf3 throughput."""

from __future__ import annotations

import subprocess
from typing import Any, Protocol

from testbed.controller import is_listening
from testbed.measure import PingResult, parse_iperf3, parse_ping
from testbed.wait import wait_until


class _HostLike(Protocol):
    name: str
    ip: str


def _name(host: str | _HostLike) -> str:
    return host if isinstance(host, str) else host.name


class Probes:
    """Mixin for Testbed: needs `self.net` (Mininet) and `self.hosts` (list of HostInfo)."""

    net: Any
    hosts: list[Any]

    def _ip(self, host: str | _HostLike) -> str:
        return str(self.net[_name(host)].IP())

    def ping(
        self,
        h_src: str | _HostLike,
        h_dst: str | _HostLike,
        count: int = 5,
        interval: float = 0.2,
        reply_timeout_s: float = 1.0,
    ) -> PingResult:
        """Send count echo requests from h_src to h_dst, interval seconds apart."""
        src = self.net[_name(h_src)]
        cmd = ["ping", "-n", "-c", str(count), "-i", str(interval)]
        cmd += ["-W", str(reply_timeout_s), self._ip(h_dst)]
        proc = src.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=count * interval + reply_timeout_s + 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        return parse_ping(out.decode(errors="replace"))

    def pingall(self, reply_timeout_s: float = 1.0) -> float:
        """Ping every ordered host pair once; return the fraction of pings that went unanswered."""
        sent = lost = 0
        for src in self.hosts:
            node = self.net[src.name]
            procs = [
                node.popen(
                    ["ping", "-n", "-c", "1", "-W", str(reply_timeout_s), dst.ip],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                for dst in self.hosts
                if dst.name != src.name
            ]
            for proc in procs:
                out, _ = proc.communicate(timeout=reply_timeout_s + 10)
                result = parse_ping(out.decode(errors="replace"))
                sent += 1
                lost += 1 if result.received == 0 else 0
        return lost / sent if sent else 0.0

    def iperf3(
        self,
        h_src: str | _HostLike,
        h_dst: str | _HostLike,
        seconds: float = 5.0,
        udp_mbps: float | None = None,
        port: int = 5201,
    ) -> float:
        """Throughput in Mbit/s received at h_dst from an iperf3 client on h_src (TCP or UDP)."""
        dst = self.net[_name(h_dst)]
        server = dst.popen(
            ["iperf3", "-s", "-1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # /proc/<pid>/net/tcp shows the server's own namespace: no process spawned per poll
            wait_until(
                lambda: is_listening(port, pid=server.pid),
                5.0,
                what=f"iperf3 server on {_name(h_dst)}:{port}",
            )
            cmd = ["iperf3", "-c", self._ip(h_dst), "-p", str(port), "-t", str(seconds), "-J"]
            if udp_mbps is not None:
                cmd += ["-u", "-b", f"{udp_mbps}M"]
            client = self.net[_name(h_src)].popen(cmd, stdout=subprocess.PIPE)
            try:
                out, _ = client.communicate(timeout=seconds + 20)
            except subprocess.TimeoutExpired:
                client.kill()
                client.communicate()
                raise
            return parse_iperf3(out.decode(errors="replace"))
        finally:
            if server.poll() is None:
                server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
