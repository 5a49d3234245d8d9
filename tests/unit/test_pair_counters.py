"""Per-pair byte deltas from flow counters, counted once at the ingress."""

from __future__ import annotations

from vnstitch.predictive.pair_counters import FlowSample, PairCounters

HOST_PORTS = {(1, 1), (3, 1)}
MACS = {"00:00:00:00:00:01": "10.0.0.1", "00:00:00:00:00:03": "10.0.0.3"}


def _round(pc: PairCounters, samples: list[FlowSample]) -> dict[tuple[str, str], int]:
    return pc.update(samples, lambda d, p: (d, p) in HOST_PORTS, MACS.get, interval_s=2.0)


def _ip_flow(dpid: int, in_port: int, count: int, age: float = 1.0) -> FlowSample:
    match = {"in_port": in_port, "ipv4_src": "10.0.0.1", "ipv4_dst": "10.0.0.3"}
    return FlowSample(dpid, 20000, 7, match, count, age)


def test_counts_once_at_the_ingress_only() -> None:
    pc = PairCounters()
    # the same packets seen at the ingress (1, port 1) and in transit at switch 2
    first = _round(pc, [_ip_flow(1, 1, 1000), _ip_flow(2, 5, 1000)])
    assert first == {("10.0.0.1", "10.0.0.3"): 1000}
    second = _round(pc, [_ip_flow(1, 1, 1500, 3.0), _ip_flow(2, 5, 1500, 3.0)])
    assert second == {("10.0.0.1", "10.0.0.3"): 500}


def test_mac_matches_are_named_by_ip_and_replacement_restarts() -> None:
    pc = PairCounters()
    match = {"in_port": 1, "eth_src": "00:00:00:00:00:01", "eth_dst": "00:00:00:00:00:03"}
    assert _round(pc, [FlowSample(1, 1000, 2, match, 400, 1.0)]) == {("10.0.0.1", "10.0.0.3"): 400}
    assert _round(pc, [FlowSample(1, 1000, 2, match, 100, 0.5)]) == {("10.0.0.1", "10.0.0.3"): 100}


def test_old_entries_first_seen_after_a_restart_do_not_spike() -> None:
    pc = PairCounters()
    assert _round(pc, [_ip_flow(1, 1, 10**9, age=3600.0)]) == {}
    assert _round(pc, [_ip_flow(1, 1, 10**9 + 50, age=3602.0)]) == {("10.0.0.1", "10.0.0.3"): 50}


def test_an_entry_overwritten_in_place_with_a_new_cookie_is_not_counted_twice() -> None:
    pc = PairCounters()
    match = {"in_port": 1, "ipv4_src": "10.0.0.1", "ipv4_dst": "10.0.0.3"}
    _round(pc, [FlowSample(1, 20000, 7, match, 1000, 1.0)])
    # a resize re-adds the same entry with the next version's cookie; OVS keeps the counters
    moved = _round(pc, [FlowSample(1, 20000, 8, match, 1250, 3.0)])
    assert moved == {("10.0.0.1", "10.0.0.3"): 250}
