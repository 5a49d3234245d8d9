"""`python -m testbed.calibrate`: measure the test bed itself (build time, relay precision, rate).

Prints: the build time of an N-switch ring, the deviation of ping RTTs across a delay relay
from twice its one-way delay (median and p90 of |RTT - 2*delay|, with the switch-only RTT of
the same hosts for reference), and TCP throughput through the relay with iperf3.
"""

from __future__ import annotations

import argparse
import statistics
import time

import networkx as nx

from testbed.controller import ControllerProcess
from testbed.naming import unique_prefix
from testbed.network import build_network


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def ring_build_time(controller: ControllerProcess, switches: int) -> float:
    """Seconds to build and connect a ring of switches with one host each, and stop it."""
    started = time.monotonic()
    graph = nx.cycle_graph(range(1, switches + 1))
    with build_network(graph, controller.of_port, prefix=unique_prefix("vnsk")) as tb:
        built = tb.build_time_s
    print(f"ring of {switches}: build {built:.2f} s, build+stop {time.monotonic() - started:.2f} s")
    return built


def relay_precision(
    controller: ControllerProcess, delay_ms: float, pings: int, secs: float
) -> None:
    """Print RTT deviation across a relay link and TCP throughput through it."""
    graph = nx.Graph()
    graph.add_edge(1, 2, delay_ms=delay_ms)
    graph.add_edge(2, 3)
    with build_network(graph, controller.of_port, prefix=unique_prefix("vnsm")) as tb:
        tb.wait_flows()
        for src, dst in (("h1", "h2"), ("h2", "h3")):
            tb.ping(src, dst, count=2, interval=0.2)
        base = tb.ping("h2", "h3", count=pings, interval=0.05)
        relayed = tb.ping("h1", "h2", count=pings, interval=0.05)
        deviation = [abs(rtt - 2 * delay_ms) for rtt in relayed.rtts_ms]
        print(
            f"relay {delay_ms:g} ms one-way, {relayed.received}/{relayed.sent} replies: "
            f"RTT median {relayed.median_ms:.2f} ms; |RTT-{2 * delay_ms:g}| median "
            f"{statistics.median(deviation):.2f} p90 {_p90(deviation):.2f} max "
            f"{max(deviation):.2f} ms; switch-only RTT median {base.median_ms:.2f} ms"
        )
        relayed_mbps = tb.iperf3("h1", "h2", seconds=secs)
        plain_mbps = tb.iperf3("h2", "h3", seconds=secs)
        print(
            f"iperf3 TCP {secs:g} s: through relay {relayed_mbps:.0f} Mbit/s, "
            f"switch-only {plain_mbps:.0f} Mbit/s"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the measurements against a simple_switch_13 controller."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ring", type=int, default=10, help="switches in the ring (0: skip)")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--pings", type=int, default=100)
    parser.add_argument("--iperf-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    with ControllerProcess(["ryu.app.simple_switch_13"]) as controller:
        if args.ring:
            ring_build_time(controller, args.ring)
        relay_precision(controller, args.delay_ms, args.pings, args.iperf_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
