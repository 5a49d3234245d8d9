"""Meters: how big each drop meter is and which meter ids each use may take.

Two uses share a switch's meter table:

* a reservation's ingress meter (``vnstitch.stitcher.plan``): the ceiling of what the
  reservation sends; ids ``RESERVATION_METER_IDS``, handed out per switch by the stitch service;
* an edge port's best-effort meter (``vnstitch.forwarding.policing``): keeps the traffic nobody
  reserved within what reservations leave free; id ``BE_METER_BASE + port``.

Every meter is one drop band in kbit/s whose bucket holds some seconds' worth of its rate. The
ledger books a reservation at its meter's rate (``meter_rate_mbps``), which is what the meter
actually lets through.
"""

from __future__ import annotations

from vnstitch.rules.model import MeterSpec

SWITCH_METERS = 262_144  # OVS meter table size (ovs-ofctl meter-features): every id fits below
BE_METER_BASE = 0x30000  # best-effort meters take the top of the table: BASE + edge port
BE_PORT_LIMIT = SWITCH_METERS - BE_METER_BASE  # edge ports 1 .. 0xFFFF, so BASE + port fits
RESERVATION_METERS = BE_METER_BASE - 1  # reservation ids 1 .. this: all below the best-effort ids
RESERVATION_METER_IDS = range(1, RESERVATION_METERS + 1)
BEST_EFFORT_METER_IDS = range(BE_METER_BASE + 1, BE_METER_BASE + BE_PORT_LIMIT)

TCP_HEADROOM = 1.12  # TCP gets only 80-90 % of a drop meter's rate: 1.12x gets it its bandwidth
MIN_METER_KBPS = 64  # floor of rate (kbit/s) and burst (kbit): never a zero band or a tiny bucket

# Burst: the bucket, in seconds at the meter's rate. The two differ by what the meter guards.
# A reservation's meter must not cut its own TCP flow, so its bucket takes a window's burst; the
# best-effort meters sit on every edge port and may all burst at once onto one link, where each
# bucket is overshoot into bandwidth that reservations hold, so theirs is half as deep.
RESERVATION_BURST_S = 0.2  # room for a TCP window's burst: the reserved flow reaches its rate
BEST_EFFORT_BURST_S = 0.1  # half: every edge port's bucket may land on one link at once


def meter_rate_mbps(bandwidth_mbps: float) -> float:
    """The meter rate (and booked bandwidth) that lets TCP reach ``bandwidth_mbps``."""
    return bandwidth_mbps * TCP_HEADROOM


def meter_kbps(rate_mbps: float) -> int:
    """A meter band's rate in kbit/s, never below ``MIN_METER_KBPS``."""
    return max(MIN_METER_KBPS, round(rate_mbps * 1000))


def burst_kb(rate_kbps: int, burst_s: float) -> int:
    """A bucket of ``burst_s`` seconds at ``rate_kbps``, in kbit, never below ``MIN_METER_KBPS``."""
    return max(MIN_METER_KBPS, round(rate_kbps * burst_s))


def reservation_meter(dpid: int, meter_id: int, rate_mbps: float, cookie: int) -> MeterSpec:
    """A reservation's ingress meter at ``rate_mbps`` (already ``meter_rate_mbps``)."""
    kbps = meter_kbps(rate_mbps)
    return MeterSpec(dpid, meter_id, kbps, burst_kb(kbps, RESERVATION_BURST_S), cookie)


def best_effort_meter_id(port: int) -> int:
    """The meter id of the best-effort meter of an edge port."""
    if not 0 < port < BE_PORT_LIMIT:
        raise ValueError(f"edge port {port} out of range for best-effort meters")
    return BE_METER_BASE + port


def best_effort_meter(dpid: int, port: int, rate_mbps: float, cookie: int = 0) -> MeterSpec:
    """The best-effort meter of edge port ``port`` on switch ``dpid`` at ``rate_mbps``."""
    kbps = meter_kbps(rate_mbps)
    return MeterSpec(
        dpid, best_effort_meter_id(port), kbps, burst_kb(kbps, BEST_EFFORT_BURST_S), cookie
    )
